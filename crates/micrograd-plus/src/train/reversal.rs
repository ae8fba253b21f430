//! The attention proof (`mgp milestone attention`): learn to reverse random
//! digit sequences with a one-block transformer.
//!
//! Output position `i` must copy input position `L − 1 − i`: no MLP over a
//! single position can do that, only attention that looks at the right other
//! position. The model is an encoder (no causal mask): token and learned
//! position embeddings, one [`TransformerBlock`], a final LayerNorm and a
//! linear layer to the 10 digits at every position, trained with
//! cross-entropy and AdamW on freshly drawn sequences.

use crate::nn::loss::CrossEntropyLoss;
use crate::nn::{
    Embedding, LayerNorm, Linear, Module, PositionalEmbedding, TransformerBlock, Visitor,
};
use crate::optim::{AdamW, AdamWConfig, Optimizer};
use crate::tensor::{no_grad, Tensor};
use crate::Result;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use std::time::Instant;

/// A one-block transformer encoder mapping `length` digits to `length`
/// rows of digit logits.
///
/// ```
/// use micrograd_plus::{nn::Module, train::reversal::ReversalModel};
/// let model = ReversalModel::new(8, 10, 32, 4).unwrap();
/// assert_eq!(model.logits(&[1, 2, 3, 4, 5, 6, 7, 8], 1).unwrap().shape(), &[1, 8, 10]);
/// ```
pub struct ReversalModel {
    tok: Embedding,
    pos: PositionalEmbedding,
    block: TransformerBlock,
    ln: LayerNorm,
    head: Linear,
    length: usize,
}

impl ReversalModel {
    /// Sequences of `length` tokens from a `vocab` of digits, `d_model`
    /// features, `heads` heads.
    ///
    /// ```
    /// assert!(micrograd_plus::train::reversal::ReversalModel::new(8, 10, 30, 4).is_err());
    /// ```
    pub fn new(length: usize, vocab: usize, d_model: usize, heads: usize) -> Result<ReversalModel> {
        Ok(ReversalModel {
            tok: Embedding::new(vocab, d_model),
            pos: PositionalEmbedding::new(length, d_model),
            block: TransformerBlock::new(d_model, heads, 0.0, false)?,
            ln: LayerNorm::new(&[d_model]),
            head: Linear::new(d_model, vocab, true),
            length,
        })
    }

    /// Logits `(batch, length, vocab)` for `batch` sequences given row-major.
    pub fn logits(&self, ids: &[usize], batch: usize) -> Result<Tensor> {
        let x = self
            .pos
            .forward(&self.tok.lookup(ids, &[batch, self.length])?)?;
        self.head
            .forward(&self.ln.forward(&self.block.forward(&x)?)?)
    }
}

impl Module for ReversalModel {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let idx: Vec<usize> = ids
            .to_vec::<f64>()
            .into_iter()
            .map(|v| v as usize)
            .collect();
        self.logits(&idx, ids.numel() / self.length.max(1))
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        let children: [(&str, &dyn Module); 5] = [
            ("tok", &self.tok),
            ("pos", &self.pos),
            ("block", &self.block),
            ("ln", &self.ln),
            ("head", &self.head),
        ];
        for (name, child) in children {
            crate::nn::module::visit_child(name, child, false, f);
        }
    }

    fn describe(&self) -> String {
        format!(
            "ReversalModel(length={}, {})",
            self.length,
            self.block.describe()
        )
    }
}

/// Settings of the reversal task.
///
/// ```
/// let c = micrograd_plus::train::reversal::ReversalConfig::default();
/// assert_eq!((c.length, c.vocab), (8, 10));
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct ReversalConfig {
    /// Digits per sequence.
    pub length: usize,
    /// Number of distinct digits.
    pub vocab: usize,
    /// Width of the model.
    pub d_model: usize,
    /// Attention heads.
    pub heads: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// Stop after this many steps...
    pub max_steps: usize,
    /// ... or this many seconds ...
    pub max_seconds: f64,
    /// ... or once this sequence accuracy is reached on the test set.
    pub target_accuracy: f64,
    /// Steps between evaluations.
    pub eval_interval: usize,
    /// Sequences in the (fixed) test set.
    pub test_size: usize,
    /// Seed of the model and the data.
    pub seed: u64,
}

impl Default for ReversalConfig {
    fn default() -> Self {
        ReversalConfig {
            length: 8,
            vocab: 10,
            d_model: 64,
            heads: 4,
            batch_size: 64,
            lr: 3e-3,
            max_steps: 5000,
            max_seconds: 60.0,
            target_accuracy: 0.99,
            eval_interval: 100,
            test_size: 1000,
            seed: 0,
        }
    }
}

/// Progress of the task at one evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct ReversalRecord {
    /// Steps done.
    pub step: usize,
    /// Training loss of the last step.
    pub loss: f64,
    /// Fraction of test sequences reversed without a single wrong digit.
    pub sequence_accuracy: f64,
    /// Fraction of test digits right.
    pub token_accuracy: f64,
    /// Seconds since the start.
    pub elapsed_s: f64,
}

/// `count` random sequences and their reversals, row-major.
fn draw(config: &ReversalConfig, count: usize, rng: &mut StdRng) -> (Vec<usize>, Vec<usize>) {
    let x: Vec<usize> = (0..count * config.length)
        .map(|_| rng.gen_range(0..config.vocab))
        .collect();
    let y = x
        .chunks_exact(config.length)
        .flat_map(|s| s.iter().rev().copied())
        .collect();
    (x, y)
}

/// (sequence accuracy, token accuracy) of `model` on `(x, y)`.
fn accuracy(
    model: &ReversalModel,
    config: &ReversalConfig,
    x: &[usize],
    y: &[usize],
) -> Result<(f64, f64)> {
    let n = x.len() / config.length;
    let logits = no_grad(|| model.logits(x, n))?;
    let pred = logits.argmax(Some(-1), false)?.to_vec::<f64>();
    let right: Vec<bool> = pred.iter().zip(y).map(|(&p, &t)| p as usize == t).collect();
    let seq = right
        .chunks_exact(config.length)
        .filter(|s| s.iter().all(|&r| r))
        .count();
    let tok = right.iter().filter(|&&r| r).count();
    Ok((seq as f64 / n as f64, tok as f64 / right.len() as f64))
}

/// Trains until the target accuracy, the step limit or the time limit,
/// calling `on_eval` at every evaluation; returns the model and the records.
///
/// ```
/// use micrograd_plus::train::reversal::{train, ReversalConfig};
/// let config = ReversalConfig { length: 3, vocab: 3, d_model: 16, heads: 2, max_steps: 300, test_size: 100, ..Default::default() };
/// let (_, records) = train(&config, |_| {}).unwrap();
/// assert!(records.last().unwrap().sequence_accuracy > 0.9);
/// ```
pub fn train(
    config: &ReversalConfig,
    mut on_eval: impl FnMut(&ReversalRecord),
) -> Result<(ReversalModel, Vec<ReversalRecord>)> {
    crate::manual_seed(config.seed);
    let model = ReversalModel::new(config.length, config.vocab, config.d_model, config.heads)?;
    let mut opt = AdamW::new(
        model.parameters(),
        AdamWConfig {
            lr: config.lr,
            ..AdamWConfig::default()
        },
    )?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let (test_x, test_y) = draw(config, config.test_size, &mut rng);
    let ce = CrossEntropyLoss::new();
    let start = Instant::now();
    let mut records = Vec::new();
    let mut step = 0;
    loop {
        let (x, y) = draw(config, config.batch_size, &mut rng);
        opt.zero_grad();
        let logits = model.logits(&x, config.batch_size)?;
        let flat = logits.reshape(&[-1, config.vocab as isize])?;
        let loss = ce.forward(&flat, &y)?;
        let loss_value = loss.item()?;
        loss.backward()?;
        opt.step()?;
        step += 1;
        let out_of_time = start.elapsed().as_secs_f64() >= config.max_seconds;
        if step % config.eval_interval == 0 || step >= config.max_steps || out_of_time {
            let (sequence_accuracy, token_accuracy) = accuracy(&model, config, &test_x, &test_y)?;
            let record = ReversalRecord {
                step,
                loss: loss_value,
                sequence_accuracy,
                token_accuracy,
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            on_eval(&record);
            records.push(record);
            if sequence_accuracy >= config.target_accuracy
                || step >= config.max_steps
                || out_of_time
            {
                return Ok((model, records));
            }
        }
    }
}
