//! Margin ranking loss: asks one score to beat another by a margin.

use super::{broadcast_all, reduce, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.MarginRankingLoss`: `max(0, −y·(x₁ − x₂) + margin)` per
/// element, reduced, for scores `x₁`, `x₂` and a target `y` of 1 (`x₁`
/// should rank higher) or −1 (`x₂` should). The three tensors must have the
/// same number of dims and broadcast together, as in PyTorch.
///
/// Inside the hinge the gradient is `−y` for `x₁`, `y` for `x₂` and
/// `−(x₁ − x₂)` for `y`; where the hinge is flat it is 0.
///
/// ```
/// use micrograd_plus::nn::loss::{MarginRankingLoss, Reduction};
/// use micrograd_plus::Tensor;
/// let x1 = Tensor::new([2.0f64, 0.5, -1.0]).unwrap().requires_grad(true);
/// let x2 = Tensor::new([1.0f64, 1.0, 1.0]).unwrap();
/// let y = Tensor::new([1.0f64, 1.0, -1.0]).unwrap();
/// let loss = MarginRankingLoss::new().margin(0.5).reduction(Reduction::Sum).forward(&x1, &x2, &y).unwrap();
/// assert_eq!(loss.item().unwrap(), 0.0 + 1.0 + 0.0); // only the middle pair misses the margin
/// loss.backward().unwrap();
/// assert_eq!(x1.grad().unwrap().to_vec::<f64>(), vec![0.0, -1.0, 0.0]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MarginRankingLoss {
    reduction: Reduction,
    margin: f64,
}

impl MarginRankingLoss {
    const NAME: &'static str = "MarginRankingLoss";

    /// PyTorch's defaults: mean reduction, `margin = 0`.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::MarginRankingLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{MarginRankingLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let (x1, x2) = (Tensor::zeros(&[4]), Tensor::ones(&[4]));
    /// let l = MarginRankingLoss::new().reduction(Reduction::None).forward(&x1, &x2, &Tensor::ones(&[4])).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![1.0; 4]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets the margin by which the preferred score must win (any value).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::MarginRankingLoss, Tensor};
    /// let (x1, x2) = (Tensor::ones(&[1]), Tensor::zeros(&[1]));
    /// let l = MarginRankingLoss::new().margin(2.0).forward(&x1, &x2, &Tensor::ones(&[1])).unwrap();
    /// assert_eq!(l.item().unwrap(), 1.0);
    /// ```
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// The loss of scores `input1`, `input2` against `target` (±1).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::MarginRankingLoss, Tensor};
    /// let err = MarginRankingLoss::new()
    ///     .forward(&Tensor::zeros(&[3]), &Tensor::zeros(&[3]), &Tensor::zeros(&[1, 3])).unwrap_err();
    /// assert_eq!(err.to_string(), "MarginRankingLoss: input1 [3], input2 [3] and target [1, 3] \
    ///     must have the same number of dims");
    /// ```
    pub fn forward(&self, input1: &Tensor, input2: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        let (s1, s2, st) = (input1.shape(), input2.shape(), target.shape());
        if s1.len() != s2.len() || s1.len() != st.len() {
            return Err(Error::shape(
                op,
                format!(
                    "input1 {s1:?}, input2 {s2:?} and target {st:?} must have the same number of dims"
                ),
            ));
        }
        broadcast_all(op, &[s1, s2, st])?;
        let dtype = input1.dtype();
        let (x2, y) = (input2.to_dtype(dtype), target.to_dtype(dtype));
        let loss = y
            .neg()
            .mul(&input1.sub(&x2)?)?
            .add_scalar(self.margin)
            .clamp(Some(0.0), None);
        reduce(op, loss, self.reduction)
    }
}

/// This loss's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::MarginRankingLoss;
    use crate::gradcheck::case::prelude::*;
    use crate::nn::loss::Reduction;

    /// Both inputs on `spread` values, off the hinge's kink.
    pub(crate) fn margin_ranking_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let signs = f64_tensor(vec![1.0, -1.0, -1.0, 1.0, 1.0, -1.0], &[6]);
        for (reduction, margin) in [(Reduction::Mean, 0.0), (Reduction::None, 0.5)] {
            let y = signs.clone();
            let loss = MarginRankingLoss::new().reduction(reduction).margin(margin);
            let mut v = g.spread(&[&[6], &[6]]);
            let x2 = v.pop().expect("two tensors");
            out.push(OpCheck::new(
                "MarginRankingLoss",
                format!("{reduction:?}, margin={margin}"),
                vec![v.pop().expect("two tensors"), x2],
                move |t| loss.forward(&t[0], &t[1], &y),
            ));
        }
    }
}
