//! Kullback-Leibler divergence of a predicted distribution from a target one.

use super::{reduce, same_shape_target, Reduction};
use crate::{Result, Tensor};

/// PyTorch's `nn.KLDivLoss`: `y·(log y − x)` per element, for an input `x`
/// of log-probabilities and a target `y` of probabilities (or, with
/// `log_target`, log-probabilities `l`: `e^l·(l − x)`). Terms with `y = 0`
/// are 0, as `y·log y → 0`.
///
/// Summed over a distribution this is `KL(y ‖ e^x)`. Note that the default
/// `Mean` divides by the number of *elements*, not of distributions (as in
/// PyTorch); [`Reduction::BatchMean`] divides the sum by the batch size
/// (the first dim), which is the mathematical KL divergence per sample.
///
/// ```
/// use micrograd_plus::nn::loss::{KLDivLoss, Reduction};
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([[0.25f64, 0.75]]).unwrap().log().requires_grad(true);
/// let y = Tensor::new([[0.5f64, 0.5]]).unwrap();
/// let kl = KLDivLoss::new().reduction(Reduction::BatchMean).forward(&x, &y).unwrap();
/// let want = 0.5 * (0.5f64 / 0.25).ln() + 0.5 * (0.5f64 / 0.75).ln();
/// assert!((kl.item().unwrap() - want).abs() < 1e-15);
/// kl.backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![-0.5, -0.5]); // −y / batch
/// ```
#[derive(Debug, Clone, Default)]
pub struct KLDivLoss {
    reduction: Reduction,
    log_target: bool,
}

impl KLDivLoss {
    const NAME: &'static str = "KLDivLoss";

    /// PyTorch's defaults: mean reduction, target given as probabilities.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::KLDivLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction: Mean, Sum, None or BatchMean.
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{KLDivLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::full(&[2, 3], -(3f64.ln()));
    /// let y = Tensor::full(&[2, 3], 1.0 / 3.0);
    /// let l = KLDivLoss::new().reduction(Reduction::None).forward(&x, &y).unwrap();
    /// assert_eq!(l.shape(), &[2, 3]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Whether the target holds log-probabilities instead of probabilities.
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{KLDivLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([0.5f64, 0.5]).unwrap().log();
    /// let y = Tensor::new([0.25f64, 0.75]).unwrap();
    /// let kl = KLDivLoss::new().reduction(Reduction::Sum);
    /// let a = kl.clone().forward(&x, &y).unwrap().item().unwrap();
    /// let b = kl.log_target(true).forward(&x, &y.log()).unwrap().item().unwrap();
    /// assert!((a - b).abs() < 1e-15);
    /// ```
    pub fn log_target(mut self, log_target: bool) -> Self {
        self.log_target = log_target;
        self
    }

    /// The loss of log-probabilities `input` against a `target` of the same shape.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::KLDivLoss, Tensor};
    /// assert!(KLDivLoss::new().forward(&Tensor::zeros(&[2, 3]), &Tensor::zeros(&[3, 2])).is_err());
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        let y = same_shape_target(op, input, target)?;
        let loss = if self.log_target {
            y.exp().mul(&y.sub(input)?)?
        } else {
            // y·log y with 0·log 0 = 0: the log sees 1 where y = 0, so
            // neither the value nor the gradient picks up log 0 = −∞.
            let zero = y.eq_scalar(0.0);
            let safe = Tensor::where_(&zero, &Tensor::full_dtype(&[], 1.0, y.dtype()), &y)?;
            y.mul(&safe.log())?.sub(&y.mul(input)?)?
        };
        match self.reduction {
            Reduction::BatchMean => {
                let batch = input.shape().first().copied().unwrap_or(1);
                Ok(loss.sum().div_scalar(batch as f64))
            }
            reduction => reduce(op, loss, reduction),
        }
    }
}
