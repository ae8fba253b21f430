//! Training a character-level GPT: the recipe behind `mgp train
//! gpt-shakespeare` and `gpt-tinytalks`.
//!
//! - The text is tokenized by characters; the first 90% is the training
//!   split, the rest validation.
//! - Each step takes `batch` random windows of `block_size + 1` tokens from
//!   the training split: the first `block_size` are the input, the last
//!   `block_size` (shifted by one) the targets.
//! - AdamW on every parameter; every `eval_interval` steps the mean loss over
//!   `eval_iters` fixed batches of each split is recorded (no graph).
//! - The checkpoint is a safetensors file with the weights, the model's
//!   configuration and the tokenizer in its metadata, so `mgp generate` needs
//!   nothing else.
//! - A run can also keep a training checkpoint (weights, AdamW's state, the
//!   batch sampler's and the dropout layers' generators, the evaluations so
//!   far), written atomically after every evaluation, and resume from it with
//!   the same numbers as an uninterrupted run ([`train_resumable`]).
//! - A non-finite loss stops training with an error ("training diverged")
//!   before anything is saved.

use super::charts::{draw_lines, Axes, TEST_COLOUR, TRAIN_COLOUR};
use super::doctor::breakage::{scale_weight_matrices, unstable_softmax_loss};
use super::doctor::{anomaly_steps, Breakage, Doctor};
use super::saved::Architecture;
use crate::canvas::{register_font, render_png};
use crate::data::text::CharTokenizer;
use crate::io;
use crate::models::{GPTConfig, GPT};
use crate::nn::dropout::{generators, GeneratorState};
use crate::nn::Module;
use crate::optim::{AdamW, AdamWConfig, Optimizer};
use crate::profiler;
use crate::tensor::anomaly::detect_anomaly;
use crate::tensor::{no_grad, Tensor};
use crate::{Error, Result};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// Metadata key of the model configuration in a checkpoint.
pub const CONFIG_KEY: &str = "gpt.config";

/// A tokenized text split into training and validation ids.
///
/// ```
/// use micrograd_plus::train::gpt::TextData;
/// let data = TextData::new("abcdefghij".repeat(10).as_str(), 0.9).unwrap();
/// assert_eq!((data.train.len(), data.val.len()), (90, 10));
/// assert_eq!(data.tokenizer.vocab_size(), 10);
/// ```
pub struct TextData {
    /// The tokenizer built from the whole text (sorted characters).
    pub tokenizer: CharTokenizer,
    /// Ids of the first `train_fraction` of the text.
    pub train: Vec<usize>,
    /// Ids of the rest.
    pub val: Vec<usize>,
}

impl TextData {
    /// Tokenizes `text` and splits it at `train_fraction`.
    ///
    /// ```
    /// assert!(micrograd_plus::train::gpt::TextData::new("abc", 1.5).is_err());
    /// ```
    pub fn new(text: &str, train_fraction: f64) -> Result<TextData> {
        if !(0.0..=1.0).contains(&train_fraction) {
            return Err(Error::argument(
                "TextData",
                format!("train_fraction must be in [0, 1], got {train_fraction}"),
            ));
        }
        let tokenizer = CharTokenizer::from_text(text);
        let ids = tokenizer.encode(text)?;
        let n = (ids.len() as f64 * train_fraction) as usize;
        Ok(TextData {
            tokenizer,
            train: ids[..n].to_vec(),
            val: ids[n..].to_vec(),
        })
    }
}

/// `batch` random windows of `ids`: `(inputs, targets)`, each `batch × time`.
///
/// ```
/// use micrograd_plus::train::gpt::random_windows;
/// use rand::SeedableRng;
/// let ids: Vec<usize> = (0..100).collect();
/// let (x, y) = random_windows(&ids, 4, 8, &mut rand::rngs::StdRng::seed_from_u64(0)).unwrap();
/// assert_eq!(x.len(), 32);
/// assert!(x.iter().zip(&y).all(|(a, b)| b == &(a + 1))); // targets are the next tokens
/// assert!(random_windows(&ids, 1, 100, &mut rand::rngs::StdRng::seed_from_u64(0)).is_err());
/// ```
pub fn random_windows(
    ids: &[usize],
    batch: usize,
    time: usize,
    rng: &mut impl Rng,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if ids.len() < time + 1 {
        return Err(Error::argument(
            "random_windows",
            format!(
                "a split of {} tokens is too short for windows of {} + 1",
                ids.len(),
                time
            ),
        ));
    }
    let (mut x, mut y) = (
        Vec::with_capacity(batch * time),
        Vec::with_capacity(batch * time),
    );
    for _ in 0..batch {
        let start = rng.gen_range(0..ids.len() - time);
        x.extend_from_slice(&ids[start..start + time]);
        y.extend_from_slice(&ids[start + 1..start + time + 1]);
    }
    Ok((x, y))
}

/// Mean loss over `iters` batches drawn with `seed` (the same batches at
/// every evaluation, so the curve is not noisy from the sampling), no graph.
///
/// ```
/// use micrograd_plus::{models::{GPTConfig, GPT}, train::gpt::estimate_loss};
/// let model = GPT::new(GPTConfig { block_size: 8, ..GPTConfig::shakespeare(10) }).unwrap();
/// let ids: Vec<usize> = (0..200).map(|i| i % 10).collect();
/// let loss = estimate_loss(&model, &ids, 4, 2, 0).unwrap();
/// assert!((loss - 10f64.ln()).abs() < 0.1);
/// ```
pub fn estimate_loss(
    model: &GPT,
    ids: &[usize],
    batch: usize,
    iters: usize,
    seed: u64,
) -> Result<f64> {
    let time = model.config().block_size;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut total = 0.0;
    for _ in 0..iters.max(1) {
        let (x, y) = random_windows(ids, batch, time, &mut rng)?;
        total += no_grad(|| model.loss(&x, &y, batch, time))?.item()?;
    }
    Ok(total / iters.max(1) as f64)
}

/// Mean cross-entropy per token over the whole of `ids` (no graph): the
/// split cut into consecutive windows of the model's context, each
/// predicting its next tokens (the last window may be shorter), `batch`
/// windows per forward pass. Returns `(loss, tokens predicted)`; the
/// perplexity is `exp(loss)`. Unlike [`estimate_loss`]'s random sample,
/// every token of the split counts once.
///
/// ```
/// use micrograd_plus::{models::{GPTConfig, GPT}, train::gpt::split_loss};
/// let model = GPT::new(GPTConfig { block_size: 8, ..GPTConfig::shakespeare(10) }).unwrap();
/// let ids: Vec<usize> = (0..30).map(|i| i % 10).collect();
/// let (loss, tokens) = split_loss(&model, &ids, 2).unwrap();
/// assert_eq!(tokens, 29);
/// assert!((loss - 10f64.ln()).abs() < 0.1);
/// assert!(split_loss(&model, &ids[..1], 2).is_err());
/// ```
pub fn split_loss(model: &GPT, ids: &[usize], batch: usize) -> Result<(f64, usize)> {
    if ids.len() < 2 || batch == 0 {
        return Err(Error::argument(
            "split_loss",
            format!(
                "need at least 2 tokens and a batch of at least 1, got {} and {batch}",
                ids.len()
            ),
        ));
    }
    let time = model.config().block_size;
    let predicted = ids.len() - 1;
    let windows: Vec<usize> = (0..predicted).step_by(time).collect();
    let mut total = 0.0;
    // Full windows go `batch` at a time; the short last one alone.
    let full = windows.iter().filter(|&&s| s + time <= predicted).count();
    let mut groups: Vec<(&[usize], usize)> =
        windows[..full].chunks(batch).map(|c| (c, time)).collect();
    if full < windows.len() {
        groups.push((&windows[full..], predicted - windows[full]));
    }
    for (starts, len) in groups {
        let x: Vec<usize> = starts
            .iter()
            .flat_map(|&s| ids[s..s + len].to_vec())
            .collect();
        let y: Vec<usize> = starts
            .iter()
            .flat_map(|&s| ids[s + 1..s + 1 + len].to_vec())
            .collect();
        let loss = no_grad(|| model.loss(&x, &y, starts.len(), len))?.item()?;
        total += loss * x.len() as f64;
    }
    Ok((total / predicted as f64, predicted))
}

/// Settings of a training run.
///
/// ```
/// let c = micrograd_plus::train::gpt::TrainConfig::shakespeare(65);
/// assert_eq!((c.batch_size, c.lr, c.weight_decay), (32, 3e-4, 0.01));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The model.
    pub model: GPTConfig,
    /// Windows per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW (decoupled) weight decay, on every parameter.
    pub weight_decay: f64,
    /// Stop after this many steps.
    pub max_steps: usize,
    /// Or after this many seconds of training (evaluation included).
    pub max_seconds: Option<f64>,
    /// Steps between evaluations.
    pub eval_interval: usize,
    /// Batches per split per evaluation.
    pub eval_iters: usize,
    /// Seed of the initialisation and of the batches.
    pub seed: u64,
}

impl TrainConfig {
    /// The milestone-5 recipe: the reference model, batch 32, AdamW lr 3e-4,
    /// weight decay 0.01, evaluation every 250 steps on 20 batches.
    ///
    /// ```
    /// let c = micrograd_plus::train::gpt::TrainConfig::shakespeare(65);
    /// assert_eq!(c.model.block_size, 64);
    /// ```
    pub fn shakespeare(vocab_size: usize) -> TrainConfig {
        TrainConfig {
            model: GPTConfig::shakespeare(vocab_size),
            batch_size: 32,
            lr: 3e-4,
            weight_decay: 0.01,
            max_steps: 20_000,
            max_seconds: Some(15.0 * 60.0),
            eval_interval: 250,
            eval_iters: 20,
            seed: 1337,
        }
    }

    /// The `gpt-tinytalks` recipe: a smaller model than
    /// [`TrainConfig::shakespeare`]'s (3 layers, d_model 96, context 64,
    /// dropout 0.1) at AdamW lr 1e-3, for 3000 steps or 5 minutes,
    /// evaluated every 200 steps on 10 batches.
    ///
    /// ```
    /// let c = micrograd_plus::train::gpt::TrainConfig::tinytalks(40);
    /// assert_eq!((c.model.layers, c.model.d_model, c.lr, c.max_steps), (3, 96, 1e-3, 3000));
    /// ```
    pub fn tinytalks(vocab_size: usize) -> TrainConfig {
        TrainConfig {
            model: GPTConfig {
                block_size: 64,
                d_model: 96,
                heads: 4,
                layers: 3,
                dropout: 0.1,
                ..GPTConfig::shakespeare(vocab_size)
            },
            lr: 1e-3,
            max_steps: 3000,
            max_seconds: Some(5.0 * 60.0),
            eval_interval: 200,
            eval_iters: 10,
            ..TrainConfig::shakespeare(vocab_size)
        }
    }
}

/// One evaluation, printed as a JSON line by `mgp train gpt-* --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Training steps done.
    pub step: usize,
    /// Mean loss on fixed training batches.
    pub train_loss: f64,
    /// Mean loss on fixed validation batches.
    pub val_loss: f64,
    /// Mean time of the steps since the last evaluation, in ms.
    pub step_ms: f64,
    /// Training tokens per second over those steps.
    pub tokens_per_second: f64,
    /// Seconds since the start of training.
    pub elapsed_s: f64,
}

/// The header of [`records_to_csv`].
const RECORDS_CSV_HEADER: &str = "step,train_loss,val_loss,step_ms,tokens_per_second,elapsed_s\n";

/// The evaluations as CSV, one row per evaluation: a GPT run's
/// `metrics.csv`.
///
/// ```
/// use micrograd_plus::train::gpt::{records_to_csv, EvalRecord};
/// let r = EvalRecord { step: 10, train_loss: 2.5, val_loss: 2.75, step_ms: 4.0, tokens_per_second: 512.0, elapsed_s: 1.5 };
/// assert_eq!(records_to_csv(&[r]), "step,train_loss,val_loss,step_ms,tokens_per_second,elapsed_s\n10,2.5,2.75,4,512,1.5\n");
/// ```
pub fn records_to_csv(records: &[EvalRecord]) -> String {
    std::iter::once(RECORDS_CSV_HEADER.to_string())
        .chain(records.iter().map(|r| {
            format!(
                "{},{},{},{},{},{}\n",
                r.step, r.train_loss, r.val_loss, r.step_ms, r.tokens_per_second, r.elapsed_s
            )
        }))
        .collect()
}

/// One training step as [`train_resumable`] reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Training steps done, this one included.
    pub step: usize,
    /// This step's loss (before its update).
    pub loss: f64,
    /// An exponential moving average of the losses of this session's
    /// steps (weight 0.02 on each new one), less noisy than one batch's:
    /// what a progress bar shows.
    pub running_loss: f64,
    /// Whether this is the first step of this session (a resumed run's
    /// first starts at its checkpoint's step, not at 1).
    pub first: bool,
}

/// The AdamW optimizer of the recipe for `model`.
///
/// ```
/// use micrograd_plus::{models::{GPTConfig, GPT}, optim::Optimizer, train::gpt::{optimizer, TrainConfig}};
/// let model = GPT::new(GPTConfig::shakespeare(65)).unwrap();
/// assert_eq!(optimizer(&model, &TrainConfig::shakespeare(65)).unwrap().lr(), 3e-4);
/// ```
pub fn optimizer(model: &GPT, config: &TrainConfig) -> Result<AdamW> {
    AdamW::new(
        model.parameters(),
        AdamWConfig {
            lr: config.lr,
            weight_decay: config.weight_decay,
            ..AdamWConfig::default()
        },
    )
}

/// One optimisation step on a batch; returns the loss before the update.
///
/// ```
/// use micrograd_plus::{models::{GPTConfig, GPT}, train::gpt::{optimizer, train_step, TrainConfig}};
/// let config = TrainConfig { model: GPTConfig { block_size: 4, ..GPTConfig::shakespeare(5) }, ..TrainConfig::shakespeare(5) };
/// let model = GPT::new(config.model.clone()).unwrap();
/// let mut opt = optimizer(&model, &TrainConfig { lr: 1e-2, ..config }).unwrap();
/// let (x, y) = (vec![0, 1, 2, 3], vec![1, 2, 3, 4]);
/// let first = train_step(&model, &mut opt, &x, &y, 1, 4).unwrap();
/// for _ in 0..20 { train_step(&model, &mut opt, &x, &y, 1, 4).unwrap(); }
/// assert!(train_step(&model, &mut opt, &x, &y, 1, 4).unwrap() < first / 2.0);
/// ```
pub fn train_step(
    model: &GPT,
    opt: &mut dyn Optimizer,
    x: &[usize],
    y: &[usize],
    batch: usize,
    time: usize,
) -> Result<f64> {
    watched_step(model, opt, x, y, batch, time, &mut Watch::default())
}

/// What watches [`train_resumable`]'s steps, and what `mgp train --break`
/// breaks in them. The default watches nothing and breaks nothing.
#[derive(Default)]
pub struct Watch<'a> {
    /// Watches every step when given (see [`super::doctor`]); it only
    /// reads, so the numbers are the same.
    pub doctor: Option<&'a mut Doctor>,
    /// Every step in anomaly mode (a strict doctor turns it on too): the
    /// first op that makes an inf or a NaN is named.
    pub anomaly: bool,
    /// A failure reproduced on purpose, one that
    /// [`Breakage::applies_to_gpt`].
    pub breakage: Option<Breakage>,
}

/// The loss of one step: the model's cross-entropy, or with `--break
/// unstable-softmax` a softmax and a log written by hand.
fn step_loss(
    model: &GPT,
    x: &[usize],
    y: &[usize],
    batch: usize,
    time: usize,
    breakage: Option<Breakage>,
) -> Result<Tensor> {
    if breakage != Some(Breakage::UnstableSoftmax) {
        return model.loss(x, y, batch, time);
    }
    let logits = model.logits(x, batch, time)?;
    let flat = logits.reshape(&[(batch * time) as isize, -1])?;
    unstable_softmax_loss(&flat, y)
}

/// [`train_step`], watched (and broken) as `watch` says.
fn watched_step(
    model: &GPT,
    opt: &mut dyn Optimizer,
    x: &[usize],
    y: &[usize],
    batch: usize,
    time: usize,
    watch: &mut Watch<'_>,
) -> Result<f64> {
    let anomaly = anomaly_steps::wanted(watch.anomaly, watch.doctor.as_deref());
    let _anomaly = anomaly.then(detect_anomaly);
    let breakage = watch.breakage;
    let mut doctor = watch.doctor.as_deref_mut();
    if breakage != Some(Breakage::NoZeroGrad) {
        let _zero = profiler::scope("zero_grad");
        opt.zero_grad();
    }
    let loss = {
        // The model's loss method runs the network and the cross-entropy.
        let _forward = profiler::scope("forward");
        match doctor.as_deref_mut() {
            Some(d) => d.watch(|| step_loss(model, x, y, batch, time, breakage))?,
            None => step_loss(model, x, y, batch, time, breakage)?,
        }
    };
    if anomaly {
        anomaly_steps::after_forward(doctor.as_deref_mut())?;
    }
    let value = loss.item()?;
    anomaly_steps::backward(&loss, doctor.as_deref_mut())?;
    drop(loss); // free the graph before the update
    if let Some(d) = doctor.as_deref_mut() {
        d.after_backward(model);
    }
    {
        let _step = profiler::scope("optimizer.step");
        opt.step()?;
    }
    if let Some(d) = doctor {
        d.after_update(model, value)?;
    }
    Ok(value)
}

/// Trains a fresh model on `data`, calling `on_step` after every step and
/// `on_eval` after every evaluation (and at the end).
pub fn train(
    config: &TrainConfig,
    data: &TextData,
    on_step: impl FnMut(&StepReport),
    on_eval: impl FnMut(&EvalRecord),
) -> Result<(GPT, Vec<EvalRecord>)> {
    train_resumable(config, data, None, Watch::default(), on_step, on_eval)
}

/// A training checkpoint of [`train_resumable`].
#[derive(Debug, Clone, Copy)]
pub struct Checkpointing<'a> {
    /// Written (atomically) after every evaluation.
    pub path: &'a Path,
    /// Start from the checkpoint already at `path` instead of a fresh model.
    pub resume: bool,
    /// The recipe, recorded in the checkpoint (see [`super::saved`]).
    pub recipe: &'a str,
}

/// Metadata `format` of a training checkpoint.
const TRAINING_FORMAT: &str = "micrograd-plus gpt training checkpoint 1";

/// Everything that shapes the rest of a run, as saved between evaluations.
struct Progress {
    step: usize,
    records: Vec<EvalRecord>,
    rng: ChaCha12Rng,
}

/// The metadata that describes a GPT checkpoint's model: its configuration,
/// its tokenizer, and recipe, architecture and crate version.
fn model_metadata(model: &GPT, tokenizer: &CharTokenizer, recipe: &str) -> HashMap<String, String> {
    let mut meta = tokenizer.to_metadata();
    meta.insert(CONFIG_KEY.to_string(), model.config().to_json());
    meta.extend(Architecture::Gpt.metadata(recipe));
    meta
}

/// Writes the training checkpoint: model and AdamW tensors, and in the
/// metadata what the model is, the step, the evaluations, and the
/// generators' positions.
fn save_training(
    checkpoint: Checkpointing<'_>,
    tokenizer: &CharTokenizer,
    model: &mut GPT,
    opt: &AdamW,
    progress: &Progress,
) -> Result<()> {
    let path = checkpoint.path;
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (prefix, state) in [
        ("model", model.state_dict()),
        ("optimizer", opt.state_dict()),
    ] {
        tensors.extend(state.into_iter().map(|(n, t)| (format!("{prefix}.{n}"), t)));
    }
    let dropout: Vec<GeneratorState> = generators(model).iter().map(|g| g.state()).collect();
    let mut meta = model_metadata(model, tokenizer, checkpoint.recipe);
    meta.extend([
        ("format".to_string(), TRAINING_FORMAT.to_string()),
        ("step".to_string(), progress.step.to_string()),
        ("records".to_string(), to_json(path, &progress.records)?),
        (
            "rng".to_string(),
            to_json(path, &GeneratorState::of(&progress.rng))?,
        ),
        ("dropout".to_string(), to_json(path, &dropout)?),
    ]);
    io::save_tensors(path, &tensors, &meta)
}

/// `value` as JSON for the checkpoint's metadata; errors name the file.
fn to_json(path: &Path, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::File {
        path: path.display().to_string(),
        msg: format!("cannot serialise the checkpoint: {e}"),
    })
}

/// Loads a training checkpoint into `model` and `opt` (built from the same
/// configuration) and returns where the run stood.
fn load_training(path: &Path, model: &mut GPT, opt: &mut AdamW) -> Result<Progress> {
    let (tensors, meta) = io::load_tensors(path)?;
    let file_err = |msg: String| Error::File {
        path: path.display().to_string(),
        msg,
    };
    if meta.get("format").map(String::as_str) != Some(TRAINING_FORMAT) {
        return Err(file_err("not a GPT training checkpoint".into()));
    }
    let field = |key: &str| {
        meta.get(key)
            .ok_or_else(|| file_err(format!("no {key:?} in the checkpoint")))
    };
    let parse = |key: &str, e: serde_json::Error| file_err(format!("corrupt {key:?}: {e}"));
    let step: usize = field("step")?
        .parse()
        .map_err(|_| file_err("corrupt \"step\"".into()))?;
    let records: Vec<EvalRecord> =
        serde_json::from_str(field("records")?).map_err(|e| parse("records", e))?;
    let rng: GeneratorState = serde_json::from_str(field("rng")?).map_err(|e| parse("rng", e))?;
    let dropout: Vec<GeneratorState> =
        serde_json::from_str(field("dropout")?).map_err(|e| parse("dropout", e))?;
    let in_file = |e: Error| file_err(e.to_string());
    let part = |prefix: &str| io::under_prefix(&tensors, prefix);
    let gens = generators(model);
    if gens.len() != dropout.len() {
        return Err(file_err(format!(
            "the checkpoint has {} dropout generators, the model {} dropout layers",
            dropout.len(),
            gens.len()
        )));
    }
    if records.last().is_none_or(|r| r.step != step) {
        return Err(file_err(format!("corrupt: no evaluation at step {step}")));
    }
    let rng = rng.to_rng().map_err(in_file)?;
    model.load_state_dict(&part("model")).map_err(in_file)?;
    opt.load_state_dict(&part("optimizer")).map_err(in_file)?;
    for (g, state) in gens.iter().zip(&dropout) {
        g.set_state(state).map_err(in_file)?;
    }
    Ok(Progress { step, records, rng })
}

impl TrainConfig {
    /// Checks the settings against each other and against `data`, so a run
    /// that cannot work fails before it starts (a batch of 0 windows used
    /// to train on nothing and report loss 0).
    ///
    /// ```
    /// use micrograd_plus::train::gpt::{TextData, TrainConfig};
    /// let data = TextData::new(&"abcdefgh".repeat(100), 0.9).unwrap();
    /// let config = TrainConfig { batch_size: 0, ..TrainConfig::shakespeare(8) };
    /// let err = config.check(&data).unwrap_err().to_string();
    /// assert!(err.contains("batch size"), "{err}");
    /// ```
    pub fn check(&self, data: &TextData) -> Result<()> {
        let bad = |msg: String| Err(Error::argument("gpt training", msg));
        if self.batch_size == 0 || self.eval_interval == 0 || self.eval_iters == 0 {
            return bad(format!(
                "batch size, evaluation interval and evaluation batches must be at least 1, \
                 got {}, {} and {}",
                self.batch_size, self.eval_interval, self.eval_iters
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("learning rate must be above 0, got {}", self.lr));
        }
        if let Some(s) = self.max_seconds
            && !(s.is_finite() && s > 0.0)
        {
            return bad(format!(
                "time limit must be a finite number of seconds above 0, got {s}"
            ));
        }
        if data.tokenizer.vocab_size() != self.model.vocab_size {
            return bad(format!(
                "the text has {} distinct characters, the model's vocabulary {}",
                data.tokenizer.vocab_size(),
                self.model.vocab_size
            ));
        }
        let need = self.model.block_size + 1;
        for (split, ids) in [("training", &data.train), ("validation", &data.val)] {
            if ids.len() < need {
                return bad(format!(
                    "the {split} split has {} characters, fewer than one window of {need}",
                    ids.len()
                ));
            }
        }
        Ok(())
    }
}

/// [`train`], optionally keeping a training checkpoint that a later call
/// resumes from (`checkpoint.resume`): the resumed run continues with the
/// same batches, dropout masks and optimizer state, so its losses equal
/// the uninterrupted run's. The time limit counts the time of earlier
/// sessions too. A non-finite loss is an error, and no checkpoint of a
/// diverged model is written. `watch` says what watches the steps (a
/// doctor, anomaly mode) and what `--break` breaks in them.
pub fn train_resumable(
    config: &TrainConfig,
    data: &TextData,
    checkpoint: Option<Checkpointing<'_>>,
    mut watch: Watch<'_>,
    mut on_step: impl FnMut(&StepReport),
    mut on_eval: impl FnMut(&EvalRecord),
) -> Result<(GPT, Vec<EvalRecord>)> {
    config.check(data)?;
    crate::manual_seed(config.seed);
    let mut model = GPT::new(config.model.clone())?;
    let mut opt = optimizer(&model, config)?;
    if let Some(b) = watch.breakage {
        if !b.applies_to_gpt() {
            return Err(Error::argument(
                "--break",
                format!("{b} does not apply to a GPT (it has GELUs and token ids)"),
            ));
        }
        if let Some(factor) = b.lr_factor() {
            opt.set_lr(config.lr * factor);
        }
        if b == Breakage::BadInit {
            scale_weight_matrices(&model);
        }
    }
    let (b, t) = (config.batch_size, config.model.block_size);
    let mut progress = match checkpoint {
        Some(c) if c.resume => load_training(c.path, &mut model, &mut opt)?,
        _ => Progress {
            step: 0,
            records: Vec::new(),
            // ChaCha12 is StdRng's algorithm: the same batches as before
            // checkpoints existed, from a generator whose position can be saved.
            rng: ChaCha12Rng::seed_from_u64(config.seed.wrapping_add(1)),
        },
    };
    // Time already spent in earlier sessions of this run.
    let earlier_s = progress.records.last().map_or(0.0, |r| r.elapsed_s);
    let start = Instant::now();
    let elapsed = || earlier_s + start.elapsed().as_secs_f64();
    let (mut window_start, mut window_steps) = (Instant::now(), 0usize);
    let mut evaluate = |model: &mut GPT,
                        opt: &AdamW,
                        progress: &mut Progress,
                        window_steps: usize,
                        window_s: f64|
     -> Result<()> {
        let step_ms = if window_steps > 0 {
            window_s * 1e3 / window_steps as f64
        } else {
            0.0
        };
        let loss =
            |ids: &[usize]| estimate_loss(model, ids, b, config.eval_iters, config.seed ^ 0x5eed);
        let record = EvalRecord {
            step: progress.step,
            train_loss: loss(&data.train)?,
            val_loss: loss(&data.val)?,
            step_ms,
            tokens_per_second: if step_ms > 0.0 {
                (b * t) as f64 / (step_ms / 1e3)
            } else {
                0.0
            },
            elapsed_s: elapsed(),
        };
        // The last update can make the weights non-finite while the loss
        // before it was finite: never report or save such a model.
        if !(record.train_loss.is_finite() && record.val_loss.is_finite()) {
            return Err(diverged(record.train_loss, progress.step));
        }
        on_eval(&record);
        progress.records.push(record);
        if let Some(c) = checkpoint {
            save_training(c, &data.tokenizer, model, opt, progress)?;
        }
        Ok(())
    };
    if progress.records.is_empty() {
        evaluate(&mut model, &opt, &mut progress, 0, 0.0)?;
    }
    if let Some(d) = watch.doctor.as_deref_mut() {
        d.rewind_to(progress.step);
    }
    let mut running = None::<f64>;
    while progress.step < config.max_steps {
        if config.max_seconds.is_some_and(|s| elapsed() >= s) {
            break;
        }
        if window_steps == 0 {
            window_start = Instant::now();
        }
        let (x, y) = random_windows(&data.train, b, t, &mut progress.rng)?;
        let loss = watched_step(&model, &mut opt, &x, &y, b, t, &mut watch)?;
        if !loss.is_finite() {
            return Err(diverged(loss, progress.step + 1));
        }
        progress.step += 1;
        window_steps += 1;
        let running_loss = running.map_or(loss, |r| 0.98 * r + 0.02 * loss);
        on_step(&StepReport {
            step: progress.step,
            loss,
            running_loss,
            first: running.is_none(),
        });
        running = Some(running_loss);
        if progress.step % config.eval_interval == 0 {
            evaluate(
                &mut model,
                &opt,
                &mut progress,
                window_steps,
                window_start.elapsed().as_secs_f64(),
            )?;
            window_steps = 0;
        }
    }
    if progress
        .records
        .last()
        .is_none_or(|r| r.step != progress.step)
    {
        evaluate(
            &mut model,
            &opt,
            &mut progress,
            window_steps,
            window_start.elapsed().as_secs_f64(),
        )?;
    }
    Ok((model, progress.records))
}

/// The error of a run whose loss stopped being finite.
fn diverged(loss: f64, step: usize) -> Error {
    Error::Training(format!(
        "training diverged: loss is {loss} at step {step} (try a lower learning rate)"
    ))
}

/// Saves the model, its configuration, `tokenizer` and the `recipe` that
/// trained it (see [`super::saved`]) to one safetensors file.
///
/// ```
/// use micrograd_plus::{data::text::CharTokenizer, models::{GPTConfig, GPT}, train::gpt::{load_checkpoint, save_checkpoint}};
/// let tok = CharTokenizer::from_text("abc");
/// let model = GPT::new(GPTConfig { block_size: 4, d_model: 8, heads: 2, layers: 1, ..GPTConfig::shakespeare(3) }).unwrap();
/// let path = std::env::temp_dir().join(format!("mgp-gpt-doc-{}.safetensors", std::process::id()));
/// save_checkpoint(&path, &model, &tok, "gpt-shakespeare").unwrap();
/// let (loaded, tok2) = load_checkpoint(&path).unwrap();
/// assert_eq!(tok2, tok);
/// assert_eq!(loaded.logits(&[0, 1], 1, 2).unwrap().to_vec::<f32>(), model.logits(&[0, 1], 1, 2).unwrap().to_vec::<f32>());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_checkpoint(
    path: &Path,
    model: &GPT,
    tokenizer: &CharTokenizer,
    recipe: &str,
) -> Result<()> {
    if tokenizer.vocab_size() != model.config().vocab_size {
        return Err(Error::argument(
            "save_checkpoint",
            format!(
                "tokenizer has {} ids but the model {}",
                tokenizer.vocab_size(),
                model.config().vocab_size
            ),
        ));
    }
    io::save_tensors(
        path,
        &model.state_dict(),
        &model_metadata(model, tokenizer, recipe),
    )
}

/// Loads a checkpoint written by [`save_checkpoint`].
///
/// ```
/// let err = micrograd_plus::train::gpt::load_checkpoint(std::path::Path::new("/nonexistent")).err().unwrap();
/// assert!(err.to_string().starts_with("/nonexistent: cannot read"));
/// ```
pub fn load_checkpoint(path: &Path) -> Result<(GPT, CharTokenizer)> {
    let (tensors, meta) = io::load_tensors(path)?;
    let named = |e: Error| Error::File {
        path: path.display().to_string(),
        msg: e.to_string(),
    };
    let config = meta.get(CONFIG_KEY).ok_or_else(|| Error::File {
        path: path.display().to_string(),
        msg: format!("no {CONFIG_KEY:?} metadata: not a GPT checkpoint"),
    })?;
    // The config is checked against the tensors before anything is built:
    // a hostile file must not make us allocate the model it merely claims.
    let config = GPTConfig::from_json(config).map_err(named)?;
    let mut model = GPT::from_state_dict(config, &tensors).map_err(named)?;
    model.eval();
    let tokenizer = CharTokenizer::from_metadata(&meta).map_err(named)?;
    Ok((model, tokenizer))
}

/// Writes train and validation loss against the step to a PNG.
///
/// ```
/// use micrograd_plus::train::gpt::{plot_losses, EvalRecord};
/// let r = |step: usize, l: f64| EvalRecord { step, train_loss: l, val_loss: l + 0.1, step_ms: 1.0, tokens_per_second: 1.0, elapsed_s: 0.0 };
/// let path = std::env::temp_dir().join("mgp_doc_gpt_curves.png");
/// plot_losses(&path, &[r(0, 4.2), r(100, 2.5), r(200, 2.0)], "GPT").unwrap();
/// assert!(std::fs::metadata(&path).unwrap().len() > 1000);
/// ```
pub fn plot_losses(path: &Path, records: &[EvalRecord], title: &str) -> Result<()> {
    if records.is_empty() {
        return Err(Error::argument("plot_losses", "no evaluations to plot"));
    }
    register_font()?;
    let pick = |f: fn(&EvalRecord) -> f64| records.iter().map(|r| (r.step as f64, f(r))).collect();
    let axes = Axes {
        x_desc: "step",
        y_desc: "cross-entropy loss",
        x_range: 0.0..records.last().map_or(1, |r| r.step.max(1)) as f64,
        ..Axes::default()
    };
    render_png(path, (900, 520), |root| {
        draw_lines(
            root,
            path,
            title,
            axes,
            vec![
                ("train", TRAIN_COLOUR, pick(|r| r.train_loss)),
                ("validation", TEST_COLOUR, pick(|r| r.val_loss)),
            ],
            vec![],
        )
    })
}
