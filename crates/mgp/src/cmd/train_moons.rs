//! `mgp train moons`: micrograd's two-moons demo on the scalar engine.
//!
//! Prints loss and accuracy per step and the training time, then writes the
//! decision boundary to `<out>/decision_boundary.png`. With `--json`, stdout
//! carries exactly one JSON object per step (for scripts); the summary goes
//! to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use micrograd_plus::train::moons::{train_moons, MoonsConfig, DEFAULT_SEED};
use micrograd_plus::train::plot::plot_model;

/// Options of `mgp train moons`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp train moons\n  \
    mgp train moons --steps 200 --seed 1 --out runs/moons-200\n  \
    mgp train moons --json | tail -1   # the last step as JSON")]
pub struct Args {
    /// Seed for the data and the weight initialisation.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Number of full-batch SGD steps.
    #[arg(long, default_value_t = MoonsConfig::default().steps)]
    pub steps: usize,
    /// Directory for the decision-boundary PNG (created if missing).
    #[arg(long, default_value = "runs/moons")]
    pub out: PathBuf,
    /// Print one JSON object per step on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
}

/// Trains, reports and plots.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = MoonsConfig {
        seed: args.seed,
        steps: args.steps,
        ..MoonsConfig::default()
    };
    // Fail on an unusable output directory before spending time training.
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating output directory {}", args.out.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_err = None;
    let start = Instant::now();
    let run = train_moons(&config, |s| {
        let line = if args.json {
            serde_json::to_string(s).map_err(std::io::Error::from)
        } else {
            Ok(format!(
                "step {:3} loss {:.6} accuracy {:5.1}%",
                s.step,
                s.loss,
                100.0 * s.accuracy
            ))
        };
        // Keep the first failure (e.g. a closed pipe) and stop writing.
        if write_err.is_none()
            && let Err(e) = line.and_then(|l| writeln!(out, "{l}"))
        {
            write_err = Some(e);
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(e) = write_err {
        // Output piped into e.g. `head` that has exited: nobody is reading,
        // so stop quietly like other command-line tools.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(());
        }
        return Err(e).context("writing progress to stdout");
    }

    let summary = match run.history.last() {
        Some(last) => format!(
            "trained {} steps in {:.3} s: loss {:.6}, accuracy {:.1}%",
            run.history.len(),
            seconds,
            last.loss,
            100.0 * last.accuracy
        ),
        None => format!("trained 0 steps in {seconds:.3} s"),
    };

    let png = args.out.join("decision_boundary.png");
    let title = format!("MLP(2, [16, 16, 1]) on two moons, seed {}", args.seed);
    plot_model(&png, &run.data, &run.model, &title)?;

    if args.json {
        eprintln!("{summary}");
        eprintln!("wrote {}", png.display());
    } else if let Err(e) = writeln!(out, "{summary}\nwrote {}", png.display())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("writing summary to stdout");
    }
    Ok(())
}
