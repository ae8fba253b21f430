//! Lookup tables for tokens and positions.
//!
//! - [`Embedding`]: row `i` of a `(num, dim)` table for token `i`. It is
//!   `index_select` on the table, whose backward adds each output gradient
//!   into the row it was read from, so only the rows used receive gradient.
//!   With a `padding_idx` that row is read like any other but never
//!   receives gradient (PyTorch's padding token); [`embedding`] is the same
//!   lookup as a function of a table, `F.embedding`.
//! - [`PositionalEmbedding`]: a learned `(max_len, dim)` table added to a
//!   `(B, T, dim)` input, row `t` to position `t` (GPT-2's `wpe`).
//! - [`PositionalEncoding`]: the fixed sinusoids of "Attention Is All You
//!   Need", `PE(t, 2i) = sin(t / 10000^(2i/dim))`, `PE(t, 2i+1) = cos(...)`;
//!   a buffer, not trained.
//!
//! The positional layers take an `offset` so that a key/value cache can feed
//! position `offset + t` one token at a time.

use super::{init, Module, Visitor};
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
    /// The row that gets no gradient, already made non-negative.
    padding_idx: Option<usize>,
}

/// PyTorch's `padding_idx` as a row of a table of `num` rows: `-num..num`,
/// a negative index counting from the end.
fn padding_row(op: &'static str, padding_idx: isize, num: usize) -> Result<usize> {
    let row = if padding_idx < 0 {
        num.checked_add_signed(padding_idx)
    } else {
        Some(padding_idx as usize).filter(|&r| r < num)
    };
    row.ok_or_else(|| {
        Error::argument(
            op,
            format!("padding_idx {padding_idx} must be within num_embeddings ({num})"),
        )
    })
}

/// The rows of `weight` for `ids` (checked integers), shaped `shape + [dim]`;
/// where an id is `padding`, the row's values are read from a detached copy,
/// so that row's gradient stays 0.
fn lookup_rows(
    op: &'static str,
    weight: &Tensor,
    ids: &[usize],
    shape: &[usize],
    padding: Option<usize>,
) -> Result<Tensor> {
    if shape.iter().product::<usize>() != ids.len() {
        return Err(Error::shape(
            op,
            format!("{} ids do not fill shape {shape:?}", ids.len()),
        ));
    }
    let num = weight.shape()[0];
    if let Some(bad) = ids.iter().find(|&&i| i >= num) {
        return Err(Error::index(
            op,
            format!("index {bad} is out of bounds for an embedding table with size {num}"),
        ));
    }
    let mut rows = weight.index_select(0, ids)?;
    if let Some(pad) = padding.filter(|p| ids.contains(p)) {
        let is_pad: Vec<f64> = ids.iter().map(|&i| f64::from(u8::from(i == pad))).collect();
        let mask = Tensor::from_vec(is_pad, &[ids.len(), 1])?;
        rows = Tensor::where_(&mask, &rows.detach(), &rows)?;
    }
    let mut out_shape = shape.to_vec();
    out_shape.push(weight.shape()[1]);
    rows.reshape(&out_shape)
}

/// PyTorch's `F.embedding(ids, weight, padding_idx)`: the rows of the
/// `(num, dim)` table `weight` for `ids` of any shape (whole numbers in
/// `0..num`), shaped `ids.shape() + [dim]`. The gradient of each row is the
/// sum of the output gradients read from it, except the `padding_idx` row
/// (negative counts from the end), which is read as it is but gets none.
///
/// ```
/// use micrograd_plus::{nn::embedding::embedding, Tensor};
/// let weight = Tensor::new([[1.0f32, 1.0], [2.0, 2.0], [3.0, 3.0]]).unwrap().requires_grad(true);
/// let ids = Tensor::new([2.0f32, 0.0, 2.0]).unwrap();
/// let y = embedding(&ids, &weight, Some(-1)).unwrap(); // row 2 pads
/// assert_eq!(y.to_vec::<f32>(), vec![3.0, 3.0, 1.0, 1.0, 3.0, 3.0]);
/// y.sum().backward().unwrap();
/// assert_eq!(weight.grad().unwrap().to_vec::<f32>(), vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
/// let err = embedding(&ids, &weight, Some(3)).unwrap_err();
/// assert_eq!(err.to_string(), "embedding: padding_idx 3 must be within num_embeddings (3)");
/// ```
pub fn embedding(ids: &Tensor, weight: &Tensor, padding_idx: Option<isize>) -> Result<Tensor> {
    const OP: &str = "embedding";
    if weight.ndim() != 2 {
        return Err(Error::shape(
            OP,
            format!(
                "weight must be 2-D (num_embeddings, embedding_dim), got {:?}",
                weight.shape()
            ),
        ));
    }
    let num = weight.shape()[0];
    let padding = padding_idx.map(|p| padding_row(OP, p, num)).transpose()?;
    let idx = ids.to_indices(OP, num, "an embedding table")?;
    lookup_rows(OP, weight, &idx, ids.shape(), padding)
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
            padding_idx: None,
        }
    }

    /// PyTorch's `nn.Embedding(num_embeddings, embedding_dim, padding_idx)`:
    /// a table initialised N(0, 1) whose `padding_idx` row (negative counts
    /// from the end) starts at zero and never receives gradient.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Embedding, Module}, Tensor};
    /// let emb = Embedding::with_padding_idx(5, 2, -1).unwrap();
    /// assert_eq!(emb.padding_index(), Some(4));
    /// assert_eq!(emb.weight().to_vec::<f32>()[8..], [0.0, 0.0]);
    /// assert_eq!(emb.describe(), "Embedding(5, 2, padding_idx=4)");
    /// let err = Embedding::with_padding_idx(5, 2, 5).err().unwrap();
    /// assert_eq!(err.to_string(), "Embedding: padding_idx 5 must be within num_embeddings (5)");
    /// ```
    pub fn with_padding_idx(
        num_embeddings: usize,
        embedding_dim: usize,
        padding_idx: isize,
    ) -> Result<Embedding> {
        let row = padding_row("Embedding", padding_idx, num_embeddings)?;
        let weight = Tensor::zeros(&[num_embeddings, embedding_dim]);
        init::normal_(&weight, 0.0, 1.0);
        let keep: Vec<f32> = (0..num_embeddings)
            .map(|r| if r == row { 0.0 } else { 1.0 })
            .collect();
        let weight = weight.mul(&Tensor::from_vec(keep, &[num_embeddings, 1])?)?;
        Embedding::from_weight(weight).padding_idx(padding_idx)
    }

    /// Makes row `padding_idx` (negative counts from the end) the padding
    /// row: read as it is, never given gradient. The values are kept, as
    /// PyTorch's `Embedding.from_pretrained(weight, padding_idx=...)` does.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Embedding, Module}, Tensor};
    /// let emb = Embedding::from_weight(Tensor::eye(3)).padding_idx(0).unwrap();
    /// let y = emb.forward(&Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>()[..3], [1.0, 0.0, 0.0]); // the row is read as it is
    /// y.sum().backward().unwrap();
    /// assert_eq!(emb.weight().grad().unwrap().to_vec::<f32>()[..6], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    /// assert!(Embedding::from_weight(Tensor::eye(3)).padding_idx(-4).is_err());
    /// ```
    pub fn padding_idx(mut self, padding_idx: isize) -> Result<Embedding> {
        let num = self.weight.shape()[0];
        self.padding_idx = Some(padding_row("Embedding", padding_idx, num)?);
        Ok(self)
    }

    /// The padding row, if any (non-negative, as PyTorch stores it).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Embedding::new(5, 2).padding_index(), None);
    /// ```
    pub fn padding_index(&self) -> Option<usize> {
        self.padding_idx
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
        lookup_rows("Embedding", &self.weight, ids, shape, self.padding_idx)
    }
}

impl Module for Embedding {
    /// `ids` of any shape holding whole numbers in `0..num`; the result is
    /// `ids.shape() + [dim]`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let num = self.weight.shape()[0];
        let idx = ids.to_indices("Embedding", num, "an embedding table")?;
        self.lookup(&idx, ids.shape())
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        f("weight", &self.weight);
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        match self.padding_idx {
            Some(p) => format!("Embedding({}, {}, padding_idx={p})", s[0], s[1]),
            None => format!("Embedding({}, {})", s[0], s[1]),
        }
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
