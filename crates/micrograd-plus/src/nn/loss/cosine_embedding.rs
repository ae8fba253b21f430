//! Cosine embedding loss: pulls similar pairs together, pushes dissimilar
//! ones below a margin of cosine similarity.

use super::{broadcast_all, reduce, Reduction};
use crate::{Error, Result, Tensor};

/// Added to each squared magnitude before the square root, as PyTorch does,
/// so that a zero vector gives cosine 0 instead of 0/0.
const MAGNITUDE_EPSILON: f64 = 1e-12;

/// PyTorch's `nn.CosineEmbeddingLoss`: with `cos` the cosine similarity of
/// `x₁` and `x₂` along their last dim, the loss is `1 − cos` where `y = 1`,
/// `max(0, cos − margin)` where `y = −1` and 0 for any other target,
/// reduced.
///
/// Shapes as in PyTorch: inputs `(N, D)` with a target `(N)`, or inputs
/// `(D)` with a 0-d target. The cosine is PyTorch's formula for this loss,
/// `Σx₁x₂ / √((Σx₁² + 1e-12)·(Σx₂² + 1e-12))`, which is not quite
/// [`Tensor::cosine_similarity`] (that one clamps each norm at its `eps`).
/// The target is a label, not differentiated.
///
/// ```
/// use micrograd_plus::nn::loss::{CosineEmbeddingLoss, Reduction};
/// use micrograd_plus::Tensor;
/// let x1 = Tensor::new([[1.0f64, 0.0], [1.0, 1.0]]).unwrap();
/// let x2 = Tensor::new([[0.0f64, 1.0], [1.0, 1.0]]).unwrap().requires_grad(true);
/// let y = Tensor::new([1.0f64, -1.0]).unwrap();
/// let loss = CosineEmbeddingLoss::new().reduction(Reduction::None).forward(&x1, &x2, &y).unwrap();
/// let l = loss.to_vec::<f64>(); // orthogonal but similar: 1 − 0; parallel but dissimilar: 1 − 0
/// assert!((l[0] - 1.0).abs() < 1e-12 && (l[1] - 1.0).abs() < 1e-12);
/// loss.sum().backward().unwrap();
/// assert_eq!(x2.grad().unwrap().shape(), &[2, 2]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CosineEmbeddingLoss {
    reduction: Reduction,
    margin: f64,
}

impl CosineEmbeddingLoss {
    const NAME: &'static str = "CosineEmbeddingLoss";

    /// PyTorch's defaults: mean reduction, `margin = 0`.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::CosineEmbeddingLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{CosineEmbeddingLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[3, 2]);
    /// let l = CosineEmbeddingLoss::new().reduction(Reduction::None).forward(&x, &x, &Tensor::ones(&[3])).unwrap();
    /// assert_eq!(l.shape(), &[3]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets the margin below which dissimilar pairs cost nothing (PyTorch
    /// suggests 0 to 0.5).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::CosineEmbeddingLoss, Tensor};
    /// let x = Tensor::new([1.0f64, 0.0]).unwrap();
    /// let y = Tensor::scalar(-1.0f64);
    /// let l = CosineEmbeddingLoss::new().margin(0.5).forward(&x, &x, &y).unwrap();
    /// // cos(x, x) = 1/(1 + 1e-12), not quite 1: the magnitudes' epsilon
    /// assert!((l.item().unwrap() - 0.5).abs() < 1e-11);
    /// ```
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// The loss of `input1` against `input2` for labels `target` (1 or −1).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::CosineEmbeddingLoss, Tensor};
    /// let x = Tensor::zeros(&[2, 3]);
    /// let err = CosineEmbeddingLoss::new().forward(&x, &Tensor::zeros(&[3]), &Tensor::ones(&[2])).unwrap_err();
    /// assert_eq!(err.to_string(), "CosineEmbeddingLoss: a 1-D target needs 2-D inputs, got [2, 3] and [3]");
    /// assert!(CosineEmbeddingLoss::new().forward(&x, &x, &Tensor::ones(&[2, 1])).is_err());
    /// ```
    pub fn forward(&self, input1: &Tensor, input2: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        let (s1, s2) = (input1.shape(), input2.shape());
        let dim = match target.ndim() {
            0 | 1 => target.ndim(),
            _ => {
                return Err(Error::shape(
                    op,
                    format!(
                        "expected a 0-D or 1-D target (multi-target is not supported), got {:?}",
                        target.shape()
                    ),
                ))
            }
        };
        if s1.len() != dim + 1 || s2.len() != dim + 1 {
            return Err(Error::shape(
                op,
                format!(
                    "a {dim}-D target needs {}-D inputs, got {s1:?} and {s2:?}",
                    dim + 1
                ),
            ));
        }
        let pairs = broadcast_all(op, &[s1, s2])?;
        broadcast_all(op, &[&pairs[..dim], target.shape()])?;
        let dtype = input1.dtype();
        let (x1, x2) = (input1, &input2.to_dtype(dtype));
        let y = target.to_dtype(dtype);
        let axis = [dim as isize];
        let squared_magnitude = |x: &Tensor| -> Result<Tensor> {
            Ok(x.mul(x)?
                .sum_dims(&axis, false)?
                .add_scalar(MAGNITUDE_EPSILON))
        };
        let denominator = squared_magnitude(x1)?.mul(&squared_magnitude(x2)?)?.sqrt();
        let cos = x1.mul(x2)?.sum_dims(&axis, false)?.div(&denominator)?;
        let zero = Tensor::full_dtype(&[], 0.0, dtype);
        let similar = Tensor::where_(&y.eq_scalar(1.0), &cos.rsub_scalar(1.0), &zero)?;
        let hinge = cos.sub_scalar(self.margin).clamp(Some(0.0), None);
        let dissimilar = Tensor::where_(&y.eq_scalar(-1.0), &hinge, &zero)?;
        reduce(op, similar.add(&dissimilar)?, self.reduction)
    }
}

/// This loss's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::CosineEmbeddingLoss;
    use crate::gradcheck::case::prelude::*;
    use crate::nn::loss::Reduction;

    /// Over reductions and margins.
    pub(crate) fn cosine_embedding_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let y = f64_tensor(vec![1.0, -1.0, 1.0, -1.0], &[4]);
        for (reduction, margin) in [(Reduction::Sum, 0.0), (Reduction::None, -0.5)] {
            let (y, loss) = (
                y.clone(),
                CosineEmbeddingLoss::new()
                    .reduction(reduction)
                    .margin(margin),
            );
            out.push(OpCheck::new(
                "CosineEmbeddingLoss",
                format!("{reduction:?}, margin={margin}"),
                vec![g.randn(&[4, 3]), g.randn(&[4, 3])],
                move |t| loss.forward(&t[0], &t[1], &y),
            ));
        }
    }
}
