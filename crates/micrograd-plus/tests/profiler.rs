//! The profiler counts what a known graph runs, with FLOPs from the closed
//! form, and its Chrome trace nests like the code it recorded.

use micrograd_plus::nn::{loss::CrossEntropyLoss, Linear, Module, ReLU, Sequential};
use micrograd_plus::profiler::{self, OpStats, Pass, Report};
use micrograd_plus::tensor::Storage;
use micrograd_plus::Tensor;

fn row<'a>(rows: &'a [OpStats], name: &str, pass: Pass) -> &'a OpStats {
    rows.iter()
        .find(|r| r.name == name && r.pass == pass)
        .unwrap_or_else(|| panic!("no {name} {pass:?} row in {rows:?}"))
}

/// Two steps of a 4-8-3 MLP on a batch of 5 under a scope per step.
fn mlp_report() -> Report {
    micrograd_plus::manual_seed(0);
    let model = Sequential::new()
        .layer(Linear::new(4, 8, true))
        .layer(ReLU)
        .layer(Linear::new(8, 3, true));
    let x = Tensor::randn(&[5, 4], 1);
    let t = Tensor::new([0.0f32, 1.0, 2.0, 0.0, 1.0]).unwrap();
    let ce = CrossEntropyLoss::new();
    let p = profiler::enable().unwrap();
    for _ in 0..2 {
        let _s = profiler::scope("step");
        let loss = ce.forward(&model.forward(&x).unwrap(), &t).unwrap();
        loss.backward().unwrap();
    }
    p.finish()
}

#[test]
fn counts_every_op_of_a_known_graph_forward_and_backward() {
    let rows = mlp_report().key_averages();
    let linear = row(&rows, "linear", Pass::Forward);
    assert_eq!(linear.calls, 4); // two layers, two steps
                                 // Closed form: 2·rows·in·out multiply-adds plus one bias add per output.
    let per_step = (2 * 5 * 4 * 8 + 5 * 8) + (2 * 5 * 8 * 3 + 5 * 3);
    assert_eq!(linear.flops, Some(2 * per_step));
    assert_eq!(linear.bytes, 2 * (5 * 8 + 5 * 3) * 4); // f32 outputs
    let back = row(&rows, "linear", Pass::Backward);
    assert_eq!(back.calls, 4);
    // The first layer's input x wants no gradient: only dW and db there.
    let first = 2 * 5 * 4 * 8 + 5 * 8;
    let second = 2 * (2 * 5 * 8 * 3) + 5 * 3;
    assert_eq!(back.flops, Some(2 * (first + second)));
    // Gradient bytes: W and b of both layers, and the second layer's input.
    assert_eq!(back.bytes, 2 * (32 + 8 + 24 + 3 + 5 * 8) * 4);
    assert_eq!(row(&rows, "relu", Pass::Forward).calls, 2);
    assert_eq!(row(&rows, "relu", Pass::Backward).calls, 2);
    assert_eq!(row(&rows, "step", Pass::Scope).calls, 2);
    assert_eq!(row(&rows, "backward", Pass::Scope).calls, 2);
    assert!(rows
        .iter()
        .all(|r| r.flops.is_none() || r.name.contains("linear")));
}

/// A gradient an op passes on as it is (add's, subtraction's first) is not
/// counted as allocated: only the buffers a backward rule made are.
#[test]
fn a_gradient_passed_on_is_not_counted_as_allocated() {
    let x = Tensor::randn(&[6, 5], 1).requires_grad(true);
    let y = Tensor::randn(&[6, 5], 2).requires_grad(true);
    let p = profiler::enable().unwrap();
    let out = &(&x + &y) - &y;
    out.backward_with(&Tensor::ones(&[6, 5])).unwrap();
    let rows = p.finish().key_averages();
    assert_eq!(row(&rows, "add", Pass::Backward).bytes, 0);
    // Subtraction computes -g for y: one f32 buffer of 30 values.
    assert_eq!(row(&rows, "sub", Pass::Backward).bytes, 30 * 4);
    assert_eq!(y.grad().unwrap().to_vec::<f32>(), vec![0.0; 30]);
    assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![1.0; 30]);
}

#[test]
fn a_scope_total_is_its_self_time_plus_what_ran_inside() {
    let report = mlp_report();
    let rows = report.key_averages();
    let step = row(&rows, "step", Pass::Scope);
    let inside: u64 = rows
        .iter()
        .filter(|r| !(r.name == "step" && r.pass == Pass::Scope))
        .map(|r| r.self_ns)
        .sum();
    assert_eq!(step.total_ns, step.self_ns + inside);
    assert!(step.total_ns <= report.wall_ns());
}

#[test]
fn the_chrome_trace_parses_and_its_events_nest() {
    let report = mlp_report();
    let trace: serde_json::Value = serde_json::from_str(&report.to_chrome_trace()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let calls: u64 = report.key_averages().iter().map(|r| r.calls).sum();
    assert_eq!(events.len() as u64, calls);
    let mut spans: Vec<(f64, f64, &str)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["ph"], "X");
            let (ts, dur) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap());
            assert!(dur >= 0.0);
            (ts, ts + dur, e["name"].as_str().unwrap())
        })
        .collect();
    // Like matching begin/end pairs: any two events are disjoint or one
    // holds the other; a stack of open ends checks it in start order.
    spans.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut open: Vec<(f64, &str)> = Vec::new();
    for (start, end, name) in spans {
        // (Times are nanoseconds written as float microseconds: allow rounding.)
        while open.last().is_some_and(|&(e, _)| e <= start + 1e-6) {
            open.pop();
        }
        if let Some(&(parent_end, parent)) = open.last() {
            assert!(
                end <= parent_end + 1e-6,
                "{name} overlaps the end of {parent}"
            );
        }
        open.push((end, name));
    }
    let path = std::env::temp_dir().join(format!("mgp-profiler-test-{}.json", std::process::id()));
    report.write_chrome_trace(&path).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(back, trace);
    std::fs::remove_file(&path).unwrap();
    let err = report
        .write_chrome_trace("/nonexistent-dir/trace.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent-dir/trace.json"), "{err}");
}

#[test]
fn ops_inside_a_backward_rule_belong_to_the_rule() {
    let x = Tensor::new([1.0f64, -2.0]).unwrap().requires_grad(true);
    let p = profiler::enable().unwrap();
    let y = Tensor::custom_op(
        Storage::F64(vec![1.0, 4.0]),
        vec![2],
        "my_square",
        vec![x.clone()],
        |g, inputs, _| Ok(vec![Some(g.mul(&inputs[0].mul_scalar(2.0))?)]),
    )
    .unwrap();
    y.sum().backward().unwrap();
    let rows = p.finish().key_averages();
    assert_eq!(row(&rows, "my_square", Pass::Forward).calls, 1);
    assert_eq!(row(&rows, "my_square", Pass::Backward).calls, 1);
    // The rule's own mul and mul_scalar are part of its time, not rows.
    assert!(
        rows.iter()
            .all(|r| r.pass != Pass::Forward || r.name == "my_square" || r.name == "sum"),
        "{rows:?}"
    );
}

#[test]
fn recording_is_per_thread_and_off_outside_the_guard() {
    let before = Tensor::ones(&[3]).exp();
    let p = profiler::enable().unwrap();
    std::thread::spawn(|| Tensor::ones(&[3]).exp())
        .join()
        .unwrap();
    let _ = before.log();
    let rows = p.finish().key_averages();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["log"]);
}
