//! Runs the gradient-check catalogue (`micrograd_plus::gradcheck::op_checks`)
//! and the tie cases, and shows that the checker itself catches wrong
//! gradients.

use micrograd_plus::gradcheck::{
    gradcheck, op_checks, tie_checks, GradcheckOptions, OpCheck, TieCheck,
};
use micrograd_plus::{no_grad, Tensor};
use std::collections::HashSet;

/// The bar every check must clear: `|analytic − numeric| / max(1, |numeric|)`.
const TOLERANCE: f64 = 1e-6;

#[test]
fn every_op_check_passes() {
    let checks = op_checks();
    let mut failures = Vec::new();
    let (mut worst, mut worst_name) = (0.0f64, String::new());
    for check in &checks {
        match check.run() {
            Ok(report) => {
                if report.max_rel_error > worst {
                    worst = report.max_rel_error;
                    worst_name = check.name();
                }
                // Written as `x < tol` so that NaN fails.
                let ok = report.passed && report.max_rel_error < TOLERANCE;
                if !ok {
                    failures.push(format!(
                        "{}: max rel error {:e} (per input: {:?})",
                        check.name(),
                        report.max_rel_error,
                        report
                            .inputs
                            .iter()
                            .map(|i| i.max_rel_error)
                            .collect::<Vec<_>>()
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: error {e}", check.name())),
        }
    }
    println!(
        "{} gradient checks; worst relative error {worst:e} ({worst_name})",
        checks.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} gradient checks failed:\n{}",
        failures.len(),
        checks.len(),
        failures.join("\n")
    );
}

/// A check that never reaches autograd (or gives some input a zero gradient
/// everywhere) would pass without testing anything.
#[test]
fn every_op_check_exercises_autograd_for_every_input() {
    let mut vacuous = Vec::new();
    for check in op_checks() {
        let leaves: Vec<Tensor> = check
            .inputs
            .iter()
            .map(|t| t.detach().requires_grad(true))
            .collect();
        let out = check.apply(&leaves).unwrap();
        if !out.is_requires_grad() {
            vacuous.push(format!("{}: output not tracked", check.name()));
            continue;
        }
        let weights = Tensor::randn(out.shape(), 3).to_dtype(out.dtype());
        out.mul(&weights).unwrap().sum().backward().unwrap();
        for (i, leaf) in leaves.iter().enumerate() {
            let reached = leaf
                .grad()
                .is_some_and(|g| g.to_vec::<f64>().iter().any(|&v| v != 0.0));
            if !reached {
                vacuous.push(format!("{}: input {i} gets no gradient", check.name()));
            }
        }
    }
    assert!(vacuous.is_empty(), "{}", vacuous.join("\n"));
}

#[test]
fn catalogue_covers_every_differentiable_op() {
    let required = [
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "maximum",
        "minimum",
        "add_scalar",
        "sub_scalar",
        "rsub_scalar",
        "mul_scalar",
        "div_scalar",
        "rdiv_scalar",
        "pow_scalar",
        "neg",
        "exp",
        "log",
        "sqrt",
        "abs",
        "sin",
        "cos",
        "clamp",
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "gelu",
        "gelu_tanh",
        "elu",
        "silu",
        "softplus",
        "relu6",
        "hardtanh",
        "hardswish",
        "hardsigmoid",
        "selu",
        "celu",
        "mish",
        "logsigmoid",
        "softsign",
        "softmin",
        "erf",
        "log1p",
        "expm1",
        "log2",
        "rsqrt",
        "square",
        "tan",
        "lerp",
        "prod",
        "cumsum",
        "cumprod",
        "vector_norm",
        "max_dim",
        "min_dim",
        "sort",
        "topk",
        "flip",
        "roll",
        "repeat",
        "tril",
        "triu",
        "outer",
        "bmm",
        "pixel_shuffle",
        "normalize",
        "glu",
        "cosine_similarity",
        "pairwise_distance",
        "dropout",
        "scaled_dot_product_attention",
        "qkv_packed_attention",
        "MarginRankingLoss",
        "CosineEmbeddingLoss",
        "TripletMarginLoss",
        "SoftMarginLoss",
        "MultiLabelSoftMarginLoss",
        "PoissonNLLLoss",
        "GaussianNLLLoss",
        "sum",
        "mean",
        "max",
        "min",
        "var",
        "std",
        "logsumexp",
        "softmax",
        "log_softmax",
        "matmul",
        "linear",
        "conv2d",
        "max_pool2d",
        "avg_pool2d",
        "adaptive_avg_pool2d",
        "conv1d",
        "conv_transpose2d",
        "max_pool1d",
        "avg_pool1d",
        "adaptive_max_pool2d",
        "interpolate",
        "group_norm",
        "instance_norm",
        "batch_norm",
        "reshape",
        "permute",
        "transpose",
        "t",
        "squeeze",
        "unsqueeze",
        "flatten",
        "expand",
        "broadcast_to",
        "cat",
        "stack",
        "split",
        "chunk",
        "narrow",
        "slice",
        "index_select",
        "gather",
        "pad",
        "where",
        "masked_fill",
        "to_dtype",
        "composite",
    ];
    let checks = op_checks();
    let ops: HashSet<&str> = checks.iter().map(|c| c.op).collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|op| !ops.contains(op))
        .collect();
    assert!(missing.is_empty(), "no gradient check for {missing:?}");

    // The specific shape cases.
    let has = |op: &str, shapes: &str| checks.iter().any(|c| c.op == op && c.shapes == shapes);
    for op in ["add", "sub", "mul", "div", "pow", "maximum", "minimum"] {
        for shapes in ["(2,3)+(3,)", "(2,1,4)+(3,1)", "(2,3)+()", "()+(2,3)"] {
            assert!(has(op, shapes), "{op} {shapes}");
        }
    }
    for shapes in [
        "(4,)+(4,)",
        "(3,4)+(4,)",
        "(4,)+(4,3)",
        "(2,3)+(3,4)",
        "(2,3,4)+(4,5)",
        "(2,1,3,4)+(3,4,2)",
    ] {
        assert!(has("matmul", shapes), "matmul {shapes}");
    }
    // Each reduction over all elements and over each dim, with and without keepdim.
    for op in ["sum", "mean", "max", "min", "var", "std", "logsumexp"] {
        for dim in 0..3 {
            for keepdim in [false, true] {
                let detail = format!("dims=[{dim}], keepdim={keepdim}");
                assert!(
                    checks.iter().any(|c| c.op == op
                        && c.shapes == "(2,3,4)"
                        && c.detail.ends_with(&detail)),
                    "{op} {detail}"
                );
            }
        }
    }

    // Names are unique, so a failure report points at exactly one case.
    let mut names = HashSet::new();
    for c in &checks {
        assert!(names.insert(c.name()), "duplicate check {}", c.name());
    }
}

#[test]
fn ties_and_kinks_follow_the_conventions() {
    let mut failures = Vec::new();
    for tie in tie_checks() {
        match tie.run() {
            Ok(err) if err < 1e-12 => {}
            Ok(err) => failures.push(format!("{}: off by {err:e}", tie.name())),
            Err(e) => failures.push(format!("{}: error {e}", tie.name())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tie_in_max_splits_the_gradient_evenly() {
    // max over [[1, 4, 4], [4, 0, 2]] ties three ways: each gets a third.
    let x = Tensor::new([[1.0f64, 4.0, 4.0], [4.0, 0.0, 2.0]])
        .unwrap()
        .requires_grad(true);
    x.max().unwrap().backward().unwrap();
    let third = 1.0 / 3.0;
    assert_eq!(
        x.grad().unwrap().to_vec::<f64>(),
        vec![0.0, third, third, third, 0.0, 0.0]
    );
    // Per row (dim 1): row 0 ties two ways, row 1 has a single maximum.
    x.zero_grad();
    x.max_dims(&[1], false).unwrap().sum().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec::<f64>(),
        vec![0.0, 0.5, 0.5, 1.0, 0.0, 0.0]
    );
}

// ---- The checker must be able to fail. ----

#[test]
fn checker_fails_when_autograd_misses_a_path() {
    // x * detach(x): autograd sees d/dx = x, the true derivative is 2x.
    let x = Tensor::randn(&[2, 3], 11);
    let report = gradcheck(
        |t| t[0].mul(&t[0].detach()),
        &[x],
        GradcheckOptions::default(),
    )
    .unwrap();
    assert!(!report.passed, "{report:?}");
    assert!(report.max_rel_error > 0.1, "{report:?}");
}

#[test]
fn checker_fails_when_a_whole_output_is_untracked() {
    // Computed under no_grad, the output has no graph: analytic gradient 0.
    let x = Tensor::randn(&[3], 12);
    let report = gradcheck(
        |t| Ok(no_grad(|| t[0].exp())),
        &[x],
        GradcheckOptions::default(),
    )
    .unwrap();
    assert!(!report.passed, "{report:?}");
}

#[test]
fn checker_fails_on_one_wrong_input_among_several() {
    // a*b + a*detach(b): a gets both paths, b only one, so only b is wrong.
    let (a, b) = (Tensor::randn(&[2, 3], 13), Tensor::randn(&[3], 14));
    let report = gradcheck(
        |t| t[0].mul(&t[1])?.add(&t[0].mul(&t[1].detach())?),
        &[a, b],
        GradcheckOptions::default(),
    )
    .unwrap();
    assert!(!report.passed);
    assert!(report.inputs[0].max_rel_error < TOLERANCE, "{report:?}");
    assert!(report.inputs[1].max_rel_error > 0.1, "{report:?}");
}

#[test]
fn checker_catches_a_gradient_off_by_one_part_in_ten_thousand() {
    // f = x² + 1e-4·x·detach(x): autograd's gradient is short by 1e-4·x,
    // far above the 1e-6 bar, so even a subtle error fails.
    let x = Tensor::new([1.5f64, -2.0, 3.0]).unwrap();
    let report = gradcheck(
        |t| {
            let x = &t[0];
            x.mul(x)?.add(&x.mul(&x.detach())?.mul_scalar(1e-4))
        },
        &[x],
        GradcheckOptions::default(),
    )
    .unwrap();
    assert!(!report.passed, "{report:?}");
    assert!(report.max_rel_error > 1e-5, "{report:?}");
}

#[test]
fn checker_fails_on_nan_gradients() {
    // sqrt at 0: the analytic gradient is inf and the numeric one NaN.
    let x = Tensor::new([0.0f64, 1.0]).unwrap();
    let report = gradcheck(|t| Ok(t[0].sqrt()), &[x], GradcheckOptions::default()).unwrap();
    assert!(!report.passed, "{report:?}");
}

#[test]
fn op_check_built_on_a_wrong_gradient_fails() {
    // The same plumbing the catalogue uses reports the failure.
    let check = OpCheck::new(
        "wrong",
        "x·detach(x)",
        vec![Tensor::randn(&[4], 15)],
        |t| t[0].mul(&t[0].detach()),
    );
    assert!(!check.run().unwrap().passed);
}

#[test]
fn tie_check_with_a_wrong_expectation_fails() {
    // max of [2, 2] splits the gradient; claiming it all goes to the first is wrong.
    let tie = TieCheck::new(
        "max",
        "wrong expectation",
        vec![Tensor::new([2.0f64, 2.0]).unwrap()],
        |t| t[0].max(),
        vec![vec![1.0, 0.0]],
    );
    assert_eq!(tie.run().unwrap(), 0.5);
}
