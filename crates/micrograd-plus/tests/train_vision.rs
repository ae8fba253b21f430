//! The vision recipes' pieces: the milestone-4 network has PyTorch's
//! state-dict names and shapes (recorded by `scripts/record_torch_vision.py`
//! from `bench/pytorch_cifar10.py`'s network), the milestone-2 network
//! learns, and the trainer's per-batch schedule steps once per batch.

use micrograd_plus::data::{DataLoader, TensorDataset};
use micrograd_plus::nn::loss::CrossEntropyLoss;
use micrograd_plus::nn::{Linear, Module};
use micrograd_plus::optim::scheduler::StepLR;
use micrograd_plus::optim::{SGDConfig, SGD};
use micrograd_plus::train::trainer::Trainer;
use micrograd_plus::Tensor;
use std::sync::Arc;

#[test]
fn cifar_net_has_pytorchs_state_dict() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_vision.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let want: Vec<(String, Vec<usize>)> =
        serde_json::from_value(v["cifar_net_state"].clone()).unwrap();
    let net = micrograd_plus::train::cifar10::cifar_net();
    let got: Vec<(String, Vec<usize>)> = net
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec()))
        .collect();
    let (mut want_sorted, mut got_sorted) = (want.clone(), got.clone());
    want_sorted.sort();
    got_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
}

#[test]
fn per_batch_scheduler_steps_after_every_batch() {
    micrograd_plus::manual_seed(0);
    let ds = TensorDataset::new(Tensor::randn(&[10, 3], 1), Tensor::zeros(&[10])).unwrap();
    let loader = DataLoader::new(Arc::new(ds), 2).unwrap();
    let model = Linear::new(3, 2, true);
    let mut opt = SGD::new(
        model.parameters(),
        SGDConfig {
            lr: 1.0,
            ..Default::default()
        },
    )
    .unwrap();
    let sched = StepLR::new(&mut opt, 1, 0.5).unwrap();
    let ce = CrossEntropyLoss::new();
    let mut trainer = Trainer::new(
        Box::new(model),
        Box::new(opt),
        Box::new(move |y, t| ce.forward(y, t)),
        2,
    );
    trainer.scheduler = Some(Box::new(sched));
    trainer.scheduler_per_batch = true;
    let mut lrs = Vec::new();
    trainer
        .fit(
            &loader,
            &loader,
            2,
            &Default::default(),
            &mut |_| {},
            &mut |_, _| {},
        )
        .unwrap();
    lrs.push(trainer.optimizer.lr());
    // 5 batches per epoch, 2 epochs, halved after each batch and never per epoch.
    assert_eq!(lrs, vec![0.5f64.powi(10)]);
}

#[test]
fn cnn_mnist_learns_from_a_few_steps() {
    use micrograd_plus::train::cnn_mnist::{self, CnnMnistConfig};
    let mut run = cnn_mnist::run(&CnnMnistConfig {
        epochs: 2,
        limit: Some(1280),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(run.train.dataset().len(), 1280);
    let before = run.trainer.evaluate(&run.test).unwrap();
    let after = run
        .fit(&Default::default(), &mut |_| {}, &mut |_, _| {})
        .unwrap()
        .unwrap();
    assert!(
        after.loss < before.loss,
        "{} -> {}",
        before.loss,
        after.loss
    );
    // 40 Adam steps: far above chance (10%).
    assert!(after.accuracy > 0.5, "{}", after.accuracy);
}
