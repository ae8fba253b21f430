//! `mgp trajectories`: SGD, momentum, Adam and RMSprop side by side on
//! Rosenbrock, Beale and a saddle, as a PNG
//! (`micrograd_plus::train::trajectories`).

use std::path::PathBuf;

/// Options of `mgp trajectories`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp trajectories\n  \
    mgp trajectories --out t.png --steps 1000")]
pub struct Args {
    /// The PNG to write.
    #[arg(long, default_value = "trajectories.png")]
    pub out: PathBuf,
    /// Steps of every optimizer.
    #[arg(long, default_value_t = 500, value_parser = super::args::positive_usize)]
    pub steps: usize,
}

/// Draws the picture.
pub fn run(args: &Args) -> anyhow::Result<()> {
    micrograd_plus::train::trajectories::plot(&args.out, args.steps)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
