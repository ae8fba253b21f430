//! The gradient-check catalogue: one [`OpCheck`] for every differentiable op
//! of the tensor engine and every shape case worth checking, shared by the
//! test suite (`tests/gradcheck_ops.rs`) and the `mgp gradcheck` command.
//!
//! Each op family's checks live with the op, in a `gradchecks` module at the
//! end of its file under `tensor/ops/` (binary, unary, reduce, softmax,
//! matmul, linear, layout, index, select, conv, pool, batch_norm);
//! [`op_checks`] concatenates them, in a fixed order since the inputs'
//! seeds run on from one list to the next. The lists that span several op
//! files (scans and sorts, rearrangements, dtype conversion, composites,
//! losses, similarity and dropout, the layers of issue 14) are still here.
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
//! use micrograd_plus::gradcheck::{op_checks, tie_checks};
//! let checks = op_checks();
//! assert!(checks.iter().any(|c| c.op == "matmul" && c.shapes == "(2,1,3,4)+(3,4,2)"));
//! let report = checks.iter().find(|c| c.op == "softmax").unwrap().run().unwrap();
//! assert!(report.passed, "{report:?}");
//! assert!(tie_checks().iter().all(|t| t.run().unwrap() < 1e-12));
//! ```

use super::{gradcheck, worse, GradcheckOptions, GradcheckReport};
use crate::tensor::ops;
use crate::tensor::ops::padding::PadMode;
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
        let inputs: Vec<Tensor> = inputs.iter().map(|t| t.to_dtype(DType::F64)).collect();
        OpCheck {
            op,
            shapes: inputs
                .iter()
                .map(|t| shape_str(t.shape()))
                .collect::<Vec<_>>()
                .join("+"),
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
        let inputs: Vec<Tensor> = inputs.iter().map(|t| t.to_dtype(DType::F64)).collect();
        TieCheck {
            op,
            shapes: inputs
                .iter()
                .map(|t| shape_str(t.shape()))
                .collect::<Vec<_>>()
                .join("+"),
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

fn dtype_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    // Through f32 the finite differences are exact only for f32-representable
    // points: inputs on a 1/64 grid, step 2⁻¹⁰, functions linear in each input.
    // The analytic gradient passes through f32 too, so it is off by at most
    // 2⁻²⁴ relative (6e-8).
    let eps = 1.0 / 1024.0;
    out.push(
        OpCheck::new(
            "to_dtype",
            "f64 → f32 → f64",
            vec![g.quantized(&[2, 3])],
            |t| Ok(t[0].to_dtype(DType::F32).to_dtype(DType::F64)),
        )
        .with_eps(eps),
    );
    out.push(
        OpCheck::new(
            "to_dtype",
            "f32 · f64 promotes (mul)",
            vec![g.quantized(&[2, 3]), g.quantized(&[3])],
            |t| t[0].to_dtype(DType::F32).mul(&t[1]),
        )
        .with_eps(eps),
    );
    out.push(
        OpCheck::new(
            "to_dtype",
            "f32 · f64 promotes (matmul)",
            vec![g.quantized(&[2, 3]), g.quantized(&[3, 2])],
            |t| t[0].matmul(&t[1].to_dtype(DType::F32)),
        )
        .with_eps(eps),
    );
    out.push(
        OpCheck::new(
            "to_dtype",
            "f32 and f64 promote (cat)",
            vec![g.quantized(&[2, 3]), g.quantized(&[1, 3])],
            |t| Tensor::cat(&[t[0].to_dtype(DType::F32), t[1].clone()], 0),
        )
        .with_eps(eps),
    );
    let mask = f64_tensor(vec![1.0, 0.0, 1.0], &[3]);
    out.push(
        OpCheck::new(
            "to_dtype",
            "f32 and f64 promote (where)",
            vec![g.quantized(&[2, 3]), g.quantized(&[3])],
            move |t| Tensor::where_(&mask, &t[0].to_dtype(DType::F32), &t[1]),
        )
        .with_eps(eps),
    );
}

fn composite_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    out.push(OpCheck::new(
        "composite",
        "x*x + exp(x)*x",
        vec![g.randn(&[3, 4])],
        |t| {
            let x = &t[0];
            x.mul(x)?.add(&x.exp().mul(x)?)
        },
    ));
    out.push(OpCheck::new(
        "composite",
        "x ** x",
        vec![g.positive(&[2, 3])],
        |t| t[0].pow(&t[0]),
    ));
    out.push(OpCheck::new(
        "composite",
        "x · xᵀ",
        vec![g.randn(&[3, 4])],
        |t| t[0].matmul(&t[0].t()?),
    ));
    out.push(OpCheck::new(
        "composite",
        "sigmoid(x)·tanh(x) + sum(x)",
        vec![g.randn(&[2, 3])],
        |t| {
            let x = &t[0];
            x.sigmoid().mul(&x.tanh())?.add(&x.sum())
        },
    ));
    out.push(OpCheck::new(
        "composite",
        "2-layer MLP: log_softmax(tanh(x·W1 + b1)·W2 + b2)",
        vec![
            g.randn(&[4, 3]),
            g.randn(&[3, 5]),
            g.randn(&[5]),
            g.randn(&[5, 2]),
            g.randn(&[2]),
        ],
        |t| {
            let h = t[0].matmul(&t[1])?.add(&t[2])?.tanh();
            h.matmul(&t[3])?.add(&t[4])?.log_softmax(-1)
        },
    ));
    out.push(OpCheck::new(
        "composite",
        "layer norm over the last dim, with gain and bias",
        vec![g.randn(&[3, 4]), g.randn(&[4]), g.randn(&[4])],
        |t| {
            let x = &t[0];
            let centred = x.sub(&x.mean_dims(&[-1], true)?)?;
            let scale = x.var_dims(&[-1], 0, true)?.add_scalar(1e-5).sqrt();
            centred.div(&scale)?.mul(&t[1])?.add(&t[2])
        },
    ));
    let targets = f64_tensor(vec![2.0, 0.0, 1.0, 2.0], &[4, 1]);
    out.push(OpCheck::new(
        "composite",
        "cross-entropy: -mean(gather(log_softmax(x), targets))",
        vec![g.randn(&[4, 3])],
        move |t| Ok(t[0].log_softmax(1)?.gather(1, &targets)?.mean().neg()),
    ));
    out.push(OpCheck::new(
        "composite",
        "attention: softmax(q·kᵀ/2)·v",
        vec![g.randn(&[3, 4]), g.randn(&[3, 4]), g.randn(&[3, 4])],
        |t| {
            let scores = t[0].matmul(&t[1].t()?)?.div_scalar(2.0);
            scores.softmax(-1)?.matmul(&t[2])
        },
    ));
}

/// The layers issue 14 added: conv1d (plain, strided and dilated, grouped,
/// 'same'), conv2d padding='same' with odd totals, conv_transpose2d over
/// stride, padding, output_padding, dilation and groups, max pooling with
/// dilation and ceil mode (well-separated values), average pooling with
/// ceil mode, 1-d pools, adaptive max pooling, interpolate in every mode,
/// group norm and instance norm.
fn layer_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    use crate::tensor::ops::conv_padding::ConvPadding;
    use crate::tensor::ops::conv_transpose::ConvTranspose;
    use crate::tensor::ops::interpolate::InterpolateMode;
    // (detail, input, weight, stride, padding, dilation, groups)
    type Conv1dCase = (
        &'static str,
        &'static [usize],
        &'static [usize],
        usize,
        usize,
        usize,
        usize,
    );
    let cases: [Conv1dCase; 4] = [
        ("k3", &[2, 3, 7], &[4, 3, 3], 1, 0, 1, 1),
        ("stride 2, padding 1", &[2, 2, 8], &[3, 2, 2], 2, 1, 1, 1),
        ("dilation 2, groups 2", &[1, 4, 9], &[2, 2, 3], 1, 2, 2, 2),
        ("unbatched", &[3, 6], &[2, 3, 4], 1, 1, 1, 1),
    ];
    for (detail, xs, ws, stride, padding, dilation, groups) in cases {
        let inputs = vec![g.randn(xs), g.randn(ws), g.randn(&[ws[0]])];
        out.push(OpCheck::new("conv1d", detail, inputs, move |t| {
            t[0].conv1d(&t[1], Some(&t[2]), stride, padding, dilation, groups)
        }));
    }
    out.push(OpCheck::new(
        "conv1d",
        "padding='same', k4 (odd total)",
        vec![g.randn(&[2, 2, 6]), g.randn(&[3, 2, 4])],
        |t| t[0].conv1d_with_padding(&t[1], None, 1, ConvPadding::Same, 1, 1),
    ));
    for (detail, xs, ws, dilation) in [
        (
            "padding='same', 2x3 (odd total)",
            &[1, 2, 5, 6][..],
            &[3, 2, 2, 3][..],
            (1, 1),
        ),
        (
            "padding='same', 3x2, dilation (2, 3)",
            &[2, 2, 6, 5],
            &[2, 2, 3, 2],
            (2, 3),
        ),
    ] {
        let inputs = vec![g.randn(xs), g.randn(ws), g.randn(&[ws[0]])];
        out.push(OpCheck::new("conv2d", detail, inputs, move |t| {
            t[0].conv2d_with_padding(&t[1], Some(&t[2]), (1, 1), ConvPadding::Same, dilation, 1)
        }));
    }
    type TransposeCase = (
        &'static str,
        &'static [usize],
        &'static [usize],
        bool,
        ConvTranspose,
    );
    let d = ConvTranspose::default();
    let cases: [TransposeCase; 5] = [
        ("3x3, bias", &[2, 3, 4, 3], &[3, 2, 3, 3], true, d),
        (
            "stride (2, 3), padding (1, 0), output_padding (1, 2)",
            &[1, 2, 3, 3],
            &[2, 3, 3, 4],
            true,
            ConvTranspose {
                stride: (2, 3),
                padding: (1, 0),
                output_padding: (1, 2),
                ..d
            },
        ),
        (
            "dilation (2, 1), output_padding (1, 0)",
            &[2, 2, 3, 4],
            &[2, 2, 2, 3],
            false,
            ConvTranspose {
                dilation: (2, 1),
                output_padding: (1, 0),
                ..d
            },
        ),
        (
            "groups 2, stride 2",
            &[2, 4, 3, 2],
            &[4, 3, 2, 2],
            true,
            ConvTranspose {
                groups: 2,
                stride: (2, 2),
                ..d
            },
        ),
        ("unbatched 1x1", &[3, 2, 3], &[3, 2, 1, 1], true, d),
    ];
    for (detail, xs, ws, bias, settings) in cases {
        let mut inputs = vec![g.randn(xs), g.randn(ws)];
        if bias {
            inputs.push(g.randn(&[ws[1] * settings.groups]));
        }
        out.push(OpCheck::new("conv_transpose2d", detail, inputs, move |t| {
            t[0].conv_transpose2d(&t[1], t.get(2), &settings)
        }));
    }
    // (input, kernel, stride, padding, dilation, ceil_mode)
    type PoolCase = (
        &'static [usize],
        (usize, usize),
        (usize, usize),
        (usize, usize),
        (usize, usize),
        bool,
    );
    let cases: [PoolCase; 3] = [
        (&[2, 2, 7, 6], (3, 2), (2, 2), (1, 1), (2, 1), false),
        (&[1, 3, 5, 7], (2, 3), (2, 2), (1, 0), (1, 2), true),
        (&[3, 6, 5], (2, 2), (3, 2), (0, 1), (1, 1), true),
    ];
    for (shape, kernel, stride, padding, dilation, ceil) in cases {
        let detail = format!("kernel={kernel:?} stride={stride:?} padding={padding:?} dilation={dilation:?} ceil_mode={ceil}");
        let x = g.spread(&[shape]).remove(0);
        out.push(OpCheck::new("max_pool2d", detail, vec![x], move |t| {
            t[0].max_pool2d_with(kernel, stride, padding, dilation, ceil)
        }));
        if dilation == (1, 1) {
            for include in [true, false] {
                out.push(OpCheck::new(
                    "avg_pool2d",
                    format!("kernel={kernel:?} stride={stride:?} padding={padding:?} ceil_mode={ceil} count_include_pad={include}"),
                    vec![g.randn(shape)],
                    move |t| t[0].avg_pool2d_with(kernel, stride, padding, ceil, include),
                ));
            }
        }
    }
    for (shape, k, s, p, dil, ceil) in [
        (&[2, 3, 9][..], 3, 2, 1, 2, true),
        (&[3, 8], 2, 2, 0, 1, false),
    ] {
        let detail = format!("kernel={k} stride={s} padding={p} dilation={dil} ceil_mode={ceil}");
        let x = g.spread(&[shape]).remove(0);
        out.push(OpCheck::new("max_pool1d", detail, vec![x], move |t| {
            t[0].max_pool1d(k, s, p, dil, ceil)
        }));
        out.push(OpCheck::new(
            "avg_pool1d",
            format!("kernel={k} stride={s} padding={p} ceil_mode={ceil}"),
            vec![g.randn(shape)],
            move |t| t[0].avg_pool1d(k, s, p, ceil, false),
        ));
    }
    for (shape, size) in [(&[2, 3, 5, 7][..], (3, 4)), (&[1, 2, 3, 3], (5, 4))] {
        let x = g.spread(&[shape]).remove(0);
        out.push(OpCheck::new(
            "adaptive_max_pool2d",
            format!("output_size={size:?}"),
            vec![x],
            move |t| t[0].adaptive_max_pool2d(size),
        ));
    }
    type ResizeCase = (
        &'static [usize],
        Option<&'static [usize]>,
        Option<&'static [f64]>,
        InterpolateMode,
        Option<bool>,
    );
    let cases: [ResizeCase; 6] = [
        (
            &[2, 2, 3, 4],
            Some(&[5, 7]),
            None,
            InterpolateMode::Nearest,
            None,
        ),
        (
            &[1, 2, 4, 3],
            None,
            Some(&[1.5, 2.0]),
            InterpolateMode::Bilinear,
            Some(false),
        ),
        (
            &[1, 1, 3, 5],
            Some(&[4, 2]),
            None,
            InterpolateMode::Bilinear,
            Some(true),
        ),
        (
            &[2, 2, 5],
            Some(&[8]),
            None,
            InterpolateMode::Linear,
            Some(false),
        ),
        (
            &[1, 3, 4],
            None,
            Some(&[2.5]),
            InterpolateMode::Linear,
            Some(true),
        ),
        (
            &[1, 2, 5],
            None,
            Some(&[0.5]),
            InterpolateMode::Nearest,
            None,
        ),
    ];
    for (shape, size, factor, mode, align) in cases {
        out.push(OpCheck::new(
            "interpolate",
            format!(
                "{} size={size:?} scale_factor={factor:?} align_corners={align:?}",
                mode.name()
            ),
            vec![g.randn(shape)],
            move |t| t[0].interpolate(size, factor, mode, align),
        ));
    }
    for (shape, groups) in [(&[2, 6, 5][..], 3), (&[2, 4, 3, 3], 2), (&[3, 4], 1)] {
        let c = shape[1];
        out.push(OpCheck::new(
            "group_norm",
            format!("num_groups={groups}"),
            vec![g.randn(shape), g.positive(&[c]), g.randn(&[c])],
            move |t| t[0].group_norm(groups, Some(&t[1]), Some(&t[2]), 1e-5),
        ));
    }
    out.push(OpCheck::new(
        "instance_norm",
        "input statistics, affine",
        vec![g.randn(&[2, 3, 4, 3]), g.positive(&[3]), g.randn(&[3])],
        |t| t[0].instance_norm(None, None, Some(&t[1]), Some(&t[2]), true, 0.1, 1e-5),
    ));
    let (rm, rv) = (g.randn(&[3]), g.positive(&[3]));
    out.push(OpCheck::new(
        "instance_norm",
        "running statistics",
        vec![g.randn(&[2, 3, 5])],
        move |t| t[0].instance_norm(Some(&rm), Some(&rv), None, None, false, 0.1, 1e-5),
    ));
}

/// prod, cumsum, cumprod, vector norms, max/min over a dim with indices,
/// sort and topk. Products and norms get inputs away from 0 (their kinks
/// and their zero branches are tie checks); max/min, sort and topk get
/// distinct, separated values.
fn scan_and_sort_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    let s = &[2, 3, 4];
    out.push(OpCheck::new(
        "prod",
        "all elements",
        vec![g.away(&[2, 3])],
        |t| Ok(t[0].prod()),
    ));
    for (dim, keepdim) in [(0, false), (1, true), (-1, false)] {
        out.push(OpCheck::new(
            "prod",
            format!("dim={dim}, keepdim={keepdim}"),
            vec![g.away(s)],
            move |t| t[0].prod_dim(dim, keepdim),
        ));
    }
    for dim in [0, 1, -1] {
        out.push(OpCheck::new(
            "cumsum",
            format!("dim={dim}"),
            vec![g.randn(s)],
            move |t| t[0].cumsum(dim),
        ));
        out.push(OpCheck::new(
            "cumprod",
            format!("dim={dim}"),
            vec![g.away(s)],
            move |t| t[0].cumprod(dim),
        ));
    }
    for ord in [
        2.0,
        1.0,
        3.0,
        1.5,
        0.5,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        // ±∞ norms pick one element: distinct values keep that choice
        // stable under the finite-difference step.
        let x = if ord.is_infinite() || ord == 1.0 {
            g.spread(&[&[3, 4]]).remove(0)
        } else {
            g.away(&[3, 4])
        };
        out.push(OpCheck::new(
            "vector_norm",
            format!("ord={ord}, dims=[1]"),
            vec![x],
            move |t| t[0].vector_norm(ord, &[1], false),
        ));
    }
    out.push(OpCheck::new(
        "vector_norm",
        "ord=2, all elements, keepdim",
        vec![g.randn(s)],
        |t| t[0].vector_norm(2.0, &[], true),
    ));
    for (op, largest) in [("max_dim", true), ("min_dim", false)] {
        for (dim, keepdim) in [(1, false), (-1, true)] {
            let x = g.spread(&[s]).remove(0);
            out.push(OpCheck::new(
                op,
                format!("dim={dim}, keepdim={keepdim}"),
                vec![x],
                move |t| {
                    let (values, _) = if largest {
                        t[0].max_dim(dim, keepdim)?
                    } else {
                        t[0].min_dim(dim, keepdim)?
                    };
                    Ok(values)
                },
            ));
        }
    }
    for (dim, descending) in [(1, false), (-1, true)] {
        let x = g.spread(&[s]).remove(0);
        out.push(OpCheck::new(
            "sort",
            format!("dim={dim}, descending={descending}"),
            vec![x],
            move |t| Ok(t[0].sort(dim, descending, false)?.0),
        ));
    }
    for (k, largest, sorted) in [(2, true, true), (3, false, true), (2, true, false)] {
        let x = g.spread(&[s]).remove(0);
        out.push(OpCheck::new(
            "topk",
            format!("k={k}, largest={largest}, sorted={sorted}"),
            vec![x],
            move |t| Ok(t[0].topk(k, -1, largest, sorted)?.0),
        ));
    }
}

/// flip, roll, repeat, tril/triu, outer, bmm, pixel_shuffle and the padding
/// modes: each output element is an input element (or a product, for outer
/// and bmm), so any values do; and normalize and glu (the norm's inputs
/// away from 0).
fn rearrange_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    let s = &[2, 3, 4];
    out.push(OpCheck::new("flip", "dims=[0, 2]", vec![g.randn(s)], |t| {
        t[0].flip(&[0, 2])
    }));
    out.push(OpCheck::new(
        "roll",
        "shifts=[1, -2], dims=[0, 2]",
        vec![g.randn(s)],
        |t| t[0].roll(&[1, -2], &[0, 2]),
    ));
    out.push(OpCheck::new(
        "roll",
        "flattened, shift 5",
        vec![g.randn(s)],
        |t| t[0].roll(&[5], &[]),
    ));
    out.push(OpCheck::new(
        "repeat",
        "[2, 1, 3, 1]",
        vec![g.randn(s)],
        |t| t[0].repeat(&[2, 1, 3, 1]),
    ));
    for k in [0, -1, 2] {
        out.push(OpCheck::new(
            "tril",
            format!("diagonal={k}"),
            vec![g.randn(s)],
            move |t| t[0].tril(k),
        ));
        out.push(OpCheck::new(
            "triu",
            format!("diagonal={k}"),
            vec![g.randn(s)],
            move |t| t[0].triu(k),
        ));
    }
    out.push(OpCheck::new(
        "outer",
        "",
        vec![g.randn(&[3]), g.randn(&[4])],
        |t| t[0].outer(&t[1]),
    ));
    out.push(OpCheck::new(
        "bmm",
        "",
        vec![g.randn(s), g.randn(&[2, 4, 3])],
        |t| t[0].bmm(&t[1]),
    ));
    out.push(OpCheck::new(
        "pixel_shuffle",
        "r=2",
        vec![g.randn(&[2, 8, 2, 3])],
        |t| t[0].pixel_shuffle(2),
    ));
    for p in [2.0, 1.0, 3.0] {
        out.push(OpCheck::new(
            "normalize",
            format!("p={p}, dim=1"),
            vec![g.away(&[3, 4])],
            move |t| t[0].normalize(p, 1, 1e-12),
        ));
    }
    out.push(OpCheck::new("glu", "dim=-1", vec![g.randn(&[3, 4])], |t| {
        t[0].glu(-1)
    }));
    for (mode, name) in [
        (PadMode::Constant(0.5), "constant"),
        (PadMode::Reflect, "reflect"),
        (PadMode::Replicate, "replicate"),
    ] {
        out.push(OpCheck::new(
            "pad",
            format!("{name}, [2, 1, -1, 2]"),
            vec![g.randn(&[1, 2, 3, 4])],
            move |t| t[0].pad_with(&[2, 1, -1, 2], mode),
        ));
    }
}

/// The losses of issue 14, each over its reductions and options, with
/// every differentiable argument checked: inputs kept off the hinges'
/// kinks (`spread` values for the ranking margins), variances and rates
/// positive, and Poisson targets away from 1 where `full` switches its
/// Stirling term on.
fn loss_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    use crate::nn::loss::{
        CosineEmbeddingLoss, GaussianNLLLoss, MarginRankingLoss, MultiLabelSoftMarginLoss,
        PoissonNLLLoss, Reduction, SoftMarginLoss, TripletMarginLoss,
    };
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
    let y = f64_tensor(vec![1.0, -1.0, 1.0, -1.0], &[4]);
    for (reduction, margin) in [(Reduction::Sum, 0.0), (Reduction::None, -0.5)] {
        let (y, loss) = (
            y.clone(),
            CosineEmbeddingLoss::new()
                .reduction(reduction)
                .margin(margin),
        );
        out.push(OpCheck::new(
            "CosineEmbeddingLoss",
            format!("{reduction:?}, margin={margin}"),
            vec![g.randn(&[4, 3]), g.randn(&[4, 3])],
            move |t| loss.forward(&t[0], &t[1], &y),
        ));
    }
    for (p, swap) in [(2.0, false), (1.0, true), (3.0, false)] {
        let loss = TripletMarginLoss::new().p(p).swap(swap).margin(2.0);
        out.push(OpCheck::new(
            "TripletMarginLoss",
            format!("p={p}, swap={swap}"),
            vec![g.randn(&[4, 3]), g.randn(&[4, 3]), g.randn(&[4, 3])],
            move |t| loss.forward(&t[0], &t[1], &t[2]),
        ));
    }
    out.push(OpCheck::new(
        "SoftMarginLoss",
        "target broadcast",
        vec![g.randn(&[3, 4])],
        |t| SoftMarginLoss::new().forward(&t[0], &f64_tensor(vec![1.0, -1.0, -1.0, 1.0], &[4])),
    ));
    let (target, weight) = (Tensor::rand(&[3, 4], 5), g.positive(&[4]));
    out.push(OpCheck::new(
        "MultiLabelSoftMarginLoss",
        "weight",
        vec![g.randn(&[3, 4])],
        move |t| {
            let loss = MultiLabelSoftMarginLoss::new().weight(weight.clone());
            loss.forward(&t[0], &target)
        },
    ));
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

/// cosine_similarity and pairwise_distance (norms kept away from 0 and
/// from the clamp), functional dropout under a fixed seed (so every
/// evaluation draws the same mask), and attention with a given scale.
fn similarity_and_dropout_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    for (dim, b_shape) in [(1, &[3, 4][..]), (0, &[3, 4][..]), (-1, &[4][..])] {
        out.push(OpCheck::new(
            "cosine_similarity",
            format!("dim={dim}"),
            vec![g.away(&[3, 4]), g.away(b_shape)],
            move |t| t[0].cosine_similarity(&t[1], dim, 1e-8),
        ));
    }
    for p in [2.0, 1.0, 3.0] {
        out.push(OpCheck::new(
            "pairwise_distance",
            format!("p={p}"),
            vec![g.randn(&[3, 4]), g.randn(&[3, 4])],
            move |t| t[0].pairwise_distance(&t[1], p, 1e-6, false),
        ));
    }
    out.push(OpCheck::new(
        "dropout",
        "p=0.3, fixed seed",
        vec![g.randn(&[3, 4])],
        |t| {
            crate::manual_seed(7);
            t[0].dropout(0.3, true)
        },
    ));
    for (scale, causal) in [(0.3, false), (-0.7, true)] {
        out.push(OpCheck::new(
            "scaled_dot_product_attention",
            format!("scale={scale}, causal={causal}"),
            vec![
                g.randn(&[2, 3, 4]),
                g.randn(&[2, 3, 4]),
                g.randn(&[2, 3, 2]),
            ],
            move |t| {
                Tensor::scaled_dot_product_attention(&t[0], &t[1], &t[2], None, causal, Some(scale))
            },
        ));
    }
}

/// Every gradient check of the catalogue, in a fixed order with fixed seeds.
///
/// Covers each differentiable op of the engine: binary ops with every kind of
/// broadcasting, scalar arithmetic, unary math and activations, reductions
/// over every dim with and without keepdim, softmax, all matmul shape rules,
/// layout and indexing ops, `where_`/`masked_fill`, dtype conversion, and
/// composites that reuse a tensor several times.
///
/// ```
/// use micrograd_plus::gradcheck::op_checks;
/// let checks = op_checks();
/// assert!(checks.len() > 200);
/// let sum_checks = checks.iter().filter(|c| c.op == "sum").count();
/// assert!(sum_checks >= 11);
/// ```
pub fn op_checks() -> Vec<OpCheck> {
    let mut g = Gen { seed: 0 };
    let mut out = Vec::new();
    ops::binary::gradchecks::binary_checks(&mut g, &mut out);
    ops::unary::gradchecks::scalar_checks(&mut g, &mut out);
    ops::unary::gradchecks::unary_checks(&mut g, &mut out);
    ops::unary::gradchecks::activation_checks(&mut g, &mut out);
    ops::reduce::gradchecks::reduction_checks(&mut g, &mut out);
    scan_and_sort_checks(&mut g, &mut out);
    ops::softmax::gradchecks::softmax_checks(&mut g, &mut out);
    ops::matmul::gradchecks::matmul_checks(&mut g, &mut out);
    ops::linear::gradchecks::linear_checks(&mut g, &mut out);
    ops::layout::gradchecks::layout_checks(&mut g, &mut out);
    rearrange_checks(&mut g, &mut out);
    ops::index::gradchecks::index_checks(&mut g, &mut out);
    ops::select::gradchecks::select_checks(&mut g, &mut out);
    dtype_checks(&mut g, &mut out);
    composite_checks(&mut g, &mut out);
    ops::conv::gradchecks::conv_checks(&mut g, &mut out);
    ops::pool::gradchecks::pool_checks(&mut g, &mut out);
    ops::batch_norm::gradchecks::batch_norm_checks(&mut g, &mut out);
    loss_checks(&mut g, &mut out);
    similarity_and_dropout_checks(&mut g, &mut out);
    layer_checks(&mut g, &mut out);
    out
}

/// Gradients at ties and kinks, with the expected values worked out by hand
/// (PyTorch's conventions): ties in max/min reductions and in
/// maximum/minimum split the gradient evenly; relu and abs have gradient 0
/// at 0; clamp passes the gradient at its bounds; leaky_relu and elu take
/// the negative side's slope (alpha) at 0.
///
/// ```
/// use micrograd_plus::gradcheck::tie_checks;
/// for tie in tie_checks() {
///     assert_eq!(tie.run().unwrap(), 0.0, "{}", tie.name());
/// }
/// ```
pub fn tie_checks() -> Vec<TieCheck> {
    let t = |v: Vec<f64>, shape: &[usize]| f64_tensor(v, shape);
    let third = 1.0 / 3.0;
    vec![
        TieCheck::new(
            "max",
            "two-way tie, all elements",
            vec![t(vec![1.0, 3.0, 3.0, 2.0], &[2, 2])],
            |x| x[0].max(),
            vec![vec![0.0, 0.5, 0.5, 0.0]],
        ),
        TieCheck::new(
            "min",
            "three-way tie, all elements",
            vec![t(vec![2.0, 1.0, 1.0, 1.0, 5.0, 4.0], &[2, 3])],
            |x| x[0].min(),
            vec![vec![0.0, third, third, third, 0.0, 0.0]],
        ),
        TieCheck::new(
            "max",
            "ties in each row, dims=[1]",
            vec![t(vec![1.0, 3.0, 3.0, 2.0, 2.0, 2.0], &[2, 3])],
            |x| x[0].max_dims(&[1], false),
            vec![vec![0.0, 0.5, 0.5, third, third, third]],
        ),
        TieCheck::new(
            "min",
            "tie in one column, dims=[0], keepdim",
            vec![t(vec![1.0, 2.0, 1.0, 3.0], &[2, 2])],
            |x| x[0].min_dims(&[0], true),
            vec![vec![0.5, 1.0, 0.5, 0.0]],
        ),
        TieCheck::new(
            "max",
            "ties over dims=[0, 2]",
            // [[[4, 1], [3, 3]], [[4, 0], [3, -1]]]: for dim-1 index 0 the
            // candidates are {4, 1, 4, 0} (two-way tie), for index 1 they are
            // {3, 3, 3, -1} (three-way tie).
            vec![t(vec![4.0, 1.0, 3.0, 3.0, 4.0, 0.0, 3.0, -1.0], &[2, 2, 2])],
            |x| x[0].max_dims(&[0, 2], false),
            vec![vec![0.5, 0.0, third, third, 0.5, 0.0, third, 0.0]],
        ),
        TieCheck::new(
            "maximum",
            "equal elements split",
            vec![t(vec![1.0, 2.0, 3.0], &[3]), t(vec![1.0, 5.0, 0.0], &[3])],
            |x| x[0].maximum(&x[1]),
            vec![vec![0.5, 0.0, 1.0], vec![0.5, 1.0, 0.0]],
        ),
        TieCheck::new(
            "minimum",
            "equal elements split, broadcast 0-d",
            vec![t(vec![1.0, 2.0, 2.0, 3.0], &[2, 2]), t(vec![2.0], &[])],
            |x| x[0].minimum(&x[1]),
            vec![vec![1.0, 0.5, 0.5, 0.0], vec![2.0]],
        ),
        TieCheck::new(
            "relu",
            "gradient 0 at 0",
            vec![t(vec![-1.0, 0.0, 2.0], &[3])],
            |x| Ok(x[0].relu()),
            vec![vec![0.0, 0.0, 1.0]],
        ),
        TieCheck::new(
            "abs",
            "gradient 0 at 0",
            vec![t(vec![-1.0, 0.0, 2.0], &[3])],
            |x| Ok(x[0].abs()),
            vec![vec![-1.0, 0.0, 1.0]],
        ),
        TieCheck::new(
            "clamp",
            "no gradient at the bounds (PyTorch 2.15)",
            vec![t(vec![-1.0, 0.0, 0.5, 1.0, 2.0], &[5])],
            |x| Ok(x[0].clamp(Some(0.0), Some(1.0))),
            vec![vec![0.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "leaky_relu",
            "slope alpha at 0",
            vec![t(vec![-1.0, 0.0, 2.0], &[3])],
            |x| Ok(x[0].leaky_relu(0.1)),
            vec![vec![0.1, 0.1, 1.0]],
        ),
        TieCheck::new(
            "elu",
            "slope alpha at 0",
            vec![t(vec![0.0, 1.0], &[2])],
            |x| Ok(x[0].elu(0.5)),
            vec![vec![0.5, 1.0]],
        ),
        TieCheck::new(
            "relu6",
            "gradient 0 at 0 and at 6",
            vec![t(vec![-1.0, 0.0, 3.0, 6.0, 7.0], &[5])],
            |x| Ok(x[0].relu6()),
            vec![vec![0.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "hardtanh",
            "gradient 0 at the bounds",
            vec![t(vec![-2.0, -1.0, 0.0, 1.0, 2.0], &[5])],
            |x| x[0].hardtanh(-1.0, 1.0),
            vec![vec![0.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "hardswish",
            "0 at -3, 1 at 3 (PyTorch 2.15)",
            vec![t(vec![-3.0, 0.0, 3.0], &[3])],
            |x| Ok(x[0].hardswish()),
            vec![vec![0.0, 0.5, 1.0]],
        ),
        TieCheck::new(
            "hardsigmoid",
            "0 at ±3",
            vec![t(vec![-3.0, 0.0, 3.0], &[3])],
            |x| Ok(x[0].hardsigmoid()),
            vec![vec![0.0, 1.0 / 6.0, 0.0]],
        ),
        TieCheck::new(
            "sign",
            "gradient 0 everywhere",
            vec![t(vec![-2.0, 0.0, 3.0], &[3])],
            |x| Ok(x[0].sign()),
            vec![vec![0.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "clamp",
            "tensor bounds: a tie with a bound splits, equal bounds give x all",
            vec![
                t(vec![0.0, 1.0, 0.5, 2.0], &[4]),
                t(vec![0.0, 0.0, 0.5, 1.0], &[4]),
                t(vec![1.0, 1.0, 0.5, 0.0], &[4]),
            ],
            |x| x[0].clamp_tensor(Some(&x[1]), Some(&x[2])),
            vec![
                vec![0.5, 0.5, 1.0, 0.0],
                vec![0.5, 0.0, 0.0, 0.0],
                vec![0.0, 0.5, 0.0, 1.0],
            ],
        ),
        TieCheck::new(
            "prod",
            "one zero: its gradient is the product of the others",
            vec![t(vec![2.0, 0.0, 3.0, 4.0], &[4])],
            |x| Ok(x[0].prod()),
            vec![vec![0.0, 24.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "prod",
            "two zeros in a row: all 0; one zero in the other",
            vec![t(vec![0.0, 2.0, 0.0, 5.0, 0.0, 3.0], &[2, 3])],
            |x| x[0].prod_dim(1, false),
            vec![vec![0.0, 0.0, 0.0, 0.0, 15.0, 0.0]],
        ),
        TieCheck::new(
            "cumprod",
            "a zero: the sum stops before it, 0 after it",
            vec![t(vec![2.0, 0.0, 3.0, 4.0], &[4])],
            |x| x[0].cumprod(0),
            // y = [2, 0, 0, 0]: dx0 = 1; dx1 = 2·(1 + 3 + 3·4) = 32.
            vec![vec![1.0, 32.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "vector_norm",
            "2-norm of zeros: gradient 0",
            vec![t(vec![0.0, 0.0, 3.0, -4.0], &[2, 2])],
            |x| x[0].vector_norm(2.0, &[1], false),
            vec![vec![0.0, 0.0, 0.6, -0.8]],
        ),
        TieCheck::new(
            "vector_norm",
            "∞-norm tie: split between the largest |x|",
            vec![t(vec![3.0, -3.0, 1.0], &[3])],
            |x| x[0].vector_norm(f64::INFINITY, &[], false),
            vec![vec![0.5, -0.5, 0.0]],
        ),
        TieCheck::new(
            "max_dim",
            "tie: the first index gets it all",
            vec![t(vec![1.0, 3.0, 3.0, 2.0, 2.0, 0.0], &[2, 3])],
            |x| Ok(x[0].max_dim(1, false)?.0),
            vec![vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "topk",
            "ties: PyTorch's choice (indices 2 and 4)",
            vec![t(vec![1.0, 3.0, 3.0, 2.0, 3.0, 1.0, 1.0], &[7])],
            |x| Ok(x[0].topk(2, 0, true, true)?.0),
            vec![vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "pad",
            "reflect: a mirrored element collects its copies' gradients",
            vec![t(vec![1.0, 2.0, 3.0], &[1, 3])],
            |x| x[0].pad_with(&[2, 1], PadMode::Reflect),
            // [3, 2, 1, 2, 3, 2]: element 1 appears 3 times, 2 once, 3 twice.
            vec![vec![1.0, 3.0, 2.0]],
        ),
        TieCheck::new(
            "embedding",
            "padding_idx=-1: the padding row is read but gets no gradient",
            vec![t(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])],
            |x| {
                let ids = f64_tensor(vec![0.0, 2.0, 2.0, 1.0], &[4]);
                crate::nn::embedding::embedding(&ids, &x[0], Some(-1))
            },
            vec![vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "cosine_similarity",
            "‖a‖ below eps: PyTorch's gradient, as if the norm were not clamped",
            vec![t(vec![0.25, 0.0], &[2]), t(vec![1.0, 0.0], &[2])],
            |x| x[0].cosine_similarity(&x[1], 0, 0.5),
            // â = a/0.5 = [0.5, 0]; d/da = b̂/0.5 − (a·b̂)/0.5² · a/‖a‖ = [2, 0] − [1, 0]
            // (the derivative of the clamped value would be [2, 0]); d/db = 0 (parallel)
            vec![vec![1.0, 0.0], vec![0.0, 0.0]],
        ),
    ]
}
