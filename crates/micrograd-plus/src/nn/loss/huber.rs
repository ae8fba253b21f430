//! Huber loss: quadratic near zero, linear beyond `delta`.

use super::{reduce, same_shape_target, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.HuberLoss`: with `d = input − target`,
/// `½d²` where `|d| < δ` and `δ·(|d| − ½δ)` elsewhere, reduced.
///
/// The gradient with respect to the input is `d` in the quadratic region and
/// `δ·sign(d)` in the linear one: the loss grows only linearly there, so the
/// gradient is bounded by `δ`. (The course's original version squared the
/// linear region's gradient, which is wrong: that region's derivative is
/// constant in magnitude. The reference tests check both regions.)
///
/// ```
/// use micrograd_plus::nn::loss::{HuberLoss, Reduction};
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([0.5f64, 3.0, -4.0]).unwrap().requires_grad(true);
/// let huber = HuberLoss::new().delta(2.0).reduction(Reduction::Sum);
/// let loss = huber.forward(&x, &Tensor::zeros_like(&x)).unwrap();
/// assert_eq!(loss.item().unwrap(), 0.125 + 2.0 * (3.0 - 1.0) + 2.0 * (4.0 - 1.0));
/// loss.backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![0.5, 2.0, -2.0]);
/// ```
#[derive(Debug, Clone)]
pub struct HuberLoss {
    reduction: Reduction,
    delta: f64,
}

impl Default for HuberLoss {
    fn default() -> Self {
        HuberLoss {
            reduction: Reduction::Mean,
            delta: 1.0,
        }
    }
}

impl HuberLoss {
    const NAME: &'static str = "HuberLoss";

    /// PyTorch's defaults: mean reduction, `delta = 1`.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::HuberLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{HuberLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([0.5f32, 3.0]).unwrap();
    /// let l = HuberLoss::new().reduction(Reduction::None).forward(&x, &Tensor::zeros(&[2])).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![0.125, 2.5]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets `delta`, where the loss turns from quadratic to linear (must be
    /// positive; checked by `forward`).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::HuberLoss, Tensor};
    /// let x = Tensor::new([3.0f32]).unwrap();
    /// assert_eq!(HuberLoss::new().delta(0.5).forward(&x, &Tensor::zeros(&[1])).unwrap().item().unwrap(), 1.375);
    /// let err = HuberLoss::new().delta(0.0).forward(&x, &x).unwrap_err();
    /// assert_eq!(err.to_string(), "HuberLoss: delta must be positive, got 0");
    /// ```
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }

    /// The loss of `input` against a `target` of the same shape.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::HuberLoss, Tensor};
    /// assert!(HuberLoss::new().forward(&Tensor::zeros(&[2]), &Tensor::zeros(&[1])).is_err());
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let delta = self.delta;
        if !(delta > 0.0 && delta.is_finite()) {
            return Err(Error::argument(
                Self::NAME,
                format!("delta must be positive, got {delta}"),
            ));
        }
        let target = same_shape_target(Self::NAME, input, target)?;
        let d = input.sub(&target)?;
        let abs = d.abs();
        let quadratic = d.mul(&d)?.mul_scalar(0.5);
        let linear = abs.sub_scalar(0.5 * delta).mul_scalar(delta);
        let loss = Tensor::where_(&abs.lt_scalar(delta), &quadratic, &linear)?;
        reduce(Self::NAME, loss, self.reduction)
    }
}
