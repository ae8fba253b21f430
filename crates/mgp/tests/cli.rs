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
