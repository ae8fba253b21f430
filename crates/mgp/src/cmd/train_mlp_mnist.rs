//! `mgp train mlp-mnist`: milestone 1's MLP on MNIST, with a progress bar,
//! per-epoch summaries (or JSON), and a run folder holding `metrics.csv`,
//! `curves.png`, `confusion.png`, `config.json` and the checkpoint.

use super::run_dir::RunDir;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use micrograd_plus::train::charts::{plot_confusion, plot_curves};
use micrograd_plus::train::mlp_mnist::{MnistConfig, MnistRun, OptimizerKind};
use micrograd_plus::train::trainer::{Evaluation, FitOptions};
use std::path::PathBuf;

/// Options of `mgp train mlp-mnist`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Passes over the training set.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Samples per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// adam, adamw or sgd (momentum 0.9).
    #[arg(long, default_value = "adam")]
    pub optimizer: OptimizerKind,
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
    /// Run folder (default `runs/mlp-mnist-<timestamp>`).
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
    if let Some(n) = args.threads {
        micrograd_plus::kernels::set_num_threads(n)?;
    }
    let (dir, config) = match &args.resume {
        Some(dir) => {
            let dir = RunDir::open(dir)?;
            let mut config: MnistConfig = dir.read_config()?;
            config.epochs = args.epochs.max(config.epochs);
            (dir, config)
        }
        None => {
            let config = MnistConfig {
                epochs: args.epochs,
                batch_size: args.batch_size,
                lr: args.lr,
                optimizer: args.optimizer,
                seed: args.seed,
                data: args.data.clone(),
            };
            let dir = RunDir::create(args.out.clone(), "mlp-mnist")?;
            dir.write_config(&config)?;
            (dir, config)
        }
    };
    let mut run = MnistRun::new(&config)?;
    let checkpoint = dir.checkpoint();
    if args.resume.is_some() {
        run.trainer
            .load_checkpoint(&checkpoint)
            .context("cannot resume")?;
    }
    if !args.json {
        eprintln!(
            "mlp-mnist: {} training / {} test images, {} parameters, run folder {}",
            run.train.dataset().len(),
            run.test.dataset().len(),
            run.trainer.model.num_parameters(),
            dir.path().display()
        );
    }
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(run.train.num_batches() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{bar:30.cyan/blue}] {pos}/{len} {per_sec:>12} loss {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let epochs = config.epochs;
    let options = FitOptions {
        early_stopping_patience: None,
        checkpoint: Some(checkpoint),
    };
    let mut epoch_line = |m: &micrograd_plus::train::metrics::EpochMetrics, _: &Evaluation| {
        bar.finish_and_clear();
        if args.json {
            println!("{}", serde_json::to_string(m).expect("metrics serialise"));
        } else {
            println!(
                "epoch {:>2}/{epochs}  train loss {:.4} acc {:5.2}%  test loss {:.4} acc {:5.2}%  {:.3} s ({:.0} samples/s)",
                m.epoch,
                m.train_loss,
                100.0 * m.train_acc,
                m.test_loss,
                100.0 * m.test_acc,
                m.epoch_seconds,
                m.samples_per_second
            );
        }
        bar.reset();
    };
    let eval = run.fit(
        &options,
        &mut |b| {
            bar.set_prefix(format!("epoch {}", b.epoch));
            bar.set_position(b.batch as u64 + 1);
            bar.set_message(format!("{:.4}", b.running_loss));
        },
        &mut epoch_line,
    )?;
    let eval = match eval {
        Some(e) => e,
        // Resumed a finished run: evaluate what it left.
        None => run.trainer.evaluate(&run.test)?,
    };
    std::fs::write(dir.path().join("metrics.csv"), run.trainer.history.to_csv())?;
    plot_curves(
        &dir.path().join("curves.png"),
        &run.trainer.history,
        "MLP 784-128-64-10 on MNIST",
    )?;
    plot_confusion(
        &dir.path().join("confusion.png"),
        &eval.confusion,
        "MNIST test set",
    )?;
    if !args.json {
        eprintln!(
            "test accuracy {:.2}%; wrote {}",
            100.0 * eval.accuracy,
            dir.path().display()
        );
    }
    Ok(eval)
}
