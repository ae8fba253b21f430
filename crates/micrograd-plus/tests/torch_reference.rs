//! Compares every op against values recorded from PyTorch.
//!
//! `tests/data/torch_reference.json` (written by
//! `scripts/record_torch_reference.py`) holds, for each case, the inputs, the
//! forward output, an upstream gradient `grad_output` and the gradients of
//! `sum(output * grad_output)` with respect to every input that requires one.
//! This test rebuilds each case with the engine, runs the same op forward and
//! backward, and checks shapes exactly and values to
//! `|engine - torch| <= atol + rtol * |torch|`:
//!
//! | dtype | rtol  | atol  |
//! |-------|-------|-------|
//! | f32   | 1e-5  | 1e-6  |
//! | f64   | 1e-10 | 1e-12 |
//!
//! Every case must be handled: an op this file does not know is a failure, so
//! nothing in the file is silently skipped. All mismatches are collected and
//! reported together at the end.

use micrograd_plus::{DType, Tensor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/torch_reference.json"
);

#[derive(Deserialize)]
struct Reference {
    torch_version: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    op: String,
    args: Value,
    dtype: String,
    inputs: Vec<Input>,
    output: Option<Data>,
    grad_output: Option<Data>,
    outputs: Option<Vec<Data>>,
    grad_outputs: Option<Vec<Data>>,
    grads: Vec<Option<Data>>,
}

#[derive(Deserialize)]
struct Input {
    shape: Vec<usize>,
    data: Vec<f64>,
    requires_grad: bool,
}

#[derive(Deserialize)]
struct Data {
    shape: Vec<usize>,
    data: Vec<f64>,
}

/// Relative and absolute tolerance for a dtype.
fn tolerance(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F32 => (1e-5, 1e-6),
        DType::F64 => (1e-10, 1e-12),
    }
}

/// A tensor of `dtype` from recorded (f64) values; f32 values are stored as
/// the exact double of an f32, so the conversion is exact.
fn tensor(shape: &[usize], data: &[f64], dtype: DType) -> Tensor {
    let t = match dtype {
        DType::F32 => Tensor::from_vec(data.iter().map(|&v| v as f32).collect(), shape),
        DType::F64 => Tensor::from_vec(data.to_vec(), shape),
    };
    t.unwrap_or_else(|e| panic!("bad recorded tensor: {e}"))
}

// ---------------------------------------------------------------------------
// reading "args"
// ---------------------------------------------------------------------------

fn arg<'a>(args: &'a Value, key: &str) -> Result<&'a Value, String> {
    args.get(key)
        .ok_or_else(|| format!("missing argument {key:?} in {args}"))
}

fn arg_isize(args: &Value, key: &str) -> Result<isize, String> {
    arg(args, key)?
        .as_i64()
        .map(|v| v as isize)
        .ok_or_else(|| format!("argument {key:?} is not an integer: {args}"))
}

fn arg_usize(args: &Value, key: &str) -> Result<usize, String> {
    arg(args, key)?
        .as_u64()
        .map(|v| v as usize)
        .ok_or_else(|| format!("argument {key:?} is not a non-negative integer: {args}"))
}

fn arg_f64(args: &Value, key: &str) -> Result<f64, String> {
    arg(args, key)?
        .as_f64()
        .ok_or_else(|| format!("argument {key:?} is not a number: {args}"))
}

fn arg_bool(args: &Value, key: &str) -> Result<bool, String> {
    arg(args, key)?
        .as_bool()
        .ok_or_else(|| format!("argument {key:?} is not a bool: {args}"))
}

/// A number or null.
fn arg_opt_f64(args: &Value, key: &str) -> Result<Option<f64>, String> {
    match arg(args, key)? {
        Value::Null => Ok(None),
        v => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("argument {key:?} is not a number or null: {args}")),
    }
}

/// An integer or null.
fn arg_opt_isize(args: &Value, key: &str) -> Result<Option<isize>, String> {
    match arg(args, key)? {
        Value::Null => Ok(None),
        _ => arg_isize(args, key).map(Some),
    }
}

fn int_list(v: &Value, what: &str) -> Result<Vec<i64>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} is not a list: {v}"))?
        .iter()
        .map(|x| {
            x.as_i64()
                .ok_or_else(|| format!("{what} holds a non-integer: {v}"))
        })
        .collect()
}

/// A list of integers or null.
fn arg_opt_isizes(args: &Value, key: &str) -> Result<Option<Vec<isize>>, String> {
    match arg(args, key)? {
        Value::Null => Ok(None),
        v => Ok(Some(
            int_list(v, key)?.into_iter().map(|x| x as isize).collect(),
        )),
    }
}

fn arg_isizes(args: &Value, key: &str) -> Result<Vec<isize>, String> {
    arg_opt_isizes(args, key)?.ok_or_else(|| format!("argument {key:?} is null: {args}"))
}

fn arg_usizes(args: &Value, key: &str) -> Result<Vec<usize>, String> {
    Ok(int_list(arg(args, key)?, key)?
        .into_iter()
        .map(|x| x as usize)
        .collect())
}

/// `{"shape": [...], "data": [ints]}` (masks, gather indices) as a float tensor.
fn arg_int_tensor(args: &Value, key: &str, dtype: DType) -> Result<Tensor, String> {
    let v = arg(args, key)?;
    let shape: Vec<usize> = int_list(arg(v, "shape")?, "shape")?
        .into_iter()
        .map(|x| x as usize)
        .collect();
    let data: Vec<f64> = int_list(arg(v, "data")?, "data")?
        .into_iter()
        .map(|x| x as f64)
        .collect();
    Ok(tensor(&shape, &data, dtype))
}

// ---------------------------------------------------------------------------
// running an op
// ---------------------------------------------------------------------------

type Outcome = Result<Vec<Tensor>, String>;

fn one(r: micrograd_plus::Result<Tensor>) -> Outcome {
    r.map(|t| vec![t]).map_err(|e| format!("engine error: {e}"))
}

/// `dims: null` means every dim.
fn all_dims(x: &Tensor, dims: Option<Vec<isize>>) -> Vec<isize> {
    dims.unwrap_or_else(|| (0..x.ndim() as isize).collect())
}

/// Runs the case's op on `xs`, returning its output(s).
fn run_op(case: &Case, xs: &[Tensor], dtype: DType) -> Outcome {
    let a = &case.args;
    let x = || xs[0].clone();
    let y = || xs[1].clone();
    match case.op.as_str() {
        // binary, broadcasting
        "add" => one(x().add(&y())),
        "sub" => one(x().sub(&y())),
        "mul" => one(x().mul(&y())),
        "div" => one(x().div(&y())),
        "pow" => one(x().pow(&y())),
        "maximum" => one(x().maximum(&y())),
        "minimum" => one(x().minimum(&y())),
        "pow_scalar" => one(Ok(x().pow_scalar(arg_f64(a, "exponent")?))),

        // unary
        "neg" => one(Ok(x().neg())),
        "exp" => one(Ok(x().exp())),
        "log" => one(Ok(x().log())),
        "sqrt" => one(Ok(x().sqrt())),
        "abs" => one(Ok(x().abs())),
        "sin" => one(Ok(x().sin())),
        "cos" => one(Ok(x().cos())),
        "relu" => one(Ok(x().relu())),
        "sigmoid" => one(Ok(x().sigmoid())),
        "tanh" => one(Ok(x().tanh())),
        "silu" => one(Ok(x().silu())),
        "softplus" => one(Ok(x().softplus())),
        "leaky_relu" => one(Ok(x().leaky_relu(arg_f64(a, "alpha")?))),
        "elu" => one(Ok(x().elu(arg_f64(a, "alpha")?))),
        "gelu" => match arg(a, "approximate")?.as_str() {
            Some("none") => one(Ok(x().gelu())),
            Some("tanh") => one(Ok(x().gelu_tanh())),
            other => Err(format!("unknown gelu approximation {other:?}")),
        },
        "clamp" => one(Ok(x().clamp(arg_opt_f64(a, "min")?, arg_opt_f64(a, "max")?))),

        // reductions
        "sum" | "mean" | "amax" | "amin" | "logsumexp" => {
            let dims = arg_opt_isizes(a, "dims")?;
            let keep = arg_bool(a, "keepdim")?;
            let t = x();
            if dims.is_none() && !keep {
                return one(match case.op.as_str() {
                    "sum" => Ok(t.sum()),
                    "mean" => Ok(t.mean()),
                    "amax" => t.max(),
                    "amin" => t.min(),
                    _ => Ok(t.logsumexp()),
                });
            }
            let d = all_dims(&t, dims);
            one(match case.op.as_str() {
                "sum" => t.sum_dims(&d, keep),
                "mean" => t.mean_dims(&d, keep),
                "amax" => t.max_dims(&d, keep),
                "amin" => t.min_dims(&d, keep),
                _ => t.logsumexp_dims(&d, keep),
            })
        }
        "var" | "std" => {
            let dims = arg_opt_isizes(a, "dims")?;
            let keep = arg_bool(a, "keepdim")?;
            let c = arg_usize(a, "correction")?;
            let t = x();
            let is_var = case.op == "var";
            if dims.is_none() && !keep {
                return one(Ok(if is_var { t.var(c) } else { t.std(c) }));
            }
            let d = all_dims(&t, dims);
            one(if is_var {
                t.var_dims(&d, c, keep)
            } else {
                t.std_dims(&d, c, keep)
            })
        }
        "softmax" => one(x().softmax(arg_isize(a, "dim")?)),
        "log_softmax" => one(x().log_softmax(arg_isize(a, "dim")?)),
        "matmul" => one(x().matmul(&y())),

        // layout
        "reshape" => one(x().reshape(&arg_isizes(a, "shape")?)),
        "permute" => one(x().permute(&arg_isizes(a, "dims")?)),
        "transpose" => one(x().transpose(arg_isize(a, "dim0")?, arg_isize(a, "dim1")?)),
        "squeeze" => one(x().squeeze(arg_opt_isize(a, "dim")?)),
        "unsqueeze" => one(x().unsqueeze(arg_isize(a, "dim")?)),
        "flatten" => one(x().flatten(arg_isize(a, "start_dim")?, arg_isize(a, "end_dim")?)),
        "expand" => one(x().expand(&arg_isizes(a, "shape")?)),

        // picking and assembling
        "cat" => one(Tensor::cat(xs, arg_isize(a, "dim")?)),
        "stack" => one(Tensor::stack(xs, arg_isize(a, "dim")?)),
        "narrow" => one(x().narrow(
            arg_isize(a, "dim")?,
            arg_usize(a, "start")?,
            arg_usize(a, "length")?,
        )),
        "slice" => one(x().slice(
            arg_isize(a, "dim")?,
            arg_isize(a, "start")?,
            arg_isize(a, "end")?,
            arg_usize(a, "step")?,
        )),
        "index_select" => one(x().index_select(arg_isize(a, "dim")?, &arg_usizes(a, "index")?)),
        "gather" => one(x().gather(arg_isize(a, "dim")?, &arg_int_tensor(a, "index", dtype)?)),
        "pad" => one(x().pad(&arg_usizes(a, "pad")?, arg_f64(a, "value")?)),
        "split" => x()
            .split(arg_usize(a, "split_size")?, arg_isize(a, "dim")?)
            .map_err(|e| format!("engine error: {e}")),
        "chunk" => x()
            .chunk(arg_usize(a, "chunks")?, arg_isize(a, "dim")?)
            .map_err(|e| format!("engine error: {e}")),

        // masks
        "where" => one(Tensor::where_(
            &arg_int_tensor(a, "mask", dtype)?,
            &x(),
            &y(),
        )),
        "masked_fill" => {
            one(x().masked_fill(&arg_int_tensor(a, "mask", dtype)?, arg_f64(a, "value")?))
        }

        "reuse" => run_reuse(case, xs),
        other => Err(format!("unknown op {other:?}: add it to run_op")),
    }
}

/// The composite "reuse" cases, matched by name; the formula recorded with
/// the case is checked too, so a changed script cannot go unnoticed.
fn run_reuse(case: &Case, xs: &[Tensor]) -> Outcome {
    let base = case
        .name
        .rsplit_once('_')
        .map_or(case.name.as_str(), |(b, _)| b);
    let formula = arg(&case.args, "formula")?
        .as_str()
        .ok_or("formula is not a string")?;
    let e = |e: micrograd_plus::Error| format!("engine error: {e}");
    let (expected, out) = match base {
        "reuse_sq_exp" => {
            let x = &xs[0];
            let first = (x * x).sum_dims(&[-1], false).map_err(e)?;
            let second = (&x.exp() * x).mean();
            (
                "(x*x).sum(dim=-1) + (x.exp()*x).mean()",
                first.add(&second).map_err(e)?,
            )
        }
        "reuse_two_inputs" => {
            let (a, b) = (&xs[0], &xs[1]);
            let t = &(a * b) + &(&a.tanh() * a);
            let t = &t - &(b / &(a * a).add_scalar(1.0));
            (
                "(a*b + a.tanh()*a - b/(a*a+1)).sum(dim=0)",
                t.sum_dims(&[0], false).map_err(e)?,
            )
        }
        "reuse_matmul_chain" => {
            let a = &xs[0];
            let left = a
                .matmul(&a.transpose(0, 1).map_err(e)?)
                .map_err(e)?
                .relu()
                .sum_dims(&[1], false)
                .map_err(e)?;
            let right = a.sum_dims(&[1], false).map_err(e)?;
            (
                "(a @ a.transpose(0,1)).relu().sum(dim=1) * a.sum(dim=1)",
                left.mul(&right).map_err(e)?,
            )
        }
        other => return Err(format!("unknown reuse case {other:?}: add it to run_reuse")),
    };
    if formula != expected {
        return Err(format!(
            "formula changed: recorded {formula:?}, implemented {expected:?}"
        ));
    }
    Ok(vec![out])
}

// ---------------------------------------------------------------------------
// comparing
// ---------------------------------------------------------------------------

/// Worst deviations seen for one dtype.
#[derive(Default)]
struct Worst {
    /// Largest `|a - b|`, with the case and what it was in.
    abs: (f64, String),
    /// Largest `|a - b| / |b|` over elements with `|b| > atol`.
    rel: (f64, String),
    /// Largest `|a - b| / (atol + rtol·|b|)`: 1.0 is the limit.
    used: (f64, String),
    values: usize,
}

struct Checker {
    mismatches: Vec<String>,
    worst_f32: Worst,
    worst_f64: Worst,
}

impl Checker {
    /// Compares `got` against `want`; records a mismatch if they differ.
    fn compare(&mut self, case: &str, what: &str, dtype: DType, got: &Tensor, want: &Data) {
        if got.shape() != want.shape.as_slice() {
            self.mismatches.push(format!(
                "{case}: {what} shape {:?}, torch {:?}",
                got.shape(),
                want.shape
            ));
            return;
        }
        if got.dtype() != dtype {
            self.mismatches.push(format!(
                "{case}: {what} has dtype {:?}, expected {dtype:?}",
                got.dtype()
            ));
            return;
        }
        let (rtol, atol) = tolerance(dtype);
        let g = got.to_vec::<f64>();
        let (mut max_err, mut max_used, mut bad, mut first_bad) = (0.0f64, 0.0f64, 0, None);
        let worst = match dtype {
            DType::F32 => &mut self.worst_f32,
            DType::F64 => &mut self.worst_f64,
        };
        let place = || format!("{case} ({what})");
        for (i, (&a, &b)) in g.iter().zip(&want.data).enumerate() {
            let err = (a - b).abs();
            let limit = atol + rtol * b.abs();
            if err.is_nan() || err > limit {
                bad += 1;
                first_bad.get_or_insert((i, a, b));
            }
            max_err = max_err.max(err);
            max_used = max_used.max(err / limit);
            if b.abs() > atol && err / b.abs() > worst.rel.0 {
                worst.rel = (err / b.abs(), place());
            }
        }
        worst.values += g.len();
        if max_err > worst.abs.0 {
            worst.abs = (max_err, place());
        }
        if max_used > worst.used.0 {
            worst.used = (max_used, place());
        }
        if let Some((i, a, b)) = first_bad {
            self.mismatches.push(format!(
                "{case}: {what}: {bad} of {} values differ (max |err| {max_err:.3e}, \
                 {max_used:.2}x the tolerance); first at flat index {i}: engine {a:e}, torch {b:e}",
                g.len()
            ));
        }
    }

    /// Runs one case forward and backward and compares everything.
    fn check_case(&mut self, case: &Case) {
        let dtype = match case.dtype.as_str() {
            "f32" => DType::F32,
            "f64" => DType::F64,
            other => {
                self.mismatches
                    .push(format!("{}: unknown dtype {other:?}", case.name));
                return;
            }
        };
        let xs: Vec<Tensor> = case
            .inputs
            .iter()
            .map(|i| tensor(&i.shape, &i.data, dtype).requires_grad(i.requires_grad))
            .collect();
        let name = &case.name;

        // Forward (engine panics count as mismatches, not as an aborted run).
        let outs = match catch_unwind(AssertUnwindSafe(|| run_op(case, &xs, dtype))) {
            Ok(Ok(outs)) => outs,
            Ok(Err(msg)) => return self.mismatches.push(format!("{name}: {msg}")),
            Err(p) => {
                return self
                    .mismatches
                    .push(format!("{name}: panicked: {}", panic_text(&p)))
            }
        };
        let (want_outs, grad_outs): (Vec<&Data>, Vec<&Data>) = match (
            &case.output,
            &case.grad_output,
            &case.outputs,
            &case.grad_outputs,
        ) {
            (Some(o), Some(g), None, None) => (vec![o], vec![g]),
            (None, None, Some(o), Some(g)) if o.len() == g.len() => {
                (o.iter().collect(), g.iter().collect())
            }
            _ => {
                return self.mismatches.push(format!(
                    "{name}: malformed case (needs output+grad_output or outputs+grad_outputs)"
                ))
            }
        };
        if outs.len() != want_outs.len() {
            let shapes: Vec<_> = outs.iter().map(|o| o.shape().to_vec()).collect();
            return self.mismatches.push(format!(
                "{name}: engine gave {} outputs {shapes:?}, torch {}",
                outs.len(),
                want_outs.len()
            ));
        }
        let multi = case.outputs.is_some();
        for (k, (o, w)) in outs.iter().zip(&want_outs).enumerate() {
            let what = if multi {
                format!("output[{k}]")
            } else {
                "output".into()
            };
            self.compare(name, &what, dtype, o, w);
        }
        if outs
            .iter()
            .zip(&want_outs)
            .any(|(o, w)| o.shape() != w.shape.as_slice())
        {
            return; // the shape mismatch is recorded; backward cannot be seeded
        }

        // Backward: the gradient of sum_k (out_k * grad_out_k).
        let gouts: Vec<Tensor> = grad_outs
            .iter()
            .map(|g| tensor(&g.shape, &g.data, dtype))
            .collect();
        let backward = catch_unwind(AssertUnwindSafe(|| -> micrograd_plus::Result<()> {
            if multi {
                let mut total: Option<Tensor> = None;
                for (o, g) in outs.iter().zip(&gouts) {
                    let term = o.mul(g)?.sum();
                    total = Some(match total {
                        Some(t) => t.add(&term)?,
                        None => term,
                    });
                }
                total.expect("at least one output").backward()
            } else {
                outs[0].backward_with(&gouts[0])
            }
        }));
        match backward {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return self
                    .mismatches
                    .push(format!("{name}: backward failed: {e}"))
            }
            Err(p) => {
                return self
                    .mismatches
                    .push(format!("{name}: backward panicked: {}", panic_text(&p)))
            }
        }
        if case.grads.len() != xs.len() {
            return self.mismatches.push(format!(
                "{name}: {} grads recorded for {} inputs",
                case.grads.len(),
                xs.len()
            ));
        }
        for (i, (x, want)) in xs.iter().zip(&case.grads).enumerate() {
            let what = format!("grad[{i}]");
            match (x.grad(), want) {
                (Some(g), Some(w)) => self.compare(name, &what, dtype, &g, w),
                (None, None) => {}
                (None, Some(_)) => self
                    .mismatches
                    .push(format!("{name}: {what} is None, torch has a gradient")),
                (Some(_), None) => self.mismatches.push(format!(
                    "{name}: {what} was computed for an input without requires_grad"
                )),
            }
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "<non-string panic>".into())
}

fn report(dtype: &str, w: &Worst) {
    println!(
        "  {dtype}: {} values; worst |err| {:.3e} in {}; worst relative err {:.3e} in {}; \
         worst err/tolerance {:.3} in {}",
        w.values, w.abs.0, w.abs.1, w.rel.0, w.rel.1, w.used.0, w.used.1
    );
}

#[test]
fn engine_matches_pytorch_reference() {
    let text = std::fs::read_to_string(REFERENCE).expect("read torch_reference.json");
    let reference: Reference = serde_json::from_str(&text).expect("parse torch_reference.json");
    assert!(!reference.torch_version.is_empty());
    assert!(
        !reference.cases.is_empty(),
        "no cases in the reference file"
    );

    let mut names = HashSet::new();
    for c in &reference.cases {
        assert!(names.insert(c.name.as_str()), "duplicate case {}", c.name);
    }

    // Panics inside the engine are caught and reported per case.
    let mut checker = Checker {
        mismatches: Vec::new(),
        worst_f32: Worst::default(),
        worst_f64: Worst::default(),
    };
    let (mut n32, mut n64) = (0, 0);
    for case in &reference.cases {
        checker.check_case(case);
        match case.dtype.as_str() {
            "f32" => n32 += 1,
            _ => n64 += 1,
        }
    }

    let total = reference.cases.len();
    let failed: HashSet<&str> = checker
        .mismatches
        .iter()
        .map(|m| m.split(':').next().unwrap_or(""))
        .collect();
    println!(
        "torch {}: compared {total} cases ({n32} f32, {n64} f64): {} passed, {} failed",
        reference.torch_version,
        total - failed.len(),
        failed.len()
    );
    report("f32", &checker.worst_f32);
    report("f64", &checker.worst_f64);
    assert!(
        checker.mismatches.is_empty(),
        "{} of {total} PyTorch reference cases differ:\n  {}",
        failed.len(),
        checker.mismatches.join("\n  ")
    );
}
