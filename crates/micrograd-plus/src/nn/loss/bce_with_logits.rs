//! Binary cross-entropy of logits: a sigmoid and BCE in one stable formula.

use super::bce::weighted;
use super::{reduce, same_shape_target, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.BCEWithLogitsLoss`: BCE of `sigmoid(x)` against `y`,
/// computed from the logits `x` without ever forming the sigmoid:
///
/// `(1 − y)·x + (1 + (p − 1)·y)·log(1 + e^−x)`
///
/// with `pos_weight = p` (1 by default) scaling the positive term. The
/// softplus `log(1 + e^−x)` is evaluated as `max(−x, 0) + log(1 + e^−|x|)`,
/// so no exponential overflows; without `pos_weight` this is the familiar
/// `max(x, 0) − x·y + log(1 + e^−|x|)`. The gradient with respect to `x` is
/// `sigmoid(x) − y` (without weights).
///
/// ```
/// use micrograd_plus::nn::loss::BCEWithLogitsLoss;
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([0.0f64, 1e4, -1e4]).unwrap().requires_grad(true);
/// let y = Tensor::new([1.0f64, 0.0, 0.0]).unwrap();
/// let loss = BCEWithLogitsLoss::new().forward(&x, &y).unwrap();
/// assert!((loss.item().unwrap() - (2f64.ln() + 1e4) / 3.0).abs() < 1e-9);
/// loss.backward().unwrap();
/// let grad = x.grad().unwrap().to_vec::<f64>(); // (sigmoid(x) − y) / 3
/// for (g, want) in grad.iter().zip([-0.5 / 3.0, 1.0 / 3.0, 0.0]) {
///     assert!((g - want).abs() < 1e-15);
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct BCEWithLogitsLoss {
    reduction: Reduction,
    weight: Option<Tensor>,
    pos_weight: Option<Tensor>,
}

impl BCEWithLogitsLoss {
    const NAME: &'static str = "BCEWithLogitsLoss";

    /// PyTorch's defaults: mean reduction, no weight, no pos_weight.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::BCEWithLogitsLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{BCEWithLogitsLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[2, 3]);
    /// let l = BCEWithLogitsLoss::new().reduction(Reduction::None).forward(&x, &Tensor::ones(&[2, 3])).unwrap();
    /// assert_eq!(l.shape(), &[2, 3]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets a weight that multiplies each element's loss (it broadcasts to
    /// the input's shape).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{BCEWithLogitsLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[2]).to_dtype(micrograd_plus::DType::F64);
    /// let bce = BCEWithLogitsLoss::new().weight(Tensor::new([2.0f64, 0.0]).unwrap()).reduction(Reduction::Sum);
    /// assert_eq!(bce.forward(&x, &Tensor::ones_like(&x)).unwrap().item().unwrap(), 2.0 * 2f64.ln());
    /// ```
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Sets the weight of positive examples, one per class (it broadcasts
    /// along the last dim): above 1 it raises recall, below 1 precision.
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{BCEWithLogitsLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[1, 2]).to_dtype(micrograd_plus::DType::F64);
    /// let y = Tensor::new([[1.0f64, 0.0]]).unwrap();
    /// let bce = BCEWithLogitsLoss::new().pos_weight(Tensor::new([3.0f64, 3.0]).unwrap()).reduction(Reduction::Sum);
    /// // the positive's loss is tripled, the negative's is not
    /// assert!((bce.forward(&x, &y).unwrap().item().unwrap() - 4.0 * 2f64.ln()).abs() < 1e-15);
    /// ```
    pub fn pos_weight(mut self, pos_weight: Tensor) -> Self {
        self.pos_weight = Some(pos_weight);
        self
    }

    /// The loss of logits `input` against a `target` of the same shape.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::BCEWithLogitsLoss, Tensor};
    /// let err = BCEWithLogitsLoss::new().forward(&Tensor::zeros(&[4]), &Tensor::zeros(&[2, 2])).unwrap_err();
    /// assert_eq!(err.to_string(), "BCEWithLogitsLoss: input shape [4] and target shape [2, 2] must be the same");
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        let (x, y) = (input, &same_shape_target(op, input, target)?);
        // log(1 + e^−x) = max(−x, 0) + log(1 + e^−|x|), with max(−x, 0)
        // written ½(|x| − x): both kinks at 0 then cancel in the gradient,
        // which comes out as −sigmoid(0) = −½ there (relu's 0 at 0 would not).
        let abs = x.abs();
        let softplus_neg = abs.sub(x)?.mul_scalar(0.5).add(&abs.neg().softplus())?;
        let positive_weight = match &self.pos_weight {
            None => None,
            Some(p) => {
                let p = p.to_dtype(x.dtype()).sub_scalar(1.0);
                // 1 + (p − 1)·y
                let w = y.mul(&p).ok().filter(|w| w.shape() == y.shape());
                Some(
                    w.ok_or_else(|| {
                        Error::shape(
                            op,
                            format!(
                            "pos_weight of shape {:?} must broadcast to the target's shape {:?}",
                            p.shape(),
                            y.shape()
                        ),
                        )
                    })?
                    .add_scalar(1.0),
                )
            }
        };
        let log_term = match positive_weight {
            Some(w) => w.mul(&softplus_neg)?,
            None => softplus_neg,
        };
        let loss = y.rsub_scalar(1.0).mul(x)?.add(&log_term)?;
        let loss = match &self.weight {
            Some(w) => weighted(op, loss, w)?,
            None => loss,
        };
        reduce(op, loss, self.reduction)
    }
}
