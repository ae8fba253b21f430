//! Mean squared error: `(x − y)²` per element.

use super::{reduce, same_shape_target, Reduction};
use crate::{Result, Tensor};

/// PyTorch's `nn.MSELoss`: `(input − target)²`, reduced.
///
/// The gradient with respect to the input is `2(x − y)` (divided by the
/// number of elements for [`Reduction::Mean`]).
///
/// ```
/// use micrograd_plus::nn::loss::MSELoss;
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([1.0f32, 3.0]).unwrap().requires_grad(true);
/// let loss = MSELoss::new().forward(&x, &Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
/// assert_eq!(loss.item().unwrap(), 2.5); // (1 + 4) / 2
/// loss.backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![1.0, 2.0]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MSELoss {
    reduction: Reduction,
}

impl MSELoss {
    const NAME: &'static str = "MSELoss";

    /// PyTorch's defaults: mean reduction.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::MSELoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{MSELoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([1.0f32, 3.0]).unwrap();
    /// let l = MSELoss::new().reduction(Reduction::None).forward(&x, &Tensor::zeros(&[2])).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![1.0, 9.0]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The loss of `input` against a `target` of the same shape.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::MSELoss, Tensor};
    /// let err = MSELoss::new().forward(&Tensor::zeros(&[2, 3]), &Tensor::zeros(&[3])).unwrap_err();
    /// assert_eq!(err.to_string(), "MSELoss: input shape [2, 3] and target shape [3] must be the same");
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let target = same_shape_target(Self::NAME, input, target)?;
        let d = input.sub(&target)?;
        reduce(Self::NAME, d.mul(&d)?, self.reduction)
    }
}
