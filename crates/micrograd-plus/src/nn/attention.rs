//! `MultiHeadAttention(d_model, heads, dropout)`: self-attention over a
//! sequence, all heads at once.
//!
//! For `x (B, T, C)` with `H` heads of size `d = C/H`:
//!
//! ```text
//! q, k, v = split_heads(x·Wqᵀ + bq), ...          each (B, H, T, d)
//! y       = softmax(q·kᵀ/√d + mask) · v            (B, H, T, d)
//! out     = merge_heads(y)·Woᵀ + bo                (B, T, C)
//! ```
//!
//! The three projections run as one `C → 3C` product, and its packed
//! output goes to one fused [`Tensor::qkv_packed_attention`], which reads
//! each head where it lies: heads are a batch dimension, never a loop, and
//! no split or merged copy of them is made. The causal mask
//! stops position `t` from seeing positions after it (what a language model
//! needs); a key padding mask `(B, T)` (1 = padding) hides padded keys.
//! With dropout on and the module training, the attention weights are
//! dropped, which takes the composed path ([`attention_composed`]).
//!
//! A [`KvCache`] keeps each layer's keys and values from earlier calls, so
//! generating one more token costs one new position, not the whole context.

use super::{Dropout, Linear, Module, Visitor};
use crate::tensor::{no_grad, Tensor};
use crate::{Error, Result};

/// `softmax(q·kᵀ/√d)·v` written with plain ops (matmul, transpose,
/// masked_fill, softmax, dropout): the textbook formula, used when the
/// attention weights need dropout and as the fused op's cross-check.
/// `allowed` (broadcast to `(..., Tq, Tk)`) is 1 where a query may attend.
///
/// ```
/// use micrograd_plus::{nn::attention::attention_composed, Tensor};
/// let q = Tensor::randn(&[2, 3, 4, 8], 0);
/// let (k, v) = (Tensor::randn(&[2, 3, 4, 8], 1), Tensor::randn(&[2, 3, 4, 8], 2));
/// let a = attention_composed(&q, &k, &v, None, true, None).unwrap().to_vec::<f32>();
/// let b = Tensor::scaled_dot_product_attention(&q, &k, &v, None, true, None).unwrap().to_vec::<f32>();
/// assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
/// ```
pub fn attention_composed(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    allowed: Option<&Tensor>,
    causal: bool,
    dropout: Option<&Dropout>,
) -> Result<Tensor> {
    let d = *q.shape().last().unwrap_or(&1) as f64;
    let r = q.ndim() as isize;
    let mut scores = q
        .matmul(&k.transpose(r - 2, r - 1)?)?
        .mul_scalar(1.0 / d.sqrt());
    let (tq, tk) = (q.shape()[q.ndim() - 2], k.shape()[k.ndim() - 2]);
    if causal {
        // Masked where key j is later than query i (aligned to the last key).
        let future: Vec<f32> = (0..tq)
            .flat_map(|i| (0..tk).map(move |j| if j > i + (tk - tq) { 1.0 } else { 0.0 }))
            .collect();
        scores = scores.masked_fill(&Tensor::from_vec(future, &[tq, tk])?, f64::NEG_INFINITY)?;
    }
    if let Some(m) = allowed {
        scores = scores.masked_fill(&m.eq_scalar(0.0), f64::NEG_INFINITY)?;
    }
    let mut p = scores.softmax(-1)?;
    if let Some(drop) = dropout {
        p = drop.forward(&p)?;
    }
    p.matmul(v)
}

/// One layer's keys and values from earlier calls, `(B, H, T_past, d)`.
#[derive(Default, Clone)]
pub struct LayerCache {
    k: Option<Tensor>,
    v: Option<Tensor>,
}

impl LayerCache {
    /// Number of positions cached.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::attention::LayerCache::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.k.as_ref().map_or(0, |k| k.shape()[2])
    }

    /// True before the first call.
    ///
    /// ```
    /// assert!(micrograd_plus::nn::attention::LayerCache::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The caches of every layer of a model plus the number of positions seen.
///
/// ```
/// let cache = micrograd_plus::nn::KvCache::new(4);
/// assert_eq!((cache.layers.len(), cache.len()), (4, 0));
/// ```
#[derive(Clone)]
pub struct KvCache {
    /// One cache per attention layer, in order.
    pub layers: Vec<LayerCache>,
}

impl KvCache {
    /// Empty caches for `layers` attention layers.
    ///
    /// ```
    /// assert!(micrograd_plus::nn::KvCache::new(2).is_empty());
    /// ```
    pub fn new(layers: usize) -> KvCache {
        KvCache {
            layers: vec![LayerCache::default(); layers],
        }
    }

    /// Positions already cached (those of the first layer).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::KvCache::new(1).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, LayerCache::len)
    }

    /// True when nothing is cached.
    ///
    /// ```
    /// assert!(micrograd_plus::nn::KvCache::new(3).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything (to start a new sequence).
    ///
    /// ```
    /// let mut c = micrograd_plus::nn::KvCache::new(1);
    /// c.clear();
    /// assert!(c.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.layers
            .iter_mut()
            .for_each(|l| *l = LayerCache::default());
    }
}

/// Multi-head self-attention with separate query, key, value and output
/// projections (`q_proj`, `k_proj`, `v_proj`, `out_proj`, each `C → C` with
/// bias, PyTorch's default initialisation).
///
/// ```
/// use micrograd_plus::{nn::{Module, MultiHeadAttention}, Tensor};
/// micrograd_plus::manual_seed(0);
/// let attn = MultiHeadAttention::new(16, 4, 0.0).unwrap().causal(true);
/// let x = Tensor::randn(&[2, 5, 16], 1);
/// let y = attn.forward(&x).unwrap();
/// assert_eq!(y.shape(), &[2, 5, 16]);
/// // Causal: changing the last token leaves the outputs before it unchanged.
/// let x2 = x.narrow(1, 0, 4).unwrap();
/// let y2 = attn.forward(&x2).unwrap();
/// let (a, b) = (y.narrow(1, 0, 4).unwrap().to_vec::<f32>(), y2.to_vec::<f32>());
/// assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-6));
/// assert!(MultiHeadAttention::new(16, 3, 0.0).is_err());
/// ```
pub struct MultiHeadAttention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
    causal: bool,
    dropout: Dropout,
    dropout_p: f64,
    training: bool,
}

impl MultiHeadAttention {
    /// `heads` heads over `d_model` features (`d_model` must divide evenly),
    /// dropping attention weights with probability `dropout` while training.
    /// Not causal until [`MultiHeadAttention::causal`] says so.
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, MultiHeadAttention};
    /// let attn = MultiHeadAttention::new(128, 4, 0.0).unwrap();
    /// assert_eq!(attn.num_parameters(), 4 * (128 * 128 + 128));
    /// ```
    pub fn new(d_model: usize, heads: usize, dropout: f64) -> Result<MultiHeadAttention> {
        if heads == 0 || !d_model.is_multiple_of(heads) {
            return Err(Error::argument(
                "MultiHeadAttention",
                format!("d_model ({d_model}) must be divisible by the number of heads ({heads})"),
            ));
        }
        Ok(MultiHeadAttention {
            q_proj: Linear::new(d_model, d_model, true),
            k_proj: Linear::new(d_model, d_model, true),
            v_proj: Linear::new(d_model, d_model, true),
            out_proj: Linear::new(d_model, d_model, true),
            heads,
            causal: false,
            dropout: Dropout::new(dropout)?,
            dropout_p: dropout,
            training: true,
        })
    }

    /// Switches the causal mask on or off (builder style).
    ///
    /// ```
    /// let attn = micrograd_plus::nn::MultiHeadAttention::new(8, 2, 0.0).unwrap().causal(true);
    /// assert!(attn.is_causal());
    /// ```
    pub fn causal(mut self, on: bool) -> MultiHeadAttention {
        self.causal = on;
        self
    }

    /// Whether each position sees only itself and earlier positions.
    ///
    /// ```
    /// assert!(!micrograd_plus::nn::MultiHeadAttention::new(8, 2, 0.0).unwrap().is_causal());
    /// ```
    pub fn is_causal(&self) -> bool {
        self.causal
    }

    /// Number of heads.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::MultiHeadAttention::new(8, 2, 0.0).unwrap().heads(), 2);
    /// ```
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// The four projections, in the order query, key, value, output.
    ///
    /// ```
    /// let attn = micrograd_plus::nn::MultiHeadAttention::new(8, 2, 0.0).unwrap();
    /// assert_eq!(attn.projections()[3].weight().shape(), &[8, 8]);
    /// ```
    pub fn projections(&self) -> [&Linear; 4] {
        [&self.q_proj, &self.k_proj, &self.v_proj, &self.out_proj]
    }

    /// Attention with an optional key padding mask `(B, T)`: non-zero marks a
    /// padded key that no query may attend to (PyTorch's `key_padding_mask`).
    ///
    /// ```
    /// use micrograd_plus::{nn::MultiHeadAttention, Tensor};
    /// let attn = MultiHeadAttention::new(8, 2, 0.0).unwrap();
    /// let x = Tensor::randn(&[1, 3, 8], 0);
    /// let pad = Tensor::new([[0.0f32, 0.0, 1.0]]).unwrap();
    /// let y = attn.forward_masked(&x, Some(&pad)).unwrap();
    /// // The padded token does not influence the others: same as without it.
    /// let y2 = attn.forward_masked(&x.narrow(1, 0, 2).unwrap(), None).unwrap();
    /// let (a, b) = (y.narrow(1, 0, 2).unwrap().to_vec::<f32>(), y2.to_vec::<f32>());
    /// assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-6));
    /// ```
    pub fn forward_masked(&self, x: &Tensor, key_padding_mask: Option<&Tensor>) -> Result<Tensor> {
        let s = x.shape();
        if s.len() != 3 {
            return Err(Error::shape(
                "MultiHeadAttention",
                format!("expected input (batch, time, features), got {s:?}"),
            ));
        }
        let allowed = match key_padding_mask {
            None => None,
            Some(m) => {
                if m.shape() != [s[0], s[1]] {
                    return Err(Error::shape(
                        "MultiHeadAttention",
                        format!(
                            "key_padding_mask {:?} must be (batch, time) = {:?}",
                            m.shape(),
                            [s[0], s[1]]
                        ),
                    ));
                }
                Some(m.eq_scalar(0.0).reshape(&[s[0], 1, 1, s[1]])?)
            }
        };
        let y = if self.training && self.dropout_p > 0.0 {
            let (q, k, v) = self.project(x)?;
            attention_composed(
                &q,
                &k,
                &v,
                allowed.as_ref(),
                self.causal,
                Some(&self.dropout),
            )?
            .merge_heads()?
        } else {
            let qkv = self.project_packed(x)?;
            Tensor::qkv_packed_attention(&qkv, self.heads, allowed.as_ref(), self.causal, None)?
        };
        self.out_proj.forward(&y)
    }

    /// Query, key and value of `x` side by side, `(B, T, 3C)`: the three
    /// projections as one `C → 3C` product, `x·[Wq; Wk; Wv]ᵀ + [bq; bk; bv]`
    /// (the weights' gradients flow back through the concatenation). One
    /// wider product reads `x` once, and its backward gives `x`'s gradient
    /// in one product instead of three summed.
    fn project_packed(&self, x: &Tensor) -> Result<Tensor> {
        let parts = [&self.q_proj, &self.k_proj, &self.v_proj];
        let weight = Tensor::cat(&parts.map(|p| p.weight().clone()), 0)?;
        // The three are built alike: all with a bias (or, were it ever
        // optional, all without).
        let bias: Option<Vec<Tensor>> = parts.iter().map(|p| p.bias().cloned()).collect();
        let bias = bias.map(|b| Tensor::cat(&b, 0)).transpose()?;
        x.linear(&weight, bias.as_ref())
    }

    /// Query, key and value of `x`, split into heads.
    fn project(&self, x: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let h = self.heads;
        Ok((
            self.q_proj.forward(x)?.split_heads(h)?,
            self.k_proj.forward(x)?.split_heads(h)?,
            self.v_proj.forward(x)?.split_heads(h)?,
        ))
    }

    /// Attention for new positions `x (B, T_new, C)` that also attend to the
    /// positions in `cache`, which then holds them too. Without gradients
    /// (generation): each call costs `T_new` positions, not the whole past.
    ///
    /// ```
    /// use micrograd_plus::{nn::{attention::LayerCache, Module, MultiHeadAttention}, Tensor};
    /// let attn = MultiHeadAttention::new(8, 2, 0.0).unwrap().causal(true);
    /// let x = Tensor::randn(&[1, 4, 8], 0);
    /// let full = attn.forward(&x).unwrap().to_vec::<f32>();
    /// let mut cache = LayerCache::default();
    /// let mut step = Vec::new();
    /// for t in 0..4 {
    ///     step.extend(attn.forward_cached(&x.narrow(1, t, 1).unwrap(), &mut cache).unwrap().to_vec::<f32>());
    /// }
    /// assert!(full.iter().zip(&step).all(|(a, b)| (a - b).abs() < 1e-5));
    /// assert_eq!(cache.len(), 4);
    /// ```
    pub fn forward_cached(&self, x: &Tensor, cache: &mut LayerCache) -> Result<Tensor> {
        no_grad(|| {
            let (q, k, v) = self.project(x)?;
            let (k, v) = match (&cache.k, &cache.v) {
                (Some(pk), Some(pv)) => (
                    Tensor::cat(&[pk.clone(), k], 2)?,
                    Tensor::cat(&[pv.clone(), v], 2)?,
                ),
                _ => (k, v),
            };
            let y = Tensor::scaled_dot_product_attention(&q, &k, &v, None, self.causal, None)?;
            cache.k = Some(k);
            cache.v = Some(v);
            self.out_proj.forward(&y.merge_heads()?)
        })
    }
}

impl Module for MultiHeadAttention {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_masked(x, None)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        let children: [(&str, &dyn Module); 4] = [
            ("q_proj", &self.q_proj),
            ("k_proj", &self.k_proj),
            ("v_proj", &self.v_proj),
            ("out_proj", &self.out_proj),
        ];
        for (name, child) in children {
            super::module::visit_child(name, child, false, f);
        }
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.dropout.set_training(training);
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn describe(&self) -> String {
        let c = self.q_proj.weight().shape()[0];
        format!(
            "MultiHeadAttention(d_model={c}, heads={}, dropout={}, causal={})",
            self.heads, self.dropout_p, self.causal
        )
    }
}
