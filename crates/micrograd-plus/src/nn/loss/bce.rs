//! Binary cross-entropy of probabilities.

use super::{reduce, same_shape_target, times_within_shape, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.BCELoss`: `−w · (y·log x + (1 − y)·log(1 − x))` for
/// probabilities `x` in `[0, 1]`, with each log clamped at −100 (as PyTorch)
/// so that `x = 0` or `1` gives a large but finite loss.
///
/// Where a log is clamped its gradient is 0. Elsewhere the gradient is the
/// exact derivative `(x − y) / (x(1 − x))`; PyTorch caps that denominator at
/// 1e-12, so the two differ only for `x` within about 1e-12 of 0 or 1.
/// Prefer [`BCEWithLogitsLoss`](super::BCEWithLogitsLoss) on logits: it is
/// stable without any clamping.
///
/// ```
/// use micrograd_plus::nn::loss::BCELoss;
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([0.5f64, 0.8, 0.0]).unwrap().requires_grad(true);
/// let y = Tensor::new([1.0f64, 0.0, 1.0]).unwrap();
/// let loss = BCELoss::new().forward(&x, &y).unwrap();
/// let want = (2f64.ln() - 0.2f64.ln() + 100.0) / 3.0;
/// assert!((loss.item().unwrap() - want).abs() < 1e-12);
/// loss.backward().unwrap();
/// let g = x.grad().unwrap().to_vec::<f64>();
/// assert!((g[0] + 2.0 / 3.0).abs() < 1e-12 && (g[1] - 5.0 / 3.0).abs() < 1e-12 && g[2] == 0.0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BCELoss {
    reduction: Reduction,
    weight: Option<Tensor>,
}

impl BCELoss {
    const NAME: &'static str = "BCELoss";

    /// PyTorch's defaults: mean reduction, no weight.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::BCELoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{BCELoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([0.5f32, 0.5]).unwrap();
    /// let l = BCELoss::new().reduction(Reduction::None).forward(&x, &Tensor::zeros(&[2])).unwrap();
    /// assert_eq!(l.shape(), &[2]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets a weight that multiplies each element's loss (it broadcasts to
    /// the input's shape).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{BCELoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([0.5f64, 0.5]).unwrap();
    /// let bce = BCELoss::new().weight(Tensor::new([1.0f64, 0.0]).unwrap()).reduction(Reduction::Sum);
    /// assert_eq!(bce.forward(&x, &Tensor::ones_like(&x)).unwrap().item().unwrap(), 2f64.ln());
    /// ```
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.weight = Some(weight);
        self
    }

    /// The loss of probabilities `input` against a `target` of the same shape.
    ///
    /// ```
    /// use micrograd_plus::nn::loss::BCELoss;
    /// use micrograd_plus::Tensor;
    /// let err = BCELoss::new().forward(&Tensor::new([1.5f32]).unwrap(), &Tensor::ones(&[1])).unwrap_err();
    /// assert_eq!(err.to_string(), "BCELoss: all elements of input should be between 0 and 1, got 1.5");
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        let target = same_shape_target(op, input, target)?;
        if let Some(bad) = input
            .to_vec::<f64>()
            .into_iter()
            .find(|v| !(0.0..=1.0).contains(v))
        {
            return Err(Error::argument(
                op,
                format!("all elements of input should be between 0 and 1, got {bad}"),
            ));
        }
        let log_x = clamped_log(input)?;
        let log_1mx = clamped_log(&input.rsub_scalar(1.0))?;
        // −(y·log x + (1 − y)·log(1 − x))
        let loss = target
            .mul(&log_x)?
            .add(&target.rsub_scalar(1.0).mul(&log_1mx)?)?
            .neg();
        let loss = match &self.weight {
            Some(w) => weighted(op, loss, w)?,
            None => loss,
        };
        reduce(op, loss, self.reduction)
    }
}

/// `max(log x, −100)` for `x` in `[0, 1]`, with a finite gradient everywhere.
///
/// Clamping `log x` itself would leave a NaN gradient at `x = 0`: the clamp
/// passes 0 back and log's derivative there is ∞. So where `log x ≤ −100`
/// (x ≤ e⁻¹⁰⁰) the result is the constant −100 and the log only ever sees 1.
fn clamped_log(x: &Tensor) -> Result<Tensor> {
    let inside = x.gt_scalar((-100.0f64).exp());
    let safe = Tensor::where_(&inside, x, &Tensor::full_dtype(&[], 1.0, x.dtype()))?;
    Tensor::where_(
        &inside,
        &safe.log(),
        &Tensor::full_dtype(&[], -100.0, x.dtype()),
    )
}

/// `loss · weight`, where the weight must broadcast to the loss's shape
/// without changing it.
pub(super) fn weighted(op: &'static str, loss: Tensor, weight: &Tensor) -> Result<Tensor> {
    times_within_shape(op, "weight", &loss, weight)
}
