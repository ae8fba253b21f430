//! `mgp eval --checkpoint PATH`: test-set accuracy of a saved model.

use anyhow::Context;
use micrograd_plus::train::mlp_mnist::{self, MnistConfig};
use std::path::PathBuf;

/// Options of `mgp eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A checkpoint written by `mgp train mlp-mnist` (its run folder's
    /// `checkpoint.safetensors`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Folder with MNIST files; default: the run's own data setting.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Loads the checkpoint into the recipe's model and evaluates it.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let folder = args
        .checkpoint
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let config_path = folder.join("config.json");
    let mut config: MnistConfig = match std::fs::read_to_string(&config_path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid config", config_path.display()))?,
        Err(_) => MnistConfig::default(),
    };
    if args.data.is_some() {
        config.data = args.data.clone();
    }
    let mut run = mlp_mnist::run(&config)?;
    run.trainer.load_checkpoint(&args.checkpoint)?;
    let eval = run.trainer.evaluate(&run.test)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"test_loss": eval.loss, "test_acc": eval.accuracy, "samples": eval.confusion.total()})
        );
    } else {
        println!(
            "test accuracy {:.2}% ({} images), loss {:.4}",
            100.0 * eval.accuracy,
            eval.confusion.total(),
            eval.loss
        );
    }
    Ok(())
}
