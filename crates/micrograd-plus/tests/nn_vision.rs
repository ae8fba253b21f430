//! Vision layers (Conv2d, pooling, BatchNorm) against PyTorch:
//! `tests/data/torch_vision.json`, recorded by
//! `scripts/record_torch_vision.py`, gives each module's whole state dict
//! under PyTorch's names (which must also be ours: loading checks every
//! name), training-mode forwards to run first (moving BatchNorm's running
//! statistics), then a forward in train or eval mode with its output, the
//! gradients of `sum(output * grad_output)` for the input and every
//! parameter, and the buffers afterwards. Checked in f64 and f32.

use micrograd_plus::nn::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, BatchNormConfig, Conv2d, Conv2dConfig,
    Flatten, Linear, MaxPool2d, Module, ReLU, Sequential,
};
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
    mode: String,
    state: HashMap<String, Data>,
    train_steps: Vec<Data>,
    input: Data,
    output: Data,
    grad_output: Data,
    grad_input: Data,
    grad_params: HashMap<String, Data>,
    buffers_after: HashMap<String, Data>,
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

fn pair(v: &serde_json::Value) -> (usize, usize) {
    let v: Vec<usize> = serde_json::from_value(v.clone()).unwrap();
    (v[0], v[1])
}

fn bn_config(a: &serde_json::Value) -> BatchNormConfig {
    BatchNormConfig {
        eps: a["eps"].as_f64().unwrap(),
        momentum: a["momentum"].as_f64(),
        affine: a["affine"].as_bool().unwrap(),
        track_running_stats: a["track"].as_bool().unwrap(),
    }
}

fn build(case: &Case) -> Box<dyn Module> {
    let a = &case.args;
    let n = |k: &str| a[k].as_u64().unwrap() as usize;
    match case.kind.as_str() {
        "conv2d" => Box::new(
            Conv2d::with_config(
                n("in"),
                n("out"),
                pair(&a["kernel"]),
                Conv2dConfig {
                    stride: pair(&a["stride"]),
                    padding: pair(&a["padding"]),
                    dilation: pair(&a["dilation"]),
                    groups: n("groups"),
                    bias: a["bias"].as_bool().unwrap(),
                    padding_same: false,
                },
            )
            .unwrap(),
        ),
        "max_pool2d" => Box::new(MaxPool2d::with_sizes(
            pair(&a["kernel"]),
            pair(&a["stride"]),
            pair(&a["padding"]),
        )),
        "avg_pool2d" => Box::new(
            AvgPool2d::with_sizes(pair(&a["kernel"]), pair(&a["stride"]), pair(&a["padding"]))
                .count_include_pad(a["count_include_pad"].as_bool().unwrap()),
        ),
        "adaptive_avg_pool2d" => Box::new(AdaptiveAvgPool2d::new(pair(&a["output_size"]))),
        "batch_norm1d" => Box::new(BatchNorm1d::with_config(n("features"), bn_config(a)).unwrap()),
        "batch_norm2d" => Box::new(BatchNorm2d::with_config(n("features"), bn_config(a)).unwrap()),
        "small_cnn" => Box::new(
            Sequential::new()
                .layer(Conv2d::new(3, 4, 3).padding(1))
                .layer(BatchNorm2d::new(4))
                .layer(ReLU)
                .layer(MaxPool2d::new(2))
                .layer(Conv2d::new(4, 4, 3).padding(1))
                .layer(BatchNorm2d::new(4))
                .layer(ReLU)
                .layer(AdaptiveAvgPool2d::new((2, 2)))
                .layer(Flatten::default())
                .layer(Linear::new(16, 3, true)),
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

fn reference() -> Reference {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_vision.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The module of `case` with PyTorch's starting state, in `dtype`.
fn loaded(case: &Case, dtype: DType) -> Box<dyn Module> {
    let mut module = build(case);
    // Built in f32; the state is loaded in the case's dtype (the count stays f64).
    for (name, t) in module.state_dict() {
        if !name.ends_with("num_batches_tracked") {
            t.set_dtype(dtype);
        }
    }
    let state: Vec<(String, Tensor)> = case
        .state
        .iter()
        .map(|(n, d)| (n.clone(), tensor(d, dtype)))
        .collect();
    module
        .load_state_dict(&state)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    module
}

#[test]
fn vision_modules_match_pytorch() {
    let reference = reference();
    assert!(reference.cases.len() >= 15);
    for case in &reference.cases {
        // BatchNorm's f32 sums of squares and the conv products round at ~1e-7.
        for (dtype, rtol, atol) in [(DType::F64, 1e-10, 1e-12), (DType::F32, 1e-4, 1e-5)] {
            let what = format!("{} {dtype:?}", case.name);
            let mut module = loaded(case, dtype);
            module.train();
            for step in &case.train_steps {
                micrograd_plus::no_grad(|| module.forward(&tensor(step, dtype))).unwrap();
            }
            match case.mode.as_str() {
                "train" => module.train(),
                _ => module.eval(),
            }
            let x = tensor(&case.input, dtype).requires_grad(true);
            let y = module.forward(&x).unwrap();
            assert_close(&format!("{what} output"), &y, &case.output, rtol, atol);
            y.backward_with(&tensor(&case.grad_output, dtype)).unwrap();
            assert_close(
                &format!("{what} grad input"),
                &x.grad().unwrap(),
                &case.grad_input,
                rtol,
                atol,
            );
            let params = module.named_parameters();
            assert_eq!(params.len(), case.grad_params.len(), "{what}: parameters");
            for (name, p) in params {
                assert_close(
                    &format!("{what} grad {name}"),
                    &p.grad().unwrap(),
                    &case.grad_params[&name],
                    rtol,
                    atol,
                );
            }
            let buffers = module.named_buffers();
            assert_eq!(buffers.len(), case.buffers_after.len(), "{what}: buffers");
            for (name, b) in buffers {
                assert_close(
                    &format!("{what} buffer {name}"),
                    &b,
                    &case.buffers_after[&name],
                    rtol,
                    atol,
                );
            }
        }
    }
}

#[test]
fn state_dict_round_trip_restores_running_statistics() {
    let reference = reference();
    let case = reference
        .cases
        .iter()
        .find(|c| c.name == "small_cnn_eval")
        .unwrap();
    let mut trained = loaded(case, DType::F32);
    for step in &case.train_steps {
        trained.forward(&tensor(step, DType::F32)).unwrap();
    }
    // Through a safetensors file, as a checkpoint would go.
    let path = std::env::temp_dir().join(format!("nn_vision_{}.safetensors", std::process::id()));
    micrograd_plus::io::save_tensors(&path, &trained.state_dict(), &Default::default()).unwrap();
    let (saved, _) = micrograd_plus::io::load_tensors(&path).unwrap();
    std::fs::remove_file(&path).ok();

    let mut fresh = build(case);
    fresh.load_state_dict(&saved).unwrap();
    for ((n1, t1), (n2, t2)) in trained.state_dict().iter().zip(fresh.state_dict()) {
        assert_eq!(n1, &n2);
        assert_eq!(t1.to_vec::<f64>(), t2.to_vec::<f64>(), "{n1}");
    }
    // Equal state: equal evaluation output (running statistics, not batch ones).
    trained.eval();
    fresh.eval();
    let x = tensor(&case.input, DType::F32);
    let (a, b) = (
        trained.forward(&x).unwrap().to_vec::<f32>(),
        fresh.forward(&x).unwrap().to_vec::<f32>(),
    );
    assert_eq!(a, b);
    assert_close(
        "round-trip eval",
        &fresh.forward(&x).unwrap(),
        &case.output,
        1e-4,
        1e-5,
    );
    assert_eq!(
        saved
            .iter()
            .find(|(n, _)| n == "1.num_batches_tracked")
            .unwrap()
            .1
            .item()
            .unwrap(),
        case.buffers_after["1.num_batches_tracked"].data[0]
    );
}

#[test]
fn conv2d_init_follows_pytorch_bounds() {
    micrograd_plus::manual_seed(0);
    // fan_in = 8 / 2 groups · 3 · 3 = 36: weight and bias in ±1/6.
    let conv = Conv2d::with_config(
        8,
        64,
        (3, 3),
        Conv2dConfig {
            groups: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let bound = 1.0 / 6.0 + 1e-7;
    let w = conv.weight().to_vec::<f64>();
    assert!(w.iter().all(|v| v.abs() <= bound));
    // Uniform on ±1/6 has standard deviation 1/(6·√3).
    let std = conv.weight().std(0).item().unwrap();
    assert!((std - 1.0 / (6.0 * 3f64.sqrt())).abs() < 0.005, "{std}");
    assert!(conv
        .bias()
        .unwrap()
        .to_vec::<f64>()
        .iter()
        .all(|v| v.abs() <= bound));
    let names: Vec<String> = conv
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["weight", "bias"]);
}

#[test]
fn bad_settings_and_inputs_are_errors() {
    let bn = BatchNorm2d::new(3);
    let err = bn.forward(&Tensor::zeros(&[2, 3, 4])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "BatchNorm2d: expected 4-D input, got input of shape [2, 3, 4]"
    );
    let err = bn.forward(&Tensor::zeros(&[2, 4, 2, 2])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "BatchNorm2d: expected 3 channels (dim 1), got input of shape [2, 4, 2, 2]"
    );
    // One value per channel cannot give a batch variance.
    assert!(bn.forward(&Tensor::zeros(&[1, 3, 1, 1])).is_err());
    assert_eq!(bn.num_batches_tracked().unwrap().item().unwrap(), 0.0);

    let conv = Conv2d::new(3, 4, 3).stride(0);
    assert_eq!(
        conv.forward(&Tensor::zeros(&[1, 3, 5, 5]))
            .unwrap_err()
            .to_string(),
        "Conv2d: stride must be positive, got (0, 0)"
    );
    let err = Conv2d::new(3, 4, 3)
        .forward(&Tensor::zeros(&[1, 2, 5, 5]))
        .unwrap_err();
    assert!(err.to_string().starts_with("conv2d: "), "{err}");
    assert!(Conv2d::with_config(0, 4, (3, 3), Conv2dConfig::default()).is_err());
    assert!(MaxPool2d::new(2)
        .forward(&Tensor::zeros(&[1, 1, 1, 1]))
        .is_err());
}
