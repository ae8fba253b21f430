//! Gaussian negative log-likelihood: a regression loss that also learns
//! how uncertain each prediction is.

use super::{broadcast_all, reduce, Reduction};
use crate::tensor::ops::similarity::clamp_min_keep_gradient;
use crate::{Error, Result, Tensor};

/// PyTorch's `nn.GaussianNLLLoss`: the negative log-likelihood of `target`
/// under a Gaussian of mean `input` and variance `var`, without the
/// constant unless `full`:
///
/// `½·(log(max(var, eps)) + (input − target)² / max(var, eps))`
/// (`+ ½·log 2π` with `full`), per element and reduced.
///
/// `var` has the input's shape (one variance per prediction), or the
/// input's shape without its last dim, or the input's shape with exactly
/// one dim of size 1 where the input's is not (one variance shared along
/// that dim), as in PyTorch; any other shape is an error, and so is a
/// negative variance. The target broadcasts with the input.
///
/// As in PyTorch the clamp at `eps` (1e-6) changes the variance's value but
/// not its gradient (PyTorch clamps in place under `no_grad`): a variance
/// below `eps` still receives `½·(1/v − d²/v²)` at `v = eps`.
///
/// ```
/// use micrograd_plus::nn::loss::{GaussianNLLLoss, Reduction};
/// use micrograd_plus::Tensor;
/// let mean = Tensor::new([[1.0f64, 2.0], [0.0, 0.0]]).unwrap().requires_grad(true);
/// let target = Tensor::new([[2.0f64, 2.0], [0.0, 3.0]]).unwrap();
/// let var = Tensor::new([1.0f64, 4.0]).unwrap().requires_grad(true); // one per row
/// let loss = GaussianNLLLoss::new().reduction(Reduction::None).forward(&mean, &target, &var).unwrap();
/// let want = [0.5, 0.0, 0.5 * 4f64.ln(), 0.5 * (4f64.ln() + 9.0 / 4.0)];
/// for (l, w) in loss.to_vec::<f64>().iter().zip(want) { assert!((l - w).abs() < 1e-15); }
/// loss.sum().backward().unwrap();
/// assert_eq!(mean.grad().unwrap().to_vec::<f64>(), vec![-1.0, 0.0, 0.0, -0.75]); // (x − t)/var
/// ```
#[derive(Debug, Clone)]
pub struct GaussianNLLLoss {
    reduction: Reduction,
    full: bool,
    eps: f64,
}

impl Default for GaussianNLLLoss {
    fn default() -> Self {
        GaussianNLLLoss {
            reduction: Reduction::Mean,
            full: false,
            eps: 1e-6,
        }
    }
}

impl GaussianNLLLoss {
    const NAME: &'static str = "GaussianNLLLoss";

    /// PyTorch's defaults: mean reduction, `full = false`, `eps = 1e-6`.
    ///
    /// ```
    /// let _ = micrograd_plus::nn::loss::GaussianNLLLoss::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction (Mean, Sum or None).
    ///
    /// ```
    /// use micrograd_plus::nn::loss::{GaussianNLLLoss, Reduction};
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::zeros(&[2, 3]);
    /// let l = GaussianNLLLoss::new().reduction(Reduction::None).forward(&x, &x, &Tensor::ones(&[2, 3])).unwrap();
    /// assert_eq!(l.to_vec::<f32>(), vec![0.0; 6]);
    /// ```
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Whether to add the constant `½·log 2π`.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::GaussianNLLLoss, Tensor};
    /// let x = Tensor::zeros(&[1]).to_dtype(micrograd_plus::DType::F64);
    /// let l = GaussianNLLLoss::new().full(true).forward(&x, &x, &Tensor::ones(&[1])).unwrap();
    /// assert!((l.item().unwrap() - 0.5 * (2.0 * std::f64::consts::PI).ln()).abs() < 1e-15);
    /// ```
    pub fn full(mut self, full: bool) -> Self {
        self.full = full;
        self
    }

    /// Sets the floor of the variance (for stability).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::GaussianNLLLoss, Tensor};
    /// let x = Tensor::zeros(&[1]).to_dtype(micrograd_plus::DType::F64);
    /// let l = GaussianNLLLoss::new().eps(1.0).forward(&x, &x, &Tensor::zeros(&[1])).unwrap();
    /// assert_eq!(l.item().unwrap(), 0.0); // log(max(0, 1)) = 0
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The loss of means `input` against `target` with variances `var`.
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::GaussianNLLLoss, Tensor};
    /// let x = Tensor::zeros(&[2, 3]);
    /// let g = GaussianNLLLoss::new();
    /// assert!(g.forward(&x, &x, &Tensor::ones(&[2, 1])).is_ok()); // shared along the last dim
    /// let err = g.forward(&x, &x, &Tensor::ones(&[3])).unwrap_err();
    /// assert_eq!(err.to_string(), "GaussianNLLLoss: var of shape [3] is of incorrect size for input of shape [2, 3]");
    /// let err = g.forward(&x, &x, &Tensor::full(&[2, 3], -1.0)).unwrap_err();
    /// assert_eq!(err.to_string(), "GaussianNLLLoss: var has negative entry/entries");
    /// ```
    pub fn forward(&self, input: &Tensor, target: &Tensor, var: &Tensor) -> Result<Tensor> {
        let op = Self::NAME;
        if var.to_vec::<f64>().iter().any(|&v| v < 0.0) {
            return Err(Error::argument(op, "var has negative entry/entries"));
        }
        let var = var_for_input(op, input.shape(), var)?;
        broadcast_all(op, &[input.shape(), target.shape(), var.shape()])?;
        let dtype = input.dtype();
        let var = clamp_min_keep_gradient(&var.to_dtype(dtype), self.eps);
        let d = input.sub(&target.to_dtype(dtype))?;
        let mut loss = var.log().add(&d.mul(&d)?.div(&var)?)?.mul_scalar(0.5);
        if self.full {
            loss = loss.add_scalar(0.5 * (2.0 * std::f64::consts::PI).ln());
        }
        reduce(op, loss, self.reduction)
    }

    /// The loss with one variance `var` for every prediction (PyTorch's
    /// `var` given as a float).
    ///
    /// ```
    /// use micrograd_plus::{nn::loss::GaussianNLLLoss, Tensor};
    /// let (x, t) = (Tensor::zeros(&[2]), Tensor::new([1.0f32, -1.0]).unwrap());
    /// let l = GaussianNLLLoss::new().forward_scalar_var(&x, &t, 0.5).unwrap();
    /// assert!((l.item().unwrap() - 0.5 * (0.5f64.ln() + 2.0)).abs() < 1e-6);
    /// assert!(GaussianNLLLoss::new().forward_scalar_var(&x, &t, -1.0).is_err());
    /// ```
    pub fn forward_scalar_var(&self, input: &Tensor, target: &Tensor, var: f64) -> Result<Tensor> {
        let var = Tensor::full_dtype(input.shape(), var, input.dtype());
        self.forward(input, target, &var)
    }
}

/// `var` shaped to broadcast against an input of shape `input`, by
/// PyTorch's rules: the input's shape as is; the input's shape without its
/// last dim (a size-1 dim is put back); or the input's rank with the sizes
/// of the dims that differ summing to 1 (a single shared dim).
fn var_for_input(op: &'static str, input: &[usize], var: &Tensor) -> Result<Tensor> {
    let shape = var.shape();
    if shape == input {
        return Ok(var.clone());
    }
    if !input.is_empty() && shape == &input[..input.len() - 1] {
        return var.unsqueeze(-1);
    }
    if shape.len() == input.len() {
        let differing: usize = input
            .iter()
            .zip(shape)
            .filter(|(i, v)| i != v)
            .map(|(_, &v)| v)
            .sum();
        if differing == 1 {
            return Ok(var.clone());
        }
    }
    Err(Error::shape(
        op,
        format!("var of shape {shape:?} is of incorrect size for input of shape {input:?}"),
    ))
}

/// This loss's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::GaussianNLLLoss;
    use crate::gradcheck::case::prelude::*;
    use crate::nn::loss::Reduction;

    /// Variances positive, of full and broadcast shapes.
    pub(crate) fn gaussian_nll_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (var_shape, full) in [(&[3, 4][..], false), (&[3][..], true), (&[1, 4][..], false)] {
            let loss = GaussianNLLLoss::new().full(full).reduction(Reduction::Sum);
            out.push(OpCheck::new(
                "GaussianNLLLoss",
                format!("full={full}"),
                vec![g.randn(&[3, 4]), g.randn(&[3, 4]), g.positive(var_shape)],
                move |t| loss.forward(&t[0], &t[1], &t[2]),
            ));
        }
    }
}
