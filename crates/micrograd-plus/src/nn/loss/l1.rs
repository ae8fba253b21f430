//! Mean absolute error: `|x − y|` per element.

use super::{reduce, same_shape_target, Reduction};
use crate::{Result, Tensor};

/// PyTorch's `nn.L1Loss`: `|input − target|`, reduced.
///
/// The gradient with respect to the input is `sign(x − y)`, 0 where they are
/// equal (as in PyTorch).
///
/// ```
/// use micrograd_plus::nn::loss::L1Loss;
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([1.0f32, -3.0]).unwrap().requires_grad(true);
/// let loss = L1Loss::new().forward(&x, &Tensor::zeros(&[2])).unwrap();
/// assert_eq!(loss.item().unwrap(), 2.0);
/// loss.backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![0.5, -0.5]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct L1Loss {
    reduction: Reduction,
}

impl L1Loss {
    const NAME: &'static str = "L1Loss";

    /// PyTorch's defaults: mean reduction.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::L1Loss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{L1Loss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([1.0f32, -3.0]).unwrap();
    /// let l = L1Loss::new().reduction(Reduction::None).forward(&x, &Tensor::zeros(&[2])).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![1.0, 3.0]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The loss of `input` against a `target` of the same shape.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::L1Loss, Tensor};
    /// assert!(L1Loss::new().forward(&Tensor::zeros(&[2]), &Tensor::zeros(&[3])).is_err());
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let target = same_shape_target(Self::NAME, input, target)?;
        reduce(Self::NAME, input.sub(&target)?.abs(), self.reduction)
    }
}
