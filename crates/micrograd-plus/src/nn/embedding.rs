//! Lookup tables for tokens and positions.
//!
//! - [`Embedding`]: row `i` of a `(num, dim)` table for token `i`. It is
//!   `index_select` on the table, whose backward adds each output gradient
//!   into the row it was read from, so only the rows used receive gradient.
//! - [`PositionalEmbedding`]: a learned `(max_len, dim)` table added to a
//!   `(B, T, dim)` input, row `t` to position `t` (GPT-2's `wpe`).
//! - [`PositionalEncoding`]: the fixed sinusoids of "Attention Is All You
//!   Need", `PE(t, 2i) = sin(t / 10000^(2i/dim))`, `PE(t, 2i+1) = cos(...)`;
//!   a buffer, not trained.
//!
//! The positional layers take an `offset` so that a key/value cache can feed
//! position `offset + t` one token at a time.

use super::{init, Module, Visitor};
use crate::tensor::ops::index::read_indices;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// A table of `num` learned vectors of size `dim`, indexed by token id.
///
/// ```
/// use micrograd_plus::{nn::{Embedding, Module}, Tensor};
/// micrograd_plus::manual_seed(0);
/// let emb = Embedding::new(10, 4);
/// let ids = Tensor::new([[1.0f32, 7.0, 1.0]]).unwrap(); // (B=1, T=3)
/// let y = emb.forward(&ids).unwrap();
/// assert_eq!(y.shape(), &[1, 3, 4]);
/// y.sum().backward().unwrap();
/// let g = emb.weight().grad().unwrap().to_vec::<f32>();
/// assert_eq!(&g[4..8], &[2.0; 4]); // row 1 was used twice
/// assert_eq!(&g[0..4], &[0.0; 4]); // row 0 not at all
/// let err = emb.forward(&Tensor::new([10.0f32]).unwrap()).unwrap_err().to_string();
/// assert_eq!(err, "Embedding: index 10 is out of bounds for an embedding table with size 10");
/// ```
pub struct Embedding {
    weight: Tensor,
}

impl Embedding {
    /// A `(num_embeddings, embedding_dim)` table initialised N(0, 1), as
    /// PyTorch does, from the default generator.
    ///
    /// ```
    /// use micrograd_plus::nn::{Embedding, Module};
    /// assert_eq!(Embedding::new(65, 128).num_parameters(), 65 * 128);
    /// ```
    pub fn new(num_embeddings: usize, embedding_dim: usize) -> Embedding {
        let weight = Tensor::zeros(&[num_embeddings, embedding_dim]);
        init::normal_(&weight, 0.0, 1.0);
        Embedding::from_weight(weight)
    }

    /// A table with the given `(num, dim)` weight (which becomes trainable).
    ///
    /// ```
    /// use micrograd_plus::{nn::Embedding, Tensor};
    /// let emb = Embedding::from_weight(Tensor::eye(3));
    /// assert_eq!(emb.lookup(&[2], &[1]).unwrap().to_vec::<f32>(), vec![0.0, 0.0, 1.0]);
    /// ```
    pub fn from_weight(weight: Tensor) -> Embedding {
        Embedding {
            weight: weight.requires_grad(true),
        }
    }

    /// The table, `(num_embeddings, embedding_dim)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Embedding::new(5, 2).weight().shape(), &[5, 2]);
    /// ```
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The rows for `ids` (already integers), shaped `shape + [dim]`.
    ///
    /// ```
    /// let emb = micrograd_plus::nn::Embedding::new(5, 2);
    /// assert_eq!(emb.lookup(&[0, 4, 4, 1], &[2, 2]).unwrap().shape(), &[2, 2, 2]);
    /// assert!(emb.lookup(&[0, 1], &[3]).is_err());
    /// ```
    pub fn lookup(&self, ids: &[usize], shape: &[usize]) -> Result<Tensor> {
        if shape.iter().product::<usize>() != ids.len() {
            return Err(Error::shape(
                "Embedding",
                format!("{} ids do not fill shape {shape:?}", ids.len()),
            ));
        }
        let num = self.weight.shape()[0];
        if let Some(bad) = ids.iter().find(|&&i| i >= num) {
            return Err(Error::index(
                "Embedding",
                format!("index {bad} is out of bounds for an embedding table with size {num}"),
            ));
        }
        let rows = self.weight.index_select(0, ids)?;
        let mut out_shape = shape.to_vec();
        out_shape.push(self.weight.shape()[1]);
        Ok(rows.reshape_unchecked(out_shape))
    }
}

impl Module for Embedding {
    /// `ids` of any shape holding whole numbers in `0..num`; the result is
    /// `ids.shape() + [dim]`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let num = self.weight.shape()[0];
        let idx = read_indices("Embedding", ids, num, "an embedding table")?;
        self.lookup(&idx, ids.shape())
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        f("weight", &self.weight);
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        format!("Embedding({}, {})", s[0], s[1])
    }
}

/// Checks a `(B, T, dim)` input against a `(max_len, dim)` position table.
fn check_positions(op: &'static str, x: &Tensor, table: &Tensor, offset: usize) -> Result<usize> {
    let (s, ts) = (x.shape(), table.shape());
    if s.len() != 3 || s[2] != ts[1] {
        return Err(Error::shape(
            op,
            format!("expected input (batch, time, {}), got {s:?}", ts[1]),
        ));
    }
    if offset + s[1] > ts[0] {
        return Err(Error::index(
            op,
            format!(
                "positions {offset}..{} exceed the maximum length {}",
                offset + s[1],
                ts[0]
            ),
        ));
    }
    Ok(s[1])
}

/// A learned position table: `forward(x)` adds row `t` to position `t` of
/// `x (B, T, dim)`. Initialised N(0, 1) like [`Embedding`].
///
/// ```
/// use micrograd_plus::{nn::{Module, PositionalEmbedding}, Tensor};
/// let pos = PositionalEmbedding::new(8, 4);
/// let y = pos.forward(&Tensor::zeros(&[2, 3, 4])).unwrap();
/// assert_eq!(y.to_vec::<f32>()[..12], pos.weight().to_vec::<f32>()[..12]);
/// assert!(pos.forward(&Tensor::zeros(&[1, 9, 4])).is_err()); // longer than 8
/// ```
pub struct PositionalEmbedding {
    table: Embedding,
}

impl PositionalEmbedding {
    /// A table for positions `0..max_len` of size `dim`.
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, PositionalEmbedding};
    /// assert_eq!(PositionalEmbedding::new(64, 128).num_parameters(), 64 * 128);
    /// ```
    pub fn new(max_len: usize, dim: usize) -> PositionalEmbedding {
        PositionalEmbedding {
            table: Embedding::new(max_len, dim),
        }
    }

    /// The table, `(max_len, dim)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::PositionalEmbedding::new(4, 2).weight().shape(), &[4, 2]);
    /// ```
    pub fn weight(&self) -> &Tensor {
        self.table.weight()
    }

    /// Adds the rows for positions `offset..offset + T`.
    ///
    /// ```
    /// use micrograd_plus::{nn::PositionalEmbedding, Tensor};
    /// let pos = PositionalEmbedding::new(4, 2);
    /// let y = pos.forward_at(&Tensor::zeros(&[1, 1, 2]), 3).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), pos.weight().to_vec::<f32>()[6..8]);
    /// ```
    pub fn forward_at(&self, x: &Tensor, offset: usize) -> Result<Tensor> {
        let t = check_positions("PositionalEmbedding", x, self.weight(), offset)?;
        let rows = self.weight().narrow(0, offset, t)?;
        x.add(&rows)
    }
}

impl Module for PositionalEmbedding {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_at(x, 0)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        f("weight", self.weight());
    }

    fn describe(&self) -> String {
        let s = self.weight().shape();
        format!("PositionalEmbedding({}, {})", s[0], s[1])
    }
}

/// Fixed sinusoidal positions added to `x (B, T, dim)`; `dim` must be even.
///
/// ```
/// use micrograd_plus::{nn::{Module, PositionalEncoding}, Tensor};
/// let pe = PositionalEncoding::new(16, 4).unwrap();
/// let y = pe.forward(&Tensor::zeros(&[1, 2, 4])).unwrap().to_vec::<f64>();
/// // position 0: sin 0, cos 0, sin 0, cos 0; position 1: sin 1, cos 1, sin 0.01, cos 0.01
/// let want = [0.0, 1.0, 0.0, 1.0, 1f64.sin(), 1f64.cos(), 0.01f64.sin(), 0.01f64.cos()];
/// for (a, b) in y.iter().zip(want) { assert!((a - b).abs() < 1e-6); }
/// assert_eq!(pe.num_parameters(), 0);
/// assert!(PositionalEncoding::new(16, 3).is_err());
/// ```
pub struct PositionalEncoding {
    table: Tensor,
}

impl PositionalEncoding {
    /// The sinusoids for positions `0..max_len` in `dim` (even) features.
    ///
    /// ```
    /// let pe = micrograd_plus::nn::PositionalEncoding::new(64, 128).unwrap();
    /// assert_eq!(pe.table().shape(), &[64, 128]);
    /// ```
    pub fn new(max_len: usize, dim: usize) -> Result<PositionalEncoding> {
        if !dim.is_multiple_of(2) {
            return Err(Error::argument(
                "PositionalEncoding",
                format!("dim must be even, got {dim}"),
            ));
        }
        let mut v = vec![0.0f32; max_len * dim];
        for t in 0..max_len {
            for i in 0..dim / 2 {
                let angle = t as f64 / 10000f64.powf(2.0 * i as f64 / dim as f64);
                v[t * dim + 2 * i] = angle.sin() as f32;
                v[t * dim + 2 * i + 1] = angle.cos() as f32;
            }
        }
        Ok(PositionalEncoding {
            table: Tensor::from_vec(v, &[max_len, dim])?,
        })
    }

    /// The `(max_len, dim)` table (a buffer: saved, not trained).
    ///
    /// ```
    /// let pe = micrograd_plus::nn::PositionalEncoding::new(2, 2).unwrap();
    /// assert_eq!(pe.table().to_vec::<f32>(), vec![0.0, 1.0, 1f32.sin(), 1f32.cos()]);
    /// ```
    pub fn table(&self) -> &Tensor {
        &self.table
    }

    /// Adds the sinusoids of positions `offset..offset + T`.
    ///
    /// ```
    /// use micrograd_plus::{nn::PositionalEncoding, Tensor};
    /// let pe = PositionalEncoding::new(4, 2).unwrap();
    /// let y = pe.forward_at(&Tensor::zeros(&[1, 1, 2]), 1).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1f32.sin(), 1f32.cos()]);
    /// ```
    pub fn forward_at(&self, x: &Tensor, offset: usize) -> Result<Tensor> {
        let t = check_positions("PositionalEncoding", x, &self.table, offset)?;
        x.add(&self.table.narrow(0, offset, t)?.to_dtype(x.dtype()))
    }
}

impl Module for PositionalEncoding {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_at(x, 0)
    }

    fn visit_buffers(&self, f: &mut Visitor<'_>) {
        f("pe", &self.table);
    }

    fn describe(&self) -> String {
        let s = self.table.shape();
        format!("PositionalEncoding({}, {})", s[0], s[1])
    }
}
