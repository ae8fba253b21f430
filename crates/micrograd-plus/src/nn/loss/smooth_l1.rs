//! Smooth L1 loss: Huber loss divided by `beta`.

use super::{reduce, same_shape_target, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.SmoothL1Loss`: with `d = input − target`,
/// `½d²/β` where `|d| < β` and `|d| − ½β` elsewhere, reduced. `β = 0` is
/// plain L1 loss.
///
/// It equals [`HuberLoss`](super::HuberLoss) with `δ = β`, divided by `β`:
/// its gradient is `d/β` in the quadratic region and `sign(d)` in the linear one.
///
/// ```
/// use micrograd_plus::nn::loss::{Reduction, SmoothL1Loss};
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([0.5f64, 3.0]).unwrap().requires_grad(true);
/// let loss = SmoothL1Loss::new().reduction(Reduction::Sum).forward(&x, &Tensor::zeros_like(&x)).unwrap();
/// assert_eq!(loss.item().unwrap(), 0.125 + 2.5);
/// loss.backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![0.5, 1.0]);
/// ```
#[derive(Debug, Clone)]
pub struct SmoothL1Loss {
    reduction: Reduction,
    beta: f64,
}

impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss {
            reduction: Reduction::Mean,
            beta: 1.0,
        }
    }
}

impl SmoothL1Loss {
    const NAME: &'static str = "SmoothL1Loss";

    /// PyTorch's defaults: mean reduction, `beta = 1`.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::SmoothL1Loss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{Reduction, SmoothL1Loss};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([0.5f32, 3.0]).unwrap();
    /// let l = SmoothL1Loss::new().reduction(Reduction::None).forward(&x, &Tensor::zeros(&[2])).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![0.125, 2.5]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets `beta`, where the loss turns from quadratic to linear (must not be
    /// negative; checked by `forward`).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::SmoothL1Loss, Tensor};
    /// let x = Tensor::new([0.5f32]).unwrap();
    /// let zero = Tensor::zeros(&[1]);
    /// assert_eq!(SmoothL1Loss::new().beta(0.0).forward(&x, &zero).unwrap().item().unwrap(), 0.5);
    /// assert!(SmoothL1Loss::new().beta(-1.0).forward(&x, &zero).is_err());
    /// ```
    pub fn beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// The loss of `input` against a `target` of the same shape.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::SmoothL1Loss, Tensor};
    /// assert!(SmoothL1Loss::new().forward(&Tensor::zeros(&[2]), &Tensor::zeros(&[1])).is_err());
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let beta = self.beta;
        if !(beta >= 0.0 && beta.is_finite()) {
            return Err(Error::argument(
                Self::NAME,
                format!("beta must not be negative, got {beta}"),
            ));
        }
        let target = same_shape_target(Self::NAME, input, target)?;
        let d = input.sub(&target)?;
        let abs = d.abs();
        // β = 0 leaves no quadratic region; building `d²/0` anyway would send
        // 0·∞ = NaN into the gradient through the unused branch.
        let loss = if beta == 0.0 {
            abs
        } else {
            let quadratic = d.mul(&d)?.mul_scalar(0.5 / beta);
            let linear = abs.sub_scalar(0.5 * beta);
            Tensor::where_(&abs.lt_scalar(beta), &quadratic, &linear)?
        };
        reduce(Self::NAME, loss, self.reduction)
    }
}
