//! Reading what the `scripts/record_torch_*.py` recorders wrote, and
//! comparing our results with PyTorch's: shared by the differential tests
//! (`torch_programs.rs`, `torch_ops_extra.rs`, `torch_functional.rs`,
//! `torch_layers.rs`).
//! Each test uses the part it needs (only the single-op replayers use
//! [`replay_ops`], not every one reads dim lists), hence `dead_code`.
#![allow(dead_code)]

use micrograd_plus::{DType, Tensor};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A recorded number: JSON numbers, or "nan", "inf", "-inf".
pub fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("finite JSON number"),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("bad number {other:?} in the recording"),
        },
        other => panic!("bad number {other} in the recording"),
    }
}

pub fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(number).collect()
}

pub fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|d| d.as_u64().expect("size") as usize)
        .collect()
}

pub fn ints(v: &Value) -> Vec<isize> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|d| d.as_i64().expect("int") as isize)
        .collect()
}

/// A list of dims; `null` (PyTorch's `dim=None`) is every dim, which is
/// what our empty list means.
pub fn dim_list(v: &Value) -> Vec<isize> {
    if v.is_null() {
        Vec::new()
    } else {
        ints(v)
    }
}

/// A recorded dtype; `None` for PyTorch's int64 (index outputs, which the
/// engine holds as whole numbers in a float dtype).
pub fn dtype(name: &Value) -> Option<DType> {
    match name.as_str() {
        Some("f32") => Some(DType::F32),
        Some("f64") => Some(DType::F64),
        Some("i64") => None,
        other => panic!("bad dtype {other:?}"),
    }
}

/// A recorded input tensor, with its requires-grad flag.
pub fn input(spec: &Value) -> Tensor {
    let t = Tensor::from_vec(numbers(&spec["data"]), &usizes(&spec["shape"]))
        .expect("recorded input fits its shape")
        .to_dtype(dtype(&spec["dtype"]).expect("float input"));
    t.requires_grad(spec["grad"].as_bool().expect("grad flag"))
}

/// Whether `got` matches PyTorch's `want`: NaN where it has NaN, the same
/// infinities, and finite values within `atol + rtol·|want|`.
pub fn close(got: &[f64], want: &[f64], f32: bool) -> Result<(), String> {
    // f64: the same formulas agree to rounding, up to summation order and
    // libm; f32: a sum of a few values rounds in a different order (1e-7
    // relative each) and exp/log/erf/tan of f32 differ in the last bits.
    let (atol, rtol) = if f32 { (1e-5, 1e-4) } else { (1e-9, 1e-7) };
    if got.len() != want.len() {
        return Err(format!("{} elements, PyTorch {}", got.len(), want.len()));
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= atol + rtol * w.abs()
        };
        if !ok {
            return Err(format!("element {i}: {g}, PyTorch {w}"));
        }
    }
    Ok(())
}

/// Backpropagates PyTorch's recorded upstream gradient (`torch["upstream"]`,
/// if there is one) from `out`, and compares every leaf's gradient with
/// `torch["grads"]` (`null`: PyTorch gave that input none).
pub fn check_gradients(out: &Tensor, leaves: &[Tensor], torch: &Value) -> Result<(), String> {
    let Some(upstream) = torch.get("upstream") else {
        return Ok(());
    };
    let upstream = Tensor::from_vec(numbers(upstream), out.shape())
        .map_err(|e| e.to_string())?
        .to_dtype(out.dtype());
    out.backward_with(&upstream)
        .map_err(|e| format!("backward: {e}"))?;
    // An f64 leaf mixed into f32 arithmetic gets an f32-precision gradient.
    let f32 = leaves.iter().any(|l| l.dtype() == DType::F32);
    for (i, (leaf, want)) in leaves
        .iter()
        .zip(torch["grads"].as_array().expect("grads"))
        .enumerate()
    {
        if want.is_null() {
            continue;
        }
        let got = leaf
            .grad()
            .map(|g| g.to_vec::<f64>())
            .unwrap_or_else(|| vec![0.0; leaf.numel()]);
        close(&got, &numbers(want), f32).map_err(|e| format!("grad of input {i}: {e}"))?;
    }
    Ok(())
}

/// Replays every recorded item and returns one line per disagreement
/// (`describe` names the item), a panic counting as one.
pub fn disagreements<'a>(
    items: impl IntoIterator<Item = &'a Value>,
    replay: impl Fn(&Value) -> Result<(), String>,
    describe: impl Fn(&Value) -> String,
) -> Vec<String> {
    let mut failures = Vec::new();
    for item in items {
        let outcome = catch_unwind(AssertUnwindSafe(|| replay(item)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic))));
        if let Err(e) = outcome {
            failures.push(format!("{}: {e}", describe(item)));
        }
    }
    failures
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Runs one recorded op on our engine: its outputs (the first is the one
/// the upstream gradient flows into), or its error.
pub type Apply = fn(&str, &Value, &[Tensor]) -> micrograd_plus::Result<Vec<Tensor>>;

/// Replays one single-op case (the format of `record_torch_ops_extra.py`)
/// with `apply`; `Err` describes the first disagreement.
pub fn replay(case: &Value, apply: Apply) -> std::result::Result<(), String> {
    let leaves: Vec<Tensor> = case["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(input)
        .collect();
    let torch = &case["torch"];
    let op = case["op"].as_str().expect("op");
    let outs = match (apply(op, &case["args"], &leaves), torch.get("error")) {
        (Err(_), Some(_)) => return Ok(()),
        (Ok(_), Some(e)) => return Err(format!("PyTorch raised ({e}), we did not")),
        (Err(e), None) => return Err(format!("we raised ({e}), PyTorch did not")),
        (Ok(outs), None) => outs,
    };
    let want = torch["outputs"].as_array().expect("outputs");
    if outs.len() != want.len() {
        return Err(format!("{} outputs, PyTorch {}", outs.len(), want.len()));
    }
    for (k, (out, w)) in outs.iter().zip(want).enumerate() {
        if out.shape() != usizes(&w["shape"]) {
            return Err(format!(
                "output {k}: shape {:?}, PyTorch {}",
                out.shape(),
                w["shape"]
            ));
        }
        let want_dtype = dtype(&w["dtype"]);
        if want_dtype.is_some_and(|d| d != out.dtype()) {
            return Err(format!(
                "output {k}: dtype {:?}, PyTorch {}",
                out.dtype(),
                w["dtype"]
            ));
        }
        // Indices are whole numbers: exact.
        let f32 = out.dtype() == DType::F32 && want_dtype.is_some();
        close(&out.to_vec::<f64>(), &numbers(&w["value"]), f32)
            .map_err(|e| format!("output {k}: {e}"))?;
    }
    check_gradients(&outs[0], &leaves, torch)
}

/// Replays every case of the fixture `cases` whose op is in `ops` and
/// fails with all disagreements (and with any op that has no case).
pub fn replay_ops(cases: &str, ops: &[&str], apply: Apply) {
    let fixture: Value = serde_json::from_str(cases).expect("fixture is JSON");
    let cases: Vec<&Value> = fixture["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| ops.contains(&c["op"].as_str().expect("op")))
        .collect();
    let mut failures = Vec::new();
    for op in ops {
        if !cases.iter().any(|c| c["op"] == *op) {
            failures.push(format!("{op}: no recorded case"));
        }
    }
    failures.extend(disagreements(
        cases.iter().copied(),
        |c| replay(c, apply),
        |case| format!("{} (args {})", case["name"], case["args"]),
    ));
    println!("{} cases replayed", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree with PyTorch:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Fails if the fixture `cases` records an op that `replayed` does not
/// accept: a case no test would run.
pub fn assert_every_op_replayed(cases: &str, replayed: impl Fn(&str) -> bool) {
    let fixture: Value = serde_json::from_str(cases).expect("fixture is JSON");
    for case in fixture["cases"].as_array().expect("cases") {
        let op = case["op"].as_str().expect("op");
        assert!(replayed(op), "{op} is recorded but no test replays it");
    }
}
