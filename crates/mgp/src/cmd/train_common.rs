//! What every `mgp train` recipe prints and writes: the progress bar, the
//! per-epoch line (or JSON object), and the run folder's `metrics.csv`,
//! `curves.png` and `confusion.png`.

use super::run_dir::RunDir;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use micrograd_plus::train::charts::{plot_confusion, plot_curves};
use micrograd_plus::train::metrics::{EpochMetrics, History};
use micrograd_plus::train::trainer::{BatchReport, Evaluation, FitOptions, TrainingRun};
use std::path::PathBuf;

/// The flags every `mgp train` recipe shares (flattened into its options).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Worker threads for the kernels (default: all cores).
    #[arg(long, value_parser = super::args::threads)]
    pub threads: Option<usize>,
    /// Run folder (default `runs/<recipe>-<timestamp>`); refused if it
    /// already holds files, unless --force.
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Replace the run already in the --out folder.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Continue the run in this folder from its checkpoint (its
    /// config.json is used; --epochs may extend it).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Print one JSON object per epoch on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
}

/// The progress bar and epoch lines of one run (silent apart from one JSON
/// object per epoch on stdout with `--json`).
pub struct Progress {
    bar: ProgressBar,
    json: bool,
    epochs: usize,
}

impl Progress {
    /// A bar over `batches` steps per epoch, for a run of `epochs` epochs.
    pub fn new(json: bool, batches: usize, epochs: usize) -> Progress {
        let bar = if json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(batches as u64)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>10} [{bar:30.cyan/blue}] {pos}/{len} {per_sec:>12} loss {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Progress { bar, json, epochs }
    }

    /// Moves the bar after a training step.
    pub fn batch(&self, b: BatchReport) {
        self.bar.set_prefix(format!("epoch {}", b.epoch));
        self.bar.set_position(b.batch as u64 + 1);
        self.bar.set_message(format!("{:.4}", b.running_loss));
    }

    /// Prints an epoch's summary line (or JSON object) and resets the bar.
    pub fn epoch(&self, m: &EpochMetrics) {
        self.bar.finish_and_clear();
        if self.json {
            println!("{}", serde_json::to_string(m).expect("metrics serialise"));
        } else {
            println!(
                "epoch {:>2}/{}  train loss {:.4} acc {:5.2}%  test loss {:.4} acc {:5.2}%  {:.3} s ({:.0} samples/s)",
                m.epoch,
                self.epochs,
                m.train_loss,
                100.0 * m.train_acc,
                m.test_loss,
                100.0 * m.test_acc,
                m.epoch_seconds,
                m.samples_per_second
            );
        }
        self.bar.reset();
    }

    /// A line on stderr, unless printing JSON.
    pub fn note(&self, line: &str) {
        if !self.json {
            eprintln!("{line}");
        }
    }
}

/// Writes `metrics.csv`, `curves.png` and `confusion.png` into the run
/// folder and says so (unless printing JSON).
fn write_results(
    dir: &RunDir,
    history: &History,
    eval: &Evaluation,
    curves_title: &str,
    confusion_title: &str,
    json: bool,
) -> anyhow::Result<()> {
    // Atomic, like every file of a run: a full disk or a kill leaves the
    // previous metrics.csv, never a truncated one.
    micrograd_plus::io::write_atomic(&dir.path().join("metrics.csv"), history.to_csv().as_bytes())?;
    plot_curves(&dir.path().join("curves.png"), history, curves_title)?;
    plot_confusion(
        &dir.path().join("confusion.png"),
        &eval.confusion,
        confusion_title,
    )?;
    if !json {
        eprintln!(
            "test accuracy {:.2}%; wrote {}",
            100.0 * eval.accuracy,
            dir.path().display()
        );
    }
    Ok(())
}

/// Sets the kernels' thread count (when `--threads` was given) and prepares
/// a run: a fresh one (`fresh()` config, written to a new folder under
/// `--out` or `runs/<recipe>-<timestamp>`) or a resumed one (config read
/// from the `--resume` folder, then `extend`ed, e.g. to more epochs, and the
/// checkpoint loaded). `build` makes the recipe's run from the config; it
/// validates the settings and loads the data, and runs before a new folder
/// is created, so a bad argument or bad data leaves nothing behind.
pub fn start_run<C: serde::Serialize + serde::de::DeserializeOwned>(
    args: &RunArgs,
    recipe: &str,
    fresh: impl FnOnce() -> C,
    extend: impl FnOnce(&mut C) -> anyhow::Result<()>,
    build: impl FnOnce(&C) -> micrograd_plus::Result<TrainingRun>,
) -> anyhow::Result<(RunDir, C, TrainingRun)> {
    if let Some(n) = args.threads {
        micrograd_plus::kernels::set_num_threads(n)?;
    }
    match &args.resume {
        Some(dir) => {
            let dir = RunDir::open(dir)?;
            let mut config: C = dir.read_config()?;
            extend(&mut config)?;
            let mut run = build(&config)?;
            run.trainer
                .load_checkpoint(&dir.checkpoint())
                .context("cannot resume")?;
            // The folder describes the run as it now continues (e.g. more epochs).
            dir.write_config(&config)?;
            Ok((dir, config, run))
        }
        None => {
            let config = fresh();
            let run = build(&config)?;
            let dir = RunDir::create(args.out.clone(), recipe, args.force)?;
            if let Err(e) = dir.write_config(&config) {
                dir.discard();
                return Err(e);
            }
            Ok((dir, config, run))
        }
    }
}

/// Titles and the header line of one recipe's run.
pub struct Labels<'a> {
    /// The line printed (to stderr) before training.
    pub header: String,
    /// Title of `curves.png`.
    pub curves: &'a str,
    /// Title of `confusion.png`.
    pub confusion: &'a str,
}

/// Everything after the run is started (see [`start_run`]), the same for
/// every recipe: train with a progress bar (or JSON lines), checkpoint each
/// epoch, and write the run folder's results.
pub fn train_and_report(
    dir: &RunDir,
    run: &mut TrainingRun,
    args: &RunArgs,
    labels: &Labels<'_>,
) -> anyhow::Result<Evaluation> {
    let json = args.json;
    let checkpoint = dir.checkpoint();
    let progress = Progress::new(json, run.train.num_batches(), run.epochs);
    progress.note(&format!(
        "{}, {} parameters, run folder {}",
        labels.header,
        run.trainer.model.num_parameters(),
        dir.path().display()
    ));
    let options = FitOptions {
        early_stopping_patience: None,
        checkpoint: Some(checkpoint),
    };
    let fitted = run.fit(&options, &mut |b| progress.batch(b), &mut |m, _| {
        progress.epoch(m)
    });
    let eval = match fitted {
        Ok(eval) => eval,
        Err(e) => {
            progress.bar.finish_and_clear();
            if run.trainer.history.epochs.is_empty() {
                // Nothing worth keeping (e.g. diverged in the first epoch):
                // a failed new run leaves no folder behind.
                if args.resume.is_none() {
                    dir.discard();
                }
            } else {
                // The checkpoint of the last good epoch stays; record what
                // those epochs measured beside it.
                let csv = dir.path().join("metrics.csv");
                let _ =
                    micrograd_plus::io::write_atomic(&csv, run.trainer.history.to_csv().as_bytes());
            }
            return Err(e.into());
        }
    };
    let eval = match eval {
        Some(e) => e,
        // Resumed a finished run: evaluate what it left.
        None => run.trainer.evaluate(&run.test)?,
    };
    write_results(
        dir,
        &run.trainer.history,
        &eval,
        labels.curves,
        labels.confusion,
        json,
    )?;
    Ok(eval)
}
