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

/// The JSON objects of a `--json` run but its last, the summary naming the
/// run folder (see `json_summary`).
fn json_records(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("one JSON object per line"))
        .filter(|v| v.get("summary").is_none())
        .collect()
}

/// The summary object a `--json` run ends with.
fn json_summary(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().last().expect("some output");
    let v: serde_json::Value = serde_json::from_str(last).expect("JSON");
    assert_eq!(v["summary"], "done", "{last}");
    v
}

/// The per-epoch objects of a `--json` run, without their timings.
fn epochs_without_timing(stdout: &[u8]) -> Vec<serde_json::Value> {
    json_records(stdout)
        .into_iter()
        .map(|mut v| {
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
    // The last line names the run folder and its checkpoint; config.json
    // says what the run is as well as its settings.
    let summary = json_summary(&out.stdout);
    assert_eq!(summary["run"], full.to_str().unwrap());
    assert_eq!(
        summary["checkpoint"],
        full.join("checkpoint.safetensors").to_str().unwrap()
    );
    assert_eq!(summary["test_acc"], uninterrupted[1]["test_acc"]);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["recipe"], "mlp-mnist");
    assert_eq!(config["architecture"], "mlp-784-128-64-10");
    assert_eq!(config["crate_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        (config["epochs"].as_u64(), config["seed"].as_u64()),
        (Some(2), Some(3))
    );

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
        stderr.contains(
            "expected 1, xor, 2, 3, 4, attention, 5, TinyTorch's tinytorch-02 ... tinytorch-05, or list"
        ),
        "{stderr}"
    );
}

/// Runs mgp in `cwd` (a run without --out goes to `cwd/runs/`).
fn mgp_in(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mgp"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("mgp runs")
}

/// A fresh empty temporary folder.
fn empty_dir(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn user_errors_are_one_line_without_a_backtrace_even_with_rust_backtrace_set() {
    let cwd = empty_dir("backtrace");
    for args in [
        &["train", "mlp-mnist", "--data", "/nonexistent-mnist"][..],
        &["generate", "--checkpoint", "/nonexistent.safetensors"][..],
        &[
            "eval",
            "--checkpoint",
            "/nonexistent/checkpoint.safetensors",
        ][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mgp"))
            .args(args)
            .current_dir(&cwd)
            .env("RUST_BACKTRACE", "1")
            .output()
            .expect("mgp runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = stderr_of(&out);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: /nonexistent"), "{stderr}");
        assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
    }
    // Nothing was created for the failed run.
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0);
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn zero_nan_negative_and_absurd_numeric_flags_are_usage_errors() {
    let cwd = empty_dir("flags");
    for (args, flag) in [
        (
            &["bench", "matmul", "--size", "8", "--runs", "0"][..],
            "--runs",
        ),
        (&["bench", "op-overhead", "--chain", "0"][..], "--chain"),
        (&["bench", "conv", "--batch", "0"][..], "--batch"),
        (&["bench", "matmul", "--size", "0"][..], "--size"),
        (
            &["train", "mlp-mnist", "--threads", "100000"][..],
            "--threads",
        ),
        (&["train", "mlp-mnist", "--threads", "0"][..], "--threads"),
        (&["train", "mlp-mnist", "--lr", "NaN"][..], "--lr"),
        (&["train", "cnn-cifar10", "--momentum=-1"][..], "--momentum"),
        (
            &["train", "gpt-tinytalks", "--minutes", "NaN"][..],
            "--minutes",
        ),
        (&["train", "gpt-tinytalks", "--minutes=-1"][..], "--minutes"),
        (
            &["train", "gpt-tinytalks", "--batch-size", "0"][..],
            "--batch-size",
        ),
    ] {
        let out = mgp_in(&cwd, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let stderr = stderr_of(&out);
        assert!(
            stderr.starts_with("error: invalid value") && stderr.contains(flag),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0, "no run folder");
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// `mgp train cnn-cifar10` on the 5-image fixture, batch 2, with `extra` flags.
fn cifar_run(cwd: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let fixture = cifar_fixture();
    let mut args = vec![
        "train",
        "cnn-cifar10",
        "--data",
        &fixture,
        "--batch-size",
        "2",
        "--json",
    ];
    args.extend_from_slice(extra);
    mgp_in(cwd, &args)
}

#[test]
fn run_folders_are_never_overwritten_shared_or_left_half_made() {
    let cwd = empty_dir("folders");
    let run = cwd.join("run");
    let run_s = run.to_str().unwrap();
    let first = cifar_run(
        &cwd,
        &["--epochs", "1", "--schedule", "constant", "--out", run_s],
    );
    assert!(first.status.success(), "{}", stderr_of(&first));
    let checkpoint = std::fs::read(run.join("checkpoint.safetensors")).unwrap();

    // --out on an existing run: refused, the run untouched.
    let again = cifar_run(
        &cwd,
        &[
            "--epochs",
            "1",
            "--schedule",
            "constant",
            "--seed",
            "9",
            "--out",
            run_s,
        ],
    );
    assert_eq!(again.status.code(), Some(1));
    let stderr = stderr_of(&again);
    assert!(
        stderr.contains("already holds files") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(run.join("checkpoint.safetensors")).unwrap(),
        checkpoint
    );
    // --force replaces it.
    let forced = cifar_run(
        &cwd,
        &[
            "--epochs",
            "1",
            "--schedule",
            "constant",
            "--seed",
            "9",
            "--out",
            run_s,
            "--force",
        ],
    );
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    assert_ne!(
        std::fs::read(run.join("checkpoint.safetensors")).unwrap(),
        checkpoint
    );
    // --out with --resume is an error, not silently ignored.
    let both = cifar_run(&cwd, &["--resume", run_s, "--out", run_s]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        stderr_of(&both).contains("cannot be used with"),
        "{}",
        stderr_of(&both)
    );

    // A failed start (bad data) leaves no folder, under --out or runs/.
    let bad = cwd.join("bad");
    let out = mgp_in(
        &cwd,
        &[
            "train",
            "cnn-cifar10",
            "--data",
            "/nonexistent-cifar",
            "--out",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!bad.exists());
    let out = mgp_in(
        &cwd,
        &["train", "cnn-cifar10", "--data", "/nonexistent-cifar"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!cwd.join("runs").exists());

    // Two runs started at once get two folders.
    let fixture = cifar_fixture();
    let args = [
        "train",
        "cnn-cifar10",
        "--data",
        &fixture,
        "--batch-size",
        "2",
        "--epochs",
        "1",
        "--schedule",
        "constant",
        "--json",
    ];
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_mgp"))
            .args(args)
            .current_dir(&cwd)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mgp starts")
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let folders: Vec<_> = std::fs::read_dir(cwd.join("runs")).unwrap().collect();
    assert_eq!(folders.len(), 2);
    for f in folders {
        assert!(f.unwrap().path().join("checkpoint.safetensors").is_file());
    }
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn run_files_are_written_atomically_with_errors_naming_the_file() {
    let cwd = empty_dir("atomic");
    let run = cwd.join("run");
    let run_s = run.to_str().unwrap();
    let first = cifar_run(
        &cwd,
        &["--epochs", "1", "--schedule", "constant", "--out", run_s],
    );
    assert!(first.status.success(), "{}", stderr_of(&first));
    // What a kill during a checkpoint write leaves behind.
    std::fs::write(run.join("checkpoint.safetensors.tmp-999999"), b"partial").unwrap();
    // A folder where metrics.csv should go: writing it must fail, naming it.
    std::fs::remove_file(run.join("metrics.csv")).unwrap();
    std::fs::create_dir(run.join("metrics.csv")).unwrap();
    let resumed = cifar_run(&cwd, &["--resume", run_s, "--epochs", "2"]);
    assert_eq!(resumed.status.code(), Some(1));
    let stderr = stderr_of(&resumed);
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("error: {run_s}/metrics.csv: cannot write:")),
        "{stderr}"
    );
    assert!(!run.join("checkpoint.safetensors.tmp-999999").exists());
    let leftovers: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// The first `columns` columns of metrics.csv (those before the timings).
fn csv_without_timing(path: &std::path::Path, columns: usize) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(columns).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn cnn_cifar10_resume_continues_bit_identically_including_dropout_and_metrics() {
    let cwd = empty_dir("cifar-resume");
    let (full, split) = (cwd.join("full"), cwd.join("split"));
    let common = ["--schedule", "constant", "--seed", "4", "--lr", "0.01"];
    let run = |epochs: &str, out: &std::path::Path| {
        let mut args = common.to_vec();
        args.extend(["--epochs", epochs, "--out", out.to_str().unwrap()]);
        cifar_run(&cwd, &args)
    };
    let out = run("10", &full);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let uninterrupted = epochs_without_timing(&out.stdout);
    assert_eq!(uninterrupted.len(), 10);
    let first = run("8", &split);
    assert!(first.status.success(), "{}", stderr_of(&first));
    let first_csv = std::fs::read_to_string(split.join("metrics.csv")).unwrap();
    let resumed = cifar_run(
        &cwd,
        &["--resume", split.to_str().unwrap(), "--epochs", "10"],
    );
    assert!(resumed.status.success(), "{}", stderr_of(&resumed));
    assert_eq!(epochs_without_timing(&first.stdout), uninterrupted[..8]);
    assert_eq!(epochs_without_timing(&resumed.stdout), uninterrupted[8..]);
    // Every digit of metrics.csv (the first eight epochs read back from
    // the checkpoint's JSON) matches the uninterrupted run's.
    assert_eq!(
        csv_without_timing(&split.join("metrics.csv"), 5),
        csv_without_timing(&full.join("metrics.csv"), 5)
    );
    // The first session's lines, timings included, come back byte for byte.
    let resumed_csv = std::fs::read_to_string(split.join("metrics.csv")).unwrap();
    assert_eq!(
        resumed_csv.lines().take(9).collect::<Vec<_>>(),
        first_csv.lines().collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn a_longer_onecycle_or_cosine_resume_is_refused_not_silently_skipped() {
    let cwd = empty_dir("cifar-extend");
    for schedule in ["onecycle", "cosine"] {
        let run = cwd.join(schedule);
        let run_s = run.to_str().unwrap();
        let first = cifar_run(
            &cwd,
            &["--epochs", "2", "--schedule", schedule, "--out", run_s],
        );
        assert!(first.status.success(), "{}", stderr_of(&first));
        let longer = cifar_run(&cwd, &["--resume", run_s, "--epochs", "3"]);
        assert_eq!(longer.status.code(), Some(1), "{schedule}");
        assert!(longer.stdout.is_empty());
        let stderr = stderr_of(&longer);
        assert!(
            stderr.contains(&format!(
                "cannot extend this run from 2 to 3 epochs: its {schedule}"
            )),
            "{stderr}"
        );
        // Resuming the finished run as it was planned is fine.
        assert!(cifar_run(&cwd, &["--resume", run_s]).status.success());
    }
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// A small text for GPT runs (17 distinct characters, 2,800 of them).
fn small_text(dir: &std::path::Path) -> String {
    let words = [
        "the", "cat", "sat", "on", "a", "mat", "and", "then", "ran", "far", "home",
    ];
    let text: Vec<&str> = (0..560usize)
        .map(|i| words[(i * 7 + i / 3) % words.len()])
        .collect();
    let path = dir.join("small.txt");
    std::fs::write(&path, text.join(" ")).unwrap();
    path.to_str().unwrap().to_string()
}

/// `mgp train gpt-tinytalks` (dropout 0.1) on `text`, batch 2.
fn gpt_args<'a>(text: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "gpt-tinytalks",
        "--data",
        text,
        "--batch-size",
        "2",
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

/// The evaluation records without their timings.
fn records_without_timing(stdout: &[u8]) -> Vec<serde_json::Value> {
    json_records(stdout)
        .into_iter()
        .map(|mut v| {
            let o = v.as_object_mut().expect("object");
            for key in ["step_ms", "tokens_per_second", "elapsed_s"] {
                o.remove(key).expect(key);
            }
            v
        })
        .collect()
}

#[test]
fn gpt_diverging_run_fails_without_saving_a_nan_model() {
    let cwd = empty_dir("gpt-nan");
    let text = small_text(&cwd);
    let run = cwd.join("run");
    let out = mgp_in(
        &cwd,
        &gpt_args(
            &text,
            &[
                "--steps",
                "20",
                "--eval-interval",
                "5",
                "--lr",
                "1e30",
                "--out",
                run.to_str().unwrap(),
            ],
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("error: training diverged: loss is NaN at step"),
        "{stderr}"
    );
    // It diverged before its first checkpoint after step 0: nothing is left.
    assert!(!run.exists());
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn gpt_killed_mid_run_resumes_to_the_uninterrupted_numbers() {
    use std::io::BufRead;
    let cwd = empty_dir("gpt-kill");
    let text = small_text(&cwd);
    let (full, killed) = (cwd.join("full"), cwd.join("killed"));
    let steps = ["--steps", "16", "--eval-interval", "2"];
    let run = |out: &std::path::Path| {
        let mut extra = steps.to_vec();
        extra.extend(["--out", out.to_str().unwrap()]);
        gpt_args(&text, &extra)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let uninterrupted = mgp_in(
        &cwd,
        &run(&full).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        uninterrupted.status.success(),
        "{}",
        stderr_of(&uninterrupted)
    );
    let expected = records_without_timing(&uninterrupted.stdout);
    assert_eq!(expected.len(), 9);

    // kill -9 once the step-6 evaluation is printed (its checkpoint may be
    // half written), then resume.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mgp"))
        .args(run(&killed))
        .current_dir(&cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mgp starts");
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.contains("\"step\":6,");
        seen.push(line);
        if done {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert!(
        !killed.join("model.safetensors").exists(),
        "killed before the end"
    );
    let resumed = mgp_in(
        &cwd,
        &[
            "train",
            "gpt-tinytalks",
            "--json",
            "--resume",
            killed.to_str().unwrap(),
        ],
    );
    assert!(resumed.status.success(), "{}", stderr_of(&resumed));
    let after = records_without_timing(&resumed.stdout);
    assert!(!after.is_empty());
    assert_eq!(after[..], expected[expected.len() - after.len()..]);
    assert_eq!(
        csv_without_timing(&killed.join("metrics.csv"), 3),
        csv_without_timing(&full.join("metrics.csv"), 3)
    );
    assert!(killed.join("model.safetensors").is_file());
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// Runs `mgp <args> --out full` to the end, and `mgp <args> --out killed`
/// killed with SIGKILL once its first epoch is printed (its checkpoint may
/// be half written), then resumed: the resumed epochs and the final
/// metrics.csv must equal the uninterrupted run's.
fn assert_kill_and_resume(name: &str, args: &[&str]) {
    use std::io::BufRead;
    let cwd = empty_dir(name);
    let (full, killed) = (cwd.join("full"), cwd.join("killed"));
    let with_out = |out: &std::path::Path| {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--json".into(), "--out".into(), out.display().to_string()]);
        a
    };
    let uninterrupted = mgp_in(
        &cwd,
        &with_out(&full)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        uninterrupted.status.success(),
        "{}",
        stderr_of(&uninterrupted)
    );
    let expected = epochs_without_timing(&uninterrupted.stdout);

    let mut child = Command::new(env!("CARGO_BIN_EXE_mgp"))
        .args(with_out(&killed))
        .current_dir(&cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mgp starts");
    let first = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .expect("an epoch line")
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(epochs_without_timing(first.as_bytes())[0], expected[0]);

    let resumed = mgp_in(
        &cwd,
        &[
            "train",
            args[1],
            "--json",
            "--resume",
            killed.to_str().unwrap(),
        ],
    );
    assert!(resumed.status.success(), "{}", stderr_of(&resumed));
    // Usually the kill lands mid-run and epochs remain; on a fast machine
    // the run may have finished first, and the resume only evaluates.
    let after = epochs_without_timing(&resumed.stdout);
    assert_eq!(after[..], expected[expected.len() - after.len()..]);
    assert_eq!(
        csv_without_timing(&killed.join("metrics.csv"), 5),
        csv_without_timing(&full.join("metrics.csv"), 5)
    );
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn classifier_recipes_killed_mid_run_resume_to_the_uninterrupted_numbers() {
    let fixture = cifar_fixture();
    // One-cycle: the scheduler's position is restored too.
    assert_kill_and_resume(
        "kill-cifar",
        &[
            "train",
            "cnn-cifar10",
            "--data",
            &fixture,
            "--batch-size",
            "2",
            "--epochs",
            "8",
            "--lr",
            "0.01",
        ],
    );
    assert_kill_and_resume(
        "kill-cnn",
        &[
            "train",
            "cnn-mnist",
            "--limit",
            "300",
            "--epochs",
            "4",
            "--seed",
            "2",
        ],
    );
    assert_kill_and_resume(
        "kill-mlp",
        &["train", "mlp-mnist", "--epochs", "4", "--seed", "1"],
    );
}

/// The doctor's JSON warnings among a run's stdout lines: `(cause, step)`.
fn doctor_warnings(stdout: &[u8]) -> Vec<(String, u64)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("cause").is_some())
        .map(|v| {
            (
                v["cause"].as_str().expect("cause").to_string(),
                v["step"].as_u64().expect("step"),
            )
        })
        .collect()
}

/// A GPT run long enough for the doctor's windows: 120 steps, 2 evaluations.
const SHORT_GPT_RUN: [&str; 4] = ["--steps", "120", "--eval-interval", "60"];

/// The doctor's first warning in a run's JSON output names `cause`.
fn assert_first_cause(out: &std::process::Output, cause: &str, what: &str) {
    let warnings = doctor_warnings(&out.stdout);
    assert_eq!(
        warnings.first().map(|w| w.0.as_str()),
        Some(cause),
        "{what}: {}",
        stderr_of(out)
    );
}

#[test]
fn every_break_of_mlp_mnist_is_named_by_the_doctor_first() {
    let expected = [
        ("lr-high", "learning-rate-too-high", 1),
        ("lr-low", "learning-rate-too-low", 100),
        ("no-zero-grad", "forgotten-zero-grad", 40),
        ("dead-relu", "dying-relu", 40),
        ("bad-init", "bad-initialisation", 1),
        ("unstable-softmax", "numerical-instability", 1),
        ("unnormalised", "unnormalised-inputs", 1),
    ];
    for (breakage, cause, step) in expected {
        let dir = temp_dir(&format!("break-{breakage}"));
        let out = mgp(&[
            "train",
            "mlp-mnist",
            "--epochs",
            "1",
            "--json",
            "--break",
            breakage,
            "--out",
            dir.to_str().unwrap(),
        ]);
        let stderr = stderr_of(&out);
        let warnings = doctor_warnings(&out.stdout);
        assert_eq!(
            warnings.first(),
            Some(&(cause.to_string(), step)),
            "--break {breakage}: {warnings:?}\n{stderr}"
        );
        // Once each, on stderr as text too.
        assert_eq!(
            stderr.matches(&format!("doctor: {cause} at step")).count(),
            1,
            "{stderr}"
        );
        if breakage == "unstable-softmax" {
            // A NaN loss still stops the run, now explained.
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(stderr.contains("error: training diverged"), "{stderr}");
        } else {
            assert!(out.status.success(), "{stderr}");
            let logged = std::fs::read_to_string(dir.join("warnings.jsonl")).unwrap();
            assert!(
                logged.starts_with(&format!("{{\"cause\":\"{cause}\",\"step\":{step},")),
                "{logged}"
            );
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn healthy_runs_get_no_warning_and_the_same_numbers_with_the_doctor_on_or_off() {
    let run = |doctor: &str, dir: &std::path::Path| {
        mgp(&[
            "train",
            "mlp-mnist",
            "--epochs",
            "1",
            "--json",
            "--doctor",
            doctor,
            "--out",
            dir.to_str().unwrap(),
        ])
    };
    let (on, off) = (temp_dir("doctor-on"), temp_dir("doctor-off"));
    let watched = run("warn", &on);
    assert!(watched.status.success(), "{}", stderr_of(&watched));
    assert_eq!(doctor_warnings(&watched.stdout), []);
    assert!(
        !stderr_of(&watched).contains("doctor:"),
        "{}",
        stderr_of(&watched)
    );
    let unwatched = run("off", &off);
    assert_eq!(
        epochs_without_timing(&watched.stdout),
        epochs_without_timing(&unwatched.stdout)
    );
    assert!(!off.join("doctor.csv").exists());
    assert_eq!(
        std::fs::read_to_string(on.join("warnings.jsonl")).unwrap(),
        ""
    );
    let csv = std::fs::read_to_string(on.join("doctor.csv")).unwrap();
    assert!(
        csv.starts_with("step,signal,layer,value\n0,chance_level,,2.302585"),
        "{csv}"
    );
    // 10,000 images in batches of 64: 157 steps, each with its loss.
    assert_eq!(csv.lines().filter(|l| l.contains(",loss,,")).count(), 157);

    // mgp doctor reads the folder back: text and a picture.
    let report = mgp(&["doctor", on.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr_of(&report));
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.starts_with("157 steps; loss 2."), "{text}");
    assert!(text.contains("no warnings"), "{text}");
    assert!(std::fs::metadata(on.join("doctor.png")).unwrap().len() > 10_000);

    // The CNN and the GPT stay silent too.
    let cnn = temp_dir("doctor-cnn");
    let out = mgp(&[
        "train",
        "cnn-mnist",
        "--epochs",
        "1",
        "--limit",
        "2000",
        "--json",
        "--out",
        cnn.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(doctor_warnings(&out.stdout), []);
    let cwd = empty_dir("doctor-gpt");
    let text = small_text(&cwd);
    let gpt = cwd.join("run");
    let extra = [&SHORT_GPT_RUN[..], &["--out", gpt.to_str().unwrap()]].concat();
    let out = mgp_in(&cwd, &gpt_args(&text, &extra));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(doctor_warnings(&out.stdout), []);
    assert!(gpt.join("doctor.csv").is_file());
    for dir in [on, off, cnn, cwd] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn the_doctor_in_strict_mode_stops_the_run_and_mgp_doctor_reports_a_broken_one() {
    let dir = temp_dir("doctor-strict");
    let out = mgp(&[
        "train",
        "mlp-mnist",
        "--epochs",
        "1",
        "--break",
        "bad-init",
        "--doctor",
        "strict",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(
            "error: stopped by the doctor (strict mode): doctor: bad-initialisation at step 1"
        ),
        "{stderr}"
    );

    let broken = temp_dir("doctor-broken");
    let out = mgp(&[
        "train",
        "mlp-mnist",
        "--epochs",
        "1",
        "--break",
        "lr-high",
        "--out",
        broken.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = mgp(&["doctor", broken.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(
        text.contains("doctor: learning-rate-too-high at step 1 in layer 0"),
        "{text}"
    );
    let json = mgp(&["doctor", "--json", broken.to_str().unwrap()]);
    assert_eq!(
        doctor_warnings(&json.stdout)[0],
        ("learning-rate-too-high".to_string(), 1)
    );
    // Breaking what a recipe cannot break, or a GPT, is refused up front.
    let refused = cifar_run(&broken, &["--break", "dead-relu"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains("cnn-cifar10 takes lr-high, lr-low, no-zero-grad"),
        "{}",
        stderr_of(&refused)
    );
    let missing = mgp(&["doctor", dir.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr_of(&missing).contains("doctor.csv"),
        "{}",
        stderr_of(&missing)
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::remove_dir_all(&broken).unwrap();
}

#[test]
fn the_cnn_and_cifar_breaks_are_named_by_the_doctor_first() {
    // lr-low needs 100 steps of tiny updates (3 epochs of 50 here); the
    // others show within 50.
    let cnn = [
        ("lr-high", "learning-rate-too-high"),
        ("lr-low", "learning-rate-too-low"),
        ("no-zero-grad", "forgotten-zero-grad"),
        ("dead-relu", "dying-relu"),
        ("bad-init", "bad-initialisation"),
        ("unstable-softmax", "numerical-instability"),
        ("unnormalised", "unnormalised-inputs"),
    ];
    let cwd = empty_dir("doctor-cnn-breaks");
    for (breakage, cause) in cnn {
        let epochs = if breakage == "lr-low" { "3" } else { "1" };
        let out = mgp_in(
            &cwd,
            &[
                "train",
                "cnn-mnist",
                "--epochs",
                epochs,
                "--limit",
                "3200",
                "--json",
                "--break",
                breakage,
            ],
        );
        assert_first_cause(&out, cause, &format!("cnn-mnist --break {breakage}"));
    }
    // lr-high under the one-cycle schedule, which sets the lr every step:
    // the whole schedule is scaled (10 epochs of 3 steps fill its phases).
    for (breakage, cause, schedule) in [
        ("bad-init", "bad-initialisation", "constant"),
        ("unstable-softmax", "numerical-instability", "constant"),
        ("lr-high", "learning-rate-too-high", "one-cycle"),
    ] {
        let epochs = if schedule == "one-cycle" { "10" } else { "1" };
        let out = cifar_run(
            &cwd,
            &[
                "--epochs",
                epochs,
                "--schedule",
                schedule,
                "--break",
                breakage,
            ],
        );
        let warnings = doctor_warnings(&out.stdout);
        assert_eq!(
            warnings.first(),
            Some(&(cause.to_string(), 1)),
            "{}",
            stderr_of(&out)
        );
    }
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// The `lr` column of a run folder's `steps.csv`.
fn step_lrs(dir: &std::path::Path) -> Vec<f64> {
    let csv = std::fs::read_to_string(dir.join("steps.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("step,epoch,loss,lr"));
    lines
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn lr_breaks_scale_the_whole_one_cycle_schedule_as_steps_csv_records_it() {
    let cwd = empty_dir("lr-break-schedule");
    let (healthy, low) = (cwd.join("healthy"), cwd.join("low"));
    // A peak of 0.01, not the default 0.1: at 0.1 this batch-of-2 run on
    // the fixture blows up (training loss ~1e17 by epoch 10) and whether it
    // reaches NaN before the end, which stops the run, turns on the last
    // bits of the sums. At 0.01 its loss stays below 60.
    for (dir, extra) in [(&healthy, vec![]), (&low, vec!["--break", "lr-low"])] {
        let mut args = vec![
            "--epochs",
            "10",
            "--lr",
            "0.01",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = cifar_run(&cwd, &args);
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let (healthy, low) = (step_lrs(&healthy), step_lrs(&low));
    // 3 steps per epoch; one-cycle peaks at --lr 0.01 at 30% of the run.
    assert_eq!(healthy.len(), 30);
    let peak = healthy.iter().copied().fold(0.0, f64::max);
    assert!((peak - 0.01).abs() < 0.001, "{healthy:?}");
    assert!(healthy[0] < peak / 10.0, "{healthy:?}");
    for (h, l) in healthy.iter().zip(&low) {
        assert!((l / h - 1e-4).abs() < 1e-9, "{h} {l}");
    }
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn the_gpt_breaks_are_named_by_the_doctor_first() {
    let cwd = empty_dir("doctor-gpt-breaks");
    let text = small_text(&cwd);
    for (breakage, cause) in [
        ("lr-high", "learning-rate-too-high"),
        ("lr-low", "learning-rate-too-low"),
        ("no-zero-grad", "forgotten-zero-grad"),
        ("bad-init", "bad-initialisation"),
        ("unstable-softmax", "numerical-instability"),
    ] {
        let extra = [&SHORT_GPT_RUN[..], &["--break", breakage]].concat();
        let out = mgp_in(&cwd, &gpt_args(&text, &extra));
        assert_first_cause(&out, cause, &format!("gpt --break {breakage}"));
    }
    // What has no meaning for a transformer is refused before any work.
    let out = mgp_in(&cwd, &gpt_args(&text, &["--break", "dead-relu"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("--break dead-relu is for the classifier recipes"),
        "{}",
        stderr_of(&out)
    );
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn anomaly_mode_names_the_op_that_made_the_first_nan_and_is_silent_on_healthy_runs() {
    let cwd = empty_dir("anomaly");
    let out = mgp_in(
        &cwd,
        &[
            "train",
            "mlp-mnist",
            "--epochs",
            "1",
            "--json",
            "--anomaly",
            "--break",
            "unstable-softmax",
        ],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("cause").is_some())
        .expect("a warning");
    assert_eq!(
        (first["cause"].as_str(), first["step"].as_u64()),
        (Some("numerical-instability"), Some(1))
    );
    // exp(logits / 0.001) overflows first; the ops after it only pass it on.
    let message = first["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "anomaly mode: the forward of exp (inputs of shapes [[64, 10]], output [64, 10]) made inf"
        ),
        "{message}"
    );
    // The backward pass stops at the log whose gradient is NaN.
    assert!(
        stderr.contains("error: anomaly mode: the backward of log (inputs of shapes [[64, 10]]"),
        "{stderr}"
    );

    // Strict mode turns anomaly mode on by itself; a healthy run stays silent.
    let out = mgp_in(
        &cwd,
        &[
            "train",
            "cnn-mnist",
            "--epochs",
            "1",
            "--limit",
            "640",
            "--json",
            "--doctor",
            "strict",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(doctor_warnings(&out.stdout), []);
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// With no --data, a GPT run trains on the corpus built into mgp, says so in
/// its config.json, and resumes from it.
#[test]
fn gpt_default_corpus_is_built_in_and_recorded_as_such() {
    let cwd = empty_dir("gpt_builtin");
    let run = cwd.join("run");
    let out = mgp_in(
        &cwd,
        &[
            "train",
            "gpt-tinytalks",
            "--steps",
            "2",
            "--eval-interval",
            "1",
            "--batch-size",
            "2",
            "--json",
            "--out",
            run.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["data"],
        serde_json::json!({"embedded": "tinytalks/tinytalks_v1.txt"})
    );
    let resumed = mgp_in(
        &cwd,
        &[
            "train",
            "gpt-tinytalks",
            "--steps",
            "3",
            "--json",
            "--resume",
            run.to_str().unwrap(),
        ],
    );
    assert!(resumed.status.success(), "{}", stderr_of(&resumed));
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn profile_prints_the_op_table_and_writes_a_trace() {
    let dir = temp_dir("profile");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.json");
    let out = mgp(&[
        "profile",
        "cnn-cifar10",
        "--data",
        &cifar_fixture(),
        "--steps",
        "2",
        "--warmup",
        "0",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The fixture's 5 images are one batch: 2 steps, 4 convolutions each.
    let conv = stdout
        .lines()
        .find(|l| l.starts_with("conv2d") && l.contains("forward"))
        .unwrap_or_else(|| panic!("no conv2d row in\n{stdout}"));
    assert_eq!(conv.split_whitespace().nth(2), Some("8"), "{conv}");
    let events: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    let convs = events["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "conv2d" && e["cat"] == "forward")
        .count();
    assert_eq!(convs, 8);
    let bad = mgp(&["profile", "gpt-shakespeare", "--data", "/nonexistent.txt"]);
    assert!(!bad.status.success());
    let err = stderr_of(&bad);
    assert!(
        err.contains("/nonexistent.txt") && err.lines().count() == 1,
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn graph_writes_the_dot_and_the_png_of_micrograds_neuron() {
    let dir = temp_dir("graph");
    let out = mgp(&["graph", "neuron", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let dot = std::fs::read_to_string(dir.join("neuron.dot")).unwrap();
    assert_eq!(dot.matches("shape=record").count(), 10); // 5 inputs, 5 results
    assert_eq!(dot.matches(" -> ").count(), 14);
    assert!(dot.contains("{ n | data 0.8814 | grad 0.5000 }"), "{dot}");
    let png = std::fs::read(dir.join("neuron.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The command names listed under `Commands:` in a help text (without
/// `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

/// `mgp ARGS --help`, which must succeed.
fn help_of(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--help");
    let out = mgp(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The help line of `--flag` (its first line).
fn flag_line<'a>(help: &'a str, flag: &str) -> &'a str {
    let start = format!("--{flag} ");
    help.lines()
        .find(|l| l.trim_start().starts_with(&start))
        .unwrap_or_else(|| panic!("no --{flag} in\n{help}"))
}

#[test]
fn every_help_has_examples_and_shows_the_presets_defaults() {
    use micrograd_plus::train::cifar10::Cifar10Config;
    use micrograd_plus::train::gpt::TrainConfig;
    use micrograd_plus::train::mlp_mnist::MnistConfig;
    // Every command and every training recipe, as `mgp --help` and
    // `mgp train --help` list them (a new command without examples fails).
    let top = help_of(&[]);
    let mut paths: Vec<Vec<String>> = vec![vec![]];
    for c in subcommands(&top) {
        paths.push(vec![c.clone()]);
        if c == "train" {
            for r in subcommands(&help_of(&["train"])) {
                paths.push(vec![c.clone(), r]);
            }
        }
    }
    assert!(paths.len() > 15, "{paths:?}");
    for path in &paths {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let help = help_of(&args);
        assert!(
            help.contains("\nExamples:\n  mgp "),
            "mgp {args:?} --help:\n{help}"
        );
        // Each example parses: its flags and values are accepted (`--help`
        // after them succeeds only if everything before it does).
        let examples = help.split("\nExamples:\n").nth(1).expect("examples");
        for line in examples.lines() {
            assert!(line.starts_with("  "), "{examples}");
            let words: Vec<&str> = line
                .split_whitespace()
                .take_while(|w| !["#", ">", "|"].contains(w))
                .collect();
            if words[0] != "mgp" {
                continue; // e.g. python3 running an export
            }
            let mut example: Vec<&str> = words[1..].to_vec();
            example.push("--help");
            let out = mgp(&example);
            assert!(out.status.success(), "{line}: {}", stderr_of(&out));
        }
    }

    // The GPT's step and minute limits, from the recipe's preset.
    let gpt = TrainConfig::shakespeare(65);
    let help = help_of(&["train", "gpt-shakespeare"]);
    assert!(
        flag_line(&help, "steps").ends_with(&format!("[default: {}]", gpt.max_steps)),
        "{help}"
    );
    let minutes = gpt.max_seconds.expect("a time limit") / 60.0;
    assert!(
        flag_line(&help, "minutes").ends_with(&format!("[default: {minutes}]")),
        "{help}"
    );
    assert!(flag_line(&help, "lr").ends_with(&format!("[default: {}]", gpt.lr)));
    // TinyTalks has its own limits, shown the same way.
    let tiny = help_of(&["train", "gpt-tinytalks"]);
    for flag in ["steps", "minutes", "batch-size", "eval-interval", "seed"] {
        let line = flag_line(&tiny, flag);
        let default = line.rsplit("[default: ").next().expect("a default");
        assert!(
            default.trim_end_matches(']').parse::<f64>().is_ok(),
            "{line}"
        );
    }
    assert_ne!(flag_line(&tiny, "steps"), flag_line(&help, "steps"));
    // The shared run flags in a GPT's words.
    assert!(flag_line(&help, "resume").contains("--steps or --minutes may extend it"));
    assert!(flag_line(&help, "json").contains("one JSON object per evaluation"));

    // The classifiers' epochs (an Option: the run's own on --resume) and
    // sizes, from their presets.
    let mlp = help_of(&["train", "mlp-mnist"]);
    let epochs = MnistConfig::default().epochs;
    assert!(flag_line(&mlp, "epochs").contains(&format!("[default: {epochs}; on --resume")));
    let cifar = help_of(&["train", "cnn-cifar10"]);
    let preset = Cifar10Config::default();
    assert!(flag_line(&cifar, "batch-size").ends_with(&format!("[default: {}]", preset.batch_size)));
    assert!(flag_line(&cifar, "data").contains("cifar-10-binary.tar.gz"));
    assert!(flag_line(&cifar, "data").contains("[default: "));
    assert!(help_of(&["milestone"]).contains("mgp milestone list"));
}

#[test]
fn milestone_list_shows_what_each_trains_its_bar_and_duration() {
    let out = mgp(&["milestone", "list"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let blocks: Vec<Vec<&str>> = stdout
        .split('\n')
        .collect::<Vec<_>>()
        .chunk_by(|_, b| b.starts_with("  "))
        .map(|b| b.to_vec())
        .filter(|b| !b[0].is_empty())
        .collect();
    let names: Vec<&str> = blocks
        .iter()
        .map(|b| b[0].split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["1", "xor", "2", "3", "4", "attention", "5"],
        "{stdout}"
    );
    for block in &blocks {
        let keys: Vec<&str> = block[1..]
            .iter()
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(keys, ["trains", "bar", "typical"], "{block:?}");
    }
    // The presets' settings and the bars.
    let epochs = micrograd_plus::train::mlp_mnist::MnistConfig::default().epochs;
    assert!(
        blocks[0][1].contains(&format!("{epochs} epochs")),
        "{:?}",
        blocks[0]
    );
    assert!(
        blocks[0][2].contains("test accuracy >= 85%"),
        "{:?}",
        blocks[0]
    );
    assert!(
        blocks[6][2].contains("validation loss <= 1.70"),
        "{:?}",
        blocks[6]
    );
    // TinyTorch's numbers are shown and accepted.
    assert_eq!(blocks[0][0], "1 (TinyTorch: tinytorch-03)");
    assert_eq!(blocks[5][0], "attention (TinyTorch: tinytorch-05)");
    let out = mgp(&["milestone", "tinytorch-02"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("milestone xor "));
    let out = mgp(&["milestone", "tinytorch-01"]);
    assert!(!out.status.success());
    assert_eq!(
        stderr_of(&out),
        "error: TinyTorch's milestone 01 (the 1957 perceptron) has no counterpart in mgp\n"
    );
    let out = mgp(&["milestone", "03"]);
    assert!(stderr_of(&out).contains("(TinyTorch's milestone 03 is tinytorch-03)"));
}

/// Whether `text` holds anything of a progress bar (its carriage returns,
/// escape codes or bar).
fn has_progress_bar(text: &str) -> bool {
    text.contains('\r') || text.contains('\u{1b}') || text.contains("=>") || text.contains("ETA")
}

#[test]
fn epoch_and_gpt_evaluation_lines_reach_a_pipe_without_a_progress_bar() {
    // Output piped (as into a log file): the bar is hidden, every line
    // that matters is still printed.
    let cwd = empty_dir("piped");
    let out = mgp_in(
        &cwd,
        &[
            "train",
            "cnn-mnist",
            "--epochs",
            "2",
            "--limit",
            "300",
            "--out",
            "cnn",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf-8");
    let epochs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("epoch ")).collect();
    assert_eq!(epochs.len(), 2, "{stdout}");
    assert!(epochs[1].starts_with("epoch  2/2  train loss "), "{stdout}");
    assert!(!has_progress_bar(&stdout) && !has_progress_bar(&stderr_of(&out)));

    let text = small_text(&cwd);
    let out = mgp_in(
        &cwd,
        &[
            "train",
            "gpt-tinytalks",
            "--data",
            &text,
            "--batch-size",
            "2",
            "--steps",
            "20",
            "--eval-interval",
            "10",
            "--out",
            "gpt",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf-8");
    let steps: Vec<u64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("step "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps, [0, 10, 20], "{stdout}");
    let stderr = stderr_of(&out);
    assert!(
        !has_progress_bar(&stdout) && !has_progress_bar(&stderr),
        "{stderr}"
    );
    // The sample after training starts from the text's own characters when
    // the recipe's prompt ("Q: ") is not in them.
    assert!(stderr.contains("--- sample ---"), "{stderr}");
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn graph_renders_through_graphviz_when_dot_is_on_path_and_says_when_it_is_not() {
    let dir = temp_dir("graph-dot");
    let run = |path: &str, extra: &[&str]| {
        let mut args = vec!["graph", "neuron", "--out", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_mgp"))
            .args(&args)
            .env("PATH", path)
            .output()
            .expect("mgp runs")
    };
    // A PATH with no dot: the built-in layout, and a line saying why.
    let empty = dir.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(empty.to_str().unwrap(), &["--format", "svg"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("SVG needs Graphviz's dot (no Graphviz dot on PATH): a PNG instead"),
        "{said}"
    );
    assert!(
        said.contains("laid out without Graphviz: no Graphviz dot on PATH"),
        "{said}"
    );
    assert!(std::fs::read(dir.join("neuron.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
    assert!(!dir.join("neuron.svg").exists());
    // A stand-in dot (a script) on PATH is run with -Tsvg and the DOT on
    // its input; the test needs no Graphviz install.
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("dot");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"<svg format=$1>\"; grep -c -- ' -> '\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = run(&path, &["--format", "svg"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("(rendered by Graphviz: "), "{said}");
    // The 14 edges of the neuron went through dot's input.
    assert_eq!(
        std::fs::read_to_string(dir.join("neuron.svg")).unwrap(),
        "<svg format=-Tsvg>\n14\n"
    );
    // --no-graphviz keeps the built-in layout.
    let out = run(&path, &["--no-graphviz"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("laid out without Graphviz: --no-graphviz")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
