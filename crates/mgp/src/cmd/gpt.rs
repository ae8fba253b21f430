//! The language commands: `mgp train gpt-shakespeare`, `mgp train
//! gpt-tinytalks` and `mgp generate`. Parsing and printing only; the
//! recipes, their corpora and presets live in
//! `micrograd_plus::train::{gpt, corpus}`.

use super::args::{non_negative_f64, positive_f64, positive_usize};
use super::train_common::{
    keep_partial, print_summary, progress_bar, start_doctor, start_run, write_metrics, Prepared,
    RunArgs,
};
use micrograd_plus::models::Sampling;
use micrograd_plus::nn::Module;
use micrograd_plus::train::corpus::{Corpus, TextSource};
use micrograd_plus::train::gpt::{
    self as recipe, records_to_csv, Checkpointing, EvalRecord, TextData, TrainConfig, Watch,
};
use micrograd_plus::train::saved::Architecture;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Options of `mgp train gpt-shakespeare` and `gpt-tinytalks`.
#[derive(clap::Args, Debug, Default)]
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

impl TrainArgs {
    /// The flags given, applied onto a new run's `preset`.
    fn apply(&self, preset: &mut TrainConfig) {
        let TrainArgs {
            steps,
            minutes,
            batch_size,
            lr,
            eval_interval,
            seed,
            ..
        } = *self;
        preset.seed = seed.unwrap_or(preset.seed);
        preset.max_steps = steps.unwrap_or(preset.max_steps);
        preset.max_seconds = minutes.map(|m| m * 60.0).or(preset.max_seconds);
        preset.batch_size = batch_size.unwrap_or(preset.batch_size);
        preset.lr = lr.unwrap_or(preset.lr);
        preset.eval_interval = eval_interval.unwrap_or(preset.eval_interval);
    }
}

/// `mgp train gpt-*`'s command with `corpus`'s defaults in the help of its
/// flags (the two recipes share [`TrainArgs`], whose unset flags mean "the
/// recipe's own", or on --resume "the run's own") and its examples.
pub fn with_defaults(command: clap::Command, corpus: Corpus) -> clap::Command {
    let preset = corpus.preset(0);
    let minutes = preset
        .max_seconds
        .map_or("none".to_string(), |s| format!("{}", s / 60.0));
    let defaults = [
        ("steps", preset.max_steps.to_string()),
        ("minutes", minutes),
        ("batch_size", preset.batch_size.to_string()),
        ("lr", preset.lr.to_string()),
        ("eval_interval", preset.eval_interval.to_string()),
        ("seed", preset.seed.to_string()),
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

/// A GPT run's `config.json`: the text it trains on and the recipe.
#[derive(Serialize, Deserialize)]
struct RunConfig {
    data: TextSource,
    #[serde(flatten)]
    train: TrainConfig,
}

/// A GPT run ready to train: its text, tokenized and split.
struct GptRun {
    recipe: &'static str,
    text: String,
    data: TextData,
}

impl Prepared for GptRun {
    fn metadata(&self) -> HashMap<String, String> {
        Architecture::Gpt.metadata(self.recipe)
    }

    fn resume_from(&mut self, _checkpoint: &Path) -> anyhow::Result<()> {
        // The training loop loads the checkpoint itself
        // (`Checkpointing::resume`): its AdamW state and generators are
        // the loop's, not a model's.
        Ok(())
    }
}

/// The outcome of a training run.
pub struct Trained {
    /// Every evaluation.
    pub records: Vec<EvalRecord>,
    /// Where the checkpoint is.
    pub checkpoint: PathBuf,
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
    let resumed = args.run.resume.is_some();
    let (dir, config, GptRun { text, data, .. }) = start_run(
        &args.run,
        corpus.name(),
        || {
            let source = TextSource::new(args.data.as_deref(), corpus)?;
            let (_, data) = source.load()?;
            let mut train = corpus.preset(data.tokenizer.vocab_size());
            args.apply(&mut train);
            Ok(RunConfig {
                data: source,
                train,
            })
        },
        |config: &mut RunConfig| {
            // Only the limits continue a run; the rest is its own.
            if let Some(s) = args.steps {
                config.train.max_steps = s;
            }
            if let Some(m) = args.minutes {
                config.train.max_seconds = Some(m * 60.0);
            }
            Ok(())
        },
        |config: &RunConfig| -> anyhow::Result<GptRun> {
            // Everything is checked (flags, text, settings against the
            // text) before a new run's folder is created.
            let (text, data) = config.data.load()?;
            let fits = config.train.check(&data);
            if resumed {
                fits.map_err(|e| {
                    anyhow::Error::new(e).context(format!("{} does not fit this run", config.data))
                })?;
            } else {
                fits?;
            }
            Ok(GptRun {
                recipe: corpus.name(),
                text,
                data,
            })
        },
    )?;
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
        |s| {
            if s.first {
                // A resumed run starts at its checkpoint's step: the rate
                // (and ETA) count from there, not from a jump from 0.
                bar.set_position(s.step.saturating_sub(1) as u64);
                bar.reset_eta();
            }
            bar.set_position(s.step as u64);
            bar.set_message(format!("{:.4}", s.running_loss));
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
                let metrics = (!seen.is_empty()).then(|| records_to_csv(&seen));
                keep_partial(&dir, metrics.as_deref(), doctor.as_ref());
            }
            return Err(e.into());
        }
    };
    let checkpoint = dir.path().join("model.safetensors");
    recipe::save_checkpoint(&checkpoint, &model, &data.tokenizer, corpus.name())?;
    write_metrics(&dir, &records_to_csv(&records), doctor.as_ref())?;
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
        print_summary(
            &dir,
            serde_json::json!({
                "model": &checkpoint,
                "val_loss": records.last().map(|r| r.val_loss),
            }),
        );
    }
    Ok(Trained {
        records,
        checkpoint,
    })
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
