//! Poisson negative log-likelihood: for counts predicted as a rate.

use super::{broadcast_all, reduce, Reduction};
use crate::{Result, Tensor};

/// PyTorch's `nn.PoissonNLLLoss`: the negative log-likelihood of counts
/// `y` under a Poisson distribution of rate `λ`, dropping the constant
/// `log(y!)`, per element and reduced:
///
/// - `log_input = true` (the default), the input is `log λ`: `e^x − y·x`;
/// - `log_input = false`, the input is `λ`: `x − y·log(x + eps)`, where
///   `eps` (1e-8) keeps `log 0` away.
///
/// With `full`, Stirling's approximation of `log(y!)`,
/// `y·log y − y + ½·log(2πy)`, is added where `y > 1` (0 elsewhere, as in
/// PyTorch). Input and target broadcast together; the target is
/// differentiable too.
///
/// ```
/// use micrograd_plus::nn::loss::{PoissonNLLLoss, Reduction};
/// use micrograd_plus::Tensor;
/// let log_rate = Tensor::new([0.0f64, 2f64.ln()]).unwrap().requires_grad(true);
/// let counts = Tensor::new([1.0f64, 3.0]).unwrap();
/// let loss = PoissonNLLLoss::new().reduction(Reduction::None).forward(&log_rate, &counts).unwrap();
/// let want = [1.0, 2.0 - 3.0 * 2f64.ln()];
/// for (l, w) in loss.to_vec::<f64>().iter().zip(want) { assert!((l - w).abs() < 1e-15); }
/// loss.sum().backward().unwrap(); // e^x − y
/// assert_eq!(log_rate.grad().unwrap().to_vec::<f64>(), vec![0.0, -1.0]);
/// ```
#[derive(Debug, Clone)]
pub struct PoissonNLLLoss {
    reduction: Reduction,
    log_input: bool,
    full: bool,
    eps: f64,
}

impl Default for PoissonNLLLoss {
    fn default() -> Self {
        PoissonNLLLoss {
            reduction: Reduction::Mean,
            log_input: true,
            full: false,
            eps: 1e-8,
        }
    }
}

impl PoissonNLLLoss {
    const NAME: &'static str = "PoissonNLLLoss";

    /// PyTorch's defaults: mean reduction, `log_input = true`,
    /// `full = false`, `eps = 1e-8`.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::PoissonNLLLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{PoissonNLLLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let l = PoissonNLLLoss::new().reduction(Reduction::Sum).forward(&Tensor::zeros(&[3]), &Tensor::zeros(&[3])).unwrap();
    /// assert_eq!(l.item().unwrap(), 3.0);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Whether the input is the log of the rate (true) or the rate itself.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::PoissonNLLLoss, Tensor};
    /// let rate = Tensor::new([2.0f64]).unwrap();
    /// let l = PoissonNLLLoss::new().log_input(false).forward(&rate, &Tensor::new([2.0f64]).unwrap()).unwrap();
    /// assert!((l.item().unwrap() - (2.0 - 2.0 * (2.0f64 + 1e-8).ln())).abs() < 1e-15);
    /// ```
    pub fn log_input(mut self, log_input: bool) -> Self {
        self.log_input = log_input;
        self
    }

    /// Whether to add Stirling's approximation of `log(y!)` (for `y > 1`).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::PoissonNLLLoss, Tensor};
    /// let (x, y) = (Tensor::zeros(&[1]).to_dtype(micrograd_plus::DType::F64), Tensor::new([4.0f64]).unwrap());
    /// let plain = PoissonNLLLoss::new().forward(&x, &y).unwrap().item().unwrap();
    /// let full = PoissonNLLLoss::new().full(true).forward(&x, &y).unwrap().item().unwrap();
    /// let stirling = 4.0 * 4f64.ln() - 4.0 + 0.5 * (2.0 * std::f64::consts::PI * 4.0).ln();
    /// assert!((full - plain - stirling).abs() < 1e-12);
    /// ```
    pub fn full(mut self, full: bool) -> Self {
        self.full = full;
        self
    }

    /// Sets the `eps` added to the rate before its log when `log_input` is false.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::PoissonNLLLoss, Tensor};
    /// let x = Tensor::zeros(&[1]).to_dtype(micrograd_plus::DType::F64);
    /// let l = PoissonNLLLoss::new().log_input(false).eps(1.0).forward(&x, &Tensor::ones(&[1])).unwrap();
    /// assert_eq!(l.item().unwrap(), 0.0); // 0 − 1·log(0 + 1)
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The loss of `input` (log-rates, or rates) against counts `target`.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::PoissonNLLLoss, Tensor};
    /// assert_eq!(PoissonNLLLoss::new().forward(&Tensor::zeros(&[2, 3]), &Tensor::zeros(&[3])).unwrap().ndim(), 0);
    /// assert!(PoissonNLLLoss::new().forward(&Tensor::zeros(&[2, 3]), &Tensor::zeros(&[2])).is_err());
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        broadcast_all(op, &[input.shape(), target.shape()])?;
        let (x, y) = (input, &target.to_dtype(input.dtype()));
        let mut loss = if self.log_input {
            x.exp().sub(&y.mul(x)?)?
        } else {
            x.sub(&y.mul(&x.add_scalar(self.eps).log())?)?
        };
        if self.full {
            loss = loss.add(&stirling_term(y)?)?;
        }
        reduce(op, loss, self.reduction)
    }
}

/// `y·log y − y + ½·log(2πy)` where `y > 1`, 0 elsewhere. The formula only
/// ever sees `y > 1` (1 stands in elsewhere), so neither `0·log 0` nor a
/// log of a negative count reaches the value or the gradient.
fn stirling_term(y: &Tensor) -> Result<Tensor> {
    let counted = y.gt_scalar(1.0);
    let one = Tensor::full_dtype(&[], 1.0, y.dtype());
    let safe = Tensor::where_(&counted, y, &one)?;
    let term = safe.mul(&safe.log())?.sub(&safe)?.add(
        &safe
            .mul_scalar(2.0 * std::f64::consts::PI)
            .log()
            .mul_scalar(0.5),
    )?;
    Tensor::where_(&counted, &term, &Tensor::full_dtype(&[], 0.0, y.dtype()))
}

/// This loss's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::PoissonNLLLoss;
    use crate::gradcheck::case::prelude::*;

    /// Log input, and rates with the Stirling term (targets away from 1,
    /// where `full` switches it on).
    pub(crate) fn poisson_nll_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        out.push(OpCheck::new(
            "PoissonNLLLoss",
            "log_input",
            vec![g.randn(&[2, 3]), g.positive(&[2, 3])],
            |t| PoissonNLLLoss::new().forward(&t[0], &t[1]),
        ));
        let counts = f64_tensor(vec![0.0, 2.5, 3.0, 0.5, 4.0, 1.5], &[2, 3]);
        out.push(OpCheck::new(
            "PoissonNLLLoss",
            "rate, full, eps=0.1",
            vec![g.positive(&[2, 3]), counts],
            |t| {
                let loss = PoissonNLLLoss::new().log_input(false).full(true).eps(0.1);
                loss.forward(&t[0], &t[1])
            },
        ));
    }
}
