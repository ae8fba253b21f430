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

/// Values and gradients of the fused attention against the composed one
/// (matmul, masked_fill, softmax) over several blocks of causal queries,
/// the last one ragged, with fewer queries than keys, and with a padding
/// mask that differs between batch entries.
#[test]
fn blocked_causal_attention_equals_composed_attention() {
    for (tq, tk) in [(37, 37), (21, 37), (16, 16), (17, 17), (1, 40)] {
        let q = Tensor::randn(&[2, 2, tq, 5], 11).to_dtype(DType::F64);
        let k = Tensor::randn(&[2, 2, tk, 5], 12).to_dtype(DType::F64);
        let v = Tensor::randn(&[2, 2, tk, 6], 13).to_dtype(DType::F64);
        let keep: Vec<f64> = (0..2 * tk).map(|i| f64::from(i % 5 != 3)).collect();
        let mask = Tensor::from_vec(keep, &[2, 1, 1, tk]).unwrap();
        let upstream = Tensor::randn(&[2, 2, tq, 6], 14).to_dtype(DType::F64);
        for causal in [true, false] {
            let mut results = Vec::new();
            for fused in [true, false] {
                let inputs = [&q, &k, &v].map(|t| t.detach().requires_grad(true));
                let [q, k, v] = &inputs;
                let y = if fused {
                    Tensor::scaled_dot_product_attention(q, k, v, Some(&mask), causal, None)
                } else {
                    attention_composed(q, k, v, Some(&mask), causal, None)
                }
                .unwrap();
                y.backward_with(&upstream).unwrap();
                let mut all = y.to_vec::<f64>();
                for t in &inputs {
                    all.extend(t.grad().unwrap().to_vec::<f64>());
                }
                results.push(all);
            }
            for (i, (a, b)) in results[0].iter().zip(&results[1]).enumerate() {
                assert!(
                    (a - b).abs() < 1e-12,
                    "tq {tq}, tk {tk}, causal {causal}: value {i} of output and gradients {a} vs {b}"
                );
            }
        }
    }
}

/// Packed attention by the long way: the three parts narrowed out, split
/// into heads, attended and merged back.
fn packed_by_split(
    qkv: &Tensor,
    heads: usize,
    mask: Option<&Tensor>,
    causal: bool,
) -> micrograd_plus::Result<Tensor> {
    let (t, c) = (qkv.shape()[qkv.ndim() - 2], qkv.shape()[qkv.ndim() - 1] / 3);
    let batched = qkv.reshape(&[-1, t as isize, 3 * c as isize])?;
    let part = |i| batched.narrow(2, i * c, c)?.split_heads(heads);
    let y =
        Tensor::scaled_dot_product_attention(&part(0)?, &part(1)?, &part(2)?, mask, causal, None)?
            .merge_heads()?;
    let mut shape: Vec<isize> = qkv.shape().iter().map(|&n| n as isize).collect();
    *shape.last_mut().unwrap() = c as isize;
    y.reshape(&shape)
}

#[test]
fn packed_attention_gradients() {
    // qkv (2, 4, 3·6): 3 heads of 2.
    let qkv = Tensor::randn(&[2, 4, 18], 8);
    let mask = Tensor::new([[1.0f64, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0]])
        .unwrap()
        .reshape(&[2, 1, 1, 4])
        .unwrap();
    for (causal, mask) in [(false, None), (true, None), (true, Some(&mask))] {
        check(
            &format!(
                "qkv_packed_attention causal {causal}, mask {}",
                mask.is_some()
            ),
            |t: &[Tensor]| Tensor::qkv_packed_attention(&t[0], 3, mask, causal, None),
            std::slice::from_ref(&qkv),
        );
    }
}

#[test]
fn packed_attention_equals_split_attention() {
    // Values and gradients, f32, in the GPT's layout and without a batch
    // dim, with a key padding mask that differs between batch entries.
    for (shape, heads) in [
        (&[3, 7, 24][..], 4),
        (&[7, 12][..], 1),
        (&[2, 7, 24][..], 2),
    ] {
        let batch = if shape.len() == 3 { shape[0] } else { 1 };
        let keep: Vec<f32> = (0..batch * 7).map(|i| f32::from(i % 4 != 2)).collect();
        let mask = Tensor::from_vec(keep, &[batch, 1, 1, 7]).unwrap();
        let mask = mask
            .reshape(&[batch as isize, 1, 1, 7][4 - (shape.len() + 1)..])
            .unwrap();
        for (causal, mask) in [(false, Some(&mask)), (true, None), (true, Some(&mask))] {
            let qkv = Tensor::randn(shape, 9).requires_grad(true);
            let upstream = Tensor::randn(
                &[&shape[..shape.len() - 1], &[shape[shape.len() - 1] / 3]].concat(),
                10,
            );
            let mut results = Vec::new();
            for packed in [true, false] {
                qkv.zero_grad();
                let y = if packed {
                    Tensor::qkv_packed_attention(&qkv, heads, mask, causal, None)
                } else {
                    packed_by_split(&qkv, heads, mask, causal)
                }
                .unwrap();
                y.backward_with(&upstream).unwrap();
                results.push((y.to_vec::<f32>(), qkv.grad().unwrap().to_vec::<f32>()));
            }
            let what = format!(
                "{shape:?}, {heads} heads, causal {causal}, mask {}",
                mask.is_some()
            );
            for (name, a, b) in [
                ("output", &results[0].0, &results[1].0),
                ("gradient", &results[0].1, &results[1].1),
            ] {
                assert_eq!(a.len(), b.len(), "{what}: {name} length");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!((x - y).abs() < 1e-5, "{what}: {name}[{i}] {x} vs {y}");
                }
            }
        }
    }
}

#[test]
fn packed_attention_rejects_bad_shapes_with_the_op_and_shape() {
    let err = |qkv: &Tensor, heads, mask: Option<&Tensor>| {
        Tensor::qkv_packed_attention(qkv, heads, mask, false, None)
            .unwrap_err()
            .to_string()
    };
    let qkv = Tensor::zeros(&[2, 3, 12]);
    assert_eq!(
        err(&Tensor::zeros(&[12]), 1, None),
        "qkv_packed_attention: qkv must be (..., time, 3·features), got [12]"
    );
    assert_eq!(
        err(&qkv, 0, None),
        "qkv_packed_attention: 12 features of [2, 3, 12] do not split into query, key and value of 0 heads each"
    );
    assert!(err(&qkv, 8, None).contains("of 8 heads each"));
    let mask = Tensor::zeros(&[3, 1, 3, 3]);
    assert!(
        err(&qkv, 2, Some(&mask)).starts_with("qkv_packed_attention:"),
        "{}",
        err(&qkv, 2, Some(&mask))
    );
    // Zero tokens or zero features: empty outputs, no panic.
    let empty =
        Tensor::qkv_packed_attention(&Tensor::zeros(&[2, 0, 6]), 2, None, true, None).unwrap();
    assert_eq!(empty.shape(), &[2, 0, 2]);
    let none =
        Tensor::qkv_packed_attention(&Tensor::zeros(&[2, 3, 0]), 2, None, true, None).unwrap();
    assert_eq!(none.shape(), &[2, 3, 0]);
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
