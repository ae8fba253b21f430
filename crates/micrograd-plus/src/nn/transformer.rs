//! `TransformerBlock`: the repeating unit of a GPT, pre-norm (GPT-2's
//! arrangement, which trains without warm-up tricks):
//!
//! ```text
//! x = x + dropout(attention(ln1(x)))
//! x = x + dropout(mlp(ln2(x)))          mlp = Linear(C, 4C) → GELU → Linear(4C, C)
//! ```
//!
//! The residual path carries `x` through unchanged, so gradients reach early
//! layers directly; each sub-layer only learns a correction.

use super::attention::LayerCache;
use super::{Dropout, LayerNorm, Linear, Module, MultiHeadAttention, Visitor};
use crate::tensor::Tensor;
use crate::Result;

/// The feed-forward half of a block: `Linear(C, 4C)`, exact GELU, `Linear(4C, C)`.
///
/// ```
/// use micrograd_plus::{nn::{Module, transformer::Mlp}, Tensor};
/// let mlp = Mlp::new(8, 32);
/// assert_eq!(mlp.forward(&Tensor::zeros(&[2, 3, 8])).unwrap().shape(), &[2, 3, 8]);
/// assert_eq!(mlp.num_parameters(), 8 * 32 + 32 + 32 * 8 + 8);
/// ```
pub struct Mlp {
    fc: Linear,
    proj: Linear,
}

impl Mlp {
    /// `C → hidden → C`.
    ///
    /// ```
    /// let mlp = micrograd_plus::nn::transformer::Mlp::new(4, 16);
    /// ```
    pub fn new(d_model: usize, hidden: usize) -> Mlp {
        Mlp {
            fc: Linear::new(d_model, hidden, true),
            proj: Linear::new(hidden, d_model, true),
        }
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.proj.forward(&self.fc.forward(x)?.gelu())
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        super::module::visit_child("fc", &self.fc, false, f);
        super::module::visit_child("proj", &self.proj, false, f);
    }

    fn describe(&self) -> String {
        format!(
            "Mlp({} -> {} -> GELU -> {})",
            self.fc.weight().shape()[1],
            self.fc.weight().shape()[0],
            self.proj.weight().shape()[0]
        )
    }
}

/// A pre-norm transformer block (LayerNorm eps 1e-5, MLP 4x with exact GELU).
///
/// ```
/// use micrograd_plus::{nn::{Module, TransformerBlock}, Tensor};
/// micrograd_plus::manual_seed(0);
/// let block = TransformerBlock::new(16, 4, 0.0, true).unwrap();
/// let y = block.forward(&Tensor::randn(&[2, 5, 16], 0)).unwrap();
/// assert_eq!(y.shape(), &[2, 5, 16]);
/// let names: Vec<String> = block.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[..3], ["ln1.weight", "ln1.bias", "attn.q_proj.weight"]);
/// assert_eq!(names.last().unwrap(), "mlp.proj.bias");
/// ```
pub struct TransformerBlock {
    ln1: LayerNorm,
    attn: MultiHeadAttention,
    ln2: LayerNorm,
    mlp: Mlp,
    dropout: Dropout,
    dropout_p: f64,
    training: bool,
}

impl TransformerBlock {
    /// A block over `d_model` features with `heads` heads, dropout `dropout`
    /// (attention weights and both residual branches) and a causal mask or not.
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, TransformerBlock};
    /// let block = TransformerBlock::new(128, 4, 0.0, true).unwrap();
    /// assert_eq!(block.num_parameters(), 198_272);
    /// assert!(TransformerBlock::new(128, 5, 0.0, true).is_err());
    /// ```
    pub fn new(
        d_model: usize,
        heads: usize,
        dropout: f64,
        causal: bool,
    ) -> Result<TransformerBlock> {
        Ok(TransformerBlock {
            ln1: LayerNorm::new(&[d_model]),
            attn: MultiHeadAttention::new(d_model, heads, dropout)?.causal(causal),
            ln2: LayerNorm::new(&[d_model]),
            mlp: Mlp::new(d_model, 4 * d_model),
            dropout: Dropout::new(dropout)?,
            dropout_p: dropout,
            training: true,
        })
    }

    /// The attention layer.
    ///
    /// ```
    /// let block = micrograd_plus::nn::TransformerBlock::new(8, 2, 0.0, true).unwrap();
    /// assert!(block.attention().is_causal());
    /// ```
    pub fn attention(&self) -> &MultiHeadAttention {
        &self.attn
    }

    fn residual(&self, x: &Tensor, branch: Tensor) -> Result<Tensor> {
        if self.training && self.dropout_p > 0.0 {
            x.add(&self.dropout.forward(&branch)?)
        } else {
            x.add(&branch)
        }
    }

    /// The block with a key padding mask `(B, T)` (1 = padding), see
    /// [`MultiHeadAttention::forward_masked`].
    ///
    /// ```
    /// use micrograd_plus::{nn::TransformerBlock, Tensor};
    /// let block = TransformerBlock::new(8, 2, 0.0, false).unwrap();
    /// let y = block.forward_masked(&Tensor::zeros(&[1, 3, 8]), Some(&Tensor::zeros(&[1, 3]))).unwrap();
    /// assert_eq!(y.shape(), &[1, 3, 8]);
    /// ```
    pub fn forward_masked(&self, x: &Tensor, key_padding_mask: Option<&Tensor>) -> Result<Tensor> {
        let x = self.residual(
            x,
            self.attn
                .forward_masked(&self.ln1.forward(x)?, key_padding_mask)?,
        )?;
        self.residual(&x, self.mlp.forward(&self.ln2.forward(&x)?)?)
    }

    /// The block for new positions, attending also to `cache` (generation;
    /// no gradients, no dropout).
    ///
    /// ```
    /// use micrograd_plus::{nn::{attention::LayerCache, Module, TransformerBlock}, Tensor};
    /// let mut block = TransformerBlock::new(8, 2, 0.0, true).unwrap();
    /// block.eval();
    /// let x = Tensor::randn(&[1, 2, 8], 0);
    /// let mut cache = LayerCache::default();
    /// let a = block.forward_cached(&x.narrow(1, 0, 1).unwrap(), &mut cache).unwrap();
    /// let b = block.forward_cached(&x.narrow(1, 1, 1).unwrap(), &mut cache).unwrap();
    /// let full = block.forward(&x).unwrap().to_vec::<f32>();
    /// let steps: Vec<f32> = a.to_vec::<f32>().into_iter().chain(b.to_vec::<f32>()).collect();
    /// assert!(full.iter().zip(&steps).all(|(p, q)| (p - q).abs() < 1e-5));
    /// ```
    pub fn forward_cached(&self, x: &Tensor, cache: &mut LayerCache) -> Result<Tensor> {
        let x = x.add(&self.attn.forward_cached(&self.ln1.forward(x)?, cache)?)?;
        x.add(&self.mlp.forward(&self.ln2.forward(&x)?)?)
    }
}

impl Module for TransformerBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_masked(x, None)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        let children: [(&str, &dyn Module); 4] = [
            ("ln1", &self.ln1),
            ("attn", &self.attn),
            ("ln2", &self.ln2),
            ("mlp", &self.mlp),
        ];
        for (name, child) in children {
            super::module::visit_child(name, child, false, f);
        }
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.attn.set_training(training);
        self.dropout.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn describe(&self) -> String {
        format!(
            "TransformerBlock({}, dropout={})",
            self.attn.describe(),
            self.dropout_p
        )
    }
}
