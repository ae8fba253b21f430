//! Anomaly mode (`tensor::anomaly`): the first op that makes an inf or a
//! NaN is named, in the forward pass and in the backward pass, and PyTorch
//! 2.15's anomaly mode blames the same backward function on the same
//! programs (`scripts/record_torch_anomaly.py` records
//! `tests/data/torch_anomaly.json`). PyTorch looks for NaN only, so sqrt's
//! infinite gradient at 0 passes its check and is caught by ours.

use micrograd_plus::tensor::anomaly::{detect_anomaly, take_anomaly, Anomaly, Pass};
use micrograd_plus::{Result, Tensor};
use serde_json::Value;

const FIXTURE: &str = include_str!("data/torch_anomaly.json");

/// The programs of the fixture, written with the engine's ops.
fn program(name: &str) -> Result<Tensor> {
    Ok(match name {
        "log_times_zero" => {
            let x = Tensor::new([0.0f32, 1.0])?.requires_grad(true);
            (&x.log() * 0.0).sum()
        }
        "softmax_by_hand" => {
            let z = Tensor::new([0.1f32, 0.2, 0.3])?.requires_grad(true);
            let e = (&z * 1000.0).exp();
            e.div(&e.sum())?.log().sum()
        }
        "sqrt_at_zero" => Tensor::new([0.0f32, 4.0])?.requires_grad(true).sqrt().sum(),
        "log_softmax_healthy" => {
            let z = Tensor::new([0.1f32, 0.2, 0.3])?.requires_grad(true);
            (&z * 1000.0).log_softmax(0)?.sum()
        }
        other => panic!("no program {other}"),
    })
}

/// What anomaly mode reports for a program: the forward anomaly, and the
/// backward pass's error with the anomaly it recorded.
fn run(name: &str) -> (Option<Anomaly>, Option<(String, Anomaly)>) {
    let _anomaly = detect_anomaly();
    let loss = program(name).unwrap();
    let forward = take_anomaly();
    let backward = loss.backward().err().map(|e| {
        (
            e.to_string(),
            take_anomaly().expect("a backward anomaly is kept"),
        )
    });
    (forward, backward)
}

/// PyTorch's backward function names: "LogBackward0" is our "log".
fn our_name(function: &str) -> String {
    function.trim_end_matches("Backward0").to_lowercase()
}

#[test]
fn the_op_pytorch_blames_is_the_op_we_name() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["program"].as_str().unwrap();
        let (forward, backward) = run(name);
        assert_eq!(
            forward.as_ref().map(|a| a.op),
            case["forward"].as_str(),
            "{name}: first op with a non-finite output"
        );
        if let Some(a) = &forward {
            assert_eq!(a.pass, Pass::Forward, "{name}");
            assert!(a.given_finite, "{name}: its inputs were finite");
        }
        match (&case["backward"], &backward) {
            (Value::Null, None) => {}
            (Value::Null, Some((_, a))) => {
                // PyTorch checks for NaN only; ours sees an inf too.
                assert!(a.value.is_infinite(), "{name}: {a}");
            }
            (torch, Some((message, a))) => {
                let function = torch["function"].as_str().unwrap();
                assert_eq!(a.op, our_name(function), "{name}: {message}");
                assert_eq!(a.pass, Pass::Backward, "{name}");
                assert_eq!(a.input, Some(torch["output"].as_u64().unwrap() as usize));
                assert_eq!(a.value.is_nan(), torch["value"] == "nan", "{name}: {a}");
                assert!(
                    a.given_finite,
                    "{name}: the gradient it was given was finite"
                );
            }
            (torch, None) => panic!("{name}: PyTorch blamed {torch}, we saw nothing"),
        }
    }
}

#[test]
fn log_of_zero_times_zero_is_caught_at_log_in_both_passes() {
    let (forward, backward) = run("log_times_zero");
    let forward = forward.unwrap();
    assert_eq!(forward.input_shapes, [vec![2]]);
    assert_eq!(forward.value, f64::NEG_INFINITY);
    assert_eq!(
        forward.to_string(),
        "the forward of log (inputs of shapes [[2]], output [2]) made -inf in its output from finite inputs"
    );
    let (_, anomaly) = backward.unwrap();
    assert_eq!((anomaly.op, anomaly.input), ("log", Some(0)));
    // Not taken after the forward pass, the forward anomaly is told in the
    // backward pass's error too, and stays the first.
    let _anomaly = detect_anomaly();
    let message = program("log_times_zero")
        .unwrap()
        .backward()
        .unwrap_err()
        .to_string();
    assert_eq!(take_anomaly().unwrap().pass, Pass::Forward);
    assert_eq!(
        message,
        "anomaly mode: the backward of log (inputs of shapes [[2]], output [2]) made NaN in the \
         gradient of its input 0 from a finite gradient of its output; before it, the forward of \
         log (inputs of shapes [[2]], output [2]) made -inf in its output from finite inputs"
    );
}

#[test]
fn an_exp_overflow_is_named_at_exp_not_at_the_ops_that_pass_it_on() {
    let (forward, _) = run("softmax_by_hand");
    let forward = forward.unwrap();
    assert_eq!((forward.op, forward.value), ("exp", f64::INFINITY));
    assert!(forward.likely_cause().unwrap().contains("exp overflowed"));
}

#[test]
fn sqrts_infinite_gradient_at_zero_stops_backward() {
    let (forward, backward) = run("sqrt_at_zero");
    assert!(forward.is_none(), "sqrt(0) = 0 is finite");
    let (_, a) = backward.unwrap();
    assert_eq!(
        (a.op, a.pass, a.value),
        ("sqrt", Pass::Backward, f64::INFINITY)
    );
}

#[test]
fn a_healthy_program_is_silent_and_gets_its_gradients() {
    let _anomaly = detect_anomaly();
    let z = Tensor::new([0.1f32, 0.2, 0.3]).unwrap().requires_grad(true);
    let loss = (&z * 1000.0).log_softmax(0).unwrap().sum();
    loss.backward().unwrap();
    assert!(take_anomaly().is_none());
    assert!(z
        .grad()
        .unwrap()
        .to_vec::<f32>()
        .iter()
        .all(|g| g.is_finite()));
}

#[test]
fn off_nothing_is_checked_or_kept() {
    let x = Tensor::new([0.0f32, 1.0]).unwrap().requires_grad(true);
    let loss = (&x.log() * 0.0).sum();
    loss.backward().unwrap(); // a NaN gradient, as without anomaly mode
    assert!(x.grad().unwrap().to_vec::<f32>()[0].is_nan());
    assert!(take_anomaly().is_none());
}

#[test]
fn a_value_already_infinite_in_the_data_is_told_apart() {
    let _anomaly = detect_anomaly();
    let x = Tensor::new([f32::INFINITY, 1.0]).unwrap();
    let _ = x.relu();
    let a = take_anomaly().unwrap();
    assert_eq!(a.op, "relu");
    assert!(!a.given_finite);
    assert!(
        a.to_string()
            .ends_with("from inputs that already held inf or NaN"),
        "{a}"
    );
}
