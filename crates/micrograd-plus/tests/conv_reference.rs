//! conv2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d and batch_norm
//! against values recorded from PyTorch, plus their gradient checks from the
//! catalogue and their error messages.
//!
//! `tests/data/torch_conv.json` (written by `scripts/record_torch_conv.py`)
//! holds, per case, the inputs, the output, an upstream gradient and the
//! gradients of `sum(output * grad_output)`, and for batch_norm in training
//! the running statistics after the step. Values must match to
//! `|engine − torch| ≤ rtol·|torch| + atol·max(1, max|torch|)` per tensor:
//! f32 rtol 1e-5, atol 2e-6; f64 rtol 1e-10, atol 1e-12 (the recording
//! script checks that torch's own f32 results meet the f32 bound).

use micrograd_plus::gradcheck::op_checks;
use micrograd_plus::{DType, Tensor};
use serde::Deserialize;
use serde_json::Value;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_conv.json");

const OPS: [&str; 5] = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "batch_norm",
];

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    op: String,
    args: Value,
    dtype: String,
    inputs: Vec<Input>,
    output: Data,
    grad_output: Data,
    grads: Vec<Option<Data>>,
    #[serde(default)]
    running_after: Vec<Data>,
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

fn tensor(shape: &[usize], data: &[f64], dtype: DType) -> Tensor {
    match dtype {
        DType::F32 => Tensor::from_vec(data.iter().map(|&v| v as f32).collect(), shape),
        DType::F64 => Tensor::from_vec(data.to_vec(), shape),
    }
    .expect("recorded data fills its shape")
}

fn pair(args: &Value, key: &str) -> (usize, usize) {
    let v = &args[key];
    let at = |i: usize| v[i].as_u64().unwrap_or_else(|| panic!("{key} in {args}")) as usize;
    (at(0), at(1))
}

fn flag(args: &Value, key: &str) -> bool {
    args[key]
        .as_bool()
        .unwrap_or_else(|| panic!("{key} in {args}"))
}

fn num(args: &Value, key: &str) -> f64 {
    args[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {args}"))
}

/// Runs the case's op on `t` (inputs in the recorded order).
fn apply(case: &Case, t: &[Tensor]) -> micrograd_plus::Result<Tensor> {
    let a = &case.args;
    match case.op.as_str() {
        "conv2d" => t[0].conv2d(
            &t[1],
            t.get(2),
            pair(a, "stride"),
            pair(a, "padding"),
            pair(a, "dilation"),
            a["groups"].as_u64().expect("groups") as usize,
        ),
        "max_pool2d" => t[0].max_pool2d(pair(a, "kernel"), pair(a, "stride"), pair(a, "padding")),
        "avg_pool2d" => t[0].avg_pool2d(
            pair(a, "kernel"),
            pair(a, "stride"),
            pair(a, "padding"),
            flag(a, "count_include_pad"),
        ),
        "adaptive_avg_pool2d" => t[0].adaptive_avg_pool2d(pair(a, "output_size")),
        "batch_norm" => {
            let (running, affine) = (flag(a, "running"), flag(a, "affine"));
            let (rm, rv) = if running {
                (Some(&t[1]), Some(&t[2]))
            } else {
                (None, None)
            };
            let n = t.len();
            let (w, b) = if affine {
                (Some(&t[n - 2]), Some(&t[n - 1]))
            } else {
                (None, None)
            };
            t[0].batch_norm(
                rm,
                rv,
                w,
                b,
                flag(a, "training"),
                num(a, "momentum"),
                num(a, "eps"),
            )
        }
        op => panic!("{}: unknown op {op}", case.name),
    }
}

/// Mismatch description, or None when `got` matches `want` within tolerance.
fn compare(what: &str, got: &Tensor, want: &Data, dtype: DType) -> Option<String> {
    if got.shape() != want.shape.as_slice() {
        return Some(format!(
            "{what}: shape {:?}, torch {:?}",
            got.shape(),
            want.shape
        ));
    }
    let (rtol, atol) = match dtype {
        DType::F32 => (1e-5, 2e-6),
        DType::F64 => (1e-10, 1e-12),
    };
    let scale = want.data.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.to_vec::<f64>().iter().zip(&want.data).enumerate() {
        let err = (g - w).abs();
        // NaN fails too.
        if err.is_nan() || err > rtol * w.abs() + atol * scale {
            return Some(format!("{what}[{i}]: {g} vs torch {w} (error {err:e})"));
        }
    }
    None
}

fn run_case(case: &Case) -> Vec<String> {
    let dtype = if case.dtype == "f32" {
        DType::F32
    } else {
        DType::F64
    };
    let inputs: Vec<Tensor> = case
        .inputs
        .iter()
        .map(|i| tensor(&i.shape, &i.data, dtype).requires_grad(i.requires_grad))
        .collect();
    let out = match apply(case, &inputs) {
        Ok(o) => o,
        Err(e) => return vec![format!("error {e}")],
    };
    let mut problems: Vec<String> = compare("output", &out, &case.output, dtype)
        .into_iter()
        .collect();
    let g = tensor(&case.grad_output.shape, &case.grad_output.data, dtype);
    if let Err(e) = out.backward_with(&g) {
        return vec![format!("backward: {e}")];
    }
    for (i, (x, want)) in inputs.iter().zip(&case.grads).enumerate() {
        match (want, x.grad()) {
            (Some(w), Some(got)) => problems.extend(compare(&format!("grad {i}"), &got, w, dtype)),
            (Some(_), None) => problems.push(format!("grad {i}: missing")),
            (None, Some(_)) => problems.push(format!("grad {i}: present but not wanted")),
            (None, None) => {}
        }
    }
    for (k, want) in case.running_after.iter().enumerate() {
        problems.extend(compare(
            &format!("running stat {k}"),
            &inputs[1 + k],
            want,
            dtype,
        ));
    }
    problems
}

#[test]
fn matches_pytorch() {
    let text = std::fs::read_to_string(REFERENCE).expect("reference file");
    let reference: Reference = serde_json::from_str(&text).expect("valid reference JSON");
    let mut failures = Vec::new();
    for case in &reference.cases {
        for p in run_case(case) {
            failures.push(format!("{}: {p}", case.name));
        }
    }
    for op in OPS {
        for dt in ["f32", "f64"] {
            assert!(
                reference.cases.iter().any(|c| c.op == op && c.dtype == dt),
                "no {op} {dt} case"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches in {} cases:\n{}",
        failures.len(),
        reference.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn gradient_checks_pass() {
    let checks: Vec<_> = op_checks()
        .into_iter()
        .filter(|c| OPS.contains(&c.op))
        .collect();
    let mut failures = Vec::new();
    for check in &checks {
        match check.run() {
            Ok(r) if r.passed && r.max_rel_error < 1e-6 => {}
            Ok(r) => failures.push(format!("{}: {:e}", check.name(), r.max_rel_error)),
            Err(e) => failures.push(format!("{}: {e}", check.name())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The cases the issue asks for are in the catalogue.
    let has = |op: &str, detail: &str| {
        checks
            .iter()
            .any(|c| c.op == op && c.detail.contains(detail))
    };
    for (op, detail) in [
        ("conv2d", "stride (2,1)"),
        ("conv2d", "padding (1,2)"),
        ("conv2d", "dilation (2,1)"),
        ("conv2d", "groups=2"),
        ("conv2d", "2x3 kernel"),
        ("conv2d", "unbatched"),
        ("max_pool2d", "padding=(1, 1)"),
        ("max_pool2d", "stride=(1, 1)"),
        ("avg_pool2d", "count_include_pad=false"),
        ("avg_pool2d", "count_include_pad=true"),
        ("adaptive_avg_pool2d", "output_size=(5, 4)"),
        ("batch_norm", "affine=false"),
        ("batch_norm", "eval"),
    ] {
        assert!(has(op, detail), "no gradient check {op} {detail}");
    }
    for shape in ["(4,3)+(3,)+(3,)", "(3,2,3,4)+(2,)+(2,)"] {
        assert!(
            checks
                .iter()
                .any(|c| c.op == "batch_norm" && c.shapes == shape),
            "{shape}"
        );
    }
}

/// An input that does not need a gradient gets none, and the others are
/// unchanged by that (the bias and weight gradients do not depend on it).
#[test]
fn conv2d_skips_unwanted_gradients() {
    let x = Tensor::randn(&[3, 2, 5, 5], 1);
    let w = Tensor::randn(&[4, 2, 3, 3], 2).requires_grad(true);
    let b = Tensor::randn(&[4], 3);
    let g = Tensor::randn(&[3, 4, 5, 5], 4);
    x.conv2d(&w, Some(&b), (1, 1), (1, 1), (1, 1), 1)
        .unwrap()
        .backward_with(&g)
        .unwrap();
    assert!(x.grad().is_none() && b.grad().is_none());
    let dw = w.grad().unwrap().to_vec::<f32>();
    let x2 = x.detach().requires_grad(true);
    let w2 = w.detach().requires_grad(true);
    x2.conv2d(&w2, Some(&b), (1, 1), (1, 1), (1, 1), 1)
        .unwrap()
        .backward_with(&g)
        .unwrap();
    assert_eq!(w2.grad().unwrap().to_vec::<f32>(), dw);
    assert!(x2.grad().is_some());
}

#[test]
fn shape_errors_name_the_op_and_shapes() {
    let x = Tensor::zeros(&[2, 3, 4, 4]);
    let err = |r: micrograd_plus::Result<Tensor>| r.unwrap_err().to_string();
    let e = err(x.conv2d(
        &Tensor::zeros(&[8, 4, 3, 3]),
        None,
        (1, 1),
        (0, 0),
        (1, 1),
        1,
    ));
    assert_eq!(
        e,
        "conv2d: given groups=1, weight of shape [8, 4, 3, 3] expects input of shape [2, 3, 4, 4] to have 4 channels, but got 3 channels instead"
    );
    let e = err(x.conv2d(
        &Tensor::zeros(&[8, 3, 7, 3]),
        None,
        (1, 1),
        (1, 1),
        (1, 1),
        1,
    ));
    assert!(
        e.starts_with("conv2d: padded input size per channel (6 x 6)"),
        "{e}"
    );
    assert!(e.contains("[8, 3, 7, 3]"), "{e}");
    let e = err(x.conv2d(
        &Tensor::zeros(&[8, 3, 3, 3]),
        Some(&Tensor::zeros(&[7])),
        (1, 1),
        (0, 0),
        (1, 1),
        1,
    ));
    assert!(e.starts_with("conv2d: bias must have shape [8]"), "{e}");
    let e = err(x.conv2d(
        &Tensor::zeros(&[6, 1, 3, 3]),
        None,
        (1, 1),
        (0, 0),
        (1, 1),
        2,
    ));
    assert!(e.contains("groups=2"), "{e}");
    let e = err(x.conv2d(
        &Tensor::zeros(&[7, 1, 3, 3]),
        None,
        (1, 1),
        (0, 0),
        (1, 1),
        3,
    ));
    assert!(e.contains("divisible by groups (3)"), "{e}");
    let e = err(x.conv2d(
        &Tensor::zeros(&[8, 3, 3, 3]),
        None,
        (0, 1),
        (0, 0),
        (1, 1),
        1,
    ));
    assert!(e.starts_with("conv2d: stride must be positive"), "{e}");
    let e = err(Tensor::zeros(&[3, 4]).conv2d(
        &Tensor::zeros(&[8, 3, 3, 3]),
        None,
        (1, 1),
        (0, 0),
        (1, 1),
        1,
    ));
    assert!(e.contains("[3, 4]"), "{e}");
    // Mixed dtypes are not an error: they promote, as in every op.
    let y = x
        .conv2d(
            &Tensor::zeros(&[8, 3, 3, 3]).to_dtype(DType::F64),
            None,
            (1, 1),
            (0, 0),
            (1, 1),
            1,
        )
        .unwrap();
    assert_eq!(y.dtype(), DType::F64);

    let e = err(x.max_pool2d((5, 5), (1, 1), (0, 0)));
    assert!(
        e.starts_with("max_pool2d: input of shape [2, 3, 4, 4]"),
        "{e}"
    );
    let e = err(x.avg_pool2d((2, 2), (0, 2), (0, 0), true));
    assert!(
        e.starts_with("avg_pool2d: kernel_size (2, 2) and stride (0, 2)"),
        "{e}"
    );
    let e = err(Tensor::zeros(&[4, 4]).max_pool2d((2, 2), (2, 2), (0, 0)));
    assert!(e.contains("[4, 4]"), "{e}");
    let e = err(x.adaptive_avg_pool2d((0, 2)));
    assert!(
        e.starts_with("adaptive_avg_pool2d: output_size must be positive"),
        "{e}"
    );

    let e = err(x.batch_norm(None, None, Some(&Tensor::ones(&[4])), None, true, 0.1, 1e-5));
    assert_eq!(
        e,
        "batch_norm: weight must have shape [3] for input of shape [2, 3, 4, 4], got [4]"
    );
    let e = err(Tensor::zeros(&[1, 3]).batch_norm(None, None, None, None, true, 0.1, 1e-5));
    assert!(e.contains("more than 1 value per channel"), "{e}");
    let e = err(Tensor::zeros(&[3]).batch_norm(None, None, None, None, true, 0.1, 1e-5));
    assert!(e.contains("[3]"), "{e}");
}

/// The f32 fast paths (images split across threads, single-threaded
/// products) and the f64 path agree on a batch large enough to split.
#[test]
fn f32_and_f64_agree_on_a_split_batch() {
    let x = Tensor::randn(&[8, 5, 9, 7], 5);
    let w = Tensor::randn(&[6, 5, 3, 2], 6);
    let b = Tensor::randn(&[6], 7);
    let g = Tensor::randn(&[8, 6, 5, 7], 8);
    let run = |dt: DType| {
        let (x, w, b) = (
            x.to_dtype(dt).detach().requires_grad(true),
            w.to_dtype(dt).detach().requires_grad(true),
            b.to_dtype(dt).detach().requires_grad(true),
        );
        let y = x.conv2d(&w, Some(&b), (2, 1), (1, 1), (1, 2), 1).unwrap();
        y.backward_with(&g.to_dtype(dt)).unwrap();
        [y, x.grad().unwrap(), w.grad().unwrap(), b.grad().unwrap()].map(|t| t.to_vec::<f64>())
    };
    let (a, b) = (run(DType::F32), run(DType::F64));
    for (u, v) in a.iter().zip(&b) {
        let scale = v.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        for (p, q) in u.iter().zip(v) {
            assert!((p - q).abs() <= 1e-5 * scale, "{p} vs {q}");
        }
    }
}
