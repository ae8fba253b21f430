//! What CrossEntropyLoss and NLLLoss share: where the class dim is, reading
//! class-index targets (float tensors holding whole numbers), class weights,
//! and turning index targets into a constant "target distribution" `q`, so
//! that both losses are `−Σ q · log p` over the class dim.

use super::{constant, Reduction};
use crate::{Error, Result, Tensor};

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

    /// Number of samples (positions that each get one class).
    fn samples(&self) -> usize {
        self.outer * self.inner
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

    /// The loss for class-index targets, given the log-probabilities:
    /// `−Σ_c q_c · log p_c` per sample with the constant distribution
    /// `q = (1 − ε)·w[t]·onehot(t) + (ε / C)·w` (zero for ignored samples),
    /// which is NLL for `ε = 0` and PyTorch's label smoothing otherwise.
    /// The mean divides by `Σ w[t]` over kept samples, as PyTorch does.
    ///
    /// `q` carries the sign and the mean's divisor, so a reduced loss is one
    /// product and one sum.
    pub(super) fn index_loss(
        &self,
        log_probs: &Tensor,
        targets: &[Option<usize>],
        weights: &[f64],
        smoothing: f64,
        reduction: Reduction,
    ) -> Result<Tensor> {
        let (classes, inner) = (self.classes, self.inner);
        let mut q = vec![0.0; self.samples() * classes];
        let mut total_weight = 0.0;
        for (s, t) in targets.iter().enumerate() {
            let Some(t) = *t else { continue };
            let (o, i) = (s / inner, s % inner);
            let at = |c: usize| (o * classes + c) * inner + i;
            q[at(t)] = (1.0 - smoothing) * weights[t];
            if smoothing > 0.0 {
                for (c, w) in weights.iter().enumerate() {
                    q[at(c)] += smoothing / classes as f64 * w;
                }
            }
            total_weight += weights[t];
        }
        let scale = match reduction {
            Reduction::Mean => -1.0 / total_weight,
            _ => -1.0,
        };
        q.iter_mut().for_each(|v| *v *= scale);
        let q = constant(q, log_probs.shape(), log_probs.dtype())?;
        self.reduce_products(&log_probs.mul(&q)?, reduction)
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
