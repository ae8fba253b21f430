//! Cross-entropy of logits against class indices or class probabilities.

use super::class_target::{ClassLayout, ClassTarget};
use super::{batchmean_unsupported, constant, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.CrossEntropyLoss`: `−Σ_c q_c · log_softmax(x)_c` per sample,
/// where `q` is the target distribution.
///
/// - **Input**: logits of shape `(C)` (one sample), `(N, C)` or
///   `(N, C, d1, …)` (classes in dim 1).
/// - **Target**, either
///   - class indices: the input's shape without the class dim (`()`, `(N)`,
///     `(N, d1, …)`), whole numbers in `0..C` stored as floats; samples
///     equal to `ignore_index` contribute nothing, and the mean divides by
///     the number of the others (their total class weight with `weight`);
///   - class probabilities: the input's shape; the mean divides by the
///     number of samples.
/// - `label_smoothing = ε` mixes the target with the uniform distribution:
///   `q ← (1 − ε)·q + ε/C`.
/// - `weight` (one value per class) scales each class's terms.
///
/// Stable for logits of any magnitude: `log_softmax` subtracts each row's
/// maximum. The gradient with respect to the logits is `softmax(x) − q`
/// (for unweighted targets), divided by the sample count for the mean.
///
/// ```
/// use micrograd_plus::nn::loss::CrossEntropyLoss;
/// use micrograd_plus::Tensor;
/// let logits = Tensor::new([[0.0f64, 0.0], [1e4, -1e4]]).unwrap().requires_grad(true);
/// let loss = CrossEntropyLoss::new().forward(&logits, &Tensor::new([1.0f64, 0.0]).unwrap()).unwrap();
/// assert!((loss.item().unwrap() - 2f64.ln() / 2.0).abs() < 1e-15);
/// loss.backward().unwrap();
/// let grad = logits.grad().unwrap().to_vec::<f64>(); // (softmax − onehot) / N
/// for (g, want) in grad.iter().zip([0.25, -0.25, 0.0, 0.0]) {
///     assert!((g - want).abs() < 1e-15);
/// }
///
/// let err = CrossEntropyLoss::new().forward(&logits, &Tensor::new([2.0f64, 0.0]).unwrap()).unwrap_err();
/// assert_eq!(err.to_string(), "CrossEntropyLoss: target 2 is out of bounds for 2 classes");
/// ```
#[derive(Debug, Clone)]
pub struct CrossEntropyLoss {
    reduction: Reduction,
    weight: Option<Tensor>,
    ignore_index: i64,
    label_smoothing: f64,
}

impl Default for CrossEntropyLoss {
    fn default() -> Self {
        CrossEntropyLoss {
            reduction: Reduction::Mean,
            weight: None,
            ignore_index: -100,
            label_smoothing: 0.0,
        }
    }
}

impl CrossEntropyLoss {
    const NAME: &'static str = "CrossEntropyLoss";

    /// PyTorch's defaults: mean reduction, no class weights,
    /// `ignore_index = -100`, no label smoothing.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::CrossEntropyLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None: one loss per sample).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{CrossEntropyLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[3, 4]);
    /// let l = CrossEntropyLoss::new().reduction(Reduction::None).forward(&x, &Tensor::zeros(&[3])).unwrap();
    /// assert_eq!(l.shape(), &[3]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets a weight per class (shape `(C)`, checked by `forward`).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::CrossEntropyLoss;
    /// use micrograd_plus::Tensor;
    /// let ce = CrossEntropyLoss::new().weight(Tensor::new([1.0f32, 3.0]).unwrap());
    /// let l = ce.forward(&Tensor::zeros(&[2, 2]), &Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
    /// // weighted mean: (1·ln2 + 3·ln2) / (1 + 3)
    /// assert!((l.item().unwrap() - 2f64.ln()).abs() < 1e-6);
    /// ```
    pub fn weight(mut self, weight: Tensor) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Sets the target value that marks a sample to ignore (index targets only).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::CrossEntropyLoss;
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[0.0f32, 0.0], [5.0, 0.0]]).unwrap();
    /// let l = CrossEntropyLoss::new().ignore_index(-1).forward(&x, &Tensor::new([0.0f32, -1.0]).unwrap()).unwrap();
    /// assert!((l.item().unwrap() - 2f64.ln()).abs() < 1e-6); // the mean of the one kept sample
    /// ```
    pub fn ignore_index(mut self, ignore_index: i64) -> Self {
        self.ignore_index = ignore_index;
        self
    }

    /// Sets the label smoothing `ε` in `[0, 1]` (checked by `forward`).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::CrossEntropyLoss;
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[0.0f64, 0.0]]).unwrap();
    /// let l = CrossEntropyLoss::new().label_smoothing(0.1).forward(&x, &Tensor::new([0.0f64]).unwrap()).unwrap();
    /// assert!((l.item().unwrap() - 2f64.ln()).abs() < 1e-15); // uniform logits: ln 2 whatever the target
    /// assert!(CrossEntropyLoss::new().label_smoothing(1.5).forward(&x, &Tensor::new([0.0f64]).unwrap()).is_err());
    /// ```
    pub fn label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }

    /// The loss of logits `input` against class indices or probabilities.
    ///
    /// ```
    /// use micrograd_plus::nn::loss::CrossEntropyLoss;
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[2, 3, 4]); // N = 2, C = 3, d1 = 4
    /// let ce = CrossEntropyLoss::new();
    /// assert_eq!(ce.forward(&x, &Tensor::zeros(&[2, 4])).unwrap().shape(), &[] as &[usize]);
    /// assert!(ce.forward(&x, &Tensor::full(&[2, 3, 4], 1.0 / 3.0)).is_ok()); // probabilities
    /// let err = ce.forward(&x, &Tensor::zeros(&[2])).unwrap_err();
    /// assert_eq!(err.to_string(), "CrossEntropyLoss: input shape [2, 3, 4] needs a target of shape \
    ///     [2, 4] (class indices) or [2, 3, 4] (class probabilities), got target shape [2]");
    /// ```
    pub fn forward(&self, input: &Tensor, target: &(impl ClassTarget + ?Sized)) -> Result<Tensor> {
        let op = Self::NAME;
        let target = &*target.target_tensor()?;
        if self.reduction == Reduction::BatchMean {
            return Err(batchmean_unsupported(op));
        }
        let eps = self.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(Error::argument(
                op,
                format!("label_smoothing must be between 0.0 and 1.0, got {eps}"),
            ));
        }
        let layout = ClassLayout::of(op, input)?;
        let weights = layout.weights(op, self.weight.as_ref())?;
        let log_probs = input.log_softmax(layout.class_dim as isize)?;
        if target.shape() == layout.sample_shape.as_slice() {
            let targets = layout.read_indices(op, target, self.ignore_index)?;
            return layout.index_loss(&log_probs, &targets, &weights, eps, self.reduction);
        }
        if target.shape() != input.shape() {
            return Err(Error::shape(
                op,
                format!(
                    "input shape {:?} needs a target of shape {:?} (class indices) or {:?} \
                     (class probabilities), got target shape {:?}",
                    input.shape(),
                    layout.sample_shape,
                    input.shape(),
                    target.shape()
                ),
            ));
        }
        // Probabilities: q = ((1 − ε)·target + ε/C) · weight, differentiable
        // in the target too.
        let classes = layout.classes as f64;
        let mut q = target.to_dtype(input.dtype());
        if eps > 0.0 {
            q = q.mul_scalar(1.0 - eps).add_scalar(eps / classes);
        }
        if self.weight.is_some() {
            // (C) followed by a 1 for each dim after the class dim, to broadcast.
            let mut shape = vec![layout.classes];
            shape.resize(input.ndim() - layout.class_dim, 1);
            q = q.mul(&constant(weights, &shape, input.dtype())?)?;
        }
        let scale = match self.reduction {
            Reduction::Mean => -1.0 / (layout.outer * layout.inner) as f64,
            _ => -1.0,
        };
        layout.reduce_products(&log_probs.mul(&q.mul_scalar(scale))?, self.reduction)
    }
}
