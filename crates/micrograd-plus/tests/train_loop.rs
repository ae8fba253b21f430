//! The training loop on small synthetic problems: it learns, it stops early,
//! it resumes exactly from a checkpoint, and it names divergence.

use micrograd_plus::data::{synthetic, DataLoader};
use micrograd_plus::nn::loss::{CrossEntropyLoss, MSELoss};
use micrograd_plus::nn::{Linear, Module, ReLU, Sequential};
use micrograd_plus::optim::{Adam, AdamConfig, SGDConfig, SGD};
use micrograd_plus::train::trainer::{FitOptions, Trainer};
use micrograd_plus::{manual_seed, Tensor};
use std::sync::Arc;

fn trainer(lr: f64) -> Trainer {
    manual_seed(11);
    let model = Sequential::new()
        .layer(Linear::new(2, 16, true))
        .layer(ReLU)
        .layer(Linear::new(16, 3, true));
    let opt = Adam::new(
        model.parameters(),
        AdamConfig {
            lr,
            ..Default::default()
        },
    )
    .unwrap();
    let ce = CrossEntropyLoss::new();
    Trainer::new(
        Box::new(model),
        Box::new(opt),
        Box::new(move |y, t| ce.forward(y, t)),
        3,
    )
}

fn spirals() -> (DataLoader, DataLoader) {
    let train = Arc::new(synthetic::make_spirals(100, 3, 0.1, 1).unwrap());
    let test = Arc::new(synthetic::make_spirals(50, 3, 0.1, 2).unwrap());
    (
        DataLoader::new(train, 32).unwrap().shuffle(true).seed(5),
        DataLoader::new(test, 64).unwrap(),
    )
}

fn params(t: &Trainer) -> Vec<Vec<f32>> {
    t.model
        .parameters()
        .iter()
        .map(|p| p.to_vec::<f32>())
        .collect()
}

#[test]
fn resumed_run_matches_an_uninterrupted_one() {
    let (train, test) = spirals();
    let dir = std::env::temp_dir().join(format!("mgp-train-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("ckpt.safetensors");

    let mut full = trainer(0.02);
    full.fit(
        &train,
        &test,
        6,
        &FitOptions::default(),
        &mut |_| {},
        &mut |_, _| {},
    )
    .unwrap();

    let opts = FitOptions {
        checkpoint: Some(ckpt.clone()),
        ..Default::default()
    };
    let mut first = trainer(0.02);
    first
        .fit(&train, &test, 3, &opts, &mut |_| {}, &mut |_, _| {})
        .unwrap();
    // A fresh trainer with different initial weights, restored from the file.
    manual_seed(999);
    let mut resumed = trainer(0.02);
    resumed.load_checkpoint(&ckpt).unwrap();
    assert_eq!(resumed.history.epochs.len(), 3);
    resumed
        .fit(&train, &test, 6, &opts, &mut |_| {}, &mut |_, _| {})
        .unwrap();

    assert_eq!(params(&resumed), params(&full));
    let strip = |t: &Trainer| -> Vec<(f64, f64, f64)> {
        t.history
            .epochs
            .iter()
            .map(|m| (m.train_loss, m.test_loss, m.test_acc))
            .collect()
    };
    assert_eq!(strip(&resumed), strip(&full));
    // Nothing but the checkpoint is left in the folder (no temporary files).
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, vec![std::ffi::OsString::from("ckpt.safetensors")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn learns_spirals_and_evaluates_without_a_graph() {
    let (train, test) = spirals();
    let mut t = trainer(0.02);
    let eval = t
        .fit(
            &train,
            &test,
            40,
            &FitOptions::default(),
            &mut |_| {},
            &mut |_, _| {},
        )
        .unwrap()
        .unwrap();
    assert!(eval.accuracy > 0.9, "accuracy {}", eval.accuracy);
    assert_eq!(eval.confusion.total(), 150);
    let first = &t.history.epochs[0];
    let last = t.history.epochs.last().unwrap();
    assert!(last.train_loss < first.train_loss / 3.0);
    // Evaluation left no gradients behind.
    t.model.zero_grad();
    t.evaluate(&test).unwrap();
    assert!(t.model.parameters().iter().all(|p| p.grad().is_none()));
}

#[test]
fn early_stopping_stops_when_the_test_loss_stalls() {
    let (train, test) = spirals();
    // lr 0: nothing changes, so the test loss never improves after epoch 1.
    let mut t = trainer(0.0);
    let opts = FitOptions {
        early_stopping_patience: Some(2),
        ..Default::default()
    };
    t.fit(&train, &test, 50, &opts, &mut |_| {}, &mut |_, _| {})
        .unwrap();
    assert_eq!(t.history.epochs.len(), 3);
}

#[test]
fn divergence_is_reported_not_hidden() {
    // Linear regression with a step size far beyond 2/λ_max: the weights
    // oscillate with growing amplitude until the loss overflows.
    let data = Arc::new(synthetic::make_regression(64, 4, 0.1, 3).unwrap().dataset);
    let loader = DataLoader::new(data, 16).unwrap();
    manual_seed(1);
    let model = Sequential::new().layer(Linear::new(4, 1, true));
    let opt = SGD::new(
        model.parameters(),
        SGDConfig {
            lr: 50.0,
            ..Default::default()
        },
    )
    .unwrap();
    let mse = MSELoss::new();
    let loss = move |y: &Tensor, t: &Tensor| mse.forward(y, t);
    let mut t = Trainer::new(Box::new(model), Box::new(opt), Box::new(loss), 1);
    let mut err = None;
    for epoch in 1..=50 {
        if let Err(e) = t.train_epoch(&loader, epoch, &mut |_| {}) {
            err = Some(e.to_string());
            break;
        }
    }
    let err = err.expect("training must diverge");
    assert!(err.starts_with("training diverged: loss is"), "{err}");
}

// The test profile keeps debug assertions on; release builds only warn.
#[test]
#[cfg_attr(not(debug_assertions), ignore = "release builds warn instead")]
fn a_model_that_forgets_to_register_a_layer_is_refused_before_training() {
    // visit_parameters leaves out `head`: its weights would get gradients
    // that no optimizer applies and no checkpoint saves.
    struct Forgetful {
        body: Linear,
        head: Linear,
    }
    impl Module for Forgetful {
        fn forward(&self, x: &Tensor) -> micrograd_plus::Result<Tensor> {
            self.head.forward(&self.body.forward(x)?.relu())
        }
        fn visit_parameters(&self, f: &mut micrograd_plus::nn::Visitor<'_>) {
            micrograd_plus::nn::module::visit_child("body", &self.body, false, f);
        }
        fn describe(&self) -> String {
            "Forgetful".into()
        }
    }
    manual_seed(3);
    let model = Forgetful {
        body: Linear::new(2, 8, true),
        head: Linear::new(8, 3, true),
    };
    let opt = SGD::new(model.parameters(), SGDConfig::default()).unwrap();
    let ce = CrossEntropyLoss::new();
    let mut t = Trainer::new(
        Box::new(model),
        Box::new(opt),
        Box::new(move |y, t| ce.forward(y, t)),
        3,
    );
    let (train, _) = spirals();
    let err = t
        .train_epoch(&train, 1, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "2 tensor(s) of shape [[3, 8], [3]] get gradients but are not parameters of the model, \
         so the optimizer never updates them and checkpoints leave them out: register them \
         in visit_parameters, or use #[derive(Module)]"
    );
    let state = t.model.state_dict();
    assert_eq!(state.len(), 2, "only body's tensors are registered");
}
