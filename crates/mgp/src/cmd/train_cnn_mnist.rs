//! `mgp train cnn-mnist`: milestone 2's CNN on MNIST, with a progress bar,
//! per-epoch summaries (or JSON), and a run folder holding `metrics.csv`,
//! `curves.png`, `confusion.png`, `config.json` and the checkpoint.

use super::train_common::{open_run, set_threads, train_and_report, Labels};
use micrograd_plus::train::cnn_mnist::{self, CnnMnistConfig};
use micrograd_plus::train::trainer::Evaluation;
use std::path::PathBuf;

/// Options of `mgp train cnn-mnist`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Passes over the training set.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed for the initialisation and the shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads for the kernels (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder with MNIST files (official names or the subset's); default:
    /// the repository's embedded subset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only N training and N test images (drawn at random, fixed seed).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Run folder (default `runs/cnn-mnist-<timestamp>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this folder from its checkpoint (its
    /// config.json is used; --epochs may extend it).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Print one JSON object per epoch on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
}

/// Trains and writes the run folder; returns the final evaluation.
pub fn run(args: &Args) -> anyhow::Result<Evaluation> {
    set_threads(args.threads)?;
    let (dir, config) = open_run(
        args.resume.as_deref(),
        args.out.clone(),
        "cnn-mnist",
        || CnnMnistConfig {
            epochs: args.epochs,
            batch_size: args.batch_size,
            lr: args.lr,
            seed: args.seed,
            data: args.data.clone(),
            limit: args.limit,
        },
        |c| c.epochs = args.epochs.max(c.epochs),
    )?;
    let mut run = cnn_mnist::run(&config)?;
    let (train, test) = run.sizes();
    let labels = Labels {
        header: format!("cnn-mnist: {train} training / {test} test images"),
        curves: "CNN (2 conv + 2 linear) on MNIST",
        confusion: "MNIST test set",
    };
    train_and_report(&dir, &mut run, args.resume.is_some(), args.json, &labels)
}
