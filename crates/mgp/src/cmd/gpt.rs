//! The language commands: `mgp train gpt-shakespeare`, `mgp train
//! gpt-tinytalks`, `mgp generate`, `mgp milestone attention`, `mgp milestone
//! 5`. Parsing and printing only; the recipes live in
//! `micrograd_plus::train::{gpt, reversal}`.

use super::args::{non_negative_f64, positive_f64, positive_usize};
use super::milestone::verdict;
use super::run_dir::RunDir;
use super::train_common::{progress_bar, start_doctor, RunArgs};
use anyhow::Context;
use micrograd_plus::data::embedded;
use micrograd_plus::data::text::read_text;
use micrograd_plus::models::{GPTConfig, Sampling};
use micrograd_plus::nn::Module;
use micrograd_plus::train::gpt::{
    self as recipe, Checkpointing, EvalRecord, TextData, TrainConfig, Watch,
};
use micrograd_plus::train::reversal::{self, ReversalConfig};
use micrograd_plus::train::saved::Architecture;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Options of `mgp train gpt-shakespeare` and `gpt-tinytalks`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Text file to train on [default: the recipe's corpus, built into mgp].
    #[arg(long, conflicts_with = "resume")]
    pub data: Option<PathBuf>,
    /// Stop after this many steps (on --resume: the run's new total).
    #[arg(long, value_parser = positive_usize)]
    pub steps: Option<usize>,
    /// Stop after this many minutes (evaluation included; on --resume:
    /// the run's new total).
    #[arg(long, value_parser = positive_f64)]
    pub minutes: Option<f64>,
    /// Windows per step.
    #[arg(long, value_parser = positive_usize, conflicts_with = "resume")]
    pub batch_size: Option<usize>,
    /// AdamW learning rate.
    #[arg(long, value_parser = positive_f64, conflicts_with = "resume")]
    pub lr: Option<f64>,
    /// Steps between evaluations (and checkpoints).
    #[arg(long, value_parser = positive_usize, conflicts_with = "resume")]
    pub eval_interval: Option<usize>,
    /// Seed of the initialisation and the batches.
    #[arg(long, conflicts_with = "resume")]
    pub seed: Option<u64>,
    /// Threads, run folder, resume and JSON output (one object per
    /// evaluation).
    #[command(flatten)]
    pub run: RunArgs,
}

/// `mgp train gpt-*`'s command with `corpus`'s defaults in the help of its
/// flags (the two recipes share [`TrainArgs`], whose unset flags mean "the
/// recipe's own", or on --resume "the run's own") and its examples.
pub fn with_defaults(command: clap::Command, corpus: Corpus) -> clap::Command {
    let preset = corpus.config(0);
    let minutes = preset
        .max_seconds
        .map_or("none".to_string(), |s| format!("{}", s / 60.0));
    let defaults = [
        ("steps", preset.max_steps.to_string()),
        ("minutes", minutes),
        ("batch_size", preset.batch_size.to_string()),
        ("lr", preset.lr.to_string()),
        ("eval_interval", preset.eval_interval.to_string()),
        ("seed", DEFAULT_SEED.to_string()),
    ];
    let name = corpus.name();
    let mut command = command.after_help(format!(
        "Examples:\n  \
         mgp train {name} --minutes 5\n  \
         mgp train {name} --steps 500 --eval-interval 100 > train.log   # the evaluation lines reach the file\n  \
         mgp train {name} --data my-text.txt --json\n  \
         mgp train {name} --resume runs/{name}-20260101-120000 --steps 5000\n  \
         mgp generate --checkpoint runs/{name}-20260101-120000/model.safetensors --prompt \"{}\"",
        corpus.prompt().trim()
    ));
    let help_of = |arg: &clap::Arg| arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    for (id, default) in defaults {
        command = command.mut_arg(id, |arg| {
            let help = help_of(&arg);
            arg.help(format!("{help} [default: {default}]"))
        });
    }
    // The shared run flags speak of epochs; a GPT counts steps and
    // evaluations.
    for id in ["resume", "json"] {
        command = command.mut_arg(id, |arg| {
            let help = help_of(&arg)
                .replace(
                    "--epochs may extend it",
                    "--steps or --minutes may extend it",
                )
                .replace("per epoch", "per evaluation");
            arg.help(help)
        });
    }
    command
}

/// Where a GPT run's text comes from: a file (`--data`, kept as an absolute
/// path so `--resume` works from any directory), or a corpus compiled into
/// mgp, so the default runs need no file (`"data": {"embedded": "..."}` in
/// `config.json`).
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum TextSource {
    File(PathBuf),
    Embedded { embedded: String },
}

impl TextSource {
    /// `data` if given, else `corpus`'s embedded text.
    pub fn new(data: Option<&Path>, corpus: Corpus) -> anyhow::Result<TextSource> {
        Ok(match data {
            Some(path) => TextSource::File(
                std::path::absolute(path)
                    .with_context(|| format!("cannot resolve {}", path.display()))?,
            ),
            None => TextSource::Embedded {
                embedded: corpus.embedded().0.to_string(),
            },
        })
    }

    /// The text.
    pub fn read(&self) -> anyhow::Result<String> {
        match self {
            TextSource::File(path) => Ok(read_text(path)?),
            TextSource::Embedded { embedded: name } => [Corpus::Shakespeare, Corpus::TinyTalks]
                .into_iter()
                .map(Corpus::embedded)
                .find(|(known, _)| known == name)
                .map(|(_, text)| text.to_string())
                .with_context(|| format!("no corpus {name:?} is built into mgp")),
        }
    }
}

impl std::fmt::Display for TextSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextSource::File(path) => write!(f, "{}", path.display()),
            TextSource::Embedded { embedded } => write!(f, "{embedded} (built into mgp)"),
        }
    }
}

/// A GPT run's `config.json`: the text it trains on and the recipe.
#[derive(Serialize, Deserialize)]
struct RunConfig {
    data: TextSource,
    #[serde(flatten)]
    train: TrainConfig,
}

/// The default seed of the GPT recipes.
const DEFAULT_SEED: u64 = 1337;

/// Which corpus and model a training command uses.
#[derive(Clone, Copy, Debug)]
pub enum Corpus {
    /// Tiny Shakespeare, the milestone-5 recipe.
    Shakespeare,
    /// TinyTalks Q&A (CC BY 4.0), a smaller model.
    TinyTalks,
}

impl Corpus {
    /// The corpus of a GPT recipe (tiny Shakespeare unless it is
    /// `gpt-tinytalks`, also when the recipe is unknown).
    pub fn of_recipe(recipe: Option<&str>) -> Corpus {
        match recipe {
            Some(r) if r == Corpus::TinyTalks.name() => Corpus::TinyTalks,
            _ => Corpus::Shakespeare,
        }
    }

    /// The prompt of the sample printed after training.
    fn prompt(self) -> &'static str {
        match self {
            Corpus::Shakespeare => "ROMEO:",
            Corpus::TinyTalks => "Q: ",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Corpus::Shakespeare => "gpt-shakespeare",
            Corpus::TinyTalks => "gpt-tinytalks",
        }
    }

    /// The corpus compiled into mgp: its file in the repository's `data/`
    /// (its name in messages and `config.json`) and its text.
    fn embedded(self) -> (&'static str, &'static str) {
        match self {
            Corpus::Shakespeare => ("tinyshakespeare/input.txt", embedded::TINY_SHAKESPEARE),
            Corpus::TinyTalks => ("tinytalks/tinytalks_v1.txt", embedded::TINY_TALKS),
        }
    }

    pub(crate) fn config(self, vocab: usize) -> TrainConfig {
        match self {
            Corpus::Shakespeare => TrainConfig::shakespeare(vocab),
            Corpus::TinyTalks => TrainConfig {
                model: GPTConfig {
                    block_size: 64,
                    d_model: 96,
                    heads: 4,
                    layers: 3,
                    dropout: 0.1,
                    ..GPTConfig::shakespeare(vocab)
                },
                lr: 1e-3,
                max_steps: 3000,
                max_seconds: Some(5.0 * 60.0),
                eval_interval: 200,
                eval_iters: 10,
                ..TrainConfig::shakespeare(vocab)
            },
        }
    }
}

/// The outcome of a training run.
pub struct Trained {
    /// Every evaluation.
    pub records: Vec<EvalRecord>,
    /// Where the checkpoint is.
    pub checkpoint: PathBuf,
}

/// Reads and tokenizes the text of a run.
pub(crate) fn load_text(source: &TextSource) -> anyhow::Result<(String, TextData)> {
    let text = source.read()?;
    let data = TextData::new(&text, 0.9).with_context(|| source.to_string())?;
    Ok((text, data))
}

/// Runs `mgp train gpt-*`: a new run, or `--resume` of one from its
/// checkpoint (saved after every evaluation).
pub fn train(corpus: Corpus, args: &TrainArgs) -> anyhow::Result<Trained> {
    if let Some(b) = args.run.breakage {
        // Refused before a run folder is made.
        anyhow::ensure!(
            b.applies_to_gpt(),
            "--break {b} is for the classifier recipes: a GPT has GELUs and token ids \
             (the GPTs take lr-high, lr-low, no-zero-grad, bad-init and unstable-softmax)"
        );
    }
    if let Some(n) = args.run.threads {
        micrograd_plus::kernels::set_num_threads(n)?;
    }
    // Everything is checked (flags, text, settings against the text) before
    // a new run's folder is created, so a failed start leaves nothing.
    let (dir, config, text, data) = match &args.run.resume {
        Some(folder) => {
            let dir = RunDir::open(folder)?;
            let mut config: RunConfig = dir.read_config()?;
            if let Some(s) = args.steps {
                config.train.max_steps = s;
            }
            if let Some(m) = args.minutes {
                config.train.max_seconds = Some(m * 60.0);
            }
            let (text, data) = load_text(&config.data)?;
            config
                .train
                .check(&data)
                .with_context(|| format!("{} does not fit this run", config.data))?;
            // The folder describes the run as it now continues (more steps).
            dir.write_config(&Architecture::Gpt.metadata(corpus.name()), &config)?;
            (dir, config, text, data)
        }
        None => {
            let source = TextSource::new(args.data.as_deref(), corpus)?;
            let (text, data) = load_text(&source)?;
            let mut train = corpus.config(data.tokenizer.vocab_size());
            train.seed = args.seed.unwrap_or(DEFAULT_SEED);
            if let Some(s) = args.steps {
                train.max_steps = s;
            }
            if let Some(m) = args.minutes {
                train.max_seconds = Some(m * 60.0);
            }
            if let Some(b) = args.batch_size {
                train.batch_size = b;
            }
            if let Some(lr) = args.lr {
                train.lr = lr;
            }
            if let Some(e) = args.eval_interval {
                train.eval_interval = e;
            }
            train.check(&data)?;
            let config = RunConfig {
                data: source,
                train,
            };
            let dir = RunDir::create(args.run.out.clone(), corpus.name(), args.run.force)?;
            if let Err(e) = dir.write_config(&Architecture::Gpt.metadata(corpus.name()), &config) {
                dir.discard();
                return Err(e);
            }
            (dir, config, text, data)
        }
    };
    let resumed = args.run.resume.is_some();
    let json = args.run.json;
    if !json {
        eprintln!(
            "{}: {} characters ({} training, {} validation), vocabulary {}, run folder {}",
            corpus.name(),
            text.chars().count(),
            data.train.len(),
            data.val.len(),
            data.tokenizer.vocab_size(),
            dir.path().display()
        );
    }
    let config = &config.train;
    // The run stops at its step limit or its time limit, whichever comes
    // first: the ETA is the nearer of the two. `elapsed_offset` is the time
    // the run had already trained before this session (a resumed run's
    // limit counts it), learnt from the first evaluation's elapsed_s.
    let elapsed_offset = Arc::new(AtomicU64::new(0f64.to_bits()));
    let time_limit = config.max_seconds;
    let offset = elapsed_offset.clone();
    let bar = progress_bar(
        json,
        config.max_steps as u64,
        "{elapsed_precise}",
        "steps",
        move |s| {
            let by_steps = s.eta();
            let Some(limit) = time_limit else {
                return by_steps;
            };
            let done = f64::from_bits(offset.load(Ordering::Relaxed)) + s.elapsed().as_secs_f64();
            by_steps.min(Duration::from_secs_f64((limit - done).max(0.0)))
        },
    );
    let mut doctor = start_doctor(&dir, &args.run, data.tokenizer.vocab_size(), &bar)?;
    if let (Some(b), false) = (args.run.breakage, json) {
        eprintln!("--break {b}: {}", b.describe());
    }
    let mut running = None::<f64>;
    let mut seen = Vec::new();
    let training_checkpoint = dir.checkpoint();
    let trained = recipe::train_resumable(
        config,
        &data,
        Some(Checkpointing {
            path: &training_checkpoint,
            resume: resumed,
            recipe: corpus.name(),
        }),
        Watch {
            doctor: doctor.as_mut(),
            anomaly: args.run.anomaly,
            breakage: args.run.breakage,
        },
        |step, loss| {
            let r = running.map_or(loss, |r| 0.98 * r + 0.02 * loss);
            if running.is_none() {
                // A resumed run starts at its checkpoint's step: the rate
                // (and ETA) count from there, not from a jump from 0.
                bar.set_position(step.saturating_sub(1) as u64);
                bar.reset_eta();
            }
            running = Some(r);
            bar.set_position(step as u64);
            bar.set_message(format!("{r:.4}"));
        },
        |r| {
            seen.push(r.clone());
            let before = r.elapsed_s - bar.elapsed().as_secs_f64();
            elapsed_offset.store(before.max(0.0).to_bits(), Ordering::Relaxed);
            // On stdout like the classifiers' epoch lines, and printed
            // whether or not anything is a terminal (bar.println would print
            // nothing into a log file).
            bar.suspend(|| {
                if json {
                    println!("{}", serde_json::to_string(r).unwrap_or_default());
                } else {
                    println!(
                        "step {:>6}  train {:.4}  val {:.4}  {:.1} ms/step  {:.0} tokens/s  {:.0} s",
                        r.step, r.train_loss, r.val_loss, r.step_ms, r.tokens_per_second, r.elapsed_s
                    );
                }
            });
        },
    );
    bar.finish_and_clear();
    let (model, records) = match trained {
        Ok(t) => t,
        Err(e) => {
            if !resumed && seen.iter().all(|r| r.step == 0) {
                // Failed before any training worth keeping: leave nothing.
                dir.discard();
            } else {
                // The checkpoint of the last good evaluation stays (resumable);
                // record this session's evaluations and the doctor's findings
                // beside it. Best effort: the run's own error is the one to report.
                if !seen.is_empty() {
                    let _ = write_metrics(&dir, &seen);
                }
                if let Some(d) = &doctor {
                    let _ = d.write_files(dir.path());
                }
            }
            return Err(e.into());
        }
    };
    let checkpoint = dir.path().join("model.safetensors");
    recipe::save_checkpoint(&checkpoint, &model, &data.tokenizer, corpus.name())?;
    write_metrics(&dir, &records)?;
    if let Some(d) = &doctor {
        d.write_files(dir.path())?;
    }
    recipe::plot_losses(
        &dir.path().join("loss.png"),
        &records,
        &format!("{} ({} parameters)", corpus.name(), model.num_parameters()),
    )?;
    if !json {
        // A text of one's own (--data) may lack the prompt's characters:
        // the sample then starts from the text's first character.
        let ids = match data.tokenizer.encode(corpus.prompt()) {
            Ok(ids) => ids,
            Err(_) => data
                .train
                .iter()
                .chain(&data.val)
                .take(1)
                .copied()
                .collect(),
        };
        let sample = model.generate(&ids, 300, 0.8, None, config.seed)?;
        eprintln!(
            "checkpoint {}\n--- sample ---\n{}",
            checkpoint.display(),
            data.tokenizer.decode(&sample)?
        );
    } else {
        // The last line: where the run is, for scripts.
        println!(
            "{}",
            serde_json::json!({
                "summary": "done",
                "run": dir.path(),
                "checkpoint": dir.checkpoint(),
                "model": &checkpoint,
                "val_loss": records.last().map(|r| r.val_loss),
            })
        );
    }
    Ok(Trained {
        records,
        checkpoint,
    })
}

/// Writes the evaluations to the run folder's `metrics.csv`, atomically.
fn write_metrics(dir: &RunDir, records: &[EvalRecord]) -> anyhow::Result<()> {
    let csv: String = std::iter::once(
        "step,train_loss,val_loss,step_ms,tokens_per_second,elapsed_s\n".to_string(),
    )
    .chain(records.iter().map(|r| {
        format!(
            "{},{},{},{},{},{}\n",
            r.step, r.train_loss, r.val_loss, r.step_ms, r.tokens_per_second, r.elapsed_s
        )
    }))
    .collect();
    micrograd_plus::io::write_atomic(&dir.path().join("metrics.csv"), csv.as_bytes())?;
    Ok(())
}

/// Options of `mgp generate`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp generate --checkpoint runs/gpt-shakespeare-20260101-120000/model.safetensors --prompt \"ROMEO:\"\n  \
    mgp generate --checkpoint model.safetensors --temperature 0 --tokens 100   # always the most likely token\n  \
    mgp generate --checkpoint model.safetensors --top-k 5 --seed 7")]
pub struct GenerateArgs {
    /// A checkpoint written by `mgp train gpt-*`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Text to continue.
    #[arg(long, default_value = "\n")]
    pub prompt: String,
    /// Number of tokens to generate.
    #[arg(long, default_value_t = 300)]
    pub tokens: usize,
    /// Sampling temperature (0: always the most likely token).
    #[arg(long, default_value_t = 0.8, value_parser = non_negative_f64)]
    pub temperature: f64,
    /// Sample among the k most likely tokens only [default: every token].
    #[arg(long, value_parser = positive_usize)]
    pub top_k: Option<usize>,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Recompute the whole context for every token instead of using the
    /// key/value cache (slower; for comparison).
    #[arg(long)]
    pub no_cache: bool,
}

/// Runs `mgp generate`: streams the text as it is produced.
pub fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let (model, tokenizer) = recipe::load_checkpoint(&args.checkpoint)?;
    let prompt = tokenizer.encode(&args.prompt)?;
    let sampling = Sampling {
        temperature: args.temperature,
        top_k: args.top_k,
        seed: args.seed,
    };
    let mut out = std::io::stdout().lock();
    write!(out, "{}", args.prompt)?;
    let start = std::time::Instant::now();
    model.generate_stream(&prompt, args.tokens, &sampling, !args.no_cache, |t| {
        if let Ok(s) = tokenizer.decode(&[t]) {
            let _ = write!(out, "{s}");
            let _ = out.flush();
        }
    })?;
    writeln!(out)?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} tokens in {:.2} s ({:.0} tokens/s)",
        args.tokens,
        secs,
        args.tokens as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// `mgp milestone attention`: reverse digit sequences; PASS at a sequence
/// accuracy of at least `bar` within `bar_seconds` (the milestone table's
/// bar).
pub fn milestone_attention(seed: u64, bar: f64, bar_seconds: f64) -> anyhow::Result<bool> {
    let config = ReversalConfig {
        seed,
        ..ReversalConfig::default()
    };
    let (_, records) = reversal::train(&config, |r| {
        eprintln!(
            "step {:>5}  loss {:.4}  sequence accuracy {:.1}%  digit accuracy {:.1}%  {:.1} s",
            r.step,
            r.loss,
            100.0 * r.sequence_accuracy,
            100.0 * r.token_accuracy,
            r.elapsed_s
        );
    })?;
    let last = records.last().context("no evaluation")?;
    let pass = last.sequence_accuracy >= bar && last.elapsed_s <= bar_seconds;
    println!(
        "milestone attention (reverse 8 digits, one transformer block): {} sequence accuracy {:.1}% after {} steps in {:.1} s (bar {:.0}% within {bar_seconds:.0} s)",
        verdict(pass),
        100.0 * last.sequence_accuracy,
        last.step,
        last.elapsed_s,
        100.0 * bar
    );
    Ok(pass)
}

/// `mgp milestone 5`: the Shakespeare recipe (its own step and time
/// limits); PASS at a best validation loss of at most `bar`.
pub fn milestone_5(seed: u64, bar: f64) -> anyhow::Result<bool> {
    let args = TrainArgs {
        data: None,
        steps: None,
        // The recipe's own time limit.
        minutes: None,
        batch_size: None,
        lr: None,
        eval_interval: None,
        seed: Some(seed),
        run: RunArgs::default(),
    };
    let trained = train(Corpus::Shakespeare, &args)?;
    let best = trained
        .records
        .iter()
        .map(|r| r.val_loss)
        .fold(f64::INFINITY, f64::min);
    let last = trained.records.last().context("no evaluation")?;
    let pass = best <= bar;
    println!(
        "milestone 5 (character GPT on tiny Shakespeare): {} best validation loss {best:.4} (bar {bar}) after {} steps in {:.0} s; checkpoint {}",
        verdict(pass),
        last.step,
        last.elapsed_s,
        trained.checkpoint.display()
    );
    Ok(pass)
}
