//! `mgp eval` picks the model from the checkpoint alone: a run folder or a
//! file, with the metadata `mgp train` writes or (older files) without it,
//! and gives the accuracy and confusion matrix a plain forward pass over
//! the MNIST test set gives.

use micrograd_plus::data::mnist::Mnist;
use micrograd_plus::io;
use micrograd_plus::nn::Module;
use micrograd_plus::train::{cnn_mnist, saved::Architecture};
use std::collections::HashMap;
use support::{mgp, temp_dir};

mod support;

/// Accuracy and confusion counts of `model` on the MNIST test images,
/// computed here with one forward pass (not through the Trainer).
fn reference(model: &dyn Module) -> (f64, Vec<Vec<u64>>) {
    let (_, test) = Mnist::load(Mnist::repository_dir()).unwrap();
    let x = test.inputs().reshape(&[-1, 1, 28, 28]).unwrap();
    let predicted = model.forward(&x).unwrap().argmax(Some(-1), false).unwrap();
    let mut confusion = vec![vec![0u64; 10]; 10];
    for (p, t) in predicted
        .to_vec::<f64>()
        .iter()
        .zip(test.targets().to_vec::<f64>())
    {
        confusion[t as usize][*p as usize] += 1;
    }
    let correct: u64 = (0..10).map(|i| confusion[i][i]).sum();
    let total: u64 = confusion.iter().flatten().sum();
    (correct as f64 / total as f64, confusion)
}

#[test]
fn eval_reads_the_architecture_from_the_checkpoint_and_matches_a_plain_forward_pass() {
    let dir = temp_dir("eval");
    micrograd_plus::manual_seed(5);
    let mut model = cnn_mnist::cnn();
    model.eval();
    let (accuracy, confusion) = reference(&model);
    // As `mgp train` writes it (in a run folder), and as it was written
    // before checkpoints named their model (a bare file).
    let state: Vec<_> = model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (format!("model.{n}"), t))
        .collect();
    let format = (
        "format".to_string(),
        "micrograd-plus checkpoint 1".to_string(),
    );
    let mut with_meta = Architecture::CnnMnist.metadata("cnn-mnist");
    with_meta.extend([format.clone()]);
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    io::save_tensors(&run.join("checkpoint.safetensors"), &state, &with_meta).unwrap();
    let old = dir.join("old.safetensors");
    io::save_tensors(&old, &state, &HashMap::from([format])).unwrap();
    for (path, inferred) in [(&run, false), (&old, true)] {
        let out = mgp(&["eval", path.to_str().unwrap(), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["architecture"], "cnn-mnist");
        assert_eq!(v["recipe"].is_null(), inferred);
        assert_eq!(v["samples"], 10_000);
        assert!((v["test_acc"].as_f64().unwrap() - accuracy).abs() < 1e-12);
        let got: Vec<Vec<u64>> = serde_json::from_value(v["confusion"].clone()).unwrap();
        assert_eq!(got, confusion);
        // Without --json, a file without metadata gets a note saying so.
        let text = mgp(&["eval", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&text.stderr);
        assert_eq!(
            stderr.contains("names no architecture"),
            inferred,
            "{stderr}"
        );
        assert!(String::from_utf8_lossy(&text.stdout).contains("confusion matrix"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
