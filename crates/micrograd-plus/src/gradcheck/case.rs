//! The gradient-check case types and their input generator: [`OpCheck`]
//! (an op applied to seeded f64 inputs, judged by finite differences),
//! [`TieCheck`] (a gradient at a tie or kink, judged against a closed form),
//! and `Gen`, the seeded generator every op file's `gradchecks` module draws
//! its inputs from.
//!
//! This is the lower half of the catalogue: it depends only on the tensor
//! engine (and the checker in [`super`]), so the op files can import it
//! (`use crate::gradcheck::case::prelude::*`) without an arrow pointing up.
//! The upper half, [`super::suite`], imports the ops and joins their lists.
//!
//! Each check owns seeded f64 inputs chosen where the op is smooth (positive
//! for `log`/`sqrt`/a `pow` base, well away from the kinks of `relu`, `abs`,
//! `clamp`, `max`, ...) and a closure applying the op, so [`OpCheck::run`]
//! is a plain call to [`gradcheck`].
//!
//! Finite differences say nothing at a tie or a kink, where the derivative
//! does not exist and the engine follows a convention (PyTorch's: ties split
//! the gradient evenly, `relu'(0) = 0`, ...). Those cases are [`TieCheck`]s:
//! the gradient is compared with a closed-form expectation instead.
//!
//! ```
//! use micrograd_plus::{gradcheck::OpCheck, Tensor};
//! let check = OpCheck::new("sigmoid", "", vec![Tensor::randn(&[3], 1)], |t| Ok(t[0].sigmoid()));
//! assert!(check.run().unwrap().passed);
//! ```

use super::{gradcheck, worse, GradcheckOptions, GradcheckReport};
use crate::tensor::{DType, Tensor};
use crate::Result;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use std::fmt;
use std::sync::Arc;

/// What the per-op check lists (each op file's `gradchecks` module) use.
pub(crate) mod prelude {
    pub(crate) use super::{
        f64_tensor, weigh_pieces, BinaryOp, Domain, Gen, OpCheck, ReduceAll, ReduceDims, UnaryOp,
    };
    pub(crate) use crate::tensor::Tensor;
}

/// The function a check differentiates: inputs (f64 leaves) to one output.
type CheckFn = dyn Fn(&[Tensor]) -> Result<Tensor> + Send + Sync;

/// One gradient check: an op applied to seeded inputs of given shapes.
///
/// ```
/// use micrograd_plus::{gradcheck::OpCheck, Tensor};
/// let x = Tensor::randn(&[2, 3], 7);
/// let check = OpCheck::new("tanh", "", vec![x], |t| Ok(t[0].tanh()));
/// assert_eq!(check.shapes, "(2,3)");
/// assert!(check.run().unwrap().passed);
/// ```
#[derive(Clone)]
pub struct OpCheck {
    /// The op under test, as the engine names it (`"matmul"`, `"sum"`, ...).
    pub op: &'static str,
    /// Shapes of the inputs, e.g. `"(2,3)+(3,)"` (`"()"` is a 0-d tensor).
    pub shapes: String,
    /// What else distinguishes this case: dims, keepdim, parameters, ...
    pub detail: String,
    /// The inputs (f64), each checked element by element.
    pub inputs: Vec<Tensor>,
    /// Finite-difference step, tolerance and output-weight seed.
    pub opts: GradcheckOptions,
    f: Arc<CheckFn>,
}

impl OpCheck {
    /// A check of `f` at `inputs` (converted to f64) with default options;
    /// `shapes` is filled in from the inputs.
    ///
    /// ```
    /// use micrograd_plus::{gradcheck::OpCheck, Tensor};
    /// let c = OpCheck::new("mul", "broadcast", vec![Tensor::zeros(&[2, 3]), Tensor::zeros(&[3])],
    ///     |t| t[0].mul(&t[1]));
    /// assert_eq!(c.shapes, "(2,3)+(3,)");
    /// ```
    pub fn new(
        op: &'static str,
        detail: impl Into<String>,
        inputs: Vec<Tensor>,
        f: impl Fn(&[Tensor]) -> Result<Tensor> + Send + Sync + 'static,
    ) -> OpCheck {
        let (inputs, shapes) = f64_inputs(&inputs);
        OpCheck {
            op,
            shapes,
            detail: detail.into(),
            inputs,
            opts: GradcheckOptions::default(),
            f: Arc::new(f),
        }
    }

    /// The same check with finite-difference step `eps`.
    ///
    /// ```
    /// use micrograd_plus::{gradcheck::OpCheck, Tensor};
    /// let c = OpCheck::new("exp", "", vec![Tensor::ones(&[1])], |t| Ok(t[0].exp())).with_eps(1e-5);
    /// assert_eq!(c.opts.eps, 1e-5);
    /// ```
    pub fn with_eps(mut self, eps: f64) -> OpCheck {
        self.opts.eps = eps;
        self
    }

    /// `op shapes detail`, for reports.
    ///
    /// ```
    /// use micrograd_plus::{gradcheck::OpCheck, Tensor};
    /// let c = OpCheck::new("sum", "dims=[1]", vec![Tensor::zeros(&[2, 3])], |t| t[0].sum_dims(&[1], false));
    /// assert_eq!(c.name(), "sum (2,3) dims=[1]");
    /// ```
    pub fn name(&self) -> String {
        if self.detail.is_empty() {
            format!("{} {}", self.op, self.shapes)
        } else {
            format!("{} {} {}", self.op, self.shapes, self.detail)
        }
    }

    /// Applies the checked function to `inputs` (normally [`OpCheck::inputs`]
    /// or tensors of the same shapes).
    ///
    /// ```
    /// use micrograd_plus::{gradcheck::OpCheck, Tensor};
    /// let c = OpCheck::new("neg", "", vec![Tensor::ones(&[2])], |t| Ok(t[0].neg()));
    /// assert_eq!(c.apply(&c.inputs).unwrap().to_vec::<f64>(), vec![-1.0, -1.0]);
    /// ```
    pub fn apply(&self, inputs: &[Tensor]) -> Result<Tensor> {
        (self.f)(inputs)
    }

    /// Runs [`gradcheck`] on this case.
    ///
    /// ```
    /// use micrograd_plus::gradcheck::op_checks;
    /// let check = op_checks().into_iter().find(|c| c.op == "gather").unwrap();
    /// let report = check.run().unwrap();
    /// assert!(report.passed && report.max_rel_error < 1e-6, "{}: {report:?}", check.name());
    /// ```
    pub fn run(&self) -> Result<GradcheckReport> {
        gradcheck(&*self.f, &self.inputs, self.opts)
    }
}

impl fmt::Debug for OpCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpCheck")
            .field("op", &self.op)
            .field("shapes", &self.shapes)
            .field("detail", &self.detail)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for OpCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A gradient at a tie or kink, where finite differences do not apply,
/// compared with the engine's documented convention.
///
/// `expected[i]` is the gradient of `sum(f(inputs))` with respect to input `i`.
///
/// ```
/// use micrograd_plus::{gradcheck::TieCheck, Tensor};
/// let x = Tensor::new([1.0f64, 3.0, 3.0]).unwrap();
/// let tie = TieCheck::new("max", "", vec![x], |t| t[0].max(), vec![vec![0.0, 0.5, 0.5]]);
/// assert_eq!(tie.run().unwrap(), 0.0);
/// ```
#[derive(Clone)]
pub struct TieCheck {
    /// The op under test.
    pub op: &'static str,
    /// Shapes of the inputs, as in [`OpCheck::shapes`].
    pub shapes: String,
    /// What the case is about ("two-way tie", "relu at 0", ...).
    pub detail: String,
    /// The inputs (f64).
    pub inputs: Vec<Tensor>,
    /// Expected gradient of `sum(f(inputs))` for each input, row-major.
    pub expected: Vec<Vec<f64>>,
    f: Arc<CheckFn>,
}

impl TieCheck {
    /// A tie case: `f` at `inputs`, whose gradient must equal `expected`.
    ///
    /// ```
    /// use micrograd_plus::{gradcheck::TieCheck, Tensor};
    /// let t = TieCheck::new("relu", "at 0", vec![Tensor::zeros(&[1])], |t| Ok(t[0].relu()), vec![vec![0.0]]);
    /// assert_eq!(t.shapes, "(1,)");
    /// ```
    pub fn new(
        op: &'static str,
        detail: impl Into<String>,
        inputs: Vec<Tensor>,
        f: impl Fn(&[Tensor]) -> Result<Tensor> + Send + Sync + 'static,
        expected: Vec<Vec<f64>>,
    ) -> TieCheck {
        let (inputs, shapes) = f64_inputs(&inputs);
        TieCheck {
            op,
            shapes,
            detail: detail.into(),
            inputs,
            expected,
            f: Arc::new(f),
        }
    }

    /// `op shapes detail`, for reports.
    ///
    /// ```
    /// use micrograd_plus::gradcheck::tie_checks;
    /// assert!(tie_checks()[0].name().starts_with("max "));
    /// ```
    pub fn name(&self) -> String {
        format!("{} {} {}", self.op, self.shapes, self.detail)
    }

    /// Backpropagates `sum(f(inputs))` and returns the largest
    /// `|gradient − expected|` over all input elements: NaN if a gradient is
    /// NaN, infinite if `expected` does not match the inputs in number or size.
    /// An input that receives no gradient counts as all zeros.
    ///
    /// ```
    /// use micrograd_plus::{gradcheck::TieCheck, Tensor};
    /// let x = Tensor::new([2.0f64, 2.0]).unwrap();
    /// let wrong = TieCheck::new("min", "", vec![x], |t| t[0].min(), vec![vec![1.0, 0.0]]);
    /// assert_eq!(wrong.run().unwrap(), 0.5); // the engine splits the tie: [0.5, 0.5]
    /// ```
    pub fn run(&self) -> Result<f64> {
        let leaves: Vec<Tensor> = self
            .inputs
            .iter()
            .map(|t| t.detach().requires_grad(true))
            .collect();
        (self.f)(&leaves)?.sum().backward()?;
        if self.expected.len() != leaves.len() {
            return Ok(f64::INFINITY);
        }
        let mut worst = 0.0f64;
        for (leaf, expected) in leaves.iter().zip(&self.expected) {
            let got = leaf
                .grad()
                .map(|g| g.to_vec::<f64>())
                .unwrap_or_else(|| vec![0.0; leaf.numel()]);
            if got.len() != expected.len() {
                return Ok(f64::INFINITY);
            }
            for (g, e) in got.iter().zip(expected) {
                worst = worse(worst, (g - e).abs());
            }
        }
        Ok(worst)
    }
}

impl fmt::Debug for TieCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TieCheck")
            .field("op", &self.op)
            .field("shapes", &self.shapes)
            .field("detail", &self.detail)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

/// The inputs converted to f64, and their shapes as `"(2,3)+(3,)"`.
fn f64_inputs(inputs: &[Tensor]) -> (Vec<Tensor>, String) {
    let inputs: Vec<Tensor> = inputs.iter().map(|t| t.to_dtype(DType::F64)).collect();
    let shapes = inputs
        .iter()
        .map(|t| shape_str(t.shape()))
        .collect::<Vec<_>>()
        .join("+");
    (inputs, shapes)
}

/// `(2,3)`, `(3,)` or `()`, the way Python prints shapes (without spaces).
fn shape_str(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

pub(crate) fn f64_tensor(data: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(data, shape).expect("generated data fills its shape")
}

/// Seeded input generators; every call uses the next seed, so the whole
/// catalogue is reproducible.
pub(crate) struct Gen {
    seed: u64,
}

impl Gen {
    /// The generator the catalogue starts from: the first draw uses seed 1.
    pub(crate) fn new() -> Gen {
        Gen { seed: 0 }
    }

    pub(crate) fn next_seed(&mut self) -> u64 {
        self.seed += 1;
        self.seed
    }

    /// Standard normal values.
    pub(crate) fn randn(&mut self, shape: &[usize]) -> Tensor {
        Tensor::randn(shape, self.next_seed()).to_dtype(DType::F64)
    }

    /// Uniform in [0.5, 2): inside the domain of log, sqrt and a pow base.
    pub(crate) fn positive(&mut self, shape: &[usize]) -> Tensor {
        let v = Tensor::rand(shape, self.next_seed()).to_vec::<f64>();
        f64_tensor(v.into_iter().map(|u| 0.5 + 1.5 * u).collect(), shape)
    }

    /// Normal values pushed out of (-0.5, 0.5): safe divisors of either sign.
    pub(crate) fn away(&mut self, shape: &[usize]) -> Tensor {
        let v = self.randn(shape).to_vec::<f64>();
        f64_tensor(
            v.into_iter()
                .map(|x| x.signum() * (0.5 + x.abs()))
                .collect(),
            shape,
        )
    }

    /// Distinct, well separated values shared out over several tensors:
    /// a shuffle of `0.1 + 0.2k` (k = −n/2 .. n/2) with jitter under 0.01.
    /// Every value has `|x| > 0.05` and any two differ by more than 0.15,
    /// so relu/abs/clamp/max/min/maximum/minimum are smooth within reach of
    /// the finite-difference step. Clamp bounds at even multiples of 0.1
    /// stay 0.09 away from every value.
    pub(crate) fn spread(&mut self, shapes: &[&[usize]]) -> Vec<Tensor> {
        let mut rng = StdRng::seed_from_u64(self.next_seed());
        let n: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
        let half = (n / 2) as f64;
        let mut values: Vec<f64> = (0..n)
            .map(|i| 0.1 + 0.2 * (i as f64 - half) + rng.gen_range(-0.01..0.01))
            .collect();
        values.shuffle(&mut rng);
        let mut rest = &values[..];
        shapes
            .iter()
            .map(|shape| {
                let (mine, tail) = rest.split_at(shape.iter().product());
                rest = tail;
                f64_tensor(mine.to_vec(), shape)
            })
            .collect()
    }

    /// Normal values rounded to multiples of 1/64: exactly representable in
    /// f32, and so is `x ± 2⁻¹⁰`, which makes f64→f32 round trips exact.
    pub(crate) fn quantized(&mut self, shape: &[usize]) -> Tensor {
        let v = self.randn(shape).to_vec::<f64>();
        f64_tensor(
            v.into_iter().map(|x| (x * 64.0).round() / 64.0).collect(),
            shape,
        )
    }
}

/// Which values a binary op's operands need.
#[derive(Clone, Copy)]
pub(crate) enum Domain {
    /// Any values.
    Any,
    /// Right operand away from 0 (a divisor).
    NonZeroRhs,
    /// Left operand positive (a pow base).
    PositiveLhs,
    /// All values distinct and well separated (maximum, minimum).
    Separated,
}

impl Gen {
    pub(crate) fn pair(&mut self, domain: Domain, a: &[usize], b: &[usize]) -> [Tensor; 2] {
        match domain {
            Domain::Any => [self.randn(a), self.randn(b)],
            Domain::NonZeroRhs => [self.randn(a), self.away(b)],
            Domain::PositiveLhs => [self.positive(a), self.randn(b)],
            Domain::Separated => {
                let mut v = self.spread(&[a, b]);
                let b = v.pop().expect("two tensors");
                [v.pop().expect("two tensors"), b]
            }
        }
    }
}

/// `Σᵢ (i+1) · sum(pᵢ ⊙ rᵢ)` with a fixed random `rᵢ` per piece: every piece,
/// and every element of it, reaches the output with a different weight.
pub(crate) fn weigh_pieces(pieces: &[Tensor]) -> Result<Tensor> {
    let mut total = Tensor::scalar(0.0f64);
    for (i, p) in pieces.iter().enumerate() {
        let r = Tensor::randn(p.shape(), 1000 + i as u64).to_dtype(DType::F64);
        total = total.add(&p.mul(&r)?.sum().mul_scalar((i + 1) as f64))?;
    }
    Ok(total)
}

pub(crate) type BinaryOp = fn(&Tensor, &Tensor) -> Result<Tensor>;
pub(crate) type UnaryOp = fn(&Tensor) -> Tensor;
pub(crate) type ReduceAll = fn(&Tensor) -> Tensor;
pub(crate) type ReduceDims = fn(&Tensor, &[isize], bool) -> Result<Tensor>;
