//! The two-moons data, the scalar MLP, micrograd's demo and its plot.

use micrograd_plus::data::moons::make_moons;
use micrograd_plus::train::moons::{loss, train_moons, MoonsConfig, DEFAULT_SEED};
use micrograd_plus::train::plot::{plot_decision_boundary, plot_model};
use micrograd_plus::value::nn::{Layer, Module, Neuron, MLP};
use micrograd_plus::value::{live_nodes, Value};
use micrograd_plus::Error;
use rand::SeedableRng;

#[test]
fn moons_shape_labels_and_determinism() {
    let m = make_moons(101, 0.0, 3).expect("valid");
    assert_eq!(m.len(), 101);
    assert_eq!(m.labels.iter().filter(|&&l| l == 0).count(), 50);
    assert_eq!(m.labels.iter().filter(|&&l| l == 1).count(), 51);
    // Without noise the points lie exactly on the two half circles.
    for (p, &l) in m.points.iter().zip(&m.labels) {
        let (cx, cy) = if l == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
        let r = ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt();
        assert!((r - 1.0).abs() < 1e-12);
        assert!(if l == 0 {
            p[1] >= -1e-12
        } else {
            p[1] <= 0.5 + 1e-12
        });
    }
    // Shuffled: not all of one class first.
    assert!(m.labels[..50].contains(&1));
    assert_eq!(
        make_moons(100, 0.1, 5).expect("valid"),
        make_moons(100, 0.1, 5).expect("valid")
    );
    assert!(matches!(
        make_moons(10, f64::NAN, 0),
        Err(Error::Argument { .. })
    ));
    assert!(make_moons(0, 0.1, 0).expect("valid").is_empty());
    assert_eq!(m.signed_labels().iter().filter(|&&y| y == 1.0).count(), 51);
}

#[test]
fn mlp_structure_and_errors() {
    let model = MLP::new(2, &[16, 16, 1], 0);
    assert_eq!(
        model.parameters().len(),
        2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    );
    assert_eq!(model.layers().len(), 3);
    assert!(model
        .to_string()
        .starts_with("MLP of [Layer of [ReLUNeuron(2)"));
    assert!(model.to_string().ends_with("Layer of [LinearNeuron(16)]]"));
    assert!(model.forward(&[Value::new(1.0)]).is_err());
    assert!(model.freeze().predict(&[1.0, 2.0, 3.0]).is_err());

    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let layer = Layer::new(3, 2, false, &mut rng);
    assert_eq!(
        layer.to_string(),
        "Layer of [LinearNeuron(3), LinearNeuron(3)]"
    );
    let n = Neuron::new(2, true, &mut rng);
    n.weights()[0].set_data(-1.0);
    n.weights()[1].set_data(-1.0);
    let out = n
        .forward(&[Value::new(1.0), Value::new(1.0)])
        .expect("2 inputs");
    assert_eq!(out.data(), 0.0); // ReLU clips -2
}

#[test]
fn frozen_mlp_matches_graph_forward() {
    let model = MLP::new(2, &[8, 8, 2], 11);
    let frozen = model.freeze();
    for x in [[0.0, 0.0], [1.5, -0.3], [-2.0, 0.7]] {
        let graph: Vec<f64> = model
            .forward(&[Value::new(x[0]), Value::new(x[1])])
            .expect("2 inputs")
            .iter()
            .map(Value::data)
            .collect();
        assert_eq!(graph, frozen.predict(&x).expect("2 inputs"));
    }
}

#[test]
fn mlp_gradients_match_finite_differences() {
    let model = MLP::new(2, &[4, 1], 5);
    let xs = [[0.3, -0.8], [1.1, 0.4]];
    let ys = [1.0, -1.0];
    let (total, _) = loss(&model, &xs, &ys, 1e-4).expect("valid batch");
    model.zero_grad();
    total.backward();
    let h = 1e-6;
    for p in model.parameters() {
        let x0 = p.data();
        p.set_data(x0 + h);
        let up = loss(&model, &xs, &ys, 1e-4).expect("valid").0.data();
        p.set_data(x0 - h);
        let down = loss(&model, &xs, &ys, 1e-4).expect("valid").0.data();
        p.set_data(x0);
        let fd = (up - down) / (2.0 * h);
        assert!((p.grad() - fd).abs() < 1e-5, "grad {} vs fd {fd}", p.grad());
    }
    assert!(loss(&model, &xs, &ys[..1], 1e-4).is_err());
    assert!(loss(&model, &[], &[], 1e-4).is_err());
}

#[test]
fn demo_reaches_full_accuracy_with_default_seed() {
    let config = MoonsConfig::default();
    assert_eq!(config.seed, DEFAULT_SEED);
    let mut calls = 0;
    let base = live_nodes();
    let run = train_moons(&config, |_| calls += 1).expect("trains");
    assert_eq!(calls, 100);
    assert_eq!(run.history.len(), 100);
    let first = run.history[0];
    let last = run.history[99];
    assert!(
        last.loss < first.loss / 10.0,
        "loss {} -> {}",
        first.loss,
        last.loss
    );
    assert_eq!(last.accuracy, 1.0);
    assert!((last.learning_rate - (1.0 - 0.9 * 99.0 / 100.0)).abs() < 1e-12);
    // Only the model's 337 parameters survive the training loop.
    assert_eq!(live_nodes(), base + 337);
    drop(run);
    assert_eq!(live_nodes(), base);
}

#[test]
fn demo_rejects_empty_data() {
    let config = MoonsConfig {
        samples: 0,
        ..MoonsConfig::default()
    };
    assert!(train_moons(&config, |_| {}).is_err());
}

#[test]
fn decision_boundary_png() {
    let dir = std::env::temp_dir().join(format!("mgp_value_plot_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let data = make_moons(30, 0.1, 2).expect("valid");
    let path = dir.join("boundary.png");
    plot_model(&path, &data, &MLP::new(2, &[4, 1], 0), "test").expect("plots");
    let bytes = std::fs::read(&path).expect("written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 10_000);

    // Errors: from the scorer, for empty data, for a missing directory.
    let fail = plot_decision_boundary(&path, &data, "", |_, _| {
        Err(Error::argument("test", "boom"))
    });
    assert!(matches!(fail, Err(Error::Argument { .. })));
    let empty = make_moons(0, 0.1, 0).expect("valid");
    assert!(plot_decision_boundary(&path, &empty, "", |x, _| Ok(x)).is_err());
    let missing = dir.join("nope").join("b.png");
    assert!(matches!(
        plot_decision_boundary(&missing, &data, "", |x, _| Ok(x)),
        Err(Error::File { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
