//! `mgp train cnn-cifar10`: milestone 4's BatchNorm CNN on CIFAR-10 with
//! augmentation and a per-batch schedule, with a progress bar, per-epoch
//! summaries (or JSON), and a run folder holding `metrics.csv`,
//! `curves.png`, `confusion.png`, `config.json` and the checkpoint.

use super::args::{non_negative_f64, positive_f64, positive_usize, with_default};
use super::train_common::{start_run, train_and_report, Labels, RunArgs};
use micrograd_plus::train::cifar10::{self, Cifar10Config, Schedule};
use micrograd_plus::train::doctor::Breakage;
use micrograd_plus::train::metrics::History;
use micrograd_plus::train::trainer::Evaluation;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `mgp train cnn-cifar10`.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(after_help = "Examples:\n  \
    mgp train cnn-cifar10 --data cifar-10-binary.tar.gz   # the official archive, as downloaded\n  \
    mgp train cnn-cifar10 --data cifar-10-batches-bin --epochs 10 --schedule cosine\n  \
    mgp train cnn-cifar10 --train-limit 5000 --test-limit 1000 --epochs 2")]
pub struct Args {
    /// Passes over the training set (on --resume, the run's own).
    #[arg(long, value_parser = positive_usize, help = with_default(
        "Passes over the training set",
        format!("{}; on --resume, the run's own", Cifar10Config::default().epochs),
    ))]
    pub epochs: Option<usize>,
    /// Samples per step.
    #[arg(long, value_parser = positive_usize, help = with_default("Samples per step", Cifar10Config::default().batch_size))]
    pub batch_size: Option<usize>,
    /// Peak (onecycle) or starting (cosine, constant) learning rate.
    #[arg(long, value_parser = positive_f64, help = with_default(
        "Peak (onecycle) or starting (cosine, constant) learning rate", Cifar10Config::default().lr,
    ))]
    pub lr: Option<f64>,
    /// SGD momentum (Nesterov).
    #[arg(long, value_parser = non_negative_f64, help = with_default("SGD momentum (Nesterov)", Cifar10Config::default().momentum))]
    pub momentum: Option<f64>,
    /// L2 weight decay.
    #[arg(long, value_parser = non_negative_f64, help = with_default("L2 weight decay", Cifar10Config::default().weight_decay))]
    pub weight_decay: Option<f64>,
    /// onecycle, cosine or constant, stepped every batch.
    #[arg(long, help = with_default("onecycle, cosine or constant, stepped every batch", Cifar10Config::default().schedule))]
    pub schedule: Option<Schedule>,
    /// Seed for the initialisation, dropout, shuffle and augmentation.
    #[arg(long, help = with_default(
        "Seed for the initialisation, dropout, shuffle and augmentation", Cifar10Config::default().seed,
    ))]
    pub seed: Option<u64>,
    /// CIFAR-10: the official cifar-10-binary.tar.gz or its extracted
    /// cifar-10-batches-bin/ folder, as downloaded, or image folders
    /// `train/<class>/` and `test/<class>/`, or a .tar.gz of them.
    #[arg(long, help = with_default(
        "CIFAR-10: the official cifar-10-binary.tar.gz or its extracted cifar-10-batches-bin/ \
         folder, as downloaded, or image folders train/<class>/ and test/<class>/, or a .tar.gz of them",
        format!("{} beside the repository", cifar10::DEFAULT_DATA),
    ))]
    pub data: Option<PathBuf>,
    /// Train on N training images only (drawn at random, fixed seed).
    #[arg(long, value_parser = positive_usize)]
    pub train_limit: Option<usize>,
    /// Evaluate on N test images only (drawn at random, fixed seed).
    #[arg(long, value_parser = positive_usize)]
    pub test_limit: Option<usize>,
    /// Threads, run folder, resume and JSON output.
    #[command(flatten)]
    pub run: RunArgs,
}

impl Args {
    /// The flags given, applied onto `preset`.
    pub fn apply(&self, preset: Cifar10Config) -> Cifar10Config {
        Cifar10Config {
            epochs: self.epochs.unwrap_or(preset.epochs),
            batch_size: self.batch_size.unwrap_or(preset.batch_size),
            lr: self.lr.unwrap_or(preset.lr),
            momentum: self.momentum.unwrap_or(preset.momentum),
            weight_decay: self.weight_decay.unwrap_or(preset.weight_decay),
            schedule: self.schedule.unwrap_or(preset.schedule),
            seed: self.seed.unwrap_or(preset.seed),
            data: super::args::absolute_data(&self.data).or(preset.data),
            train_limit: self.train_limit.or(preset.train_limit),
            test_limit: self.test_limit.or(preset.test_limit),
        }
    }
}

/// Trains milestone 4's recipe with the flags given and writes the run
/// folder; returns the final evaluation and the run's history.
pub fn run(args: &Args) -> anyhow::Result<(Evaluation, History)> {
    run_preset(args, Cifar10Config::default())
}

/// [`run`] from `preset` (milestone 3 runs its own) with the flags given.
pub fn run_preset(args: &Args, preset: Cifar10Config) -> anyhow::Result<(Evaluation, History)> {
    if let Some(b) = args.run.breakage {
        // BatchNorm renormalises what dead-relu and unnormalised break, and
        // the loader's augmentation owns the transform. (lr-high and lr-low
        // scale every lr the one-cycle schedule sets, its peak included.)
        anyhow::ensure!(
            !matches!(b, Breakage::DeadRelu | Breakage::Unnormalised),
            "--break {b}: cnn-cifar10 takes lr-high, lr-low, no-zero-grad, bad-init or \
             unstable-softmax (mlp-mnist and cnn-mnist take every failure)"
        );
    }
    let started = Instant::now();
    let (dir, config, mut run) = start_run(
        &args.run,
        "cnn-cifar10",
        || Ok(args.apply(preset)),
        |c| extend(c, args.epochs),
        cifar10::run,
    )?;
    let (train, test) = run.sizes();
    let labels = Labels {
        header: format!(
            "cnn-cifar10: {train} training / {test} test images (loaded from {} in {:.1} s)",
            config.data_path().display(),
            started.elapsed().as_secs_f64()
        ),
        curves: "BatchNorm CNN on CIFAR-10",
        confusion: "CIFAR-10 test set",
        class_names: &micrograd_plus::data::cifar10::Cifar10::CLASSES,
    };
    let eval = train_and_report(&dir, &mut run, &args.run, &labels)?;
    if !args.run.json {
        eprintln!("wall time {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok((eval, run.trainer.history))
}

/// Applies `--epochs` to a resumed run's config. A constant learning rate
/// extends to any length; a one-cycle or cosine schedule was laid out over
/// the run's planned batches when it started, so a longer run is refused
/// (rather than training nothing and reporting success).
fn extend(config: &mut Cifar10Config, epochs: Option<usize>) -> anyhow::Result<()> {
    let Some(epochs) = epochs else {
        return Ok(());
    };
    if epochs <= config.epochs {
        return Ok(());
    }
    anyhow::ensure!(
        config.schedule == Schedule::Constant,
        "cannot extend this run from {} to {epochs} epochs: its {} learning-rate schedule was \
         laid out over {} epochs when it started; start a new run with --epochs {epochs}",
        config.epochs,
        config.schedule,
        config.epochs
    );
    config.epochs = epochs;
    Ok(())
}
