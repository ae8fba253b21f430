//! Module behaviour: names, train/eval, state dicts through safetensors,
//! initialiser statistics and dropout's scaling.

use micrograd_plus::nn::{init, Dropout, Linear, Module, ReLU, Sequential};
use micrograd_plus::{io, manual_seed, Tensor};
use std::collections::HashMap;

fn mlp() -> Sequential {
    Sequential::new()
        .layer(Linear::new(6, 5, true))
        .layer(ReLU)
        .layer(Dropout::new(0.5).unwrap())
        .layer(Linear::new(5, 2, true))
}

#[test]
fn names_follow_pytorch_and_train_eval_reaches_every_layer() {
    let mut net = mlp();
    let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "3.weight", "3.bias"]);
    assert_eq!(net.num_parameters(), 6 * 5 + 5 + 5 * 2 + 2);
    net.eval();
    assert!(!net.is_training() && !net[2].is_training());
    net.train();
    assert!(net[2].is_training());
}

#[test]
fn eval_mode_is_deterministic_and_dropout_scales_in_training() {
    manual_seed(3);
    let mut net = mlp();
    let x = Tensor::randn(&[4, 6], 1);
    net.eval();
    let a = net.forward(&x).unwrap().to_vec::<f32>();
    let b = net.forward(&x).unwrap().to_vec::<f32>();
    assert_eq!(a, b);
    // Inverted dropout keeps the mean: E[mask] = 1.
    let drop = Dropout::new(0.3).unwrap();
    let y = drop.forward(&Tensor::ones(&[100_000])).unwrap();
    let mean = y.mean().item().unwrap();
    assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    let zeros = y.to_vec::<f32>().iter().filter(|&&v| v == 0.0).count() as f64 / 1e5;
    assert!((zeros - 0.3).abs() < 0.01, "dropped fraction {zeros}");
}

#[test]
fn state_dict_round_trips_through_safetensors() {
    manual_seed(1);
    let net = mlp();
    let dir = std::env::temp_dir().join(format!("mgp-nn-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    io::save_tensors(&path, &net.state_dict(), &HashMap::new()).unwrap();
    manual_seed(2);
    let mut other = mlp();
    let mut net = net;
    net.eval();
    other.eval();
    let x = Tensor::randn(&[3, 6], 5);
    let want = net.forward(&x).unwrap().to_vec::<f32>();
    assert_ne!(other.forward(&x).unwrap().to_vec::<f32>(), want);
    let (state, _) = io::load_tensors(&path).unwrap();
    other.load_state_dict(&state).unwrap();
    assert_eq!(other.forward(&x).unwrap().to_vec::<f32>(), want);
    // A state with an entry missing is refused, naming it.
    let err = other.load_state_dict(&state[1..]).unwrap_err().to_string();
    assert!(err.contains("missing entry"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_safetensors_file_is_a_named_error() {
    let path = std::env::temp_dir().join(format!("mgp-corrupt-{}.safetensors", std::process::id()));
    std::fs::write(&path, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json").unwrap();
    let err = io::load_tensors(&path).unwrap_err().to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(err.contains("not a valid safetensors file"), "{err}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn initialisers_have_the_documented_statistics() {
    manual_seed(0);
    let w = Tensor::zeros(&[300, 200]);
    let (fan_in, fan_out) = (200.0f64, 300.0f64);
    let stats = |t: &Tensor| (t.mean().item().unwrap(), t.std(0).item().unwrap());
    init::xavier_uniform_(&w, 1.0).unwrap();
    let bound = (6.0 / (fan_in + fan_out)).sqrt();
    let (m, s) = stats(&w);
    assert!(
        m.abs() < 2e-3 && (s - bound / 3f64.sqrt()).abs() < 2e-3,
        "{m} {s}"
    );
    init::kaiming_uniform_(&w, 0.0, init::FanMode::FanIn, init::Nonlinearity::Relu).unwrap();
    let (_, s) = stats(&w);
    assert!((s - (2.0 / fan_in).sqrt()).abs() < 2e-3, "{s}");
    init::normal_(&w, 0.5, 0.02);
    let (m, s) = stats(&w);
    assert!((m - 0.5).abs() < 1e-3 && (s - 0.02).abs() < 1e-3, "{m} {s}");
    // Seeded: the same seed gives the same values.
    manual_seed(9);
    init::uniform_(&w, -1.0, 1.0);
    let first = w.to_vec::<f32>();
    manual_seed(9);
    init::uniform_(&w, -1.0, 1.0);
    assert_eq!(w.to_vec::<f32>(), first);
    assert!(init::xavier_normal_(&Tensor::zeros(&[5]), 1.0).is_err());
}

#[test]
fn linear_default_init_matches_pytorch_bounds() {
    manual_seed(4);
    let layer = Linear::new(100, 50, true);
    let bound = 0.1f32; // 1/√100
    let w = layer.weight().to_vec::<f32>();
    assert!(w.iter().all(|v| v.abs() <= bound));
    // Uniform on ±0.1: standard deviation 0.1/√3.
    let std = layer.weight().std(0).item().unwrap();
    assert!((std - 0.1 / 3f64.sqrt()).abs() < 3e-3, "{std}");
    assert!(layer
        .bias()
        .unwrap()
        .to_vec::<f32>()
        .iter()
        .all(|v| v.abs() <= bound));
}

#[test]
fn shape_errors_name_the_layer_and_shapes() {
    let err = Linear::new(3, 2, true)
        .forward(&Tensor::zeros(&[4, 5]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "linear: input [4, 5] has 5 features but weight [2, 3] expects 3"
    );
    let err = micrograd_plus::nn::LayerNorm::new(&[4])
        .forward(&Tensor::zeros(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "LayerNorm: input [2, 3] does not end with normalized_shape [4]"
    );
}
