//! nn layers against PyTorch: `tests/data/torch_nn.json`, recorded by
//! `scripts/record_torch_nn.py`, gives each layer's parameters (under
//! PyTorch's names, which must also be ours), an input, the output, and the
//! gradients of `sum(output * grad_output)` for the input and every parameter.
//! Checked in f64 (1e-10) and in f32 (1e-5 relative).

use micrograd_plus::nn::{LayerNorm, Linear, Module, Sequential, Tanh, GELU};
use micrograd_plus::{DType, Tensor};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Data {
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    args: serde_json::Value,
    params: HashMap<String, Data>,
    input: Data,
    output: Data,
    grad_output: Data,
    grad_input: Data,
    grad_params: HashMap<String, Data>,
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

fn tensor(d: &Data, dtype: DType) -> Tensor {
    Tensor::from_vec(d.data.clone(), &d.shape)
        .unwrap()
        .to_dtype(dtype)
}

fn build(case: &Case) -> Box<dyn Module> {
    let a = &case.args;
    match case.kind.as_str() {
        "linear" => Box::new(Linear::new(
            a["in"].as_u64().unwrap() as usize,
            a["out"].as_u64().unwrap() as usize,
            a["bias"].as_bool().unwrap(),
        )),
        "layer_norm" => {
            let shape: Vec<usize> = serde_json::from_value(a["shape"].clone()).unwrap();
            Box::new(LayerNorm::with_options(
                &shape,
                a["eps"].as_f64().unwrap(),
                true,
            ))
        }
        "mlp_tanh_gelu" => Box::new(
            Sequential::new()
                .layer(Linear::new(4, 8, true))
                .layer(Tanh)
                .layer(Linear::new(8, 3, true))
                .layer(GELU::default()),
        ),
        other => panic!("unknown kind {other}"),
    }
}

fn assert_close(what: &str, got: &Tensor, want: &Data, rtol: f64, atol: f64) {
    assert_eq!(got.shape(), &want.shape[..], "{what}: shape");
    for (i, (g, w)) in got.to_vec::<f64>().iter().zip(&want.data).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: got {g}, PyTorch {w}"
        );
    }
}

#[test]
fn layers_match_pytorch() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_nn.json");
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(reference.cases.len() >= 6);
    for case in &reference.cases {
        for (dtype, rtol, atol) in [(DType::F64, 1e-10, 1e-12), (DType::F32, 1e-5, 1e-6)] {
            let what = format!("{} {dtype:?}", case.name);
            let mut layer = build(case);
            // The layer is built in f32; run the case in its dtype.
            for (_, p) in layer.named_parameters() {
                p.set_dtype(dtype);
            }
            // PyTorch's parameter names must be ours: loading checks every name.
            let state: Vec<(String, Tensor)> = case
                .params
                .iter()
                .map(|(n, d)| (n.clone(), tensor(d, dtype)))
                .collect();
            layer
                .load_state_dict(&state)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let x = tensor(&case.input, dtype).requires_grad(true);
            let y = layer.forward(&x).unwrap();
            assert_close(&format!("{what} output"), &y, &case.output, rtol, atol);
            y.backward_with(&tensor(&case.grad_output, dtype)).unwrap();
            assert_close(
                &format!("{what} grad input"),
                &x.grad().unwrap(),
                &case.grad_input,
                rtol,
                atol,
            );
            for (name, p) in layer.named_parameters() {
                let want = &case.grad_params[&name];
                assert_close(
                    &format!("{what} grad {name}"),
                    &p.grad().unwrap(),
                    want,
                    rtol,
                    atol,
                );
            }
        }
    }
}
