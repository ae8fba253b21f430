//! What CrossEntropyLoss and NLLLoss share: where the class dim is, reading
//! class-index targets (float tensors holding whole numbers), class weights,
//! and the loss of index targets given log-probabilities (NLL, with label
//! smoothing when asked).

use super::{constant, Reduction};
use crate::{Error, Result, Tensor};
use std::borrow::Cow;

/// What CrossEntropyLoss and NLLLoss take as a target: a tensor (class
/// indices as whole numbers, or class probabilities), or integer class
/// labels directly (`&[usize]`, `&Vec<i64>`, `&[3u8, 1, 4]`), so labels need
/// no conversion to floats by hand.
///
/// ```
/// use micrograd_plus::nn::loss::CrossEntropyLoss;
/// use micrograd_plus::Tensor;
/// let logits = Tensor::new([[2.0f32, 0.0, -1.0], [0.0, 1.0, 0.0]]).unwrap();
/// let labels: Vec<usize> = vec![0, 1];
/// let from_labels = CrossEntropyLoss::new().forward(&logits, &labels).unwrap();
/// let from_tensor = CrossEntropyLoss::new().forward(&logits, &Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
/// assert_eq!(from_labels.to_vec::<f32>(), from_tensor.to_vec::<f32>());
/// // Signed labels may hold ignore_index (-100 by default).
/// let some_ignored = CrossEntropyLoss::new().forward(&logits, &[-100i64, 1]).unwrap();
/// assert!(some_ignored.item().unwrap() > 0.0);
/// ```
pub trait ClassTarget {
    /// The target as a tensor (borrowed when it already is one).
    fn target_tensor(&self) -> Result<Cow<'_, Tensor>>;
}

impl ClassTarget for Tensor {
    fn target_tensor(&self) -> Result<Cow<'_, Tensor>> {
        Ok(Cow::Borrowed(self))
    }
}

/// Integer types that hold class labels.
pub trait Label: Copy {
    /// The label as a float (exact for any label below 2^53).
    fn to_f64(self) -> f64;
}

macro_rules! labels {
    ($($ty:ty),*) => {$(
        impl Label for $ty {
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
labels!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<L: Label> ClassTarget for [L] {
    fn target_tensor(&self) -> Result<Cow<'_, Tensor>> {
        let values: Vec<f64> = self.iter().map(|&l| l.to_f64()).collect();
        let n = values.len();
        Ok(Cow::Owned(Tensor::from_vec(values, &[n])?))
    }
}

impl<L: Label> ClassTarget for Vec<L> {
    fn target_tensor(&self) -> Result<Cow<'_, Tensor>> {
        self.as_slice().target_tensor()
    }
}

impl<L: Label, const N: usize> ClassTarget for [L; N] {
    fn target_tensor(&self) -> Result<Cow<'_, Tensor>> {
        self.as_slice().target_tensor()
    }
}

/// The input's layout around its class dim: `(C)` is one unbatched sample,
/// `(N, C, d1, …)` has its classes in dim 1. Element `(o, c, i)` sits at
/// `(o · classes + c) · inner + i`.
pub(super) struct ClassLayout {
    pub(super) class_dim: usize,
    pub(super) classes: usize,
    pub(super) outer: usize,
    pub(super) inner: usize,
    /// The input's shape without the class dim: the shape of an index target
    /// and of the unreduced loss.
    pub(super) sample_shape: Vec<usize>,
}

impl ClassLayout {
    pub(super) fn of(op: &'static str, input: &Tensor) -> Result<ClassLayout> {
        let shape = input.shape();
        if shape.is_empty() {
            return Err(Error::shape(
                op,
                "input must have a class dim: shape (C), (N, C) or (N, C, d1, ...), got a 0-d tensor",
            ));
        }
        let class_dim = if shape.len() == 1 { 0 } else { 1 };
        let mut sample_shape = shape.to_vec();
        sample_shape.remove(class_dim);
        Ok(ClassLayout {
            class_dim,
            classes: shape[class_dim],
            outer: shape[..class_dim].iter().product(),
            inner: shape[class_dim + 1..].iter().product(),
            sample_shape,
        })
    }

    /// `weight`, checked to hold one value per class.
    pub(super) fn weights(&self, op: &'static str, weight: Option<&Tensor>) -> Result<Vec<f64>> {
        match weight {
            None => Ok(vec![1.0; self.classes]),
            Some(w) if w.shape() == [self.classes] => Ok(w.to_vec::<f64>()),
            Some(w) => Err(Error::shape(
                op,
                format!(
                    "weight of shape {:?} must have one value per class ({} classes)",
                    w.shape(),
                    self.classes
                ),
            )),
        }
    }

    /// The target's class per sample (`None` where it equals `ignore_index`),
    /// or an error naming the first value that is not a class.
    pub(super) fn read_indices(
        &self,
        op: &'static str,
        target: &Tensor,
        ignore_index: i64,
    ) -> Result<Vec<Option<usize>>> {
        target
            .to_vec::<f64>()
            .into_iter()
            .map(|v| {
                if v == ignore_index as f64 {
                    Ok(None)
                } else if !v.is_finite() || v.fract() != 0.0 {
                    Err(Error::argument(
                        op,
                        format!("target {v} is not a class index (class-index targets hold whole numbers)"),
                    ))
                } else if v < 0.0 || v >= self.classes as f64 {
                    Err(Error::index(
                        op,
                        format!("target {v} is out of bounds for {} classes", self.classes),
                    ))
                } else {
                    Ok(Some(v as usize))
                }
            })
            .collect()
    }

    /// The loss for class-index targets, given the log-probabilities `lp`:
    /// per sample with target `t`, `−(1 − ε)·w[t]·lp[t] − (ε / C)·Σ_c w[c]·lp[c]`
    /// (NLL for `ε = 0`, PyTorch's label smoothing otherwise), and exactly 0
    /// for an ignored sample. The mean divides by `Σ w[t]` over kept
    /// samples, as PyTorch does, so an empty or all-ignored batch gives NaN.
    ///
    /// The entries are picked out, never multiplied by a 0/1 mask: a
    /// non-target class at −∞ (a masked logit) or an ignored row holding
    /// ±∞ must not turn into `0 · ∞ = NaN`, in the loss or its gradient.
    pub(super) fn index_loss(
        &self,
        log_probs: &Tensor,
        targets: &[Option<usize>],
        weights: &[f64],
        smoothing: f64,
        reduction: Reduction,
    ) -> Result<Tensor> {
        let (classes, inner) = (self.classes, self.inner);
        let at = move |s: usize, c: usize| ((s / inner) * classes + c) * inner + s % inner;
        let smooth = smoothing / classes as f64;
        let lp = log_probs.to_vec::<f64>();
        let per_sample: Vec<f64> = targets
            .iter()
            .enumerate()
            .map(|(s, t)| match *t {
                None => 0.0,
                Some(t) if smoothing > 0.0 => {
                    let spread: f64 = (0..classes).map(|c| weights[c] * lp[at(s, c)]).sum();
                    -(1.0 - smoothing) * weights[t] * lp[at(s, t)] - smooth * spread
                }
                Some(t) => -weights[t] * lp[at(s, t)],
            })
            .collect();
        let total_weight: f64 = targets.iter().flatten().map(|&t| weights[t]).sum();
        // Each sample's share of the reduced loss (None: its own loss).
        let (values, shape, share) = match reduction {
            Reduction::None => (per_sample, self.sample_shape.clone(), 1.0),
            Reduction::Sum => (vec![per_sample.iter().sum()], vec![], 1.0),
            _ => (
                vec![per_sample.iter().sum::<f64>() / total_weight],
                vec![],
                1.0 / total_weight,
            ),
        };
        let out = constant(values, &shape, log_probs.dtype())?
            .storage()
            .clone();
        let (targets, weights) = (targets.to_vec(), weights.to_vec());
        Ok(Tensor::record(
            out,
            shape,
            "nll_loss",
            vec![log_probs.clone()],
            move |g, inputs, _| {
                let g = g.to_vec::<f64>();
                let mut d = vec![0.0; inputs[0].numel()];
                for (s, t) in targets.iter().enumerate() {
                    let Some(t) = *t else { continue };
                    let gs = if g.len() == 1 && reduction != Reduction::None {
                        g[0] * share
                    } else {
                        g[s]
                    };
                    d[at(s, t)] -= (1.0 - smoothing) * weights[t] * gs;
                    if smoothing > 0.0 {
                        for (c, w) in weights.iter().enumerate() {
                            d[at(s, c)] -= smooth * w * gs;
                        }
                    }
                }
                Ok(vec![Some(constant(
                    d,
                    inputs[0].shape(),
                    inputs[0].dtype(),
                )?)])
            },
        ))
    }

    /// Sums `q · log p` over classes (None) or over everything (Mean, Sum:
    /// any divisor is already in `q`).
    pub(super) fn reduce_products(
        &self,
        products: &Tensor,
        reduction: Reduction,
    ) -> Result<Tensor> {
        match reduction {
            Reduction::None => products.sum_dims(&[self.class_dim as isize], false),
            _ => Ok(products.sum()),
        }
    }
}
