//! Attention and the GPT against PyTorch: `tests/data/torch_attention.json`,
//! recorded by `scripts/record_torch_attention.py` (float64). Each case is
//! run in f64 (tolerance 1e-10) and in f32 (1e-4 relative).

use micrograd_plus::models::{GPTConfig, GPT};
use micrograd_plus::nn::{Module, MultiHeadAttention};
use micrograd_plus::{DType, Tensor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Deserialize, Clone)]
struct Data {
    shape: Vec<usize>,
    data: Vec<f64>,
}

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/torch_attention.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn data(v: &Value) -> Data {
    serde_json::from_value(v.clone()).unwrap()
}

fn tensor(v: &Value, dtype: DType) -> Tensor {
    let d = data(v);
    Tensor::from_vec(d.data, &d.shape).unwrap().to_dtype(dtype)
}

fn assert_close(what: &str, got: &Tensor, want: &Value, rtol: f64, atol: f64) {
    let want = data(want);
    assert_eq!(got.shape(), &want.shape[..], "{what}: shape");
    for (i, (g, w)) in got.to_vec::<f64>().iter().zip(&want.data).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, PyTorch {w}"
        );
    }
}

const DTYPES: [(DType, f64, f64); 2] = [(DType::F64, 1e-10, 1e-12), (DType::F32, 1e-4, 1e-5)];

/// Converts a module's parameters to `dtype` and loads PyTorch's values.
fn load(module: &mut dyn Module, params: &Value, dtype: DType, what: &str) {
    for (_, p) in module.named_parameters() {
        p.set_dtype(dtype);
    }
    let state: Vec<(String, Tensor)> = params
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, d)| (n.clone(), tensor(d, dtype)))
        .collect();
    module
        .load_state_dict(&state)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn scaled_dot_product_attention_matches_pytorch() {
    let r = reference();
    let cases = r["sdpa"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        for (dtype, rtol, atol) in DTYPES {
            let what = format!("sdpa {} {dtype:?}", case["name"]);
            let [q, k, v] = ["q", "k", "v"].map(|n| tensor(&case[n], dtype).requires_grad(true));
            let mask = case.get("mask").map(|m| tensor(m, dtype));
            let causal = case["causal"].as_bool().unwrap();
            let out = Tensor::scaled_dot_product_attention(&q, &k, &v, mask.as_ref(), causal, None)
                .unwrap();
            assert_close(&format!("{what} output"), &out, &case["output"], rtol, atol);
            out.backward_with(&tensor(&case["grad_output"], dtype))
                .unwrap();
            for (t, n) in [(&q, "grad_q"), (&k, "grad_k"), (&v, "grad_v")] {
                assert_close(
                    &format!("{what} {n}"),
                    &t.grad().unwrap(),
                    &case[n],
                    rtol,
                    atol,
                );
            }
        }
    }
}

#[test]
fn multi_head_attention_matches_pytorch() {
    let r = reference();
    for case in r["mha"].as_array().unwrap() {
        for (dtype, rtol, atol) in DTYPES {
            let what = format!("mha {} {dtype:?}", case["name"]);
            let x = tensor(&case["input"], dtype).requires_grad(true);
            let c = x.shape()[2];
            let heads = case["heads"].as_u64().unwrap() as usize;
            let mut attn = MultiHeadAttention::new(c, heads, 0.0)
                .unwrap()
                .causal(case["causal"].as_bool().unwrap());
            load(&mut attn, &case["params"], dtype, &what);
            let pad = case.get("key_padding_mask").map(|m| tensor(m, dtype));
            let y = attn.forward_masked(&x, pad.as_ref()).unwrap();
            assert_close(&format!("{what} output"), &y, &case["output"], rtol, atol);
            y.backward_with(&tensor(&case["grad_output"], dtype))
                .unwrap();
            assert_close(
                &format!("{what} grad input"),
                &x.grad().unwrap(),
                &case["grad_input"],
                rtol,
                atol,
            );
            for (name, p) in attn.named_parameters() {
                assert_close(
                    &format!("{what} grad {name}"),
                    &p.grad().unwrap(),
                    &case["grad_params"][&name],
                    rtol,
                    atol,
                );
            }
        }
    }
}

#[test]
fn gpt_logits_loss_and_gradients_match_pytorch() {
    let r = reference();
    let cases = r["gpt"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        for (dtype, rtol, atol) in DTYPES {
            let what = format!("gpt {} {dtype:?}", case["name"]);
            let config: GPTConfig = serde_json::from_value(case["config"].clone()).unwrap();
            let mut model = GPT::new(config).unwrap();
            load(&mut model, &case["params"], dtype, &what);
            let ids: Vec<usize> = serde_json::from_value(case["ids"].clone()).unwrap();
            let targets: Vec<usize> = serde_json::from_value(case["targets"].clone()).unwrap();
            let (b, t) = (
                case["batch"].as_u64().unwrap() as usize,
                case["time"].as_u64().unwrap() as usize,
            );
            let logits = model.logits(&ids, b, t).unwrap();
            assert_close(
                &format!("{what} logits"),
                &logits,
                &case["logits"],
                rtol,
                atol,
            );
            let loss = model.loss(&ids, &targets, b, t).unwrap();
            let want = case["loss"].as_f64().unwrap();
            assert!(
                (loss.item().unwrap() - want).abs() <= atol + rtol * want.abs(),
                "{what} loss"
            );
            loss.backward().unwrap();
            let names: HashMap<String, Tensor> = model.named_parameters().into_iter().collect();
            assert_eq!(
                names.len(),
                case["grad_params"].as_object().unwrap().len(),
                "{what}: parameter count"
            );
            for (name, p) in names {
                assert_close(
                    &format!("{what} grad {name}"),
                    &p.grad().unwrap(),
                    &case["grad_params"][&name],
                    rtol,
                    atol,
                );
            }
        }
    }
}
