//! What every `mgp train` recipe prints and writes: the progress bar, the
//! per-epoch line (or JSON object), and the run folder's `metrics.csv`,
//! `curves.png` and `confusion.png`.

use super::run_dir::RunDir;
use anyhow::Context;
use indicatif::{HumanDuration, ProgressBar, ProgressState, ProgressStyle};
use micrograd_plus::train::charts::{plot_confusion_named, plot_curves};
use micrograd_plus::train::doctor::report::{DoctorReport, SIGNALS_FILE};
use micrograd_plus::train::doctor::{Breakage, Diagnosis, Doctor, DoctorConfig, DoctorMode};
use micrograd_plus::train::metrics::{EpochMetrics, History};
use micrograd_plus::train::trainer::{BatchReport, Evaluation, FitOptions, TrainingRun};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The flags every `mgp train` recipe shares (flattened into its options).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Worker threads for the kernels [default: all cores].
    #[arg(long, value_parser = super::args::threads)]
    pub threads: Option<usize>,
    /// Run folder, refused if it already holds files, unless --force
    /// [default: runs/RECIPE-TIMESTAMP].
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Replace the run already in the --out folder.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Continue the run in this folder from its checkpoint (its
    /// config.json is used; --epochs may extend it).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Print one JSON object per epoch on stdout and nothing else (and
    /// one per doctor's warning).
    #[arg(long)]
    pub json: bool,
    /// The training doctor: off, warn (print each problem it recognises
    /// once, on stderr) or strict (stop the run at the first, exit 1).
    #[arg(long, default_value = "warn")]
    pub doctor: DoctorMode,
    /// Reproduce a failure on purpose, for the doctor to catch: lr-high,
    /// lr-low, no-zero-grad, dead-relu, bad-init, unstable-softmax,
    /// unnormalised (mlp-mnist and cnn-mnist take all; cnn-cifar10
    /// lr-high, lr-low, no-zero-grad, bad-init and unstable-softmax; the
    /// GPTs lr-high, lr-low, no-zero-grad, bad-init and unstable-softmax).
    #[arg(long = "break", value_name = "FAILURE", conflicts_with = "resume")]
    pub breakage: Option<Breakage>,
    /// Anomaly mode: check every op's output and gradients for inf and
    /// NaN and name the first op that makes one (on with --doctor strict).
    #[arg(long)]
    pub anomaly: bool,
}

/// A progress bar on stderr over `len` steps counted in `unit`s (batches,
/// steps), showing the rate and an ETA in those units. Hidden with
/// `--json`; indicatif also hides it when stderr is not a terminal, so
/// anything that must reach a log file is printed beside it with
/// [`ProgressBar::suspend`] (never [`ProgressBar::println`], which prints
/// nothing while the bar is hidden). `lead` is the template's first field
/// (`{prefix}`, `{elapsed_precise}`); `eta` estimates the time left
/// (indicatif's from the rate, or one that also knows a time limit).
pub fn progress_bar(
    hidden: bool,
    len: u64,
    lead: &str,
    unit: &'static str,
    eta: impl Fn(&ProgressState) -> Duration + Send + Sync + Clone + 'static,
) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    };
    // Short enough for an 80-column terminal: a longer line wraps, and
    // every redraw then leaves a copy behind.
    let template = format!(
        "{lead} [{{bar:24.cyan/blue}}] {{pos}}/{{len}} {unit} {{rate}} ETA {{eta}} loss {{msg}}"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)
            .expect("valid template")
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}/s", s.per_sec());
            })
            .with_key(
                "eta",
                move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:#}", HumanDuration(eta(s)));
                },
            )
            .progress_chars("=> "),
    );
    bar
}

/// The progress bar and epoch lines of one run (silent apart from one JSON
/// object per epoch on stdout with `--json`). Dropping it clears the bar,
/// so no empty one is left on the screen after the last epoch.
pub struct Progress {
    bar: ProgressBar,
    json: bool,
    epochs: usize,
}

impl Progress {
    /// A bar over `batches` steps per epoch, for a run of `epochs` epochs.
    pub fn new(json: bool, batches: usize, epochs: usize) -> Progress {
        let bar = progress_bar(json, batches as u64, "{prefix}", "batches", |s| s.eta());
        Progress { bar, json, epochs }
    }

    /// Moves the bar after a training step.
    pub fn batch(&self, b: BatchReport) {
        self.bar.set_prefix(format!("epoch {}", b.epoch));
        self.bar.set_position(b.batch as u64 + 1);
        self.bar.set_message(format!("{:.4}", b.running_loss));
    }

    /// Prints an epoch's summary line (or JSON object) on stdout, whether
    /// or not anything is a terminal, in place of the bar, which restarts
    /// at the next epoch's first batch (after the last epoch it is gone).
    pub fn epoch(&self, m: &EpochMetrics) {
        self.bar.finish_and_clear();
        {
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
        }
        if m.epoch < self.epochs {
            self.bar.reset();
        }
    }

    /// A line on stderr, unless printing JSON.
    pub fn note(&self, line: &str) {
        if !self.json {
            self.bar.suspend(|| eprintln!("{line}"));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An unfinished bar is drawn once more when dropped: after the last
        // epoch's reset that would be an empty bar left on the screen.
        self.bar.finish_and_clear();
    }
}

/// The doctor of a run (none with `--doctor off`), printing each warning
/// the moment it is made: a line on stderr (above the progress `bar`), and
/// with `--json` an object on stdout too. A resumed run continues the
/// folder's doctor files.
pub fn start_doctor(
    dir: &RunDir,
    args: &RunArgs,
    classes: usize,
    bar: &ProgressBar,
) -> anyhow::Result<Option<Doctor>> {
    if args.doctor == DoctorMode::Off {
        return Ok(None);
    }
    let (bar, json) = (bar.clone(), args.json);
    let mut doctor = Doctor::new(DoctorConfig::new(args.doctor, Some(classes))).on_diagnosis(
        move |d: &Diagnosis| {
            bar.suspend(|| eprintln!("{d}"));
            if json {
                println!("{}", d.to_json());
            }
        },
    );
    if args.resume.is_some() && dir.path().join(SIGNALS_FILE).is_file() {
        doctor.continue_from(DoctorReport::load(dir.path())?);
    }
    Ok(Some(doctor))
}

/// Writes a run's `metrics.csv` (atomically, like every file of a run: a
/// full disk or a kill leaves the previous one, never a truncated one) and
/// the doctor's files.
pub fn write_metrics(dir: &RunDir, csv: &str, doctor: Option<&Doctor>) -> anyhow::Result<()> {
    micrograd_plus::io::write_atomic(&dir.path().join("metrics.csv"), csv.as_bytes())?;
    if let Some(doctor) = doctor {
        doctor.write_files(dir.path())?;
    }
    Ok(())
}

/// What a failed run keeps beside the checkpoint of its last good epoch or
/// evaluation: the metrics it measured (when it measured any) and what the
/// doctor saw. Best effort: the run's own error is the one to report.
pub fn keep_partial(dir: &RunDir, csv: Option<&str>, doctor: Option<&Doctor>) {
    if let Some(csv) = csv {
        let _ = micrograd_plus::io::write_atomic(&dir.path().join("metrics.csv"), csv.as_bytes());
    }
    if let Some(doctor) = doctor {
        let _ = doctor.write_files(dir.path());
    }
}

/// With `--json`, the last line of a run: where the run folder and its
/// checkpoint are, for scripts, and the recipe's `results`.
pub fn print_summary(dir: &RunDir, results: serde_json::Value) {
    let mut summary = serde_json::json!({
        "summary": "done",
        "run": dir.path(),
        "checkpoint": dir.checkpoint(),
    });
    if let (Some(all), serde_json::Value::Object(fields)) = (summary.as_object_mut(), results) {
        all.extend(fields);
    }
    println!("{summary}");
}

/// Writes `metrics.csv`, `steps.csv`, `curves.png` and `confusion.png` into the run
/// folder and says so (with `--json`, as a last summary object naming the
/// run folder and its checkpoint).
fn write_results(
    dir: &RunDir,
    history: &History,
    eval: &Evaluation,
    labels: &Labels<'_>,
    doctor: Option<&Doctor>,
    json: bool,
) -> anyhow::Result<()> {
    write_metrics(dir, &history.to_csv(), doctor)?;
    plot_curves(&dir.path().join("curves.png"), history, labels.curves)?;
    plot_confusion_named(
        &dir.path().join("confusion.png"),
        &eval.confusion,
        labels.confusion,
        labels.class_names,
    )?;
    micrograd_plus::io::write_atomic(
        &dir.path().join("steps.csv"),
        history.steps_to_csv().as_bytes(),
    )?;
    if json {
        print_summary(
            dir,
            serde_json::json!({"test_loss": eval.loss, "test_acc": eval.accuracy}),
        );
    } else {
        eprintln!(
            "test accuracy {:.2}%; wrote {}",
            100.0 * eval.accuracy,
            dir.path().display()
        );
    }
    Ok(())
}

/// What a recipe's run is before it trains: the metadata its checkpoint
/// and `config.json` carry, and how it continues from a checkpoint.
pub trait Prepared {
    /// What the run is (recipe, architecture, crate version).
    fn metadata(&self) -> HashMap<String, String>;
    /// Loads the run's state from its training checkpoint (`--resume`).
    fn resume_from(&mut self, checkpoint: &Path) -> anyhow::Result<()>;
}

impl Prepared for TrainingRun {
    fn metadata(&self) -> HashMap<String, String> {
        self.trainer.metadata.clone()
    }

    fn resume_from(&mut self, checkpoint: &Path) -> anyhow::Result<()> {
        self.trainer
            .load_checkpoint(checkpoint)
            .context("cannot resume")
    }
}

/// Prepares a run, the same for every recipe: a fresh one (`fresh()` config: the
/// recipe's preset with the flags given applied, written to a new folder
/// under `--out` or `runs/<recipe>-<timestamp>`) or a resumed one (config
/// read from the `--resume` folder, then `extend`ed, e.g. to more epochs,
/// and the checkpoint loaded). `build` makes the recipe's run from the
/// config; it validates the settings and loads the data, and runs before a
/// new folder is created, so a bad argument or bad data leaves nothing
/// behind.
pub fn start_run<C, R, E>(
    args: &RunArgs,
    recipe: &str,
    fresh: impl FnOnce() -> anyhow::Result<C>,
    extend: impl FnOnce(&mut C) -> anyhow::Result<()>,
    build: impl FnOnce(&C) -> Result<R, E>,
) -> anyhow::Result<(RunDir, C, R)>
where
    C: serde::Serialize + serde::de::DeserializeOwned,
    R: Prepared,
    anyhow::Error: From<E>,
{
    match &args.resume {
        Some(dir) => {
            let dir = RunDir::open(dir)?;
            let mut config: C = dir.read_config()?;
            extend(&mut config)?;
            let mut run = build(&config)?;
            run.resume_from(&dir.checkpoint())?;
            // The folder describes the run as it now continues (e.g. more epochs).
            dir.write_config(&run.metadata(), &config)?;
            Ok((dir, config, run))
        }
        None => {
            let config = fresh()?;
            let run = build(&config)?;
            let dir = RunDir::create(args.out.clone(), recipe, args.force)?;
            if let Err(e) = dir.write_config(&run.metadata(), &config) {
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
    /// The classes' names on `confusion.png` (empty: their numbers).
    pub class_names: &'a [&'a str],
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
    if let Some(b) = args.breakage {
        if let Err(e) = b.apply(run) {
            // --break never comes with --resume: this is a new run's folder.
            dir.discard();
            return Err(e.into());
        }
        progress.note(&format!("--break {b}: {}", b.describe()));
    }
    run.trainer.doctor = start_doctor(dir, args, run.trainer.classes, &progress.bar)?;
    run.trainer.anomaly = args.anomaly;
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
                // those epochs measured beside it, and what the doctor saw.
                // Best effort: the run's own error is the one to report.
                let csv = run.trainer.history.to_csv();
                keep_partial(dir, Some(&csv), run.trainer.doctor.as_ref());
                if run.trainer.doctor.is_some() {
                    progress.note(&format!(
                        "the doctor's findings: mgp doctor {}",
                        dir.path().display()
                    ));
                }
            }
            return Err(e.into());
        }
    };
    let eval = match eval {
        Some(e) => e,
        // Resumed a finished run: evaluate what it left.
        None => run.trainer.evaluate(&run.test)?,
    };
    drop(progress);
    write_results(
        dir,
        &run.trainer.history,
        &eval,
        labels,
        run.trainer.doctor.as_ref(),
        json,
    )?;
    Ok(eval)
}
