//! The `mgp` binary end to end: exit status and output format of each command.

use std::process::Command;

fn mgp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mgp"))
        .args(args)
        .output()
        .expect("mgp runs")
}

#[test]
fn bench_json_prints_exactly_one_object_with_the_required_keys() {
    let out = mgp(&["bench", "matmul", "--size", "32", "--runs", "3", "--json"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object and nothing else: {stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    for key in ["name", "median_ms", "min_ms", "max_ms", "runs", "gflops"] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["name"], "matmul");
    assert_eq!(v["runs"], 3);
    let (min, median) = (
        v["min_ms"].as_f64().expect("min_ms"),
        v["median_ms"].as_f64().expect("median_ms"),
    );
    assert!(min <= median);

    let out = mgp(&[
        "bench",
        "op-overhead",
        "--chain",
        "50",
        "--runs",
        "2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(v["per_op_us"].as_f64().expect("per-op time") > 0.0);
}

#[test]
fn gradcheck_prints_a_table_and_succeeds() {
    let out = mgp(&["gradcheck", "--filter", "matmul"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let header = stdout.lines().next().expect("header");
    for col in ["OP", "SHAPES", "MAX ERROR", "RESULT"] {
        assert!(header.contains(col));
    }
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("matmul")).collect();
    assert!(rows.len() >= 6, "{stdout}");
    assert!(rows.iter().all(|r| r.ends_with("PASS")));
    assert!(stdout.contains(" passed, 0 failed"));
}

#[test]
fn unknown_workload_is_a_usage_error() {
    let out = mgp(&["bench", "no-such-thing"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value"));
}

#[test]
fn train_moons_json_reaches_full_accuracy_and_writes_the_picture() {
    let dir = std::env::temp_dir().join(format!("mgp-moons-{}", std::process::id()));
    let out = mgp(&[
        "train",
        "moons",
        "--json",
        "--out",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(steps.len(), 100);
    let loss = |i: usize| steps[i]["loss"].as_f64().expect("loss");
    assert!(loss(0) > loss(99));
    assert_eq!(steps[99]["accuracy"], 1.0);
    let png = std::fs::read(dir.join("decision_boundary.png")).expect("picture written");
    assert_eq!(&png[..4], b"\x89PNG");
    std::fs::remove_dir_all(&dir).ok();
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mgp-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Resumes the one-epoch run of `recipe` in `split` (whose output was
/// `first_stdout`) to two epochs, and checks that the two halves print the
/// epochs of the uninterrupted two-epoch run.
fn assert_resume_continues(
    recipe: &str,
    split: &std::path::Path,
    first_stdout: &[u8],
    uninterrupted: &[serde_json::Value],
) {
    let resumed = mgp(&[
        "train",
        recipe,
        "--epochs",
        "2",
        "--json",
        "--resume",
        split.to_str().unwrap(),
    ]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(epochs_without_timing(first_stdout)[0], uninterrupted[0]);
    assert_eq!(
        epochs_without_timing(&resumed.stdout),
        vec![uninterrupted[1].clone()]
    );
}

/// The epoch records without their timings, which differ run to run.
fn epochs_without_timing(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value =
                serde_json::from_str(l).expect("one JSON object per line");
            let o = v.as_object_mut().expect("object");
            for key in ["epoch_seconds", "samples_per_second"] {
                assert!(o.remove(key).expect(key).as_f64().expect("number") > 0.0);
            }
            v
        })
        .collect()
}

#[test]
fn mlp_mnist_json_run_writes_its_folder_and_resumes_exactly() {
    let full = temp_dir("full");
    let out = mgp(&[
        "train",
        "mlp-mnist",
        "--epochs",
        "2",
        "--json",
        "--seed",
        "3",
        "--out",
        full.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uninterrupted = epochs_without_timing(&out.stdout);
    assert_eq!(uninterrupted.len(), 2);
    for key in ["epoch", "train_loss", "train_acc", "test_loss", "test_acc"] {
        assert!(uninterrupted[1].get(key).is_some(), "missing {key}");
    }
    // Two epochs of the recipe already clear the course's 85% bar.
    assert!(uninterrupted[1]["test_acc"].as_f64().unwrap() > 0.85);
    for file in [
        "metrics.csv",
        "curves.png",
        "confusion.png",
        "config.json",
        "checkpoint.safetensors",
    ] {
        assert!(full.join(file).is_file(), "missing {file}");
    }

    // One epoch, then resume to two: the same numbers as the uninterrupted run.
    let split = temp_dir("split");
    let first = mgp(&[
        "train",
        "mlp-mnist",
        "--epochs",
        "1",
        "--json",
        "--seed",
        "3",
        "--out",
        split.to_str().unwrap(),
    ]);
    assert!(first.status.success());
    assert_resume_continues("mlp-mnist", &split, &first.stdout, &uninterrupted);

    // mgp eval reads the checkpoint back and agrees with the run's last epoch.
    let eval = mgp(&[
        "eval",
        "--json",
        "--checkpoint",
        full.join("checkpoint.safetensors").to_str().unwrap(),
    ]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&eval.stdout).expect("json");
    assert_eq!(v["test_acc"], uninterrupted[1]["test_acc"]);
    std::fs::remove_dir_all(&full).unwrap();
    std::fs::remove_dir_all(&split).unwrap();
}

#[test]
fn mlp_mnist_bad_data_folder_is_a_clear_error() {
    let out = mgp(&[
        "train",
        "mlp-mnist",
        "--epochs",
        "1",
        "--data",
        "/nonexistent-mnist",
        "--out",
        temp_dir("bad").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent-mnist: no MNIST file here"),
        "{stderr}"
    );
}

#[test]
fn milestone_xor_passes() {
    let out = mgp(&["milestone", "xor"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("PASS") && stdout.contains("accuracy 100%"),
        "{stdout}"
    );
}

#[test]
fn cnn_mnist_json_run_writes_its_folder_and_resumes_exactly() {
    let full = temp_dir("cnn-full");
    let args = |epochs: &str, out: &std::path::Path| {
        mgp(&[
            "train",
            "cnn-mnist",
            "--epochs",
            epochs,
            "--limit",
            "1000",
            "--json",
            "--seed",
            "5",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = args("2", &full);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uninterrupted = epochs_without_timing(&out.stdout);
    assert_eq!(uninterrupted.len(), 2);
    // 32 Adam steps on 1000 images already lift the CNN far above chance (10%).
    let acc = uninterrupted[1]["test_acc"].as_f64().unwrap();
    assert!(acc > 0.6, "{acc}");
    let loss = |i: usize| uninterrupted[i]["train_loss"].as_f64().unwrap();
    assert!(loss(1) < loss(0));
    for file in [
        "metrics.csv",
        "curves.png",
        "confusion.png",
        "config.json",
        "checkpoint.safetensors",
    ] {
        assert!(full.join(file).is_file(), "missing {file}");
    }
    let split = temp_dir("cnn-split");
    let first = args("1", &split);
    assert!(first.status.success());
    assert_resume_continues("cnn-mnist", &split, &first.stdout, &uninterrupted);
    std::fs::remove_dir_all(&full).unwrap();
    std::fs::remove_dir_all(&split).unwrap();
}

/// The data layer's tiny CIFAR-10 fixture (5 training, 3 test images).
fn cifar_fixture() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../micrograd-plus/tests/data/fixtures/cifar_bin"
    )
    .to_string()
}

#[test]
fn cnn_cifar10_runs_on_a_fixture_and_writes_its_folder() {
    let dir = temp_dir("cifar");
    let out = mgp(&[
        "train",
        "cnn-cifar10",
        "--data",
        &cifar_fixture(),
        "--epochs",
        "2",
        "--batch-size",
        "2",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let epochs = epochs_without_timing(&out.stdout);
    assert_eq!(epochs.len(), 2);
    assert_eq!(epochs[1]["epoch"], 2);
    for file in ["metrics.csv", "curves.png", "confusion.png", "config.json"] {
        assert!(dir.join(file).is_file(), "missing {file}");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["schedule"], "onecycle");
    assert_eq!(config["weight_decay"], 5e-4);
    std::fs::remove_dir_all(&dir).unwrap();

    let out = mgp(&[
        "train",
        "cnn-cifar10",
        "--data",
        "/nonexistent-cifar",
        "--out",
        temp_dir("cifar-bad").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent-cifar: no CIFAR-10 data here"),
        "{stderr}"
    );
}

#[test]
fn bench_cifar10_json_extrapolates_an_epoch() {
    let out = mgp(&["bench", "cifar10", "--batch", "4", "--runs", "2", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["name"], "cifar10");
    assert_eq!(v["params"]["batch"], 4);
    let median = v["median_ms"].as_f64().unwrap();
    let epoch = v["params"]["epoch_seconds"].as_f64().unwrap();
    // 50,000 images in batches of 4.
    assert!((epoch - median * 1e-3 * 12_500.0).abs() < 1e-9 * epoch.max(1.0));
}

#[test]
fn unknown_milestone_names_the_choices() {
    let out = mgp(&["milestone", "9"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expected 1, 2, 3, 4, xor, attention or 5"),
        "{stderr}"
    );
}
