//! The ops issue 14 added, against PyTorch 2.15: replays the cases that
//! `scripts/record_torch_ops_extra.py` ran in PyTorch
//! (`tests/data/torch_ops_extra.json`) and checks every result: an error
//! where PyTorch raised, otherwise each output's shape, dtype and elements
//! (NaN where PyTorch has NaN, the same infinities) and every input's
//! gradient for PyTorch's random upstream gradient.
//!
//! Index outputs (max/min over a dim, sort, topk) are PyTorch's int64; ours
//! hold the same whole numbers in the input's dtype (the engine has no
//! integer tensors, as for `argmax`), so only their values are compared.

mod torch_fixture;

use micrograd_plus::tensor::ops::padding::PadMode;
use micrograd_plus::{Result, Tensor};
use serde_json::Value;
use torch_fixture::{dim_list, number};

const CASES: &str = include_str!("data/torch_ops_extra.json");

/// Runs one recorded op on our engine; the first output is the one the
/// upstream gradient flows into.
fn apply(op: &str, args: &Value, x: &[Tensor]) -> Result<Vec<Tensor>> {
    let f = |k: &str| number(&args[k]);
    let i = |k: &str| args[k].as_i64().expect("int argument") as isize;
    let b = |k: &str| args[k].as_bool().expect("bool argument");
    // A list of ints; null (PyTorch's `dim=None`) is every dim.
    let list = |k: &str| dim_list(&args[k]);
    let dims = || list("dims");
    let one = |t: Tensor| Ok(vec![t]);
    let pair = |(v, ix): (Tensor, Tensor)| Ok(vec![v, ix]);
    // A bound recorded as null is absent (PyTorch's None).
    let bound = |k: &str, at: usize| (!args.get(k).is_some_and(Value::is_null)).then(|| &x[at]);
    match op {
        "relu6" => one(x[0].relu6()),
        "hardtanh" => one(x[0].hardtanh(-1.0, 1.0)?),
        "hardtanh_with" => one(x[0].hardtanh(f("min_val"), f("max_val"))?),
        "hardswish" => one(x[0].hardswish()),
        "hardsigmoid" => one(x[0].hardsigmoid()),
        "selu" => one(x[0].selu()),
        "celu" => one(x[0].celu(f("alpha"))?),
        "mish" => one(x[0].mish()),
        "logsigmoid" => one(x[0].logsigmoid()),
        "softsign" => one(x[0].softsign()),
        "softplus" => one(x[0].softplus()),
        "softplus_with" => one(x[0].softplus_with(f("beta"), f("threshold"))),
        "softmin" => one(x[0].softmin(i("dim"))?),
        "erf" => one(x[0].erf()),
        "log1p" => one(x[0].log1p()),
        "expm1" => one(x[0].expm1()),
        "log2" => one(x[0].log2()),
        "rsqrt" => one(x[0].rsqrt()),
        "square" => one(x[0].square()),
        "sign" => one(x[0].sign()),
        "tan" => one(x[0].tan()),
        "clamp_tensor" => {
            // The bounds present, in order: min (if any), then max.
            let lo = bound("min", 1);
            let hi = bound("max", if lo.is_some() { 2 } else { 1 });
            one(x[0].clamp_tensor(lo, hi)?)
        }
        "lerp" => one(x[0].lerp(&x[1], &x[2])?),
        "lerp_scalar" => one(x[0].lerp_scalar(&x[1], f("weight"))?),
        "prod" => one(x[0].prod()),
        "prod_dim" => one(x[0].prod_dim(i("dim"), b("keepdim"))?),
        "cumsum" => one(x[0].cumsum(i("dim"))?),
        "cumprod" => one(x[0].cumprod(i("dim"))?),
        "vector_norm" => one(x[0].vector_norm(f("ord"), &dims(), b("keepdim"))?),
        "norm" => one(x[0].norm(f("p"), &dims(), b("keepdim"))?),
        "max_dim" => pair(x[0].max_dim(i("dim"), b("keepdim"))?),
        "min_dim" => pair(x[0].min_dim(i("dim"), b("keepdim"))?),
        "sort" => pair(x[0].sort(i("dim"), b("descending"), b("stable"))?),
        "topk" => {
            let k = args["k"].as_u64().expect("k") as usize;
            pair(x[0].topk(k, i("dim"), b("largest"), b("sorted"))?)
        }
        "flip" => one(x[0].flip(&dims())?),
        "roll" => one(x[0].roll(&list("shifts"), &dims())?),
        "repeat" => {
            let sizes: Vec<usize> = list("sizes").iter().map(|&s| s as usize).collect();
            one(x[0].repeat(&sizes)?)
        }
        "tril" => one(x[0].tril(i("diagonal"))?),
        "triu" => one(x[0].triu(i("diagonal"))?),
        "outer" => one(x[0].outer(&x[1])?),
        "bmm" => one(x[0].bmm(&x[1])?),
        "pixel_shuffle" => one(x[0].pixel_shuffle(i("upscale_factor") as usize)?),
        "pad" => {
            let mode = match args["mode"].as_str() {
                Some("constant") => PadMode::Constant(f("value")),
                Some("reflect") => PadMode::Reflect,
                Some("replicate") => PadMode::Replicate,
                other => panic!("pad mode {other:?}"),
            };
            one(x[0].pad_with(&list("pad"), mode)?)
        }
        "normalize" => one(x[0].normalize(f("p"), i("dim"), f("eps"))?),
        "glu" => one(x[0].glu(i("dim"))?),
        other => panic!("op {other} is not in the replayer"),
    }
}

/// Replays every case whose op is in `ops` and lists all disagreements.
fn replay_ops(ops: &[&str]) {
    torch_fixture::replay_ops(CASES, ops, apply);
}

const ACTIVATIONS_AND_MATH: &[&str] = &[
    "relu6",
    "hardtanh",
    "hardtanh_with",
    "hardswish",
    "hardsigmoid",
    "selu",
    "celu",
    "mish",
    "logsigmoid",
    "softsign",
    "softplus",
    "softplus_with",
    "softmin",
    "erf",
    "log1p",
    "expm1",
    "log2",
    "rsqrt",
    "square",
    "sign",
    "tan",
];
const TERNARY: &[&str] = &["clamp_tensor", "lerp", "lerp_scalar"];
const REDUCTIONS_AND_SCANS: &[&str] = &[
    "prod",
    "prod_dim",
    "cumsum",
    "cumprod",
    "vector_norm",
    "norm",
    "max_dim",
    "min_dim",
];
const SORTING: &[&str] = &["sort", "topk"];
const LAYOUT: &[&str] = &[
    "flip",
    "roll",
    "repeat",
    "tril",
    "triu",
    "outer",
    "bmm",
    "pixel_shuffle",
    "pad",
];
const LAYERS: &[&str] = &["normalize", "glu"];
/// Every group of ops a test below replays.
const GROUPS: &[&[&str]] = &[
    ACTIVATIONS_AND_MATH,
    TERNARY,
    REDUCTIONS_AND_SCANS,
    SORTING,
    LAYOUT,
    LAYERS,
];

#[test]
fn activations_and_math_agree_with_pytorch() {
    replay_ops(ACTIVATIONS_AND_MATH);
}

#[test]
fn clamp_with_tensor_bounds_and_lerp_agree_with_pytorch() {
    replay_ops(TERNARY);
}

#[test]
fn reductions_and_scans_agree_with_pytorch() {
    replay_ops(REDUCTIONS_AND_SCANS);
}

#[test]
fn sort_and_topk_agree_with_pytorch_ties_included() {
    replay_ops(SORTING);
}

#[test]
fn layout_ops_and_padding_agree_with_pytorch() {
    replay_ops(LAYOUT);
}

#[test]
fn normalize_and_glu_agree_with_pytorch() {
    replay_ops(LAYERS);
}

#[test]
fn every_recorded_op_is_replayed() {
    torch_fixture::assert_every_op_replayed(CASES, GROUPS);
}
