//! `mgp landscape RUN_DIR`: the loss around an `mgp train mlp-mnist` run's
//! trained weights along two random filter-normalised directions, as
//! RUN_DIR/landscape.png (`micrograd_plus::train::landscape`).

use super::args::positive_usize;
use anyhow::Context;
use micrograd_plus::train::landscape;
use micrograd_plus::train::mlp_mnist::{self, MnistConfig};
use std::path::PathBuf;

/// Options of `mgp landscape`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp train mlp-mnist --out run\n  \
    mgp landscape run --grid 41 --span 0.5   # run/landscape.png")]
pub struct Args {
    /// The folder of an `mgp train mlp-mnist` run (config.json, checkpoint.safetensors).
    pub run_dir: PathBuf,
    /// The grid spans [-span, span] along each direction.
    #[arg(long, default_value_t = 1.0)]
    pub span: f64,
    /// Points per side of the grid.
    #[arg(long, default_value_t = 25, value_parser = positive_usize)]
    pub grid: usize,
    /// Seed of the two directions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Computes the grid on the first 1,000 test images and writes the picture.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let config_path = args.run_dir.join("config.json");
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("{}: cannot read the run's config", config_path.display()))?;
    let config: MnistConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not an mlp-mnist run's config", config_path.display()))?;
    let mut run = mlp_mnist::run(&config)?;
    run.trainer
        .load_checkpoint(&args.run_dir.join("checkpoint.safetensors"))?;
    let batch = run
        .test
        .epoch(1)
        .next()
        .context("the test set is empty")??;
    let trainer = &mut run.trainer;
    let grid = landscape::loss_grid(
        trainer.model.as_mut(),
        &*trainer.loss,
        &batch,
        args.span,
        args.grid,
        args.seed,
    )?;
    let picture = args.run_dir.join("landscape.png");
    let values = grid.iter().flatten().copied();
    let (lo, hi) = (
        values.clone().fold(f64::INFINITY, f64::min),
        values.fold(f64::NEG_INFINITY, f64::max),
    );
    let title = format!(
        "loss around {} ({} test images): {lo:.3} (dark) to {hi:.3} (light)",
        args.run_dir.display(),
        batch.inputs.shape()[0]
    );
    landscape::plot(&picture, &grid, args.span, &title)?;
    println!("{title}\nwrote {}", picture.display());
    Ok(())
}
