//! Distances and similarities between vectors along a dim, as PyTorch's
//! `F.cosine_similarity` and `F.pairwise_distance` compute them:
//!
//! ```text
//! cosine_similarity(a, b) = Σ (a / max(‖a‖, ε)) · (b / max(‖b‖, ε))   along dim
//! pairwise_distance(a, b) = ‖a − b + ε‖_p                            along the last dim
//! ```
//!
//! Both are composites of differentiable ops (`vector_norm`, `div`, `mul`,
//! `sum`), so their backward is the chain rule through those. One piece is
//! PyTorch's own: cosine similarity clamps each norm at ε *in place under
//! `no_grad`*, so the clamped value is used but the gradient still flows as
//! if the norm had not been clamped. `clamp_min_keep_gradient` is that
//! step as an op of its own: forward `max(x, min)`, backward the identity.
//! It only matters for vectors shorter than ε, where PyTorch's gradient is
//! not the derivative of its output; we follow PyTorch there.

use super::unary::unary;
use super::UnaryFn;
use crate::tensor::shape::{broadcast_shapes, normalize_dim};
use crate::tensor::{DType, Element, Tensor};
use crate::{Error, Result};

/// `max(x, min)` whose backward passes the gradient through unchanged: what
/// PyTorch's `x.clamp_(min=...)` under `no_grad` leaves in a graph.
#[derive(Clone, Copy)]
struct ClampMinKeepGradient {
    min: f64,
}

impl UnaryFn for ClampMinKeepGradient {
    const NAME: &'static str = "clamp_min_keep_gradient";
    fn f<T: Element>(&self, x: T) -> T {
        if x < T::of(self.min) {
            T::of(self.min)
        } else {
            x
        }
    }
    fn df<T: Element>(&self, _: T, _: T) -> T {
        T::one()
    }
}

/// `max(x, min)` elementwise, with the gradient of the identity: the value
/// PyTorch computes by clamping a tensor in place under `no_grad` (cosine
/// similarity's norms, Gaussian NLL's variance) and the gradient it then
/// backpropagates. A NaN stays NaN.
pub(crate) fn clamp_min_keep_gradient(x: &Tensor, min: f64) -> Tensor {
    unary(x, ClampMinKeepGradient { min })
}

/// Both operands in one dtype: f64 if either is (PyTorch's type promotion).
fn common_dtype(a: &Tensor, b: &Tensor) -> (Tensor, Tensor) {
    if a.dtype() == b.dtype() {
        (a.clone(), b.clone())
    } else {
        (a.to_dtype(DType::F64), b.to_dtype(DType::F64))
    }
}

impl Tensor {
    /// PyTorch's `F.cosine_similarity(x1, x2, dim, eps)`: the cosine of the
    /// angle between `self` and `other` along `dim`, after broadcasting the
    /// two, as `Σ (a / max(‖a‖, eps)) · (b / max(‖b‖, eps))`. Normalising
    /// first (PyTorch 2.x) keeps the result within [−1, 1] and never forms
    /// `‖a‖·‖b‖`, which can overflow. Each norm is clamped at `eps` (PyTorch's
    /// default is 1e-8), so a zero vector gives 0; as in PyTorch the clamp
    /// changes the value, not the gradient (see the module notes).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let a = Tensor::new([[1.0f64, 0.0], [3.0, 4.0], [0.0, 0.0]]).unwrap().requires_grad(true);
    /// let b = Tensor::new([1.0f64, 1.0]).unwrap(); // broadcast over a's rows
    /// let cos = a.cosine_similarity(&b, 1, 1e-8).unwrap();
    /// let want = [0.5f64.sqrt(), 7.0 / (5.0 * 2f64.sqrt()), 0.0];
    /// for (c, w) in cos.to_vec::<f64>().iter().zip(want) { assert!((c - w).abs() < 1e-15); }
    /// cos.sum().backward().unwrap();
    /// assert_eq!(a.grad().unwrap().shape(), &[3, 2]);
    /// let err = a.cosine_similarity(&Tensor::zeros(&[3]), 1, 1e-8).unwrap_err();
    /// assert_eq!(err.to_string(), "cosine_similarity: cannot broadcast shapes [3, 2] and [3]");
    /// ```
    pub fn cosine_similarity(&self, other: &Tensor, dim: isize, eps: f64) -> Result<Tensor> {
        const OP: &str = "cosine_similarity";
        if eps.is_nan() || eps < 0.0 {
            return Err(Error::argument(
                OP,
                format!("eps must be non-negative, got {eps}"),
            ));
        }
        let shape = broadcast_shapes(OP, self.shape(), other.shape())?;
        // A 0-d result still has one dim to name: PyTorch wraps dim 0 and −1 there.
        normalize_dim(OP, dim, shape.len().max(1))?;
        let (a, b) = common_dtype(self, other);
        let (a, b) = (a.broadcast_to(&shape)?, b.broadcast_to(&shape)?);
        let unit = |x: &Tensor| -> Result<Tensor> {
            let norm = x.vector_norm(2.0, &[dim], true)?;
            x.div(&clamp_min_keep_gradient(&norm, eps))
        };
        unit(&a)?.mul(&unit(&b)?)?.sum_dims(&[dim], false)
    }

    /// PyTorch's `F.pairwise_distance(x1, x2, p, eps, keepdim)`: the
    /// `p`-norm of `self − other + eps` over the last dim (of the
    /// broadcast shape). The `eps` (PyTorch's default 1e-6) keeps the
    /// distance of equal vectors away from the norm's kink at 0. `p` is any
    /// order [`Tensor::vector_norm`] takes.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let a = Tensor::new([[0.0f64, 0.0], [1.0, 1.0]]).unwrap();
    /// let b = Tensor::new([3.0f64, 4.0]).unwrap();
    /// let d = a.pairwise_distance(&b, 2.0, 0.0, false).unwrap();
    /// assert_eq!(d.to_vec::<f64>(), vec![5.0, 13f64.sqrt()]);
    /// assert_eq!(a.pairwise_distance(&b, 1.0, 0.0, true).unwrap().shape(), &[2, 1]);
    /// assert!(a.pairwise_distance(&Tensor::zeros(&[3]), 2.0, 1e-6, false).is_err());
    /// ```
    pub fn pairwise_distance(
        &self,
        other: &Tensor,
        p: f64,
        eps: f64,
        keepdim: bool,
    ) -> Result<Tensor> {
        const OP: &str = "pairwise_distance";
        broadcast_shapes(OP, self.shape(), other.shape())?;
        let (a, b) = common_dtype(self, other);
        a.sub(&b)?.add_scalar(eps).vector_norm(p, &[-1], keepdim)
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// cosine_similarity and pairwise_distance, norms kept away from 0 and
    /// from the clamp.
    pub(crate) fn similarity_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (dim, b_shape) in [(1, &[3, 4][..]), (0, &[3, 4][..]), (-1, &[4][..])] {
            out.push(OpCheck::new(
                "cosine_similarity",
                format!("dim={dim}"),
                vec![g.away(&[3, 4]), g.away(b_shape)],
                move |t| t[0].cosine_similarity(&t[1], dim, 1e-8),
            ));
        }
        for p in [2.0, 1.0, 3.0] {
            out.push(OpCheck::new(
                "pairwise_distance",
                format!("p={p}"),
                vec![g.randn(&[3, 4]), g.randn(&[3, 4])],
                move |t| t[0].pairwise_distance(&t[1], p, 1e-6, false),
            ));
        }
    }
}
