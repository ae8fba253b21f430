//! Triplet margin loss: an anchor should be nearer its positive than its
//! negative by a margin.

use super::{broadcast_all, reduce, Reduction};
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.TripletMarginLoss`: with `d(a, b)` the
/// [pairwise distance](Tensor::pairwise_distance) `‖a − b + eps‖_p` over the
/// last dim, the loss is `max(0, d(a, p) − d(a, n) + margin)` per triplet,
/// reduced. With `swap` the negative's distance is the smaller of `d(a, n)`
/// and `d(p, n)` (the "distance swap" of Balntas et al., 2016).
///
/// Inputs are `(N, D)` or `(D)` (any equal number of dims; they broadcast
/// together), giving one loss per row. All three are differentiable.
///
/// ```
/// use micrograd_plus::nn::loss::{Reduction, TripletMarginLoss};
/// use micrograd_plus::Tensor;
/// let anchor = Tensor::new([[0.0f64, 0.0]]).unwrap().requires_grad(true);
/// let positive = Tensor::new([[3.0f64, 4.0]]).unwrap();
/// let negative = Tensor::new([[0.0f64, 1.0]]).unwrap();
/// let triplet = TripletMarginLoss::new().eps(0.0).reduction(Reduction::Sum);
/// let loss = triplet.forward(&anchor, &positive, &negative).unwrap();
/// assert_eq!(loss.item().unwrap(), 5.0 - 1.0 + 1.0);
/// loss.backward().unwrap(); // −(p − a)/5 + (n − a)/1
/// assert_eq!(anchor.grad().unwrap().to_vec::<f64>(), vec![-0.6, -0.8 + 1.0]);
/// ```
#[derive(Debug, Clone)]
pub struct TripletMarginLoss {
    reduction: Reduction,
    margin: f64,
    p: f64,
    eps: f64,
    swap: bool,
}

impl Default for TripletMarginLoss {
    fn default() -> Self {
        TripletMarginLoss {
            reduction: Reduction::Mean,
            margin: 1.0,
            p: 2.0,
            eps: 1e-6,
            swap: false,
        }
    }
}

impl TripletMarginLoss {
    const NAME: &'static str = "TripletMarginLoss";

    /// PyTorch's defaults: mean reduction, `margin = 1`, `p = 2`,
    /// `eps = 1e-6`, no swap.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::TripletMarginLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{Reduction, TripletMarginLoss};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[4, 3]);
    /// let l = TripletMarginLoss::new().reduction(Reduction::None).forward(&x, &x, &x).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![1.0; 4]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets the margin (must be positive; checked by `forward`).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::TripletMarginLoss, Tensor};
    /// let x = Tensor::zeros(&[2, 3]);
    /// let err = TripletMarginLoss::new().margin(0.0).forward(&x, &x, &x).unwrap_err();
    /// assert_eq!(err.to_string(), "TripletMarginLoss: margin must be greater than 0, got 0");
    /// ```
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// Sets the order of the norm (2 by default; any order of
    /// [`Tensor::vector_norm`]).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::TripletMarginLoss, Tensor};
    /// let (a, p) = (Tensor::zeros(&[1, 2]), Tensor::new([[3.0f64, 4.0]]).unwrap());
    /// let l1 = TripletMarginLoss::new().p(1.0).eps(0.0).forward(&a, &p, &a).unwrap();
    /// assert_eq!(l1.item().unwrap(), 7.0 + 1.0);
    /// ```
    pub fn p(mut self, p: f64) -> Self {
        self.p = p;
        self
    }

    /// Sets the `eps` added to each difference before its norm.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::TripletMarginLoss, Tensor};
    /// let x = Tensor::zeros(&[1, 4]).to_dtype(micrograd_plus::DType::F64);
    /// let l = TripletMarginLoss::new().eps(0.5).forward(&x, &x, &x).unwrap();
    /// assert_eq!(l.item().unwrap(), 1.0); // both distances are ‖0.5‖ = 1
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Whether the negative's distance is `min(d(a, n), d(p, n))`.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::TripletMarginLoss, Tensor};
    /// let a = Tensor::new([[0.0f64]]).unwrap();
    /// let (p, n) = (Tensor::new([[2.0f64]]).unwrap(), Tensor::new([[3.0f64]]).unwrap());
    /// let plain = TripletMarginLoss::new().eps(0.0);
    /// assert_eq!(plain.clone().forward(&a, &p, &n).unwrap().item().unwrap(), 0.0);
    /// assert_eq!(plain.swap(true).forward(&a, &p, &n).unwrap().item().unwrap(), 2.0); // d(p, n) = 1
    /// ```
    pub fn swap(mut self, swap: bool) -> Self {
        self.swap = swap;
        self
    }

    /// The loss of `anchor` against `positive` and `negative`.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::TripletMarginLoss, Tensor};
    /// let x = Tensor::zeros(&[2, 3]);
    /// let err = TripletMarginLoss::new().forward(&x, &Tensor::zeros(&[3]), &x).unwrap_err();
    /// assert_eq!(err.to_string(), "TripletMarginLoss: anchor [2, 3], positive [3] and negative [2, 3] \
    ///     must have the same number of dims");
    /// assert!(TripletMarginLoss::new().forward(&x, &Tensor::zeros(&[2, 4]), &x).is_err());
    /// ```
    pub fn forward(&self, anchor: &Tensor, positive: &Tensor, negative: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        let margin = self.margin;
        if margin.is_nan() || margin <= 0.0 {
            return Err(Error::argument(
                op,
                format!("margin must be greater than 0, got {margin}"),
            ));
        }
        let (sa, sp, sn) = (anchor.shape(), positive.shape(), negative.shape());
        if sa.len() != sp.len() || sa.len() != sn.len() {
            return Err(Error::shape(
                op,
                format!(
                    "anchor {sa:?}, positive {sp:?} and negative {sn:?} must have the same number of dims"
                ),
            ));
        }
        broadcast_all(op, &[sa, sp, sn])?;
        let distance = |a: &Tensor, b: &Tensor| a.pairwise_distance(b, self.p, self.eps, false);
        let to_positive = distance(anchor, positive)?;
        let mut to_negative = distance(anchor, negative)?;
        if self.swap {
            to_negative = to_negative.minimum(&distance(positive, negative)?)?;
        }
        let loss = to_positive
            .add_scalar(margin)
            .sub(&to_negative)?
            .clamp(Some(0.0), None);
        reduce(op, loss, self.reduction)
    }
}

/// This loss's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::TripletMarginLoss;
    use crate::gradcheck::case::prelude::*;

    /// Over norms and swap.
    pub(crate) fn triplet_margin_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (p, swap) in [(2.0, false), (1.0, true), (3.0, false)] {
            let loss = TripletMarginLoss::new().p(p).swap(swap).margin(2.0);
            out.push(OpCheck::new(
                "TripletMarginLoss",
                format!("p={p}, swap={swap}"),
                vec![g.randn(&[4, 3]), g.randn(&[4, 3]), g.randn(&[4, 3])],
                move |t| loss.forward(&t[0], &t[1], &t[2]),
            ));
        }
    }
}
