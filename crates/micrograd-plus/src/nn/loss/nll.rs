//! Negative log-likelihood of log-probabilities against class indices.

use super::class_target::{ClassLayout, ClassTarget};
use super::{batchmean_unsupported, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.NLLLoss`: `−weight[t] · input[t]` per sample, for an input
/// of log-probabilities (usually `log_softmax` output) and class indices `t`.
///
/// Shapes as [`CrossEntropyLoss`](super::CrossEntropyLoss) with index
/// targets: input `(C)`, `(N, C)` or `(N, C, d1, …)`, target the input's
/// shape without the class dim, holding whole numbers in `0..C` (or
/// `ignore_index`, whose samples contribute nothing). The mean divides by
/// the total weight of the kept samples (their count without `weight`).
/// `CrossEntropyLoss` is `NLLLoss` after `log_softmax`.
///
/// ```
/// use micrograd_plus::nn::loss::NLLLoss;
/// use micrograd_plus::Tensor;
/// let logp = Tensor::new([[-0.5f32, -1.0, -2.0], [-3.0, -0.25, -1.5]]).unwrap().requires_grad(true);
/// let loss = NLLLoss::new().forward(&logp, &Tensor::new([2.0f32, 1.0]).unwrap()).unwrap();
/// assert_eq!(loss.item().unwrap(), 1.125); // (2 + 0.25) / 2
/// loss.backward().unwrap();
/// assert_eq!(logp.grad().unwrap().to_vec::<f32>(), vec![0.0, 0.0, -0.5, 0.0, -0.5, 0.0]);
/// ```
#[derive(Debug, Clone)]
pub struct NLLLoss {
    reduction: Reduction,
    weight: Option<Tensor>,
    ignore_index: i64,
}

impl Default for NLLLoss {
    fn default() -> Self {
        NLLLoss {
            reduction: Reduction::Mean,
            weight: None,
            ignore_index: -100,
        }
    }
}

impl NLLLoss {
    const NAME: &'static str = "NLLLoss";

    /// PyTorch's defaults: mean reduction, no class weights, `ignore_index = -100`.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::NLLLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None: one loss per sample).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{NLLLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let logp = Tensor::new([[-0.5f32, -1.0], [-2.0, -3.0]]).unwrap();
    /// let l = NLLLoss::new().reduction(Reduction::None).forward(&logp, &Tensor::new([1.0f32, 0.0]).unwrap()).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![1.0, 2.0]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets a weight per class (shape `(C)`, checked by `forward`).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::NLLLoss;
    /// use micrograd_plus::Tensor;
    /// let logp = Tensor::new([[-1.0f32, -2.0], [-3.0, -4.0]]).unwrap();
    /// let nll = NLLLoss::new().weight(Tensor::new([1.0f32, 3.0]).unwrap());
    /// let l = nll.forward(&logp, &Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
    /// assert_eq!(l.item().unwrap(), (1.0 + 3.0 * 4.0) / 4.0);
    /// ```
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Sets the target value that marks a sample to ignore.
    ///
    /// ```
    /// use micrograd_plus::nn::loss::NLLLoss;
    /// use micrograd_plus::Tensor;
    /// let logp = Tensor::new([[-1.0f32, -2.0], [-3.0, -4.0]]).unwrap();
    /// let l = NLLLoss::new().ignore_index(0).forward(&logp, &Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
    /// assert_eq!(l.item().unwrap(), 4.0);
    /// ```
    pub fn ignore_index(mut self, ignore_index: i64) -> Self {
        self.ignore_index = ignore_index;
        self
    }

    /// The loss of log-probabilities `input` against class indices.
    ///
    /// ```
    /// use micrograd_plus::nn::loss::NLLLoss;
    /// use micrograd_plus::Tensor;
    /// let logp = Tensor::zeros(&[2, 3]);
    /// let err = NLLLoss::new().forward(&logp, &Tensor::new([0.0f32, 1.5]).unwrap()).unwrap_err();
    /// assert_eq!(err.to_string(), "NLLLoss: target 1.5 is not a class index (class-index targets hold whole numbers)");
    /// assert!(NLLLoss::new().forward(&logp, &Tensor::zeros(&[2, 3])).is_err()); // no probability targets
    /// ```
    pub fn forward(&self, input: &Tensor, target: &(impl ClassTarget + ?Sized)) -> Result<Tensor> {
        let op = Self::NAME;
        let target = &*target.target_tensor()?;
        if self.reduction == Reduction::BatchMean {
            return Err(batchmean_unsupported(op));
        }
        let layout = ClassLayout::of(op, input)?;
        if target.shape() != layout.sample_shape.as_slice() {
            return Err(Error::shape(
                op,
                format!(
                    "input shape {:?} needs a target of class indices of shape {:?}, got target shape {:?}",
                    input.shape(),
                    layout.sample_shape,
                    target.shape()
                ),
            ));
        }
        let weights = layout.weights(op, self.weight.as_ref())?;
        let targets = layout.read_indices(op, target, self.ignore_index)?;
        layout.index_loss(input, &targets, &weights, 0.0, self.reduction)
    }
}
