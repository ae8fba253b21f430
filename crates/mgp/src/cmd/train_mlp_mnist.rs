//! `mgp train mlp-mnist`: milestone 1's MLP on MNIST, with a progress bar,
//! per-epoch summaries (or JSON), and a run folder holding `metrics.csv`,
//! `curves.png`, `confusion.png`, `config.json` and the checkpoint.

use super::args::{positive_f64, positive_usize, with_default};
use super::train_common::{start_run, train_and_report, Labels, RunArgs};
use micrograd_plus::train::mlp_mnist::{self, MnistConfig, OptimizerKind};
use micrograd_plus::train::trainer::Evaluation;
use std::path::PathBuf;

/// Options of `mgp train mlp-mnist`.
#[derive(clap::Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    mgp train mlp-mnist --epochs 3\n  \
    mgp train mlp-mnist --optimizer sgd --lr 0.05\n  \
    mgp train mlp-mnist --data ~/mnist   # the official files, .gz or not\n  \
    mgp train mlp-mnist --resume runs/mlp-mnist-20260101-120000 --epochs 20\n  \
    mgp train mlp-mnist --json > epochs.jsonl")]
pub struct Args {
    /// Passes over the training set (on --resume, the run's own, which a
    /// larger value extends).
    #[arg(long, value_parser = positive_usize, help = with_default(
        "Passes over the training set",
        format!("{}; on --resume, the run's own, which a larger value extends", MnistConfig::default().epochs),
    ))]
    pub epochs: Option<usize>,
    /// Samples per step.
    #[arg(long, value_parser = positive_usize, help = with_default("Samples per step", MnistConfig::default().batch_size))]
    pub batch_size: Option<usize>,
    /// Learning rate.
    #[arg(long, value_parser = positive_f64, help = with_default("Learning rate", MnistConfig::default().lr))]
    pub lr: Option<f64>,
    /// adam, adamw or sgd (momentum 0.9).
    #[arg(long, help = with_default("adam, adamw or sgd (momentum 0.9)", MnistConfig::default().optimizer))]
    pub optimizer: Option<OptimizerKind>,
    /// Seed for the initialisation and the shuffle.
    #[arg(long, help = with_default("Seed for the initialisation and the shuffle", MnistConfig::default().seed))]
    pub seed: Option<u64>,
    /// Folder with MNIST files (official names or the subset's, gzipped or
    /// not) [default: the MNIST subset built into mgp].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Threads, run folder, resume and JSON output.
    #[command(flatten)]
    pub run: RunArgs,
}

impl Args {
    /// The flags given, applied onto `preset`.
    pub fn apply(&self, preset: MnistConfig) -> MnistConfig {
        MnistConfig {
            epochs: self.epochs.unwrap_or(preset.epochs),
            batch_size: self.batch_size.unwrap_or(preset.batch_size),
            lr: self.lr.unwrap_or(preset.lr),
            optimizer: self.optimizer.unwrap_or(preset.optimizer),
            seed: self.seed.unwrap_or(preset.seed),
            data: super::args::absolute_data(&self.data).or(preset.data),
        }
    }
}

/// Trains milestone 1's recipe with the flags given and writes the run
/// folder; returns the final evaluation.
pub fn run(args: &Args) -> anyhow::Result<Evaluation> {
    let (dir, _, mut run) = start_run(
        &args.run,
        "mlp-mnist",
        || Ok(args.apply(MnistConfig::default())),
        |c| {
            c.epochs = args.epochs.unwrap_or(0).max(c.epochs);
            Ok(())
        },
        mlp_mnist::run,
    )?;
    let (train, test) = run.sizes();
    let labels = Labels {
        header: format!("mlp-mnist: {train} training / {test} test images"),
        curves: "MLP 784-128-64-10 on MNIST",
        confusion: "MNIST test set",
        class_names: &[],
    };
    train_and_report(&dir, &mut run, &args.run, &labels)
}
