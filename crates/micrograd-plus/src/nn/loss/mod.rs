//! Loss functions: PyTorch's `torch.nn` losses with the same names, defaults,
//! shapes and numbers. Each is a small struct built with PyTorch's defaults by
//! `new()` (or `Default`), configured with builder methods, and applied with
//! `forward(&input, &target)`. Every loss is a few tensor ops, so its gradient
//! comes from the chain rule with no extra code.
//!
//! | loss | input | target | per-element loss (`d = input − target`) |
//! |---|---|---|---|
//! | [`MSELoss`] | any shape | same shape | `d²` |
//! | [`L1Loss`] | any shape | same shape | `\|d\|` |
//! | [`HuberLoss`] | any shape | same shape | `½d²` if `\|d\| < δ`, else `δ(\|d\| − ½δ)` |
//! | [`SmoothL1Loss`] | any shape | same shape | `½d²/β` if `\|d\| < β`, else `\|d\| − ½β` |
//! | [`CrossEntropyLoss`] | logits `(C)`, `(N,C)`, `(N,C,d…)` | class indices or probabilities | `−Σ_c q_c · log_softmax(x)_c` |
//! | [`NLLLoss`] | log-probabilities, same shapes | class indices | `−w[t] · x[t]` |
//! | [`BCELoss`] | probabilities in `[0, 1]` | same shape | `−(y·log x + (1−y)·log(1−x))`, logs clamped at −100 |
//! | [`BCEWithLogitsLoss`] | logits | same shape | `(1−y)·x + (1 + (p−1)·y)·log(1 + e^−x)`, stably |
//! | [`KLDivLoss`] | log-probabilities | probabilities (or their logs) | `y·(log y − x)` |
//! | [`MarginRankingLoss`] | scores `x₁`, `x₂` | ±1, same dims | `max(0, −y·(x₁ − x₂) + margin)` |
//! | [`CosineEmbeddingLoss`] | `x₁`, `x₂` `(N, D)` or `(D)` | ±1, `(N)` or `()` | `1 − cos` if `y = 1`, `max(0, cos − margin)` if `y = −1` |
//! | [`TripletMarginLoss`] | anchor, positive, negative `(N, D)` | — | `max(0, ‖a − p‖ − ‖a − n‖ + margin)` |
//! | [`SoftMarginLoss`] | scores | ±1, broadcast to the input | `log(1 + e^(−y·x))` |
//! | [`MultiLabelSoftMarginLoss`] | logits `(N, C)` | 0/1, same shape | `−mean_c(y·logσ(x) + (1−y)·logσ(−x))` per sample |
//! | [`PoissonNLLLoss`] | log-rates (or rates) | counts | `e^x − y·x` |
//! | [`GaussianNLLLoss`] | means, and variances | same shape | `½(log v + (x − y)²/v)` |
//!
//! Class indices are integer labels (`&[usize]`, `&Vec<i64>`, see
//! [`ClassTarget`]) or float tensors holding whole numbers (the engine has no
//! integer dtype); a value that is not a valid class is an error naming the
//! loss and the value.
//!
//! ```
//! use micrograd_plus::nn::loss::{CrossEntropyLoss, Reduction};
//! use micrograd_plus::Tensor;
//! let logits = Tensor::new([[2.0f32, 0.0, -1.0], [0.0, 1.0, 0.0]]).unwrap().requires_grad(true);
//! let target = Tensor::new([0.0f32, 1.0]).unwrap();
//! let loss = CrossEntropyLoss::new().forward(&logits, &target).unwrap();
//! loss.backward().unwrap();
//! assert_eq!(logits.grad().unwrap().shape(), &[2, 3]);
//! let per_sample = CrossEntropyLoss::new().reduction(Reduction::None).forward(&logits, &target).unwrap();
//! assert_eq!(per_sample.shape(), &[2]);
//! ```

mod bce;
mod bce_with_logits;
mod class_target;
pub(crate) mod cosine_embedding;
mod cross_entropy;
pub(crate) mod gaussian_nll;
mod huber;
mod kl_div;
mod l1;
pub(crate) mod margin_ranking;
mod mse;
pub(crate) mod multilabel_soft_margin;
mod nll;
pub(crate) mod poisson_nll;
mod smooth_l1;
pub(crate) mod soft_margin;
pub(crate) mod triplet_margin;

pub use bce::BCELoss;
pub use bce_with_logits::BCEWithLogitsLoss;
pub use class_target::{ClassTarget, Label};
pub use cosine_embedding::CosineEmbeddingLoss;
pub use cross_entropy::CrossEntropyLoss;
pub use gaussian_nll::GaussianNLLLoss;
pub use huber::HuberLoss;
pub use kl_div::KLDivLoss;
pub use l1::L1Loss;
pub use margin_ranking::MarginRankingLoss;
pub use mse::MSELoss;
pub use multilabel_soft_margin::MultiLabelSoftMarginLoss;
pub use nll::NLLLoss;
pub use poisson_nll::PoissonNLLLoss;
pub use smooth_l1::SmoothL1Loss;
pub use soft_margin::SoftMarginLoss;
pub use triplet_margin::TripletMarginLoss;

use crate::{Error, Result, Tensor};

/// How a loss combines its per-element values, PyTorch's `reduction=`.
///
/// ```
/// use micrograd_plus::nn::loss::{L1Loss, Reduction};
/// use micrograd_plus::Tensor;
/// let (x, y) = (Tensor::new([1.0f32, -3.0]).unwrap(), Tensor::zeros(&[2]));
/// assert_eq!(Reduction::default(), Reduction::Mean);
/// let sum = L1Loss::new().reduction(Reduction::Sum).forward(&x, &y).unwrap();
/// assert_eq!(sum.item().unwrap(), 4.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean over elements (PyTorch's default).
    #[default]
    Mean,
    /// The sum over elements.
    Sum,
    /// No reduction: one value per element (per sample for class losses).
    None,
    /// The sum divided by the batch size (the first dim): the true mean
    /// KL divergence per sample. Only [`KLDivLoss`] accepts it.
    BatchMean,
}

impl Reduction {
    /// PyTorch's spelling (`"mean"`, `"sum"`, `"none"`, `"batchmean"`).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::loss::Reduction::BatchMean.name(), "batchmean");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
            Reduction::None => "none",
            Reduction::BatchMean => "batchmean",
        }
    }
}

/// Reduces per-element losses with a mean, a sum or not at all; `BatchMean`
/// is an error here (only KLDivLoss has a meaning for it).
fn reduce(op: &'static str, loss: Tensor, reduction: Reduction) -> Result<Tensor> {
    match reduction {
        Reduction::Mean => Ok(loss.mean()),
        Reduction::Sum => Ok(loss.sum()),
        Reduction::None => Ok(loss),
        Reduction::BatchMean => Err(batchmean_unsupported(op)),
    }
}

fn batchmean_unsupported(op: &'static str) -> Error {
    Error::argument(
        op,
        "reduction 'batchmean' is only valid for KLDivLoss; use Mean, Sum or None",
    )
}

/// Checks that input and target have one shape and returns the target in the
/// input's dtype (so an f32 input gives an f32 loss).
fn same_shape_target(op: &'static str, input: &Tensor, target: &Tensor) -> Result<Tensor> {
    if input.shape() != target.shape() {
        return Err(Error::shape(
            op,
            format!(
                "input shape {:?} and target shape {:?} must be the same",
                input.shape(),
                target.shape()
            ),
        ));
    }
    Ok(target.to_dtype(input.dtype()))
}

/// `x · factor` (in `x`'s dtype), where the factor must broadcast to `x`'s
/// shape without changing it; `what` names the factor in the error.
fn times_within_shape(op: &'static str, what: &str, x: &Tensor, factor: &Tensor) -> Result<Tensor> {
    match x.mul(&factor.to_dtype(x.dtype())).ok() {
        Some(out) if out.shape() == x.shape() => Ok(out),
        _ => Err(Error::shape(
            op,
            format!(
                "{what} of shape {:?} must broadcast to the input's shape {:?}",
                factor.shape(),
                x.shape()
            ),
        )),
    }
}

/// The shape `shapes` broadcast to together, or an error naming the loss
/// and the first pair that does not broadcast.
fn broadcast_all(op: &'static str, shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = Vec::new();
    for shape in shapes {
        out = crate::tensor::shape::broadcast_shapes(op, &out, shape)?;
    }
    Ok(out)
}

/// A constant tensor of `dtype` from f64 values.
fn constant(values: Vec<f64>, shape: &[usize], dtype: crate::DType) -> Result<Tensor> {
    match dtype {
        crate::DType::F32 => {
            Tensor::from_vec(values.into_iter().map(|v| v as f32).collect(), shape)
        }
        crate::DType::F64 => Tensor::from_vec(values, shape),
    }
}
