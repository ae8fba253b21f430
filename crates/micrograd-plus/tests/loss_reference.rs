//! The losses of `nn::loss` against PyTorch, finite differences and closed forms.
//!
//! - `losses_match_pytorch_reference`: every case of
//!   `tests/data/torch_losses.json` (written by
//!   `scripts/record_torch_losses.py`): the loss value and the gradients of
//!   `sum(loss * grad_output)` for every input that requires one, to
//!   `|engine − torch| <= atol + rtol·|torch|` with (rtol, atol) =
//!   (1e-5, 1e-6) for f32 and (1e-10, 1e-12) for f64. A case this file cannot
//!   run is a failure, so nothing in the file is skipped.
//! - `gradcheck_*`: f64 gradients against central finite differences for
//!   every loss, reduction and option.
//! - closed forms: cross-entropy on logits of magnitude 1e4, Huber's two
//!   regions, BCE-with-logits at 0 and at ±1e4.
//!   Error cases (inputs PyTorch rejects: mismatched shapes, a bad `var`,
//!   a margin of 0) must be errors here too.
//! - error cases: shape mismatches name both shapes, bad class indices name
//!   the value, misplaced options are rejected.

use micrograd_plus::gradcheck::{gradcheck, GradcheckOptions};
use micrograd_plus::nn::loss::{
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss, HuberLoss,
    KLDivLoss, L1Loss, MSELoss, MarginRankingLoss, MultiLabelSoftMarginLoss, NLLLoss,
    PoissonNLLLoss, Reduction, SmoothL1Loss, SoftMarginLoss, TripletMarginLoss,
};
use micrograd_plus::{DType, Error, Result, Tensor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_losses.json");

#[derive(Deserialize)]
struct Reference {
    torch_version: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    loss: String,
    args: Value,
    dtype: String,
    inputs: Vec<Input>,
    /// Absent for an error case.
    output: Option<Data>,
    #[serde(default)]
    grad_output: Option<Data>,
    #[serde(default)]
    grads: Vec<Option<Data>>,
    /// PyTorch's message, for inputs it rejects.
    error: Option<String>,
}

#[derive(Deserialize)]
struct Input {
    role: String,
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
    let t = match dtype {
        DType::F32 => Tensor::from_vec(data.iter().map(|&v| v as f32).collect(), shape),
        DType::F64 => Tensor::from_vec(data.to_vec(), shape),
    };
    t.unwrap_or_else(|e| panic!("bad recorded tensor: {e}"))
}

fn reduction(name: &str) -> std::result::Result<Reduction, String> {
    Ok(match name {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        "batchmean" => Reduction::BatchMean,
        other => return Err(format!("unknown reduction {other:?}")),
    })
}

/// Runs the case's loss on its tensors (by role).
fn run_loss(case: &Case, xs: &[(String, Tensor)]) -> std::result::Result<Tensor, String> {
    let a = &case.args;
    let role = |r: &str| xs.iter().find(|(n, _)| n == r).map(|(_, t)| t.clone());
    let need = |r: &str| role(r).ok_or(format!("no {r}"));
    let red = reduction(a["reduction"].as_str().ok_or("reduction is not a string")?)?;
    let f64_arg = |k: &str| a[k].as_f64().ok_or(format!("argument {k} missing in {a}"));
    // "inf" stands for infinity (JSON has no such number).
    let number = |k: &str| match &a[k] {
        Value::String(s) if s == "inf" => Ok(f64::INFINITY),
        _ => f64_arg(k),
    };
    let flag = |k: &str| {
        a[k].as_bool()
            .ok_or(format!("argument {k} is not a bool in {a}"))
    };
    // Every argument must be used: an option this file ignores would pass silently.
    let known: &[&str] = match case.loss.as_str() {
        "huber" => &["reduction", "delta"],
        "smooth_l1" => &["reduction", "beta"],
        "cross_entropy" => &["reduction", "target", "label_smoothing", "ignore_index"],
        "nll" => &["reduction", "target", "ignore_index"],
        "kl_div" => &["reduction", "log_target"],
        "margin_ranking" | "cosine_embedding" => &["reduction", "margin"],
        "triplet_margin" => &["reduction", "margin", "p", "eps", "swap"],
        "poisson_nll" => &["reduction", "log_input", "full", "eps"],
        "gaussian_nll" => &["reduction", "full", "eps", "var"],
        _ => &["reduction"],
    };
    let args = a.as_object().ok_or("args is not an object")?;
    if let Some(k) = args.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("unknown argument {k:?} for {}", case.loss));
    }
    const ROLES: [&str; 10] = [
        "input",
        "target",
        "weight",
        "pos_weight",
        "input1",
        "input2",
        "anchor",
        "positive",
        "negative",
        "var",
    ];
    if let Some(r) = xs
        .iter()
        .map(|(r, _)| r.as_str())
        .find(|r| !ROLES.contains(r))
    {
        return Err(format!("unknown input role {r:?}"));
    }
    let weight = role("weight");
    let has = |k: &str| args.contains_key(k);
    let out = match case.loss.as_str() {
        "mse" => MSELoss::new()
            .reduction(red)
            .forward(&need("input")?, &need("target")?),
        "l1" => L1Loss::new()
            .reduction(red)
            .forward(&need("input")?, &need("target")?),
        "huber" => HuberLoss::new()
            .reduction(red)
            .delta(f64_arg("delta")?)
            .forward(&need("input")?, &need("target")?),
        "smooth_l1" => SmoothL1Loss::new()
            .reduction(red)
            .beta(f64_arg("beta")?)
            .forward(&need("input")?, &need("target")?),
        "cross_entropy" => {
            let (input, target) = (need("input")?, need("target")?);
            let mut ce = CrossEntropyLoss::new().reduction(red);
            if let Some(w) = weight {
                ce = ce.weight(w);
            }
            if let Some(e) = a.get("label_smoothing") {
                ce = ce.label_smoothing(e.as_f64().ok_or("bad label_smoothing")?);
            }
            if let Some(i) = a.get("ignore_index") {
                ce = ce.ignore_index(i.as_i64().ok_or("bad ignore_index")?);
            }
            check_target_kind(a, &input, &target)?;
            ce.forward(&input, &target)
        }
        "nll" => {
            let mut nll = NLLLoss::new().reduction(red);
            if let Some(w) = weight {
                nll = nll.weight(w);
            }
            if let Some(i) = a.get("ignore_index") {
                nll = nll.ignore_index(i.as_i64().ok_or("bad ignore_index")?);
            }
            nll.forward(&need("input")?, &need("target")?)
        }
        "bce" => {
            let mut bce = BCELoss::new().reduction(red);
            if let Some(w) = weight {
                bce = bce.weight(w);
            }
            bce.forward(&need("input")?, &need("target")?)
        }
        "bce_with_logits" => {
            let mut bce = BCEWithLogitsLoss::new().reduction(red);
            if let Some(w) = weight {
                bce = bce.weight(w);
            }
            if let Some(p) = role("pos_weight") {
                bce = bce.pos_weight(p);
            }
            bce.forward(&need("input")?, &need("target")?)
        }
        "kl_div" => KLDivLoss::new()
            .reduction(red)
            .log_target(
                a.get("log_target")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
            .forward(&need("input")?, &need("target")?),
        "margin_ranking" => {
            let mut loss = MarginRankingLoss::new().reduction(red);
            if has("margin") {
                loss = loss.margin(f64_arg("margin")?);
            }
            loss.forward(&need("input1")?, &need("input2")?, &need("target")?)
        }
        "cosine_embedding" => {
            let mut loss = CosineEmbeddingLoss::new().reduction(red);
            if has("margin") {
                loss = loss.margin(f64_arg("margin")?);
            }
            loss.forward(&need("input1")?, &need("input2")?, &need("target")?)
        }
        "triplet_margin" => {
            let mut loss = TripletMarginLoss::new().reduction(red);
            if has("margin") {
                loss = loss.margin(f64_arg("margin")?);
            }
            if has("p") {
                loss = loss.p(number("p")?);
            }
            if has("eps") {
                loss = loss.eps(f64_arg("eps")?);
            }
            if has("swap") {
                loss = loss.swap(flag("swap")?);
            }
            loss.forward(&need("anchor")?, &need("positive")?, &need("negative")?)
        }
        "soft_margin" => SoftMarginLoss::new()
            .reduction(red)
            .forward(&need("input")?, &need("target")?),
        "multilabel_soft_margin" => {
            let mut loss = MultiLabelSoftMarginLoss::new().reduction(red);
            if let Some(w) = weight {
                loss = loss.weight(w);
            }
            loss.forward(&need("input")?, &need("target")?)
        }
        "poisson_nll" => {
            let mut loss = PoissonNLLLoss::new().reduction(red);
            if has("log_input") {
                loss = loss.log_input(flag("log_input")?);
            }
            if has("full") {
                loss = loss.full(flag("full")?);
            }
            if has("eps") {
                loss = loss.eps(f64_arg("eps")?);
            }
            loss.forward(&need("input")?, &need("target")?)
        }
        "gaussian_nll" => {
            let mut loss = GaussianNLLLoss::new().reduction(red);
            if has("full") {
                loss = loss.full(flag("full")?);
            }
            if has("eps") {
                loss = loss.eps(f64_arg("eps")?);
            }
            let (input, target) = (need("input")?, need("target")?);
            if has("var") {
                loss.forward_scalar_var(&input, &target, f64_arg("var")?)
            } else {
                loss.forward(&input, &target, &need("var")?)
            }
        }
        other => return Err(format!("unknown loss {other:?}: add it to run_loss")),
    };
    out.map_err(|e| format!("engine error: {e}"))
}

/// The engine tells index from probability targets by shape: check that the
/// recorded kind agrees, so a case cannot test the other path by accident.
fn check_target_kind(
    a: &Value,
    input: &Tensor,
    target: &Tensor,
) -> std::result::Result<(), String> {
    let probabilities = target.shape() == input.shape();
    match (a["target"].as_str(), probabilities) {
        (Some("probabilities"), true) | (Some("indices"), false) => Ok(()),
        (kind, _) => Err(format!(
            "target kind {kind:?} does not match target shape {:?} for input {:?}",
            target.shape(),
            input.shape()
        )),
    }
}

struct Checker {
    mismatches: Vec<String>,
    /// Error cases the engine refused, as PyTorch did.
    errors_seen: usize,
    /// Largest `|a − b| / (atol + rtol·|b|)` per dtype: 1.0 is the limit.
    worst: [(f64, String); 2],
}

impl Checker {
    fn compare(&mut self, case: &str, what: &str, dtype: DType, got: &Tensor, want: &Data) {
        if got.shape() != want.shape.as_slice() || got.dtype() != dtype {
            return self.mismatches.push(format!(
                "{case}: {what} has shape {:?} and dtype {:?}, torch {:?} and {dtype:?}",
                got.shape(),
                got.dtype(),
                want.shape
            ));
        }
        let (rtol, atol, slot) = match dtype {
            DType::F32 => (1e-5, 1e-6, 0),
            DType::F64 => (1e-10, 1e-12, 1),
        };
        let mut first_bad = None;
        for (i, (&a, &b)) in got.to_vec::<f64>().iter().zip(&want.data).enumerate() {
            let used = (a - b).abs() / (atol + rtol * b.abs());
            if used.is_nan() || used > 1.0 {
                first_bad.get_or_insert((i, a, b));
            }
            if used > self.worst[slot].0 {
                self.worst[slot] = (used, format!("{case} ({what})"));
            }
        }
        if let Some((i, a, b)) = first_bad {
            self.mismatches.push(format!(
                "{case}: {what} differs; first at flat index {i}: engine {a:e}, torch {b:e}"
            ));
        }
    }

    fn check_case(&mut self, case: &Case) {
        let name = &case.name;
        let dtype = match case.dtype.as_str() {
            "f32" => DType::F32,
            "f64" => DType::F64,
            other => {
                return self
                    .mismatches
                    .push(format!("{name}: unknown dtype {other}"))
            }
        };
        let xs: Vec<(String, Tensor)> = case
            .inputs
            .iter()
            .map(|i| {
                let t = tensor(&i.shape, &i.data, dtype).requires_grad(i.requires_grad);
                (i.role.clone(), t)
            })
            .collect();
        let result = run_loss(case, &xs);
        let expected = match (&case.output, &case.error) {
            (Some(output), None) => output,
            (None, Some(torch_error)) => {
                // PyTorch refused these inputs: the engine must return an error.
                if let Ok(out) = result {
                    self.mismatches.push(format!(
                        "{name}: PyTorch raised ({torch_error}), the engine gave shape {:?}",
                        out.shape()
                    ));
                } else {
                    self.errors_seen += 1;
                }
                return;
            }
            _ => {
                return self
                    .mismatches
                    .push(format!("{name}: needs exactly one of output and error"))
            }
        };
        let out = match result {
            Ok(out) => out,
            Err(msg) => return self.mismatches.push(format!("{name}: {msg}")),
        };
        self.compare(name, "output", dtype, &out, expected);
        let Some(gout) = &case.grad_output else {
            if case.grads.iter().any(Option::is_some) {
                self.mismatches
                    .push(format!("{name}: gradients recorded without grad_output"));
            }
            return;
        };
        if out.shape() != expected.shape.as_slice() {
            return;
        }
        if let Err(e) = out.backward_with(&tensor(&gout.shape, &gout.data, dtype)) {
            return self
                .mismatches
                .push(format!("{name}: backward failed: {e}"));
        }
        if case.grads.len() != xs.len() {
            return self
                .mismatches
                .push(format!("{name}: grads do not match inputs"));
        }
        for ((role, x), want) in xs.iter().zip(&case.grads) {
            let what = format!("grad of {role}");
            match (x.grad(), want) {
                (Some(g), Some(w)) => self.compare(name, &what, dtype, &g, w),
                (None, None) => {}
                (None, Some(_)) => self
                    .mismatches
                    .push(format!("{name}: no {what}, torch has one")),
                (Some(_), None) => self
                    .mismatches
                    .push(format!("{name}: {what} for an input without requires_grad")),
            }
        }
    }
}

#[test]
fn losses_match_pytorch_reference() {
    let text = std::fs::read_to_string(REFERENCE).expect("read torch_losses.json");
    let reference: Reference = serde_json::from_str(&text).expect("parse torch_losses.json");
    assert!(!reference.cases.is_empty());
    let mut names = HashSet::new();
    let mut losses = HashSet::new();
    for c in &reference.cases {
        assert!(names.insert(c.name.as_str()), "duplicate case {}", c.name);
        losses.insert(c.loss.as_str());
    }
    // Every loss is covered by the file.
    for l in [
        "mse",
        "l1",
        "huber",
        "smooth_l1",
        "cross_entropy",
        "nll",
        "bce",
        "bce_with_logits",
        "kl_div",
        "margin_ranking",
        "cosine_embedding",
        "triplet_margin",
        "soft_margin",
        "multilabel_soft_margin",
        "poisson_nll",
        "gaussian_nll",
    ] {
        assert!(losses.contains(l), "no reference case for {l}");
    }
    let mut checker = Checker {
        mismatches: Vec::new(),
        errors_seen: 0,
        worst: [(0.0, String::new()), (0.0, String::new())],
    };
    for case in &reference.cases {
        checker.check_case(case);
    }
    println!(
        "torch {}: {} loss cases ({} refused as PyTorch refuses them); worst err/tolerance f32 {:.3} in {}, f64 {:.3} in {}",
        reference.torch_version,
        reference.cases.len(),
        checker.errors_seen,
        checker.worst[0].0,
        checker.worst[0].1,
        checker.worst[1].0,
        checker.worst[1].1
    );
    assert!(
        checker.mismatches.is_empty(),
        "{} mismatches against PyTorch:\n  {}",
        checker.mismatches.len(),
        checker.mismatches.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// finite differences (f64)
// ---------------------------------------------------------------------------

const REDUCTIONS: [Reduction; 3] = [Reduction::Mean, Reduction::Sum, Reduction::None];

fn f64s(data: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).expect("shape")
}

/// Asserts that the gradients of `f` with respect to every input pass.
fn check(what: &str, f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[&Tensor]) {
    let inputs: Vec<Tensor> = inputs.iter().map(|&t| t.clone()).collect();
    let report = gradcheck(f, &inputs, GradcheckOptions::default()).expect("loss runs");
    assert!(report.passed, "{what}: {report:?}");
}

/// Values of `randn` pushed at least 0.1 away from every kink.
fn away_from(kinks: &[f64], shape: &[usize], seed: u64, scale: f64) -> Tensor {
    let v: Vec<f64> = Tensor::randn(shape, seed)
        .to_vec::<f64>()
        .into_iter()
        .map(|x| {
            let mut x = x * scale;
            for &k in kinks {
                if (x - k).abs() < 0.1 {
                    x = k + if x >= k { 0.1 } else { -0.1 };
                }
            }
            x
        })
        .collect();
    f64s(&v, shape)
}

#[test]
fn gradcheck_regression_losses() {
    let x = Tensor::randn(&[3, 4], 1).to_dtype(DType::F64);
    for r in REDUCTIONS {
        // The target is differentiable too: check both inputs.
        let y = Tensor::randn(&[3, 4], 2);
        check(
            "MSELoss",
            |t| MSELoss::new().reduction(r).forward(&t[0], &t[1]),
            &[&x, &y],
        );
        let d = away_from(&[0.0], &[3, 4], 3, 1.0);
        let y = x.sub(&d).expect("shape");
        check(
            "L1Loss",
            |t| L1Loss::new().reduction(r).forward(&t[0], &t[1]),
            &[&x, &y],
        );
        for delta in [0.5, 1.0, 2.0] {
            let d = away_from(&[-delta, 0.0, delta], &[3, 4], 4, 1.5 * delta);
            let y = x.sub(&d).expect("shape");
            let huber = HuberLoss::new().reduction(r).delta(delta);
            check("HuberLoss", |t| huber.forward(&t[0], &t[1]), &[&x, &y]);
            let smooth = SmoothL1Loss::new().reduction(r).beta(delta);
            check("SmoothL1Loss", |t| smooth.forward(&t[0], &t[1]), &[&x, &y]);
        }
        let d = away_from(&[0.0], &[3, 4], 5, 1.0);
        let smooth = SmoothL1Loss::new().reduction(r).beta(0.0);
        check(
            "SmoothL1Loss beta 0",
            |t| smooth.forward(&t[0], &x.sub(&d)?),
            &[&x],
        );
    }
}

#[test]
fn gradcheck_cross_entropy_and_nll() {
    let logits = Tensor::randn(&[4, 5], 1).mul_scalar(2.0);
    let idx = f64s(&[3.0, 0.0, 4.0, 1.0], &[4]);
    let ignored = f64s(&[3.0, -100.0, 4.0, 1.0], &[4]);
    let weight = f64s(&[0.5, 1.0, 2.0, 1.5, 0.75], &[5]);
    let probs = Tensor::randn(&[4, 5], 2).softmax(1).expect("dim");
    let logits_3d = Tensor::randn(&[2, 3, 4], 3);
    let idx_3d = f64s(&[0.0, 2.0, 1.0, 1.0, 2.0, -100.0, 0.0, 0.0], &[2, 4]);
    let probs_3d = Tensor::randn(&[2, 3, 4], 4).softmax(1).expect("dim");
    let logits_1d = Tensor::randn(&[5], 5);
    for r in REDUCTIONS {
        for eps in [0.0, 0.2] {
            let ce = CrossEntropyLoss::new().reduction(r).label_smoothing(eps);
            let weighted = ce.clone().weight(weight.clone());
            for (what, loss) in [("CE", &ce), ("CE weight", &weighted)] {
                check(what, |t| loss.forward(&t[0], &idx), &[&logits]);
                check(what, |t| loss.forward(&t[0], &ignored), &[&logits]);
                // Probability targets are differentiable too.
                check(what, |t| loss.forward(&t[0], &t[1]), &[&logits, &probs]);
            }
            let w3 = ce.clone().weight(f64s(&[0.5, 1.0, 2.0], &[3]));
            check("CE 3-D", |t| w3.forward(&t[0], &idx_3d), &[&logits_3d]);
            check(
                "CE 3-D probs",
                |t| w3.forward(&t[0], &t[1]),
                &[&logits_3d, &probs_3d],
            );
            let target_1d = Tensor::scalar(2.0f64);
            check("CE 1-D", |t| ce.forward(&t[0], &target_1d), &[&logits_1d]);
        }
        let nll = NLLLoss::new().reduction(r).weight(weight.clone());
        let logp = logits.log_softmax(1).expect("dim");
        check("NLL", |t| nll.forward(&t[0], &ignored), &[&logp]);
    }
}

#[test]
fn gradcheck_binary_and_kl_losses() {
    let probs = Tensor::randn(&[3, 4], 1)
        .mul_scalar(2.0)
        .sigmoid()
        .to_dtype(DType::F64);
    let soft = Tensor::rand(&[3, 4], 2);
    let logits = away_from(&[], &[3, 4], 3, 3.0);
    let pos_weight = f64s(&[0.5, 1.0, 2.0, 3.0], &[4]);
    let weight = f64s(&[1.0, 0.5, 2.0], &[3, 1]);
    let logp = Tensor::randn(&[3, 4], 4)
        .log_softmax(1)
        .expect("dim")
        .to_dtype(DType::F64);
    let q = Tensor::randn(&[3, 4], 5).softmax(1).expect("dim");
    for r in REDUCTIONS {
        let bce = BCELoss::new().reduction(r).weight(weight.clone());
        check("BCELoss", |t| bce.forward(&t[0], &t[1]), &[&probs, &soft]);
        let bcel = BCEWithLogitsLoss::new().reduction(r);
        check(
            "BCEWithLogits",
            |t| bcel.forward(&t[0], &t[1]),
            &[&logits, &soft],
        );
        let bcel = bcel.pos_weight(pos_weight.clone()).weight(weight.clone());
        check(
            "BCEWithLogits pos_weight",
            |t| bcel.forward(&t[0], &t[1]),
            &[&logits, &soft],
        );
    }
    for r in [
        Reduction::Mean,
        Reduction::Sum,
        Reduction::None,
        Reduction::BatchMean,
    ] {
        let kl = KLDivLoss::new().reduction(r);
        check("KLDivLoss", |t| kl.forward(&t[0], &t[1]), &[&logp, &q]);
        let kl = kl.log_target(true);
        let log_q = q.log();
        check(
            "KLDivLoss log_target",
            |t| kl.forward(&t[0], &t[1]),
            &[&logp, &log_q],
        );
    }
}

// ---------------------------------------------------------------------------
// closed forms
// ---------------------------------------------------------------------------

/// Softmax of a row, in f64, the textbook way on shifted logits.
fn softmax_row(row: &[f64]) -> Vec<f64> {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn cross_entropy_is_stable_for_logits_of_magnitude_1e4() {
    let rows = [
        [1e4, 0.0, -1e4],
        [-1e4, 1e4, 1e4 - 1.0],
        [-1e4, -1e4 + 2.0, -1e4 + 0.5],
    ];
    let target = [1usize, 2, 0];
    // Closed form: loss_i = logsumexp(row) − row[t]; grad = (softmax − onehot) / N.
    let mut want_loss = 0.0;
    let mut want_grad = Vec::new();
    for (row, &t) in rows.iter().zip(&target) {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        want_loss += (lse - row[t]) / 3.0;
        for (c, p) in softmax_row(row).into_iter().enumerate() {
            want_grad.push((p - if c == t { 1.0 } else { 0.0 }) / 3.0);
        }
    }
    let flat: Vec<f64> = rows.concat();
    let t = f64s(&target.map(|t| t as f64), &[3]);
    for dtype in [DType::F32, DType::F64] {
        let x = f64s(&flat, &[3, 3]).to_dtype(dtype).requires_grad(true);
        let loss = CrossEntropyLoss::new().forward(&x, &t).expect("loss");
        let value = loss.item().expect("scalar");
        // The loss is ~1e4/3: f32 carries about 1e-3 of absolute rounding.
        let tol = if dtype == DType::F32 { 2e-3 } else { 1e-9 };
        assert!(
            value.is_finite() && (value - want_loss).abs() < tol,
            "{dtype:?}: {value} vs {want_loss}"
        );
        loss.backward().expect("backward");
        let grad = x.grad().expect("grad").to_vec::<f64>();
        for (g, w) in grad.iter().zip(&want_grad) {
            assert!(
                g.is_finite() && (g - w).abs() < 1e-6,
                "{dtype:?}: {grad:?} vs {want_grad:?}"
            );
        }
    }
}

#[test]
fn huber_gradient_is_d_inside_and_delta_sign_outside() {
    let delta = 1.5;
    let d = [-4.0, -1.0, -0.25, 0.5, 1.25, 3.0, 10.0];
    let x = f64s(&d, &[7]).requires_grad(true);
    let loss = HuberLoss::new()
        .delta(delta)
        .reduction(Reduction::Sum)
        .forward(&x, &Tensor::zeros(&[7]).to_dtype(DType::F64))
        .expect("loss");
    let want: f64 = d
        .iter()
        .map(|&v: &f64| {
            if v.abs() < delta {
                0.5 * v * v
            } else {
                delta * (v.abs() - 0.5 * delta)
            }
        })
        .sum();
    assert!((loss.item().expect("scalar") - want).abs() < 1e-12);
    loss.backward().expect("backward");
    let grad = x.grad().expect("grad").to_vec::<f64>();
    let want: Vec<f64> = d
        .iter()
        .map(|&v: &f64| {
            if v.abs() < delta {
                v
            } else {
                delta * v.signum()
            }
        })
        .collect();
    assert_eq!(grad, want);
}

#[test]
fn bce_with_logits_gradient_is_sigmoid_minus_target_even_at_0_and_1e4() {
    let x = [0.0, 0.0, 1e4, -1e4, 30.0, -30.0];
    let y = [0.0, 1.0, 0.25, 0.75, 1.0, 0.0];
    for dtype in [DType::F32, DType::F64] {
        let xt = f64s(&x, &[6]).to_dtype(dtype).requires_grad(true);
        let yt = f64s(&y, &[6]).to_dtype(dtype);
        let loss = BCEWithLogitsLoss::new()
            .reduction(Reduction::Sum)
            .forward(&xt, &yt)
            .expect("loss");
        // log(1 + e^−x)·... closed form: softplus(x) − x·y, with softplus(x) ≈ max(x, 0) for |x| ≥ 30.
        let want: f64 = x
            .iter()
            .zip(&y)
            .map(|(&x, &y): (&f64, &f64)| x.max(0.0) + (-x.abs()).exp().ln_1p() - x * y)
            .sum();
        let value = loss.item().expect("scalar");
        assert!(
            (value - want).abs() <= 1e-6 * want.abs(),
            "{dtype:?}: {value} vs {want}"
        );
        loss.backward().expect("backward");
        let grad = xt.grad().expect("grad").to_vec::<f64>();
        for ((g, &x), &y) in grad.iter().zip(&x).zip(&y) {
            let want = 1.0 / (1.0 + (-x).exp()) - y;
            assert!(
                (g - want).abs() < 1e-6,
                "{dtype:?}: at x = {x}: {g} vs {want}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

fn shape_error(r: Result<Tensor>) -> String {
    match r {
        Err(e @ Error::Shape { .. }) => e.to_string(),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn shape_mismatches_name_the_loss_and_both_shapes() {
    let (x, y) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[3, 2]));
    let cases: Vec<(&str, Result<Tensor>)> = vec![
        ("MSELoss", MSELoss::new().forward(&x, &y)),
        ("L1Loss", L1Loss::new().forward(&x, &y)),
        ("HuberLoss", HuberLoss::new().forward(&x, &y)),
        ("SmoothL1Loss", SmoothL1Loss::new().forward(&x, &y)),
        ("BCELoss", BCELoss::new().forward(&x, &y)),
        (
            "BCEWithLogitsLoss",
            BCEWithLogitsLoss::new().forward(&x, &y),
        ),
        ("KLDivLoss", KLDivLoss::new().forward(&x, &y)),
        ("CrossEntropyLoss", CrossEntropyLoss::new().forward(&x, &y)),
        ("NLLLoss", NLLLoss::new().forward(&x, &y)),
    ];
    for (name, r) in cases {
        let msg = shape_error(r);
        assert!(
            msg.starts_with(&format!("{name}: "))
                && msg.contains("[2, 3]")
                && msg.contains("[3, 2]"),
            "{msg}"
        );
    }
    // Index targets: the batch size must match.
    let msg = shape_error(CrossEntropyLoss::new().forward(&x, &Tensor::zeros(&[3])));
    assert_eq!(
        msg,
        "CrossEntropyLoss: input shape [2, 3] needs a target of shape [2] (class indices) \
         or [2, 3] (class probabilities), got target shape [3]"
    );
    let msg =
        shape_error(NLLLoss::new().forward(&Tensor::zeros(&[2, 3, 4]), &Tensor::zeros(&[2, 3])));
    assert_eq!(
        msg,
        "NLLLoss: input shape [2, 3, 4] needs a target of class indices of shape [2, 4], got target shape [2, 3]"
    );
    let msg = shape_error(
        CrossEntropyLoss::new().forward(&Tensor::scalar(1.0f32), &Tensor::scalar(0.0f32)),
    );
    assert!(
        msg.starts_with("CrossEntropyLoss: input must have a class dim"),
        "{msg}"
    );
    let msg = shape_error(
        CrossEntropyLoss::new()
            .weight(Tensor::ones(&[4]))
            .forward(&x, &Tensor::zeros(&[2])),
    );
    assert_eq!(
        msg,
        "CrossEntropyLoss: weight of shape [4] must have one value per class (3 classes)"
    );
    let msg = shape_error(
        BCEWithLogitsLoss::new()
            .pos_weight(Tensor::ones(&[2]))
            .forward(&x, &x),
    );
    assert_eq!(
        msg,
        "BCEWithLogitsLoss: pos_weight of shape [2] must broadcast to the target's shape [2, 3]"
    );
    let msg = shape_error(
        BCELoss::new()
            .weight(Tensor::ones(&[2, 2, 3]))
            .forward(&x, &x),
    );
    assert_eq!(
        msg,
        "BCELoss: weight of shape [2, 2, 3] must broadcast to the input's shape [2, 3]"
    );
}

#[test]
fn bad_class_indices_name_the_loss_and_the_value() {
    let x = Tensor::zeros(&[3, 4]);
    let t = |v: [f32; 3]| Tensor::new(v).expect("data");
    let err = CrossEntropyLoss::new()
        .forward(&x, &t([0.0, 4.0, 1.0]))
        .unwrap_err();
    assert!(matches!(err, Error::Index { .. }));
    assert_eq!(
        err.to_string(),
        "CrossEntropyLoss: target 4 is out of bounds for 4 classes"
    );
    let err = NLLLoss::new()
        .forward(&x, &t([0.0, -1.0, 1.0]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "NLLLoss: target -1 is out of bounds for 4 classes"
    );
    let err = CrossEntropyLoss::new()
        .forward(&x, &t([0.5, 1.0, 1.0]))
        .unwrap_err();
    assert!(matches!(err, Error::Argument { .. }));
    assert_eq!(
        err.to_string(),
        "CrossEntropyLoss: target 0.5 is not a class index (class-index targets hold whole numbers)"
    );
    let err = CrossEntropyLoss::new()
        .forward(&x, &t([f32::NAN, 1.0, 1.0]))
        .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("CrossEntropyLoss: target NaN is not a class index"));
    // ignore_index is accepted even outside 0..C, and only where configured.
    assert!(CrossEntropyLoss::new()
        .forward(&x, &t([-100.0, 1.0, 1.0]))
        .is_ok());
    assert!(CrossEntropyLoss::new()
        .ignore_index(7)
        .forward(&x, &t([7.0, 1.0, 1.0]))
        .is_ok());
    assert!(CrossEntropyLoss::new()
        .ignore_index(7)
        .forward(&x, &t([-100.0, 1.0, 1.0]))
        .is_err());
}

#[test]
fn options_are_checked() {
    let x = Tensor::zeros(&[2, 3]);
    let idx = Tensor::zeros(&[2]);
    let batchmean = |r: Result<Tensor>, name: &str| {
        let msg = r.unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!(
                "{name}: reduction 'batchmean' is only valid for KLDivLoss"
            )),
            "{msg}"
        );
    };
    let bm = Reduction::BatchMean;
    batchmean(MSELoss::new().reduction(bm).forward(&x, &x), "MSELoss");
    batchmean(L1Loss::new().reduction(bm).forward(&x, &x), "L1Loss");
    batchmean(HuberLoss::new().reduction(bm).forward(&x, &x), "HuberLoss");
    batchmean(
        SmoothL1Loss::new().reduction(bm).forward(&x, &x),
        "SmoothL1Loss",
    );
    batchmean(BCELoss::new().reduction(bm).forward(&x, &x), "BCELoss");
    batchmean(
        BCEWithLogitsLoss::new().reduction(bm).forward(&x, &x),
        "BCEWithLogitsLoss",
    );
    batchmean(
        CrossEntropyLoss::new().reduction(bm).forward(&x, &idx),
        "CrossEntropyLoss",
    );
    batchmean(NLLLoss::new().reduction(bm).forward(&x, &idx), "NLLLoss");
    assert!(KLDivLoss::new().reduction(bm).forward(&x, &x).is_ok());

    let msg = CrossEntropyLoss::new()
        .label_smoothing(-0.1)
        .forward(&x, &idx)
        .unwrap_err();
    assert_eq!(
        msg.to_string(),
        "CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got -0.1"
    );
    assert!(HuberLoss::new().delta(-1.0).forward(&x, &x).is_err());
    assert!(HuberLoss::new().delta(f64::NAN).forward(&x, &x).is_err());
    let msg = SmoothL1Loss::new().beta(-0.5).forward(&x, &x).unwrap_err();
    assert_eq!(
        msg.to_string(),
        "SmoothL1Loss: beta must not be negative, got -0.5"
    );
    let msg = BCELoss::new().forward(&x.sub_scalar(0.5), &x).unwrap_err();
    assert_eq!(
        msg.to_string(),
        "BCELoss: all elements of input should be between 0 and 1, got -0.5"
    );
}

#[test]
fn loss_dtype_follows_the_input() {
    let x = Tensor::randn(&[2, 3], 1);
    let y64 = Tensor::randn(&[2, 3], 2).to_dtype(DType::F64);
    assert_eq!(
        MSELoss::new().forward(&x, &y64).expect("loss").dtype(),
        DType::F32
    );
    let idx = Tensor::new([0.0f64, 2.0]).expect("data");
    assert_eq!(
        CrossEntropyLoss::new()
            .forward(&x, &idx)
            .expect("loss")
            .dtype(),
        DType::F32
    );
}
