//! `mgp eval CHECKPOINT_OR_RUN_DIR`: evaluates any checkpoint `mgp train`
//! writes, choosing the model from the checkpoint's own metadata
//! (`micrograd_plus::train::saved`): test accuracy, loss and confusion
//! matrix for the classifiers, validation loss and perplexity for a GPT.

use anyhow::Context;
use micrograd_plus::data::text::CharTokenizer;
use micrograd_plus::models::GPT;
use micrograd_plus::nn::loss::CrossEntropyLoss;
use micrograd_plus::nn::Sequential;
use micrograd_plus::train::corpus::{Corpus, TextSource};
use micrograd_plus::train::gpt::split_loss;
use micrograd_plus::train::saved::{self, Architecture, CheckpointInfo, SavedModel};
use micrograd_plus::train::trainer::{evaluate, Evaluation, LossFn};
use micrograd_plus::train::{cifar10, cnn_mnist, mlp_mnist};
use std::path::PathBuf;

/// Options of `mgp eval`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp eval runs/mlp-mnist-20260101-120000\n  \
    mgp eval runs/X/checkpoint.safetensors --json\n  \
    mgp eval runs/gpt-shakespeare-X --data my-text.txt")]
pub struct Args {
    /// A checkpoint written by `mgp train`, or its run folder (a GPT run's
    /// model.safetensors, else checkpoint.safetensors).
    #[arg(
        value_name = "CHECKPOINT_OR_RUN_DIR",
        required_unless_present = "checkpoint"
    )]
    pub path: Option<PathBuf>,
    /// The same, as a flag.
    #[arg(long, conflicts_with = "path")]
    pub checkpoint: Option<PathBuf>,
    /// The data to evaluate on [default: the recipe's own: the embedded
    /// MNIST test set, the CIFAR-10 archive, the GPT's corpus]; only its
    /// test split is read (CIFAR-10's inputs are normalised with the
    /// training set's statistics, which the checkpoint records).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Loads the checkpoint into the model its metadata names and evaluates it.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let path = args
        .path
        .as_ref()
        .or(args.checkpoint.as_ref())
        .context("no checkpoint given")?;
    let saved = saved::load(path)?;
    let info = &saved.info;
    if info.inferred && !args.json {
        eprintln!(
            "note: {} names no architecture (written before checkpoints did); its tensors are those of {}",
            info.path.display(),
            info.architecture.name()
        );
    }
    match saved.model {
        SavedModel::Classifier(model) => classifier(info, model, args),
        SavedModel::Gpt(model, tokenizer) => language_model(info, &model, tokenizer, args),
    }
}

/// Accuracy, loss and confusion matrix on the recipe's test set (only the
/// test set is read; CIFAR-10's inputs are normalised with the statistics
/// the checkpoint records).
fn classifier(info: &CheckpointInfo, mut model: Sequential, args: &Args) -> anyhow::Result<()> {
    let data = args.data.clone();
    let test = match info.architecture {
        Architecture::Mlp => mlp_mnist::test_loader(data.as_deref()),
        Architecture::CnnMnist => cnn_mnist::test_loader(&cnn_mnist::CnnMnistConfig {
            data,
            ..Default::default()
        }),
        Architecture::CifarCnn => cifar10::test_loader(
            &cifar10::Cifar10Config {
                data,
                ..Default::default()
            },
            info.normalize.clone(),
        ),
        Architecture::Gpt => anyhow::bail!("{}: a GPT is not a classifier", info.path.display()),
    }?;
    let ce = CrossEntropyLoss::new();
    let loss: LossFn = Box::new(move |y, t| ce.forward(y, t));
    let eval = evaluate(&mut model, &loss, 10, &test)?;
    print_classifier(info, &eval, args.json);
    Ok(())
}

fn print_classifier(info: &CheckpointInfo, eval: &Evaluation, json: bool) {
    let c = &eval.confusion;
    let rows: Vec<Vec<u64>> = (0..c.classes())
        .map(|t| (0..c.classes()).map(|p| c.count(t, p)).collect())
        .collect();
    if json {
        print_json(
            info,
            serde_json::json!({
                "test_loss": eval.loss,
                "test_acc": eval.accuracy,
                "samples": c.total(),
                "confusion": rows,
            }),
        );
        return;
    }
    println!(
        "{} ({}): test accuracy {:.2}% ({} images), loss {:.4}",
        info.path.display(),
        info.architecture.name(),
        100.0 * eval.accuracy,
        c.total(),
        eval.loss
    );
    println!("confusion matrix (rows: true class, columns: predicted):");
    for (t, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|n| format!("{n:>5}")).collect();
        println!("{t:>3} {}", cells.join(""));
    }
}

/// Prints `result` as one JSON object, after what the checkpoint is.
fn print_json(info: &CheckpointInfo, result: serde_json::Value) {
    let mut object = serde_json::json!({
        "checkpoint": info.path,
        "recipe": info.recipe,
        "architecture": info.architecture.name(),
    });
    if let (Some(all), serde_json::Value::Object(fields)) = (object.as_object_mut(), result) {
        all.extend(fields);
    }
    println!("{object}");
}

/// Validation loss and perplexity over the whole validation split (the
/// last 10% of the text, as in training).
fn language_model(
    info: &CheckpointInfo,
    model: &GPT,
    tokenizer: Option<CharTokenizer>,
    args: &Args,
) -> anyhow::Result<()> {
    let source = TextSource::new(
        args.data.as_deref(),
        Corpus::of_recipe(info.recipe.as_deref()),
    )?;
    let (_, data) = source.load()?;
    if let Some(own) = &tokenizer {
        check_same_vocabulary(own, &data.tokenizer, &source)?;
    } else {
        anyhow::ensure!(
            data.tokenizer.vocab_size() == model.config().vocab_size,
            "{}: {} distinct characters, the model's vocabulary has {}: not the text it was trained on (--data)",
            source,
            data.tokenizer.vocab_size(),
            model.config().vocab_size
        );
    }
    let (loss, tokens) = split_loss(model, &data.val, 32)?;
    if args.json {
        print_json(
            info,
            serde_json::json!({
                "data": source,
                "val_loss": loss,
                "perplexity": loss.exp(),
                "tokens": tokens,
            }),
        );
    } else {
        println!(
            "{} (gpt): validation loss {loss:.4}, perplexity {:.3} ({tokens} tokens of {})",
            info.path.display(),
            loss.exp(),
            source
        );
    }
    Ok(())
}

/// The text must tokenize as in training: the same characters, so the same ids.
fn check_same_vocabulary(
    own: &CharTokenizer,
    text: &CharTokenizer,
    source: &TextSource,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        own == text,
        "{}: its characters ({}) are not the checkpoint's vocabulary ({}): not the text the model was trained on (--data)",
        source,
        text.vocab_size(),
        own.vocab_size()
    );
    Ok(())
}
