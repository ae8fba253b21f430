//! f64 finite-difference checks of the language ops and modules: the fused
//! attention (causal, masked, fewer queries than keys), split/merge heads,
//! the fused layer norm, and a whole GPT's loss with respect to every
//! parameter (embedding rows included).

use micrograd_plus::gradcheck::{gradcheck, GradcheckOptions};
use micrograd_plus::models::{GPTConfig, Positions, GPT};
use micrograd_plus::nn::attention::attention_composed;
use micrograd_plus::nn::{Module, MultiHeadAttention};
use micrograd_plus::{DType, Tensor};

fn check(name: &str, f: impl Fn(&[Tensor]) -> micrograd_plus::Result<Tensor>, inputs: &[Tensor]) {
    let report = gradcheck(f, inputs, GradcheckOptions::default()).unwrap();
    assert!(report.passed, "{name}: {report:?}");
}

#[test]
fn attention_gradients() {
    let (q, k, v) = (
        Tensor::randn(&[2, 3, 4, 5], 1),
        Tensor::randn(&[2, 3, 4, 5], 2),
        Tensor::randn(&[2, 3, 4, 6], 3),
    );
    let sdpa = |causal| {
        move |t: &[Tensor]| {
            Tensor::scaled_dot_product_attention(&t[0], &t[1], &t[2], None, causal, None)
        }
    };
    check("sdpa", sdpa(false), &[q.clone(), k.clone(), v.clone()]);
    check(
        "sdpa causal",
        sdpa(true),
        &[q.clone(), k.clone(), v.clone()],
    );
    // A padding mask over keys, broadcast over heads and queries.
    let mask = Tensor::new([[1.0f64, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
        .unwrap()
        .reshape(&[2, 1, 1, 4])
        .unwrap();
    check(
        "sdpa masked",
        |t: &[Tensor]| {
            Tensor::scaled_dot_product_attention(&t[0], &t[1], &t[2], Some(&mask), true, None)
        },
        &[q.clone(), k.clone(), v.clone()],
    );
    // Two new queries against four keys (the key/value cache's case).
    let q2 = Tensor::randn(&[2, 3, 2, 5], 4);
    check("sdpa Tq<Tk causal", sdpa(true), &[q2, k.clone(), v.clone()]);
}

#[test]
fn fused_attention_equals_composed_attention() {
    let (q, k, v) = (
        Tensor::randn(&[2, 2, 6, 4], 5),
        Tensor::randn(&[2, 2, 6, 4], 6),
        Tensor::randn(&[2, 2, 6, 4], 7),
    );
    let mask = Tensor::new([[1.0f32, 1.0, 0.0, 1.0, 1.0, 1.0]])
        .unwrap()
        .reshape(&[1, 1, 1, 6])
        .unwrap();
    for causal in [false, true] {
        let a = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(&mask), causal, None)
            .unwrap()
            .to_vec::<f32>();
        let b = attention_composed(&q, &k, &v, Some(&mask), causal, None)
            .unwrap()
            .to_vec::<f32>();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "causal {causal}: {x} vs {y}");
        }
    }
}

#[test]
fn heads_and_layer_norm_gradients() {
    let x = Tensor::randn(&[2, 3, 8], 1);
    check(
        "split_heads",
        |t: &[Tensor]| t[0].split_heads(4),
        std::slice::from_ref(&x),
    );
    check(
        "merge_heads",
        |t: &[Tensor]| t[0].merge_heads(),
        &[Tensor::randn(&[2, 4, 3, 2], 2)],
    );
    let (w, b) = (Tensor::randn(&[8], 3), Tensor::randn(&[8], 4));
    check(
        "layer_norm affine",
        |t: &[Tensor]| t[0].layer_norm(&[8], Some(&t[1]), Some(&t[2]), 1e-5),
        &[x.clone(), w, b],
    );
    check(
        "layer_norm plain",
        |t: &[Tensor]| t[0].layer_norm(&[3, 8], None, None, 1e-5),
        &[x],
    );
}

/// Converts every parameter of `m` to f64 in place.
fn to_f64(m: &dyn Module) {
    for (_, p) in m.named_parameters() {
        p.set_dtype(DType::F64);
    }
}

/// Compares autograd's gradient of `loss()` with central differences for
/// every element of every parameter of `m`.
fn check_parameters(m: &dyn Module, loss: impl Fn() -> Tensor) {
    m.zero_grad();
    loss().backward().unwrap();
    let eps = 1e-6;
    for (name, p) in m.named_parameters() {
        let grad = p
            .grad()
            .unwrap_or_else(|| panic!("{name}: no gradient"))
            .to_vec::<f64>();
        for i in 0..p.numel() {
            let nudge = |delta: f64| p.update(|v: &mut [f64]| v[i] += delta).unwrap();
            nudge(eps);
            let up = loss().item().unwrap();
            nudge(-2.0 * eps);
            let down = loss().item().unwrap();
            nudge(eps);
            let numeric = (up - down) / (2.0 * eps);
            let err = (grad[i] - numeric).abs() / numeric.abs().max(1.0);
            assert!(
                err < 1e-6,
                "{name}[{i}]: autograd {} vs finite differences {numeric}",
                grad[i]
            );
        }
    }
}

#[test]
fn multi_head_attention_parameter_gradients() {
    micrograd_plus::manual_seed(3);
    let attn = MultiHeadAttention::new(6, 2, 0.0).unwrap().causal(true);
    to_f64(&attn);
    let x = Tensor::randn(&[2, 3, 6], 9).to_dtype(DType::F64);
    let pad = Tensor::new([[0.0f64, 0.0, 0.0], [0.0, 0.0, 1.0]]).unwrap();
    let w = Tensor::randn(&[2, 3, 6], 10).to_dtype(DType::F64);
    check_parameters(&attn, || {
        attn.forward_masked(&x, Some(&pad))
            .unwrap()
            .mul(&w)
            .unwrap()
            .sum()
    });
}

#[test]
fn gpt_parameter_gradients() {
    for (tie, positions) in [(false, Positions::Learned), (true, Positions::Sinusoidal)] {
        micrograd_plus::manual_seed(4);
        let config = GPTConfig {
            vocab_size: 5,
            block_size: 4,
            d_model: 4,
            heads: 2,
            layers: 2,
            dropout: 0.0,
            tie_weights: tie,
            positions,
        };
        let model = GPT::new(config).unwrap();
        to_f64(&model);
        // Larger weights than the N(0, 0.02) initialisation, so every path matters.
        for (_, p) in model.named_parameters() {
            let noise = Tensor::randn(p.shape(), p.id())
                .to_dtype(DType::F64)
                .mul_scalar(0.5);
            p.copy_from(&p.detach().add(&noise).unwrap()).unwrap();
        }
        let (ids, targets) = ([0, 1, 2, 1, 4, 4, 3, 0], [1, 2, 3, 0, 4, 3, 0, 2]);
        // Token 4 appears twice, 3 once as input... every used row gets a gradient;
        // unused rows of the table get exactly zero (checked by finite differences too).
        check_parameters(&model, || model.loss(&ids, &targets, 2, 4).unwrap());
    }
}
