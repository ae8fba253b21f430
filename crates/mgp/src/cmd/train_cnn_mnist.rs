//! `mgp train cnn-mnist`: milestone 2's CNN on MNIST, with a progress bar,
//! per-epoch summaries (or JSON), and a run folder holding `metrics.csv`,
//! `curves.png`, `confusion.png`, `config.json` and the checkpoint.

use super::args::{positive_f64, positive_usize, with_default};
use super::train_common::{start_run, train_and_report, Labels, RunArgs};
use micrograd_plus::train::cnn_mnist::{self, CnnMnistConfig};
use micrograd_plus::train::trainer::Evaluation;
use std::path::PathBuf;

/// Options of `mgp train cnn-mnist`.
#[derive(clap::Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    mgp train cnn-mnist\n  \
    mgp train cnn-mnist --epochs 1 --limit 2000 --out cnn\n  \
    mgp train cnn-mnist --json > epochs.jsonl")]
pub struct Args {
    /// Passes over the training set (on --resume, the run's own, which a
    /// larger value extends).
    #[arg(long, value_parser = positive_usize, help = with_default(
        "Passes over the training set",
        format!("{}; on --resume, the run's own, which a larger value extends", CnnMnistConfig::default().epochs),
    ))]
    pub epochs: Option<usize>,
    /// Samples per step.
    #[arg(long, value_parser = positive_usize, help = with_default("Samples per step", CnnMnistConfig::default().batch_size))]
    pub batch_size: Option<usize>,
    /// Adam's learning rate.
    #[arg(long, value_parser = positive_f64, help = with_default("Adam's learning rate", CnnMnistConfig::default().lr))]
    pub lr: Option<f64>,
    /// Seed for the initialisation and the shuffle.
    #[arg(long, help = with_default("Seed for the initialisation and the shuffle", CnnMnistConfig::default().seed))]
    pub seed: Option<u64>,
    /// Folder with MNIST files (official names or the subset's, gzipped or
    /// not) [default: the MNIST subset built into mgp].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only N training and N test images (drawn at random, fixed seed).
    #[arg(long, value_parser = positive_usize)]
    pub limit: Option<usize>,
    /// Threads, run folder, resume and JSON output.
    #[command(flatten)]
    pub run: RunArgs,
}

impl Args {
    /// The flags given, applied onto `preset`.
    pub fn apply(&self, preset: CnnMnistConfig) -> CnnMnistConfig {
        CnnMnistConfig {
            epochs: self.epochs.unwrap_or(preset.epochs),
            batch_size: self.batch_size.unwrap_or(preset.batch_size),
            lr: self.lr.unwrap_or(preset.lr),
            seed: self.seed.unwrap_or(preset.seed),
            data: super::args::absolute_data(&self.data).or(preset.data),
            limit: self.limit.or(preset.limit),
        }
    }
}

/// Trains milestone 2's recipe with the flags given and writes the run
/// folder; returns the final evaluation.
pub fn run(args: &Args) -> anyhow::Result<Evaluation> {
    let (dir, _, mut run) = start_run(
        &args.run,
        "cnn-mnist",
        || Ok(args.apply(CnnMnistConfig::default())),
        |c| {
            c.epochs = args.epochs.unwrap_or(0).max(c.epochs);
            Ok(())
        },
        cnn_mnist::run,
    )?;
    let (train, test) = run.sizes();
    let labels = Labels {
        header: format!("cnn-mnist: {train} training / {test} test images"),
        curves: "CNN (2 conv + 2 linear) on MNIST",
        confusion: "MNIST test set",
        class_names: &[],
    };
    train_and_report(&dir, &mut run, &args.run, &labels)
}
