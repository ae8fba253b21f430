//! cosine_similarity, functional dropout, embedding's padding_idx and the
//! attention scale (issue 14) against PyTorch 2.15: replays the cases that
//! `scripts/record_torch_functional.py` ran in PyTorch
//! (`tests/data/torch_functional.json`): an error where PyTorch raised,
//! otherwise the output's shape, dtype and elements and every input's
//! gradient for PyTorch's random upstream gradient.
//!
//! Dropout's masks are random, so PyTorch's can only be compared where the
//! result is known (evaluation, `p = 0`, `p = 1`); the tests below check
//! the masks themselves: every element is 0 or `x/(1 − p)`, the gradient is
//! the same mask, the dropped fraction is near `p`, a seed repeats them,
//! and `nn::Dropout` (its own generator) keeps or drops by the same rule.

mod torch_fixture;

use micrograd_plus::nn::embedding::embedding;
use micrograd_plus::nn::{Dropout, Module};
use micrograd_plus::{manual_seed, DType, Result, Tensor};
use serde_json::Value;
use torch_fixture::number;

const CASES: &str = include_str!("data/torch_functional.json");

/// Runs one recorded op on our engine.
fn apply(op: &str, args: &Value, x: &[Tensor]) -> Result<Vec<Tensor>> {
    let f = |k: &str| number(&args[k]);
    let i = |k: &str| args[k].as_i64().expect("int argument") as isize;
    let b = |k: &str| args[k].as_bool().expect("bool argument");
    // null is PyTorch's None.
    let optional_f = |k: &str| (!args[k].is_null()).then(|| f(k));
    let optional_i = |k: &str| (!args[k].is_null()).then(|| i(k));
    let one = |t: Tensor| Ok(vec![t]);
    match op {
        "cosine_similarity" => one(x[0].cosine_similarity(&x[1], i("dim"), f("eps"))?),
        "dropout" => one(x[0].dropout(f("p"), b("training"))?),
        "embedding" => one(embedding(&x[0], &x[1], optional_i("padding_idx"))?),
        "scaled_dot_product_attention" => one(Tensor::scaled_dot_product_attention(
            &x[0],
            &x[1],
            &x[2],
            None,
            b("is_causal"),
            optional_f("scale"),
        )?),
        other => panic!("op {other} is not in the replayer"),
    }
}

/// Every op this file replays.
const OPS: [&str; 4] = [
    "cosine_similarity",
    "dropout",
    "embedding",
    "scaled_dot_product_attention",
];

fn replay_ops(ops: &[&str]) {
    torch_fixture::replay_ops(CASES, ops, apply);
}

#[test]
fn cosine_similarity_agrees_with_pytorch_clamp_included() {
    replay_ops(&["cosine_similarity"]);
}

#[test]
fn dropout_agrees_with_pytorch_where_the_result_is_known() {
    replay_ops(&["dropout"]);
}

#[test]
fn embedding_padding_idx_agrees_with_pytorch() {
    replay_ops(&["embedding"]);
}

#[test]
fn attention_scale_agrees_with_pytorch() {
    replay_ops(&["scaled_dot_product_attention"]);
}

#[test]
fn every_recorded_op_is_replayed() {
    torch_fixture::assert_every_op_replayed(CASES, |op| OPS.contains(&op));
}

#[test]
fn dropout_keeps_or_zeroes_each_element_and_its_gradient_is_the_mask() {
    for dtype in [DType::F32, DType::F64] {
        let x = Tensor::randn(&[200, 50], 3)
            .add_scalar(5.0) // no element is 0, so a kept one is never mistaken for a dropped one
            .to_dtype(dtype)
            .requires_grad(true);
        let p = 0.3;
        manual_seed(11);
        let y = x.dropout(p, true).unwrap();
        let upstream = Tensor::randn(&[200, 50], 4).to_dtype(dtype);
        y.backward_with(&upstream).unwrap();
        let (xs, ys) = (x.to_vec::<f64>(), y.to_vec::<f64>());
        let (gs, us) = (x.grad().unwrap().to_vec::<f64>(), upstream.to_vec::<f64>());
        let tol = if dtype == DType::F32 { 1e-6 } else { 1e-15 };
        let mut dropped = 0;
        for k in 0..xs.len() {
            if ys[k] == 0.0 {
                dropped += 1;
                assert_eq!(gs[k], 0.0, "{dtype:?}: a dropped element got gradient");
            } else {
                let kept = 1.0 / (1.0 - p);
                assert!(
                    (ys[k] - xs[k] * kept).abs() <= tol * ys[k].abs(),
                    "{dtype:?}: value"
                );
                assert!(
                    (gs[k] - us[k] * kept).abs() <= tol * gs[k].abs().max(1.0),
                    "{dtype:?}: grad"
                );
            }
        }
        // 10,000 draws: the dropped fraction's standard deviation is 0.0046,
        // so 0.3 ± 0.03 fails only for a broken mask (6.5 sigma).
        let fraction = dropped as f64 / xs.len() as f64;
        assert!((fraction - p).abs() < 0.03, "{dtype:?}: dropped {fraction}");
    }
}

#[test]
fn dropout_repeats_under_a_seed_and_the_module_keeps_or_drops_by_the_same_rule() {
    let x = Tensor::randn(&[4, 64], 5).add_scalar(5.0);
    manual_seed(21);
    let a = x.dropout(0.5, true).unwrap().to_vec::<f32>();
    manual_seed(21);
    let b = x.dropout(0.5, true).unwrap().to_vec::<f32>();
    assert_eq!(a, b);
    let c = x.dropout(0.5, true).unwrap().to_vec::<f32>();
    assert_ne!(a, c, "the generator moved on: a new mask");
    // The module draws from its own generator (seeded from the default one
    // when built), with the same rule: each element is 0 or 2x.
    manual_seed(21);
    let module = Dropout::new(0.5).unwrap();
    let m = module.forward(&x).unwrap().to_vec::<f32>();
    for (v, x) in m.iter().zip(x.to_vec::<f32>()) {
        assert!(*v == 0.0 || *v == 2.0 * x);
    }
    // p = 1 is PyTorch's "drop everything" for the module too.
    let all = Dropout::new(1.0).unwrap().forward(&x).unwrap();
    assert!(all.to_vec::<f32>().iter().all(|&v| v == 0.0));
}

#[test]
fn embedding_module_with_padding_idx_matches_the_function() {
    manual_seed(3);
    let emb = micrograd_plus::nn::Embedding::with_padding_idx(6, 3, -2).unwrap();
    assert_eq!(emb.padding_index(), Some(4));
    assert_eq!(emb.weight().to_vec::<f32>()[12..15], [0.0; 3]);
    let ids = Tensor::new([[4.0f32, 1.0], [4.0, 5.0]]).unwrap();
    let y = emb.forward(&ids).unwrap();
    let z = embedding(&ids, &emb.weight().detach(), Some(4)).unwrap();
    assert_eq!(y.to_vec::<f32>(), z.to_vec::<f32>());
    y.sum().backward().unwrap();
    let g = emb.weight().grad().unwrap().to_vec::<f32>();
    assert_eq!(g[12..15], [0.0; 3], "padding row");
    assert_eq!(g[3..6], [1.0; 3]);
    assert_eq!(g[15..18], [1.0; 3]);
    let err = micrograd_plus::nn::Embedding::with_padding_idx(6, 3, 6)
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "Embedding: padding_idx 6 must be within num_embeddings (6)"
    );
    let err = embedding(&ids, &Tensor::zeros(&[6]), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "embedding: weight must be 2-D (num_embeddings, embedding_dim), got [6]"
    );
}
