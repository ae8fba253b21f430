//! Splitting features into attention heads and merging them back:
//! `(B, T, H·d) ↔ (B, H, T, d)`.
//!
//! The same as `reshape(B, T, H, d).transpose(1, 2)` and its inverse, but as
//! one copy of `d`-long runs instead of an element-by-element permute: the
//! heads of every token are contiguous in the input, and each head's tokens
//! are contiguous in the output. Each op's backward is the other op.

use crate::tensor::{with_slice, Element, Storage, Tensor};
use crate::{Error, Result};

/// `(B, T, H·d)` → `(B, H, T, d)`, or back when `merge` is set.
fn rearrange<T: Element>(
    x: &[T],
    (b, t, h, d): (usize, usize, usize, usize),
    merge: bool,
) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    for bi in 0..b {
        for ti in 0..t {
            for hi in 0..h {
                let tokens = ((bi * t + ti) * h + hi) * d; // (B, T, H, d)
                let heads = ((bi * h + hi) * t + ti) * d; // (B, H, T, d)
                let (src, dst) = if merge {
                    (heads, tokens)
                } else {
                    (tokens, heads)
                };
                out[dst..dst + d].copy_from_slice(&x[src..src + d]);
            }
        }
    }
    out
}

fn record(x: &Tensor, sizes: (usize, usize, usize, usize), merge: bool) -> Tensor {
    let out = with_slice!(&*x.storage(), |v: T| T::into_storage(rearrange(
        v, sizes, merge
    )));
    let (b, t, h, d) = sizes;
    let shape = if merge {
        vec![b, t, h * d]
    } else {
        vec![b, h, t, d]
    };
    let name = if merge { "merge_heads" } else { "split_heads" };
    Tensor::record(out, shape, name, vec![x.clone()], move |g, _, _| {
        let dx: Storage = with_slice!(&*g.storage(), |gv: T| T::into_storage(rearrange(
            gv, sizes, !merge
        )));
        let shape = if merge {
            vec![b, h, t, d]
        } else {
            vec![b, t, h * d]
        };
        Ok(vec![Some(Tensor::from_storage(dx, shape))])
    })
}

impl Tensor {
    /// Splits the features of `(B, T, C)` into `heads` heads: `(B, H, T, C/H)`
    /// (`x.view(B, T, H, C/H).transpose(1, 2)` in PyTorch).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::arange(0.0, 8.0, 1.0).reshape(&[1, 2, 4]).unwrap(); // 2 tokens, 4 features
    /// let h = x.split_heads(2).unwrap();
    /// assert_eq!(h.shape(), &[1, 2, 2, 2]);
    /// assert_eq!(h.to_vec::<f32>(), vec![0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]);
    /// assert_eq!(h.merge_heads().unwrap().to_vec::<f32>(), x.to_vec::<f32>());
    /// let err = x.split_heads(3).unwrap_err().to_string();
    /// assert_eq!(err, "split_heads: 4 features of [1, 2, 4] do not split into 3 heads");
    /// ```
    pub fn split_heads(&self, heads: usize) -> Result<Tensor> {
        let s = self.shape();
        if s.len() != 3 {
            return Err(Error::shape(
                "split_heads",
                format!("expected (batch, time, features), got {s:?}"),
            ));
        }
        if heads == 0 || !s[2].is_multiple_of(heads) {
            return Err(Error::shape(
                "split_heads",
                format!("{} features of {s:?} do not split into {heads} heads", s[2]),
            ));
        }
        Ok(record(self, (s[0], s[1], heads, s[2] / heads), false))
    }

    /// Joins heads `(B, H, T, d)` back into features `(B, T, H·d)`, the
    /// inverse of [`Tensor::split_heads`].
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// assert_eq!(Tensor::zeros(&[2, 4, 3, 8]).merge_heads().unwrap().shape(), &[2, 3, 32]);
    /// assert!(Tensor::zeros(&[4, 3, 8]).merge_heads().is_err());
    /// ```
    pub fn merge_heads(&self) -> Result<Tensor> {
        let s = self.shape();
        if s.len() != 4 {
            return Err(Error::shape(
                "merge_heads",
                format!("expected (batch, heads, time, head_dim), got {s:?}"),
            ));
        }
        Ok(record(self, (s[0], s[2], s[1], s[3]), true))
    }
}
