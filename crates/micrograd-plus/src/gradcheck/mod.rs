//! Numerical gradient checking: compare autograd's gradients with central
//! finite differences, in f64.
//!
//! For a function `f` of some tensors, the checker contracts the output with a
//! fixed random tensor `w` (so every output element matters, with a different
//! weight) and compares, for every input element `x`,
//! - autograd's `∂ Σ(f·w) / ∂x`, with
//! - `(L(x + ε) − L(x − ε)) / 2ε` where `L = Σ(f·w)`.
//!
//! The error is measured relative to the gradient's size with a floor of 1:
//! `|analytic − numeric| / max(1, |numeric|)`, so tiny gradients are judged in
//! absolute terms and large ones in relative terms.
//!
//! The catalogue of checks for every differentiable op comes in two halves
//! so that arrows point down: [`case`] holds the case types and the seeded
//! input generator (it depends only on the tensor engine), which each op
//! file's `gradchecks` module uses to list its own checks; [`suite`] imports
//! the ops and joins those lists into [`op_checks`], with the tie/kink
//! cases finite differences cannot judge ([`tie_checks`]). The test suite
//! and `mgp gradcheck` both run it.

pub mod case;
pub mod suite;

pub use case::{OpCheck, TieCheck};
pub use suite::{op_checks, tie_checks};

use crate::tensor::{no_grad, DType, Tensor};
use crate::Result;

/// Settings for [`gradcheck`].
///
/// ```
/// let opts = micrograd_plus::gradcheck::GradcheckOptions::default();
/// assert_eq!(opts.eps, 1e-6);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct GradcheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Largest error (as defined in the module docs) that passes.
    pub tolerance: f64,
    /// Seed of the random output weights.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            tolerance: 1e-6,
            seed: 0,
        }
    }
}

/// How far autograd and finite differences disagree for one input.
///
/// ```
/// let r = micrograd_plus::gradcheck::InputError { max_abs_error: 0.0, max_rel_error: 0.0 };
/// assert_eq!(r.max_rel_error, 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputError {
    /// Largest `|analytic − numeric|` over the input's elements.
    pub max_abs_error: f64,
    /// Largest `|analytic − numeric| / max(1, |numeric|)`.
    pub max_rel_error: f64,
}

/// The result of [`gradcheck`]: per-input errors and the verdict.
///
/// ```
/// use micrograd_plus::{gradcheck::{gradcheck, GradcheckOptions}, Tensor};
/// let x = Tensor::new([0.5f64, -1.0]).unwrap();
/// let report = gradcheck(|t| Ok(t[0].tanh()), &[x], GradcheckOptions::default()).unwrap();
/// assert!(report.passed);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckReport {
    /// One entry per input (zeros for inputs the function does not reach).
    pub inputs: Vec<InputError>,
    /// Worst relative error over all inputs.
    pub max_rel_error: f64,
    /// Worst absolute error over all inputs.
    pub max_abs_error: f64,
    /// True when `max_rel_error <= tolerance`.
    pub passed: bool,
}

/// Checks the gradients of `f` at `inputs` (converted to f64) against
/// central finite differences.
///
/// ```
/// use micrograd_plus::{gradcheck::{gradcheck, GradcheckOptions}, Tensor};
/// let a = Tensor::randn(&[2, 3], 1);
/// let b = Tensor::randn(&[3], 2);
/// let report = gradcheck(|t| t[0].mul(&t[1]), &[a, b], GradcheckOptions::default()).unwrap();
/// assert!(report.passed, "{report:?}");
///
/// // An undefined gradient fails, wherever it occurs: sqrt at 0.
/// let x = Tensor::new([0.0f64, 1.0]).unwrap();
/// let report = gradcheck(|t| Ok(t[0].sqrt()), &[x], GradcheckOptions::default()).unwrap();
/// assert!(!report.passed && report.max_rel_error.is_nan());
/// ```
pub fn gradcheck(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    opts: GradcheckOptions,
) -> Result<GradcheckReport> {
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().to_dtype(DType::F64).requires_grad(true))
        .collect();
    let out = f(&leaves)?;
    let weights = Tensor::randn(out.shape(), opts.seed).to_dtype(DType::F64);
    let weighted =
        |out: &Tensor| -> Result<Tensor> { Ok(out.to_dtype(DType::F64).mul(&weights)?.sum()) };
    let loss = |out: &Tensor| -> Result<f64> { weighted(out)?.item() };
    if out.is_requires_grad() {
        weighted(&out)?.backward()?;
    }

    let mut reports = Vec::with_capacity(leaves.len());
    for (i, leaf) in leaves.iter().enumerate() {
        let analytic = leaf
            .grad()
            .map(|g| g.to_vec::<f64>())
            .unwrap_or_else(|| vec![0.0; leaf.numel()]);
        let base = leaf.to_vec::<f64>();
        let mut err = InputError {
            max_abs_error: 0.0,
            max_rel_error: 0.0,
        };
        for j in 0..base.len() {
            let at = |delta: f64| -> Result<f64> {
                let mut data = base.clone();
                data[j] += delta;
                let mut args = leaves.clone();
                args[i] = Tensor::from_vec(data, leaf.shape())?;
                no_grad(|| loss(&f(&args)?))
            };
            let numeric = (at(opts.eps)? - at(-opts.eps)?) / (2.0 * opts.eps);
            let abs = (analytic[j] - numeric).abs();
            let rel = abs / numeric.abs().max(1.0);
            err.max_abs_error = worse(err.max_abs_error, abs);
            err.max_rel_error = worse(err.max_rel_error, rel);
        }
        reports.push(err);
    }
    let max_rel_error = reports.iter().map(|r| r.max_rel_error).fold(0.0, worse);
    let max_abs_error = reports.iter().map(|r| r.max_abs_error).fold(0.0, worse);
    Ok(GradcheckReport {
        // NaN fails: `NaN <= tolerance` is false.
        passed: max_rel_error <= opts.tolerance,
        inputs: reports,
        max_rel_error,
        max_abs_error,
    })
}

/// The larger of two errors, where NaN (an undefined gradient) is worse than
/// any number and sticks: `f64::max` would drop it, letting a later finite
/// error hide it.
fn worse(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}
