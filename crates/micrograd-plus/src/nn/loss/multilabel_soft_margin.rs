//! Multi-label soft margin loss: an independent logistic loss per class,
//! averaged over the classes.

use super::bce::weighted;
use super::{broadcast_all, reduce, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.MultiLabelSoftMarginLoss`: for logits `x (N, C)` (or `(C)`)
/// and 0/1 targets `y` of one shape,
///
/// `−(1/C)·Σ_c w_c·(y_c·logsigmoid(x_c) + (1 − y_c)·logsigmoid(−x_c))`
///
/// per sample, then reduced over the samples (`None` gives one value per
/// sample). The optional `weight` (broadcast to the input's shape, e.g. one
/// per class) scales each class's term. The gradient with respect to `x` is
/// `w·(sigmoid(x) − y)/C`.
///
/// ```
/// use micrograd_plus::nn::loss::{MultiLabelSoftMarginLoss, Reduction};
/// use micrograd_plus::Tensor;
/// let x = Tensor::zeros(&[2, 4]).to_dtype(micrograd_plus::DType::F64).requires_grad(true);
/// let y = Tensor::new([[1.0f64, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]]).unwrap();
/// let loss = MultiLabelSoftMarginLoss::new().reduction(Reduction::None).forward(&x, &y).unwrap();
/// assert_eq!(loss.to_vec::<f64>(), vec![2f64.ln(); 2]);
/// loss.sum().backward().unwrap();
/// assert_eq!(x.grad().unwrap().to_vec::<f64>()[..2], [-0.125, 0.125]); // (½ − y)/4
/// ```
#[derive(Debug, Clone, Default)]
pub struct MultiLabelSoftMarginLoss {
    reduction: Reduction,
    weight: Option<Tensor>,
}

impl MultiLabelSoftMarginLoss {
    const NAME: &'static str = "MultiLabelSoftMarginLoss";

    /// PyTorch's defaults: mean reduction, no weight.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::MultiLabelSoftMarginLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{MultiLabelSoftMarginLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[3, 5]);
    /// let l = MultiLabelSoftMarginLoss::new().reduction(Reduction::None).forward(&x, &x).unwrap();
    /// assert_eq!(l.shape(), &[3]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets a weight per class (any shape that broadcasts to the input's).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::MultiLabelSoftMarginLoss;
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[1, 2]).to_dtype(micrograd_plus::DType::F64);
    /// let loss = MultiLabelSoftMarginLoss::new().weight(Tensor::new([2.0f64, 0.0]).unwrap());
    /// assert_eq!(loss.forward(&x, &x).unwrap().item().unwrap(), 2f64.ln()); // (2·ln 2 + 0)/2
    /// ```
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.weight = Some(weight);
        self
    }

    /// The loss of logits `input` against 0/1 `target`s of the same shape
    /// (or one that broadcasts with it).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::MultiLabelSoftMarginLoss, Tensor};
    /// let err = MultiLabelSoftMarginLoss::new().forward(&Tensor::scalar(0.0f32), &Tensor::scalar(1.0f32)).unwrap_err();
    /// assert_eq!(err.to_string(), "MultiLabelSoftMarginLoss: input must have a class dim, got shape []");
    /// assert!(MultiLabelSoftMarginLoss::new().forward(&Tensor::zeros(&[2, 3]), &Tensor::zeros(&[2, 4])).is_err());
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        if input.ndim() == 0 {
            return Err(Error::shape(
                op,
                format!("input must have a class dim, got shape {:?}", input.shape()),
            ));
        }
        broadcast_all(op, &[input.shape(), target.shape()])?;
        let classes = input.shape()[input.ndim() - 1];
        let y = target.to_dtype(input.dtype());
        let positive = y.mul(&input.logsigmoid())?;
        let negative = y.rsub_scalar(1.0).mul(&input.neg().logsigmoid())?;
        let loss = positive.add(&negative)?.neg();
        let loss = match &self.weight {
            Some(w) => weighted(op, loss, w)?,
            None => loss,
        };
        let per_sample = loss.sum_dims(&[-1], false)?.div_scalar(classes as f64);
        reduce(op, per_sample, self.reduction)
    }
}

/// This loss's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::MultiLabelSoftMarginLoss;
    use crate::gradcheck::case::prelude::*;

    /// With class weights.
    pub(crate) fn multilabel_soft_margin_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let (target, weight) = (Tensor::rand(&[3, 4], 5), g.positive(&[4]));
        out.push(OpCheck::new(
            "MultiLabelSoftMarginLoss",
            "weight",
            vec![g.randn(&[3, 4])],
            move |t| {
                let loss = MultiLabelSoftMarginLoss::new().weight(weight.clone());
                loss.forward(&t[0], &target)
            },
        ));
    }
}
