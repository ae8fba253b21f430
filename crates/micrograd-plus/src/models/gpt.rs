//! A GPT: a decoder-only transformer that predicts the next token.
//!
//! ```text
//! ids (B, T) → token embedding + position embedding     (B, T, C)
//!            → TransformerBlock × L (causal)             (B, T, C)
//!            → LayerNorm → lm_head (C → vocab)           (B, T, vocab) logits
//! ```
//!
//! Training minimises the cross-entropy of the logits at every position
//! against the next token ([`GPT::loss`]). Generation ([`GPT::generate`])
//! samples one token at a time from the last position's logits, with
//! temperature and top-k; with the key/value cache each new token costs one
//! position instead of the whole context.
//!
//! Initialisation follows GPT-2: every linear and embedding weight
//! N(0, 0.02), biases 0, LayerNorm γ = 1 and β = 0. With weight tying the
//! output layer reuses the token embedding table (`logits = h·Wteᵀ`).

use crate::nn::loss::CrossEntropyLoss;
use crate::nn::{
    init, Embedding, KvCache, LayerNorm, Linear, Module, PositionalEmbedding, PositionalEncoding,
    TransformerBlock, Visitor,
};
use crate::tensor::{no_grad, Tensor};
use crate::{Error, Result};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// How positions are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Positions {
    /// A learned table, one vector per position (GPT-2's `wpe`).
    Learned,
    /// Fixed sinusoids (not trained).
    Sinusoidal,
}

/// The shape of a [`GPT`].
///
/// ```
/// let c = micrograd_plus::models::GPTConfig::shakespeare(65);
/// assert_eq!((c.block_size, c.d_model, c.heads, c.layers), (64, 128, 4, 4));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GPTConfig {
    /// Number of distinct tokens.
    pub vocab_size: usize,
    /// Longest context the model sees (positions `0..block_size`).
    pub block_size: usize,
    /// Width of the residual stream, C.
    pub d_model: usize,
    /// Attention heads per block (C must divide evenly).
    pub heads: usize,
    /// Number of transformer blocks.
    pub layers: usize,
    /// Dropout on attention weights and residual branches while training.
    pub dropout: f64,
    /// Whether the output layer shares the token embedding's weight.
    pub tie_weights: bool,
    /// Learned or sinusoidal positions.
    pub positions: Positions,
}

impl GPTConfig {
    /// The reference character-level configuration: context 64, C = 128,
    /// 4 heads, 4 layers, no dropout, learned positions, no weight tying.
    ///
    /// ```
    /// use micrograd_plus::{models::{GPTConfig, GPT}, nn::Module};
    /// let model = GPT::new(GPTConfig::shakespeare(65)).unwrap();
    /// assert_eq!(model.num_parameters(), 818_176);
    /// ```
    pub fn shakespeare(vocab_size: usize) -> GPTConfig {
        GPTConfig {
            vocab_size,
            block_size: 64,
            d_model: 128,
            heads: 4,
            layers: 4,
            dropout: 0.0,
            tie_weights: false,
            positions: Positions::Learned,
        }
    }

    /// The configuration as JSON (stored in checkpoints).
    ///
    /// ```
    /// use micrograd_plus::models::GPTConfig;
    /// let c = GPTConfig::shakespeare(65);
    /// assert_eq!(GPTConfig::from_json(&c.to_json()).unwrap(), c);
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses [`GPTConfig::to_json`]'s output.
    ///
    /// ```
    /// let err = micrograd_plus::models::GPTConfig::from_json("{}").unwrap_err().to_string();
    /// assert!(err.starts_with("GPTConfig: cannot parse"));
    /// ```
    pub fn from_json(s: &str) -> Result<GPTConfig> {
        serde_json::from_str(s)
            .map_err(|e| Error::argument("GPTConfig", format!("cannot parse {s:?}: {e}")))
    }

    /// Most transformer blocks a model may have.
    pub const MAX_LAYERS: usize = 1024;
    /// Widest residual stream.
    pub const MAX_D_MODEL: usize = 1 << 16;
    /// Largest vocabulary.
    pub const MAX_VOCAB: usize = 1 << 24;
    /// Longest context.
    pub const MAX_BLOCK_SIZE: usize = 1 << 20;
    /// Most parameters (by [`GPTConfig::num_parameters`]).
    pub const MAX_PARAMETERS: usize = 1 << 33;

    /// The model's parameter count (with the sinusoidal table, which is a
    /// buffer, counted too): token and position tables, `layers` blocks of
    /// `12C² + 13C` (attention and MLP weights and biases, two LayerNorms),
    /// the final LayerNorm and an untied output layer. `None` if it
    /// overflows.
    ///
    /// ```
    /// use micrograd_plus::{models::{GPTConfig, GPT}, nn::Module};
    /// let c = GPTConfig::shakespeare(65);
    /// assert_eq!(c.num_parameters(), Some(GPT::new(c).unwrap().num_parameters()));
    /// ```
    pub fn num_parameters(&self) -> Option<usize> {
        let c = self.d_model;
        let tables = self
            .vocab_size
            .checked_mul(c)?
            .checked_mul(if self.tie_weights { 1 } else { 2 })?
            .checked_add(self.block_size.checked_mul(c)?)?;
        let block = c
            .checked_mul(c)?
            .checked_mul(12)?
            .checked_add(c.checked_mul(13)?)?;
        tables
            .checked_add(block.checked_mul(self.layers)?)?
            .checked_add(c.checked_mul(2)?)
    }

    /// Checks the configuration before anything is built: every size
    /// positive and within the `MAX_*` limits, `heads` dividing `d_model`,
    /// dropout in `[0, 1)`. A configuration read from a file is untrusted:
    /// `layers = 2^40` must be refused here, not run out of time building
    /// blocks.
    ///
    /// ```
    /// use micrograd_plus::models::GPTConfig;
    /// assert!(GPTConfig::shakespeare(65).validate().is_ok());
    /// let err = GPTConfig { layers: 1 << 40, ..GPTConfig::shakespeare(65) }.validate().unwrap_err();
    /// assert_eq!(err.to_string(), "GPTConfig: layers is 1099511627776, expected 1 to 1024");
    /// ```
    pub fn validate(&self) -> Result<()> {
        let err = |msg: String| Err(Error::argument("GPTConfig", msg));
        for (name, value, max) in [
            ("vocab_size", self.vocab_size, GPTConfig::MAX_VOCAB),
            ("block_size", self.block_size, GPTConfig::MAX_BLOCK_SIZE),
            ("d_model", self.d_model, GPTConfig::MAX_D_MODEL),
            ("heads", self.heads, GPTConfig::MAX_D_MODEL),
            ("layers", self.layers, GPTConfig::MAX_LAYERS),
        ] {
            if value == 0 || value > max {
                return err(format!("{name} is {value}, expected 1 to {max}"));
            }
        }
        if !self.d_model.is_multiple_of(self.heads) {
            return err(format!(
                "d_model {} is not divisible by heads {}",
                self.d_model, self.heads
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return err(format!("dropout is {}, expected 0 <= p < 1", self.dropout));
        }
        match self.num_parameters() {
            Some(n) if n <= GPTConfig::MAX_PARAMETERS => Ok(()),
            n => err(format!(
                "{} parameters, more than the limit of {}",
                n.map_or("too many".to_string(), |n| n.to_string()),
                GPTConfig::MAX_PARAMETERS
            )),
        }
    }

    /// Checks that a state dict (a checkpoint's tensors) is of a model with
    /// this configuration, from the shapes of the tables and the number of
    /// blocks, before a model is built for it: the configuration stored
    /// beside the tensors is untrusted, and a model built from a wrong one
    /// could be any size.
    ///
    /// ```
    /// use micrograd_plus::{models::{GPTConfig, GPT}, nn::Module};
    /// let c = GPTConfig { block_size: 4, d_model: 8, heads: 2, layers: 2, ..GPTConfig::shakespeare(5) };
    /// let state = GPT::new(c.clone()).unwrap().state_dict();
    /// assert!(c.check_state_dict(&state).is_ok());
    /// let err = GPTConfig { layers: 3, ..c }.check_state_dict(&state).unwrap_err();
    /// assert_eq!(err.to_string(), "GPTConfig: config says 3 layers, the tensors hold 2 blocks");
    /// ```
    pub fn check_state_dict(&self, state: &[(String, Tensor)]) -> Result<()> {
        self.validate()?;
        let err = |msg: String| Err(Error::argument("GPTConfig", msg));
        let shape_of = |name: &str| {
            state
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.shape().to_vec())
        };
        let (v, c, t) = (self.vocab_size, self.d_model, self.block_size);
        let mut expected: Vec<(&str, Option<Vec<usize>>)> = vec![
            ("wte.weight", Some(vec![v, c])),
            ("ln_f.weight", Some(vec![c])),
            ("lm_head.weight", (!self.tie_weights).then(|| vec![v, c])),
        ];
        if self.positions == Positions::Learned {
            expected.push(("wpe.weight", Some(vec![t, c])));
        }
        for (name, want) in expected {
            let found = shape_of(name);
            if found != want {
                let show = |s: &Option<Vec<usize>>| {
                    s.as_ref()
                        .map_or("no tensor".to_string(), |s| format!("shape {s:?}"))
                };
                return err(format!(
                    "config {} expects {name} with {}, the tensors have {}",
                    self.to_json(),
                    show(&want),
                    show(&found)
                ));
            }
        }
        // Blocks: every "blocks.<i>." index below `layers`, each present.
        let mut per_block = Vec::new();
        for (name, _) in state {
            if let Some(rest) = name.strip_prefix("blocks.") {
                let index = rest
                    .split('.')
                    .next()
                    .and_then(|i| i.parse::<usize>().ok())
                    .filter(|&i| i < GPTConfig::MAX_LAYERS);
                let Some(i) = index else {
                    return err(format!("unexpected tensor {name:?}"));
                };
                if per_block.len() <= i {
                    per_block.resize(i + 1, 0usize);
                }
                per_block[i] += 1;
            }
        }
        if per_block.len() != self.layers || per_block.contains(&0) {
            return err(format!(
                "config says {} layers, the tensors hold {} blocks",
                self.layers,
                per_block.iter().filter(|&&n| n > 0).count()
            ));
        }
        Ok(())
    }
}

/// The position layer in use.
enum PositionLayer {
    Learned(PositionalEmbedding),
    Sinusoidal(PositionalEncoding),
}

/// Sampling settings for [`GPT::generate_stream`].
///
/// ```
/// let s = micrograd_plus::models::Sampling { temperature: 0.8, top_k: Some(10), seed: 1 };
/// assert_eq!(s.top_k, Some(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Divides the logits: below 1 sharper, above 1 flatter; 0 picks the most
    /// likely token (greedy).
    pub temperature: f64,
    /// Sample only among the `k` most likely tokens.
    pub top_k: Option<usize>,
    /// Seed of the sampler, so a generation can be repeated.
    pub seed: u64,
}

/// A decoder-only transformer language model.
///
/// ```
/// use micrograd_plus::{models::{GPTConfig, GPT}, nn::Module, Tensor};
/// micrograd_plus::manual_seed(0);
/// let config = GPTConfig { vocab_size: 10, block_size: 8, d_model: 16, heads: 2, layers: 1, ..GPTConfig::shakespeare(10) };
/// let model = GPT::new(config).unwrap();
/// let ids = Tensor::new([[1.0f32, 2.0, 3.0]]).unwrap();
/// assert_eq!(model.forward(&ids).unwrap().shape(), &[1, 3, 10]);
/// let out = model.generate(&[1, 2, 3], 5, 1.0, None, 42).unwrap();
/// assert_eq!(out.len(), 8);
/// assert!(out.iter().all(|&t| t < 10));
/// ```
pub struct GPT {
    config: GPTConfig,
    wte: Embedding,
    wpe: PositionLayer,
    blocks: Vec<TransformerBlock>,
    ln_f: LayerNorm,
    lm_head: Option<Linear>,
    training: bool,
}

impl GPT {
    /// A model with GPT-2's initialisation from the default generator.
    ///
    /// ```
    /// use micrograd_plus::models::{GPTConfig, GPT};
    /// let bad = GPTConfig { heads: 3, ..GPTConfig::shakespeare(65) };
    /// assert!(GPT::new(bad).is_err());
    /// ```
    pub fn new(config: GPTConfig) -> Result<GPT> {
        config.validate()?;
        let c = config.d_model;
        let wte = Embedding::new(config.vocab_size, c);
        let wpe = match config.positions {
            Positions::Learned => {
                PositionLayer::Learned(PositionalEmbedding::new(config.block_size, c))
            }
            Positions::Sinusoidal => {
                PositionLayer::Sinusoidal(PositionalEncoding::new(config.block_size, c)?)
            }
        };
        let blocks = (0..config.layers)
            .map(|_| TransformerBlock::new(c, config.heads, config.dropout, true))
            .collect::<Result<Vec<_>>>()?;
        let lm_head = (!config.tie_weights).then(|| Linear::new(c, config.vocab_size, false));
        let model = GPT {
            config,
            wte,
            wpe,
            blocks,
            ln_f: LayerNorm::new(&[c]),
            lm_head,
            training: true,
        };
        model.visit_parameters(&mut |name, t| {
            if t.ndim() == 2 {
                init::normal_(t, 0.0, 0.02);
            } else if name.ends_with(".bias") && !name.contains("ln") {
                init::zeros_(t);
            }
        });
        Ok(model)
    }

    /// The model of a checkpoint: `config` (read from the checkpoint, so
    /// untrusted) is checked against the limits and against `state` (see
    /// [`GPTConfig::check_state_dict`]) before the model is built, then the
    /// weights are loaded into it.
    ///
    /// ```
    /// use micrograd_plus::{models::{GPTConfig, GPT}, nn::Module};
    /// let c = GPTConfig { block_size: 4, d_model: 8, heads: 2, layers: 1, ..GPTConfig::shakespeare(5) };
    /// let state = GPT::new(c.clone()).unwrap().state_dict();
    /// let model = GPT::from_state_dict(c.clone(), &state).unwrap();
    /// assert_eq!(model.config(), &c);
    /// let huge = GPTConfig { layers: 1 << 40, ..c };
    /// assert!(GPT::from_state_dict(huge, &state).is_err());
    /// ```
    pub fn from_state_dict(config: GPTConfig, state: &[(String, Tensor)]) -> Result<GPT> {
        config.check_state_dict(state)?;
        let mut model = GPT::new(config)?;
        // The count first: load_state_dict matches names pairwise.
        let own = model.state_dict().len();
        if state.len() != own {
            return Err(Error::argument(
                "GPT",
                format!("the state has {} tensors, the model {own}", state.len()),
            ));
        }
        model.load_state_dict(state)?;
        Ok(model)
    }

    /// The configuration.
    ///
    /// ```
    /// use micrograd_plus::models::{GPTConfig, GPT};
    /// assert_eq!(GPT::new(GPTConfig::shakespeare(65)).unwrap().config().vocab_size, 65);
    /// ```
    pub fn config(&self) -> &GPTConfig {
        &self.config
    }

    fn check_ids(&self, ids: &[usize], batch: usize, time: usize) -> Result<()> {
        if ids.len() != batch * time || time == 0 {
            return Err(Error::shape(
                "GPT",
                format!(
                    "{} ids do not form a (batch {batch}, time {time}) input",
                    ids.len()
                ),
            ));
        }
        if let Some(bad) = ids.iter().find(|&&i| i >= self.config.vocab_size) {
            return Err(Error::index(
                "GPT",
                format!(
                    "token id {bad} is outside the vocabulary of {}",
                    self.config.vocab_size
                ),
            ));
        }
        Ok(())
    }

    fn embed(&self, ids: &[usize], batch: usize, time: usize, offset: usize) -> Result<Tensor> {
        if offset + time > self.config.block_size {
            return Err(Error::shape(
                "GPT",
                format!(
                    "sequence of {} positions exceeds the context of {}",
                    offset + time,
                    self.config.block_size
                ),
            ));
        }
        let tok = self.wte.lookup(ids, &[batch, time])?;
        match &self.wpe {
            PositionLayer::Learned(p) => p.forward_at(&tok, offset),
            PositionLayer::Sinusoidal(p) => p.forward_at(&tok, offset),
        }
    }

    fn head(&self, h: &Tensor) -> Result<Tensor> {
        let h = self.ln_f.forward(h)?;
        match &self.lm_head {
            Some(head) => head.forward(&h),
            None => h.linear(self.wte.weight(), None),
        }
    }

    /// Logits `(B, T, vocab)` for token ids given row-major as `batch × time`.
    ///
    /// ```
    /// use micrograd_plus::models::{GPTConfig, GPT};
    /// let model = GPT::new(GPTConfig::shakespeare(65)).unwrap();
    /// assert_eq!(model.logits(&[0, 1, 2, 3], 2, 2).unwrap().shape(), &[2, 2, 65]);
    /// let err = model.logits(&[65], 1, 1).unwrap_err().to_string();
    /// assert_eq!(err, "GPT: token id 65 is outside the vocabulary of 65");
    /// ```
    pub fn logits(&self, ids: &[usize], batch: usize, time: usize) -> Result<Tensor> {
        self.check_ids(ids, batch, time)?;
        let mut h = self.embed(ids, batch, time, 0)?;
        for block in &self.blocks {
            h = block.forward(&h)?;
        }
        self.head(&h)
    }

    /// Mean cross-entropy of the next-token predictions: `ids` and `targets`
    /// are `batch × time`, `targets[i]` the token following `ids[i]`.
    ///
    /// ```
    /// use micrograd_plus::models::{GPTConfig, GPT};
    /// let model = GPT::new(GPTConfig::shakespeare(65)).unwrap();
    /// let loss = model.loss(&[0, 1, 2, 3], &[1, 2, 3, 4], 1, 4).unwrap().item().unwrap();
    /// // About uniform at initialisation: the logits' spread is only ~0.02·√128 ≈ 0.23.
    /// assert!((loss - 65f64.ln()).abs() < 0.3, "{loss}");
    /// ```
    pub fn loss(
        &self,
        ids: &[usize],
        targets: &[usize],
        batch: usize,
        time: usize,
    ) -> Result<Tensor> {
        if targets.len() != ids.len() {
            return Err(Error::shape(
                "GPT",
                format!("{} targets for {} ids", targets.len(), ids.len()),
            ));
        }
        let logits = self.logits(ids, batch, time)?;
        let flat = logits.reshape(&[batch * time, self.config.vocab_size])?;
        CrossEntropyLoss::new().forward(&flat, targets)
    }

    /// Logits for new positions `ids (batch × time)` after those in `cache`,
    /// which then holds them too (no gradients).
    ///
    /// ```
    /// use micrograd_plus::{models::{GPTConfig, GPT}, nn::KvCache};
    /// let model = GPT::new(GPTConfig::shakespeare(65)).unwrap();
    /// let mut cache = model.new_cache();
    /// model.logits_cached(&[5, 6], 1, 2, &mut cache).unwrap();
    /// let step = model.logits_cached(&[7], 1, 1, &mut cache).unwrap().to_vec::<f32>();
    /// let full = model.logits(&[5, 6, 7], 1, 3).unwrap().to_vec::<f32>();
    /// assert!(full[130..].iter().zip(&step).all(|(a, b)| (a - b).abs() < 1e-4));
    /// ```
    pub fn logits_cached(
        &self,
        ids: &[usize],
        batch: usize,
        time: usize,
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        self.check_ids(ids, batch, time)?;
        if cache.layers.len() != self.blocks.len() {
            return Err(Error::argument(
                "GPT",
                format!(
                    "cache has {} layers but the model {}",
                    cache.layers.len(),
                    self.blocks.len()
                ),
            ));
        }
        no_grad(|| {
            let mut h = self.embed(ids, batch, time, cache.len())?;
            for (block, layer) in self.blocks.iter().zip(&mut cache.layers) {
                h = block.forward_cached(&h, layer)?;
            }
            self.head(&h)
        })
    }

    /// An empty key/value cache for this model.
    ///
    /// ```
    /// use micrograd_plus::models::{GPTConfig, GPT};
    /// assert_eq!(GPT::new(GPTConfig::shakespeare(65)).unwrap().new_cache().layers.len(), 4);
    /// ```
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.blocks.len())
    }

    /// `prompt` followed by `max_new_tokens` sampled tokens (with the
    /// key/value cache). See [`GPT::generate_stream`].
    ///
    /// ```
    /// use micrograd_plus::models::{GPTConfig, GPT};
    /// let model = GPT::new(GPTConfig::shakespeare(65)).unwrap();
    /// let a = model.generate(&[1], 10, 0.8, Some(5), 7).unwrap();
    /// assert_eq!(a, model.generate(&[1], 10, 0.8, Some(5), 7).unwrap()); // same seed, same text
    /// assert!(model.generate(&[], 10, 1.0, None, 0).is_err());
    /// ```
    pub fn generate(
        &self,
        prompt: &[usize],
        max_new_tokens: usize,
        temperature: f64,
        top_k: Option<usize>,
        seed: u64,
    ) -> Result<Vec<usize>> {
        let sampling = Sampling {
            temperature,
            top_k,
            seed,
        };
        self.generate_stream(prompt, max_new_tokens, &sampling, true, |_| {})
    }

    /// Samples `max_new_tokens` tokens after `prompt`, calling `on_token` with
    /// each as soon as it is chosen, and returns prompt + new tokens.
    ///
    /// The model sees at most `block_size` tokens. Without the cache every
    /// step runs the last `block_size` tokens through the model. With it,
    /// every step runs one position; when the context is full, the cache is
    /// rebuilt from the last three quarters of it (so beyond `block_size`
    /// tokens the two can differ; within it they agree).
    ///
    /// ```
    /// use micrograd_plus::models::{GPTConfig, Sampling, GPT};
    /// let model = GPT::new(GPTConfig::shakespeare(65)).unwrap();
    /// let s = Sampling { temperature: 1.0, top_k: None, seed: 3 };
    /// let mut streamed = Vec::new();
    /// let all = model.generate_stream(&[0, 1], 20, &s, false, |t| streamed.push(t)).unwrap();
    /// assert_eq!(all[2..], streamed[..]);
    /// assert_eq!(all, model.generate_stream(&[0, 1], 20, &s, true, |_| {}).unwrap());
    /// ```
    pub fn generate_stream(
        &self,
        prompt: &[usize],
        max_new_tokens: usize,
        sampling: &Sampling,
        use_cache: bool,
        mut on_token: impl FnMut(usize),
    ) -> Result<Vec<usize>> {
        if prompt.is_empty() {
            return Err(Error::argument(
                "generate",
                "the prompt must hold at least one token",
            ));
        }
        if !sampling.temperature.is_finite() || sampling.temperature < 0.0 {
            return Err(Error::argument(
                "generate",
                format!(
                    "temperature must be >= 0 and finite, got {}",
                    sampling.temperature
                ),
            ));
        }
        if sampling.top_k == Some(0) {
            return Err(Error::argument("generate", "top_k must be at least 1"));
        }
        self.check_ids(prompt, 1, prompt.len())?;
        let block = self.config.block_size;
        let mut rng = StdRng::seed_from_u64(sampling.seed);
        let mut tokens = prompt.to_vec();
        let mut cache = self.new_cache();
        // Tokens of `tokens` already in the cache.
        let mut cached_upto = 0;
        for _ in 0..max_new_tokens {
            let logits = if use_cache {
                if cache.len() + (tokens.len() - cached_upto) > block {
                    // Context full (or a long prompt): rebuild from the recent past.
                    cache.clear();
                    cached_upto = tokens.len() - (tokens.len().min(block * 3 / 4).max(1));
                }
                let new = &tokens[cached_upto..];
                let l = self.logits_cached(new, 1, new.len(), &mut cache)?;
                cached_upto = tokens.len();
                l
            } else {
                let ctx = &tokens[tokens.len().saturating_sub(block)..];
                no_grad(|| self.logits(ctx, 1, ctx.len()))?
            };
            let v = self.config.vocab_size;
            let all = logits.to_vec::<f64>();
            let next = sample(&all[all.len() - v..], sampling, &mut rng);
            tokens.push(next);
            on_token(next);
        }
        Ok(tokens)
    }
}

/// Draws a token from one row of logits with temperature and top-k.
fn sample(logits: &[f64], s: &Sampling, rng: &mut StdRng) -> usize {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, &x)| {
                if x > best.1 {
                    (i, x)
                } else {
                    best
                }
            })
            .0
    };
    if s.temperature == 0.0 {
        return argmax();
    }
    let mut scaled: Vec<f64> = logits.iter().map(|&x| x / s.temperature).collect();
    if let Some(k) = s.top_k.filter(|&k| k < scaled.len()) {
        let mut sorted = scaled.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let cutoff = sorted[k - 1];
        scaled
            .iter_mut()
            .filter(|x| **x < cutoff)
            .for_each(|x| *x = f64::NEG_INFINITY);
    }
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scaled.iter().map(|&x| (x - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    if !total.is_finite() || total <= 0.0 {
        return argmax();
    }
    let mut u = rng.r#gen::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if u < w {
            return i;
        }
        u -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

impl Module for GPT {
    /// `ids (B, T)` of whole numbers to logits `(B, T, vocab)`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        if ids.ndim() != 2 {
            return Err(Error::shape(
                "GPT",
                format!("expected token ids (batch, time), got {:?}", ids.shape()),
            ));
        }
        let idx = ids.to_indices("GPT", self.config.vocab_size, "the vocabulary")?;
        self.logits(&idx, ids.shape()[0], ids.shape()[1])
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        use crate::nn::module::visit_child;
        visit_child("wte", &self.wte, false, f);
        if let PositionLayer::Learned(p) = &self.wpe {
            visit_child("wpe", p, false, f);
        }
        for (i, block) in self.blocks.iter().enumerate() {
            visit_child(&format!("blocks.{i}"), block, false, f);
        }
        visit_child("ln_f", &self.ln_f, false, f);
        if let Some(head) = &self.lm_head {
            visit_child("lm_head", head, false, f);
        }
    }

    fn visit_buffers(&self, f: &mut Visitor<'_>) {
        if let PositionLayer::Sinusoidal(p) = &self.wpe {
            crate::nn::module::visit_child("wpe", p, true, f);
        }
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.blocks
            .iter_mut()
            .for_each(|b| b.set_training(training));
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn describe(&self) -> String {
        format!("GPT({})", self.config.to_json())
    }
}
