//! `mgp train cnn-mnist`: milestone 2's CNN on MNIST, with a progress bar,
//! per-epoch summaries (or JSON), and a run folder holding `metrics.csv`,
//! `curves.png`, `confusion.png`, `config.json` and the checkpoint.

use super::args::{positive_f64, positive_usize, with_default};
use super::train_common::{start_run, train_and_report, Labels, RunArgs};
use micrograd_plus::train::cnn_mnist::{self, CnnMnistConfig};
use micrograd_plus::train::trainer::Evaluation;
use std::path::PathBuf;

/// Options of `mgp train cnn-mnist`.
#[derive(clap::Args, Debug)]
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
    #[arg(long, default_value_t = CnnMnistConfig::default().batch_size, value_parser = positive_usize)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = CnnMnistConfig::default().lr, value_parser = positive_f64)]
    pub lr: f64,
    /// Seed for the initialisation and the shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
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

/// Trains and writes the run folder; returns the final evaluation.
pub fn run(args: &Args) -> anyhow::Result<Evaluation> {
    let (dir, _, mut run) = start_run(
        &args.run,
        "cnn-mnist",
        || CnnMnistConfig {
            epochs: args.epochs.unwrap_or(CnnMnistConfig::default().epochs),
            batch_size: args.batch_size,
            lr: args.lr,
            seed: args.seed,
            data: super::args::absolute_data(&args.data),
            limit: args.limit,
        },
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
