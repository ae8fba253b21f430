//! One-line save and load of any module, strict and non-strict state-dict
//! loading with a report, and integer class labels as loss targets.

use micrograd_plus::nn::loss::{CrossEntropyLoss, NLLLoss};
use micrograd_plus::nn::{BatchNorm1d, Linear, Module, ReLU, Sequential};
use micrograd_plus::{Result, Tensor};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mgp-save-load-{}-{name}", std::process::id()))
}

#[derive(Module)]
struct Classifier {
    body: Sequential,
    norm: BatchNorm1d,
    head: Linear,
}

impl Classifier {
    fn new() -> Classifier {
        Classifier {
            body: Sequential::new().layer(Linear::new(4, 6, true)).layer(ReLU),
            norm: BatchNorm1d::new(6),
            head: Linear::new(6, 3, true),
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.head
            .forward(&self.norm.forward(&self.body.forward(x)?)?)
    }
}

#[test]
fn a_saved_model_loads_back_into_a_fresh_one_and_computes_the_same() {
    micrograd_plus::manual_seed(1);
    let mut trained = Classifier::new();
    let x = Tensor::randn(&[8, 4], 9);
    Module::forward(&trained, &x).unwrap(); // moves the running statistics
    trained.eval();
    let path = temp("classifier.safetensors");
    trained.save(&path).unwrap();

    micrograd_plus::manual_seed(2);
    let mut fresh = Classifier::new();
    fresh.eval();
    let before = Module::forward(&fresh, &x).unwrap().to_vec::<f32>();
    fresh.load(&path).unwrap();
    let after = Module::forward(&fresh, &x).unwrap().to_vec::<f32>();
    assert_eq!(
        after,
        Module::forward(&trained, &x).unwrap().to_vec::<f32>()
    );
    assert_ne!(before, after);
    for ((n, a), (_, b)) in trained.state_dict().into_iter().zip(fresh.state_dict()) {
        assert_eq!(a.to_vec::<f64>(), b.to_vec::<f64>(), "{n}");
    }

    // The file is a plain safetensors state dict, with the module's printout.
    let (tensors, metadata) = micrograd_plus::io::load_tensors(&path).unwrap();
    assert_eq!(tensors.len(), trained.state_dict().len());
    assert!(metadata["module"].starts_with("Classifier(\n  (body): Sequential("));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_model_part_of_a_training_checkpoint_loads_too() {
    let model = Linear::new(2, 2, true);
    let mut parts: Vec<(String, Tensor)> = model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (format!("model.{n}"), t))
        .collect();
    parts.push(("optimizer.step".into(), Tensor::zeros(&[1])));
    let path = temp("checkpoint.safetensors");
    micrograd_plus::io::save_tensors(&path, &parts, &Default::default()).unwrap();
    let mut loaded = Linear::new(2, 2, true);
    loaded.load(&path).unwrap();
    assert_eq!(
        loaded.weight().to_vec::<f32>(),
        model.weight().to_vec::<f32>()
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn strict_loading_lists_every_problem_and_loads_nothing() {
    let mut model = Classifier::new();
    let original = model.head.weight().to_vec::<f32>();
    let mut state = Classifier::new().state_dict();
    state.retain(|(n, _)| n != "norm.running_var");
    state.push(("head.scale".into(), Tensor::ones(&[1])));
    for (n, t) in state.iter_mut() {
        if n == "body.0.bias" {
            *t = Tensor::zeros(&[5]);
        }
    }
    let err = model.load_state_dict(&state).unwrap_err().to_string();
    assert_eq!(
        err,
        "load_state_dict: unexpected entry \"head.scale\" in the state; \
         missing entry \"norm.running_var\" in the state; \
         body.0.bias: shape [5] in the state, [6] in the model"
    );
    assert_eq!(model.head.weight().to_vec::<f32>(), original);

    // Non-strict: names that match load, the rest is reported; a shape
    // mismatch still refuses (PyTorch raises for it even with strict=False).
    let err = model
        .load_state_dict_non_strict(&state)
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("body.0.bias: shape [5] in the state, [6] in the model"));
    assert_eq!(model.head.weight().to_vec::<f32>(), original);
    state.retain(|(n, _)| n != "body.0.bias");
    let report = model.load_state_dict_non_strict(&state).unwrap();
    assert_eq!(report.missing, ["body.0.bias", "norm.running_var"]);
    assert_eq!(report.unexpected, ["head.scale"]);
    assert!(report.mismatched.is_empty() && !report.is_exact());
    assert_eq!(report.loaded.len(), model.state_dict().len() - 2);
    assert_ne!(model.head.weight().to_vec::<f32>(), original);
}

#[test]
fn loading_a_bad_file_names_the_file() {
    let path = temp("not-a-model.safetensors");
    std::fs::write(&path, b"not safetensors").unwrap();
    let err = Linear::new(2, 2, true).load(&path).unwrap_err().to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    let other = Linear::new(3, 2, true);
    other.save(&path).unwrap();
    let err = Linear::new(2, 2, true).load(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: load_state_dict: weight: shape [2, 3] in the state, [2, 2] in the model",
            path.display()
        )
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn integer_labels_give_the_same_loss_and_gradient_as_float_indices() {
    let logits = Tensor::new([[2.0f64, 0.5, -1.0], [0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
        .unwrap()
        .requires_grad(true);
    let as_floats = Tensor::new([2.0f64, 0.0, 1.0]).unwrap();
    let reference = CrossEntropyLoss::new()
        .forward(&logits, &as_floats)
        .unwrap();
    reference.backward().unwrap();
    let reference_grad = logits.grad().unwrap().to_vec::<f64>();
    logits.set_grad(None);
    let labels: Vec<u8> = vec![2, 0, 1];
    let loss = CrossEntropyLoss::new().forward(&logits, &labels).unwrap();
    assert_eq!(loss.to_vec::<f64>(), reference.to_vec::<f64>());
    loss.backward().unwrap();
    assert_eq!(logits.grad().unwrap().to_vec::<f64>(), reference_grad);

    let logp = logits.log_softmax(1).unwrap();
    assert_eq!(
        NLLLoss::new()
            .forward(&logp, &[2usize, 0, 1])
            .unwrap()
            .to_vec::<f64>(),
        reference.to_vec::<f64>()
    );
    let err = NLLLoss::new().forward(&logp, &[2usize, 0, 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "NLLLoss: target 3 is out of bounds for 3 classes"
    );
    let err = CrossEntropyLoss::new()
        .forward(&logp, &[0i32, 1])
        .unwrap_err();
    assert!(err.to_string().contains("got target shape [2]"), "{err}");
}
