//! `mgp export` checked against the runtimes it exports to: the PyTorch
//! export loaded by its own `model.py` in PyTorch, the ONNX export checked
//! by `onnx.checker` and run by onnxruntime, each giving the engine's
//! logits for the same inputs to 1e-5. Every model `mgp train` builds is
//! exported: the MLP and CNN of a real `mgp train` run, the CIFAR-10 CNN
//! (with non-trivial batch-norm statistics) and GPTs (learned and
//! sinusoidal positions, tied and untied heads) from checkpoints written as
//! the recipes write them.
//!
//! Python comes from `MGP_PYTHON`, else the project's `.venv`, else
//! `python3`; a test whose Python modules are missing (torch; onnx and
//! onnxruntime) says so and passes without checking (`scripts/test-all`
//! installs onnx and onnxruntime and reruns this file with its venv).

use micrograd_plus::io;
use micrograd_plus::models::{GPTConfig, Positions, GPT};
use micrograd_plus::nn::spec::sequential;
use micrograd_plus::nn::Module;
use micrograd_plus::tensor::{SliceMut, Tensor};
use micrograd_plus::train::saved::{self, Architecture, SavedModel};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{mgp, temp_dir};

mod support;

const TOLERANCE: f64 = 1e-5;

/// The first Python that imports every one of `modules`, or why none does.
fn python_with(modules: &[&str]) -> Result<String, String> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let candidates: Vec<String> = std::env::var("MGP_PYTHON")
        .into_iter()
        .chain([venv.display().to_string(), "python3".to_string()])
        .collect();
    let import = format!("import {}", modules.join(", "));
    for python in &candidates {
        let ok = Command::new(python)
            .args(["-c", &import])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Ok(python.clone());
        }
    }
    Err(format!(
        "skipped: no Python among {candidates:?} can `{import}` (set MGP_PYTHON to one that can)"
    ))
}

/// A tensor as the JSON the Python side reads: dtype, shape and values.
fn to_json(t: &Tensor, dtype: &str) -> serde_json::Value {
    serde_json::json!({"dtype": dtype, "shape": t.shape(), "values": t.to_vec::<f64>()})
}

/// Runs `script` with `args`; its last stdout line is a JSON object.
fn run_python(python: &str, script: &str, args: &[&Path]) -> serde_json::Value {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON line")
}

/// Loads the export's own model.py, runs it on the inputs, prints the logits.
const TORCH_SCRIPT: &str = r#"
import importlib.util, json, sys
import torch
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
exported = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exported)
model = exported.load()
data = json.load(open(sys.argv[2]))
dtype = torch.long if data["dtype"] == "int64" else torch.float32
x = torch.tensor(data["values"], dtype=torch.float64).to(dtype).reshape(data["shape"])
with torch.no_grad():
    logits = model(x)
print(json.dumps({"shape": list(logits.shape), "values": logits.double().flatten().tolist(), "torch": torch.__version__}))
"#;

/// Checks the model with onnx.checker, runs it with onnxruntime, prints the logits.
const ONNX_SCRIPT: &str = r#"
import json, sys
import numpy as np, onnx, onnxruntime
model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
data = json.load(open(sys.argv[2]))
x = np.array(data["values"], dtype=np.float64).astype(data["dtype"]).reshape(data["shape"])
(logits,) = session.run(None, {session.get_inputs()[0].name: x})
print(json.dumps({"shape": list(logits.shape), "values": logits.astype(np.float64).ravel().tolist(),
                  "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}))
"#;

/// The engine's logits for the checkpoint, and the inputs they are of.
fn our_logits(checkpoint: &Path, batch: usize) -> (Tensor, &'static str, Tensor) {
    let saved = saved::load(checkpoint).expect("the checkpoint loads");
    match &saved.model {
        SavedModel::Classifier(model) => {
            let mut shape = vec![batch];
            shape.extend(saved.info.architecture.sample_shape());
            let x = Tensor::rand(&shape, 7);
            let logits = model.forward(&x).unwrap();
            (x, "float32", logits)
        }
        SavedModel::Gpt(model, _) => {
            let c = model.config();
            let ids: Vec<usize> = (0..batch * c.block_size)
                .map(|i| (i * 7 + i / 3) % c.vocab_size)
                .collect();
            let logits = model.logits(&ids, batch, c.block_size).unwrap();
            let ids = Tensor::from_vec(
                ids.iter().map(|&i| i as f32).collect::<Vec<_>>(),
                &[batch, c.block_size],
            )
            .unwrap();
            (ids, "int64", logits)
        }
    }
}

/// The largest difference between the runtime's logits and ours, after
/// checking that they are real logits (the right shape, not all equal).
fn largest_difference(theirs: &serde_json::Value, ours: &Tensor) -> f64 {
    let shape: Vec<usize> = serde_json::from_value(theirs["shape"].clone()).unwrap();
    assert_eq!(shape, ours.shape());
    let values: Vec<f64> = serde_json::from_value(theirs["values"].clone()).unwrap();
    let ours = ours.to_vec::<f64>();
    let spread = ours.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - ours.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(
        spread > 0.1,
        "logits that barely vary prove little: {spread}"
    );
    values
        .iter()
        .zip(&ours)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Every tensor of `model` moved off its initial value (batch-norm
/// variances stay positive), so the checks see real statistics and biases.
fn perturb(model: &dyn Module, seed: u64) {
    for (i, (name, t)) in model.state_dict().into_iter().enumerate() {
        let noise = Tensor::rand(t.shape(), seed + i as u64).to_vec::<f32>();
        t.update_any(|v| {
            if let SliceMut::F32(v) = v {
                for (x, n) in v.iter_mut().zip(noise) {
                    *x = if name.ends_with("running_var") {
                        0.5 + n
                    } else if name.ends_with("num_batches_tracked") {
                        *x
                    } else {
                        *x + 0.2 * (n - 0.5)
                    };
                }
            }
        });
    }
}

/// The checkpoints every export test covers: a real `mgp train` run for
/// the MLP and the MNIST CNN, and checkpoints written as the recipes write
/// them for the CIFAR-10 CNN and three GPTs.
fn checkpoints(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (recipe, extra) in [
        ("mlp-mnist", &["--epochs", "1"][..]),
        ("cnn-mnist", &["--epochs", "1", "--limit", "600"][..]),
    ] {
        let run = dir.join(recipe);
        let mut args = vec!["train", recipe, "--json", "--doctor", "off"];
        args.extend(extra);
        args.extend(["--out", run.to_str().unwrap()]);
        let trained = mgp(&args);
        assert!(
            trained.status.success(),
            "{}",
            String::from_utf8_lossy(&trained.stderr)
        );
        out.push((recipe.to_string(), run));
    }
    micrograd_plus::manual_seed(3);
    let cifar = sequential(Architecture::CifarCnn.layers().unwrap());
    perturb(&cifar, 100);
    let path = dir.join("cifar.safetensors");
    let mut meta = Architecture::CifarCnn.metadata("cnn-cifar10");
    meta.insert(
        "input.normalize".into(),
        r#"{"mean":[0.49,0.48,0.45],"std":[0.25,0.24,0.26]}"#.into(),
    );
    io::save_tensors(&path, &cifar.state_dict(), &meta).unwrap();
    out.push(("cnn-cifar10".to_string(), path));
    out.extend(checkpoints_gpt(dir));
    out
}

/// GPT checkpoints as `mgp train gpt-*` writes them (weights, config,
/// tokenizer, recipe): learned positions, a tied head, sinusoidal positions.
fn checkpoints_gpt(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (name, tie_weights, positions) in [
        ("gpt", false, Positions::Learned),
        ("gpt-tied", true, Positions::Learned),
        ("gpt-sinusoidal", false, Positions::Sinusoidal),
    ] {
        let config = GPTConfig {
            vocab_size: 11,
            block_size: 12,
            d_model: 16,
            heads: 4,
            layers: 2,
            tie_weights,
            positions,
            ..GPTConfig::shakespeare(11)
        };
        let model = GPT::new(config).unwrap();
        perturb(&model, 200);
        let tokenizer = micrograd_plus::data::text::CharTokenizer::from_text("abcdefghij\n");
        let path = dir.join(format!("{name}.safetensors"));
        micrograd_plus::train::gpt::save_checkpoint(&path, &model, &tokenizer, "gpt-shakespeare")
            .unwrap();
        out.push((name.to_string(), path));
    }
    out
}

/// Exports `checkpoint` with `mgp export --format FORMAT --out out` and
/// returns the difference between the logits `script` computes from the
/// export (given `out` and the inputs) and ours, with the script's output.
fn export_and_compare(
    python: &str,
    format: &str,
    script: &str,
    checkpoint: &Path,
    out: &Path,
    script_target: &Path,
) -> (f64, serde_json::Value) {
    let exported = mgp(&[
        "export",
        "--format",
        format,
        checkpoint.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let (inputs, dtype, ours) = our_logits(checkpoint, 3);
    let inputs_path = out.with_extension("inputs.json");
    std::fs::write(&inputs_path, to_json(&inputs, dtype).to_string()).unwrap();
    let theirs = run_python(python, script, &[script_target, &inputs_path]);
    (largest_difference(&theirs, &ours), theirs)
}

#[test]
fn pytorch_export_loads_strictly_in_pytorch_and_gives_our_logits() {
    let python = match python_with(&["torch"]) {
        Ok(p) => p,
        Err(reason) => return println!("{reason}"),
    };
    let dir = temp_dir("pytorch");
    for (name, checkpoint) in checkpoints(&dir) {
        let out = dir.join(format!("{name}-pytorch"));
        let module = out.join("model.py");
        let (diff, theirs) =
            export_and_compare(&python, "pytorch", TORCH_SCRIPT, &checkpoint, &out, &module);
        println!(
            "{name}: PyTorch {} logits differ by at most {diff:.2e}",
            theirs["torch"]
        );
        assert!(diff <= TOLERANCE, "{name}: {diff}");
        // The module runs on its own too.
        let run = Command::new(&python).arg(&module).output().unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(String::from_utf8_lossy(&run.stdout).contains("loaded with strict=True"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn onnx_export_passes_the_checker_and_gives_our_logits_in_onnxruntime() {
    let python = match python_with(&["numpy", "onnx", "onnxruntime"]) {
        Ok(p) => p,
        Err(reason) => return println!("{reason}"),
    };
    let dir = temp_dir("onnx");
    for (name, checkpoint) in checkpoints(&dir) {
        let out = dir.join(format!("{name}.onnx"));
        let (diff, theirs) =
            export_and_compare(&python, "onnx", ONNX_SCRIPT, &checkpoint, &out, &out);
        println!(
            "{name}: onnx {} / onnxruntime {} logits differ by at most {diff:.2e}",
            theirs["onnx"], theirs["onnxruntime"]
        );
        assert!(diff <= TOLERANCE, "{name}: {diff}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Cross-entropy over the validation split, as `mgp eval` cuts it, in PyTorch.
const TORCH_VAL_LOSS: &str = r#"
import importlib.util, json, sys
import torch
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
exported = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exported)
model = exported.load()
text = open(sys.argv[2]).read()
ids = exported.encode(text)
val = ids[int(len(ids) * 0.9):]
T = exported.CONFIG["block_size"]
total, count = 0.0, 0
with torch.no_grad():
    for s in range(0, len(val) - 1, T):
        n = min(T, len(val) - 1 - s)
        logits = model(torch.tensor([val[s:s + n]]))[0]
        total += torch.nn.functional.cross_entropy(logits.double(), torch.tensor(val[s + 1:s + 1 + n]), reduction="sum").item()
        count += n
print(json.dumps({"val_loss": total / count, "tokens": count}))
"#;

#[test]
fn gpt_eval_gives_pytorchs_validation_loss() {
    let python = match python_with(&["torch"]) {
        Ok(p) => p,
        Err(reason) => return println!("{reason}"),
    };
    let dir = temp_dir("gpt-eval");
    let (_, checkpoint) = checkpoints_gpt(&dir).swap_remove(0);
    // A text of the checkpoint's eleven characters, not periodic.
    let text: String = (0..3000u64)
        .map(|i| b"abcdefghij\n"[((i * i * 7 + i / 5) % 11) as usize] as char)
        .collect();
    let text_path = dir.join("text.txt");
    std::fs::write(&text_path, &text).unwrap();
    let out = mgp(&[
        "eval",
        "--json",
        checkpoint.to_str().unwrap(),
        "--data",
        text_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exported = dir.join("pytorch");
    let export = mgp(&[
        "export",
        "--format",
        "pytorch",
        checkpoint.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(export.status.success());
    let theirs = run_python(
        &python,
        TORCH_VAL_LOSS,
        &[&exported.join("model.py"), &text_path],
    );
    assert_eq!(ours["tokens"], theirs["tokens"]);
    let (a, b) = (
        ours["val_loss"].as_f64().unwrap(),
        theirs["val_loss"].as_f64().unwrap(),
    );
    println!("validation loss: mgp eval {a}, PyTorch {b}");
    assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    assert!((ours["perplexity"].as_f64().unwrap() - a.exp()).abs() < 1e-9);
    // Another text (other characters) is refused, naming it.
    std::fs::write(&text_path, "xyz".repeat(100)).unwrap();
    let out = mgp(&[
        "eval",
        checkpoint.to_str().unwrap(),
        "--data",
        text_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not the text the model was trained on"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_errors_name_the_file_in_one_line() {
    let dir = temp_dir("errors");
    let not_ours = dir.join("other.safetensors");
    io::save_tensors(
        &not_ours,
        &[("w".into(), Tensor::zeros(&[2]))],
        &Default::default(),
    )
    .unwrap();
    let unknown = dir.join("unknown.safetensors");
    let meta = [("architecture".to_string(), "resnet".to_string())].into();
    io::save_tensors(&unknown, &[("w".into(), Tensor::zeros(&[2]))], &meta).unwrap();
    for (path, says) in [
        (dir.join("missing.safetensors"), "cannot read"),
        (not_ours.clone(), "match none of mgp's models"),
        (unknown.clone(), "\"architecture\" is \"resnet\""),
        (
            dir.clone(),
            "no model.safetensors or checkpoint.safetensors",
        ),
    ] {
        for format in ["pytorch", "onnx"] {
            let out = mgp(&["export", "--format", format, path.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with(&format!("error: {}", path.display())),
                "{stderr}"
            );
            assert!(stderr.contains(says), "{stderr}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
