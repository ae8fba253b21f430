//! Soft margin loss: the logistic loss of a ±1 classification.

use super::{reduce, times_within_shape, Reduction};
use crate::{Result, Tensor};

/// PyTorch's `nn.SoftMarginLoss`: `log(1 + e^(−y·x))` per element, reduced,
/// for scores `x` and labels `y` (1 or −1).
///
/// Computed as `−logsigmoid(y·x)`, which never overflows (PyTorch's
/// `log1p(exp(−y·x))` gives ∞ beyond `y·x ≈ −88` in f32); elsewhere the two
/// agree to rounding. The gradient with respect to `x` is
/// `−y·sigmoid(−y·x)`. The target broadcasts to the input's shape.
///
/// ```
/// use micrograd_plus::nn::loss::{Reduction, SoftMarginLoss};
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([0.0f64, 2.0, -200.0]).unwrap().requires_grad(true);
/// let y = Tensor::new([1.0f64, -1.0, 1.0]).unwrap();
/// let loss = SoftMarginLoss::new().reduction(Reduction::None).forward(&x, &y).unwrap();
/// let l = loss.to_vec::<f64>();
/// assert!((l[0] - 2f64.ln()).abs() < 1e-15 && (l[1] - 2f64.exp().ln_1p()).abs() < 1e-15 && l[2] == 200.0);
/// loss.sum().backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec::<f64>()[2], -1.0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SoftMarginLoss {
    reduction: Reduction,
}

impl SoftMarginLoss {
    const NAME: &'static str = "SoftMarginLoss";

    /// PyTorch's defaults: mean reduction.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::SoftMarginLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{Reduction, SoftMarginLoss};
    /// use micrograd_plus::Tensor;
    /// let l = SoftMarginLoss::new().reduction(Reduction::Sum).forward(&Tensor::zeros(&[3]), &Tensor::ones(&[3])).unwrap();
    /// assert!((l.item().unwrap() - 3.0 * 2f64.ln()).abs() < 1e-6);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The loss of scores `input` against labels `target` (broadcast to
    /// the input's shape).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::SoftMarginLoss, Tensor};
    /// assert!(SoftMarginLoss::new().forward(&Tensor::zeros(&[2, 3]), &Tensor::ones(&[3])).is_ok());
    /// let err = SoftMarginLoss::new().forward(&Tensor::zeros(&[3]), &Tensor::ones(&[2, 3])).unwrap_err();
    /// assert_eq!(err.to_string(), "SoftMarginLoss: target of shape [2, 3] must broadcast to the input's shape [3]");
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        let margin = times_within_shape(op, "target", input, target)?;
        reduce(op, margin.logsigmoid().neg(), self.reduction)
    }
}

/// This loss's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::SoftMarginLoss;
    use crate::gradcheck::case::prelude::*;

    /// A target that broadcasts.
    pub(crate) fn soft_margin_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        out.push(OpCheck::new(
            "SoftMarginLoss",
            "target broadcast",
            vec![g.randn(&[3, 4])],
            |t| SoftMarginLoss::new().forward(&t[0], &f64_tensor(vec![1.0, -1.0, -1.0, 1.0], &[4])),
        ));
    }
}
