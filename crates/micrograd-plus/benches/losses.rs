//! Criterion benches of the losses on an MNIST-sized batch: cross-entropy on
//! (64, 10) logits sits in the training hot path, so its forward and backward
//! are timed against the log_softmax it is built on.
//! Run with `cargo bench -p micrograd-plus --bench losses`.

use criterion::{criterion_group, criterion_main, Criterion};
use micrograd_plus::nn::loss::{BCEWithLogitsLoss, CrossEntropyLoss, MSELoss};
use micrograd_plus::{no_grad, Tensor};

const N: usize = 64;
const C: usize = 10;

fn cross_entropy(c: &mut Criterion) {
    let logits = Tensor::randn(&[N, C], 1)
        .mul_scalar(3.0)
        .requires_grad(true);
    let target = Tensor::from_vec(
        (0..N).map(|i| ((i * 7) % C) as f32).collect::<Vec<_>>(),
        &[N],
    )
    .expect("N targets");
    let ce = CrossEntropyLoss::new();
    let mut g = c.benchmark_group("loss_64x10");
    g.bench_function("cross_entropy_forward_no_grad", |b| {
        b.iter(|| no_grad(|| ce.forward(&logits, &target).expect("loss")))
    });
    g.bench_function("cross_entropy_forward_backward", |b| {
        b.iter(|| {
            ce.forward(&logits, &target)
                .expect("loss")
                .backward()
                .expect("scalar");
            logits.zero_grad();
        })
    });
    let smoothed = CrossEntropyLoss::new().label_smoothing(0.1);
    g.bench_function("cross_entropy_smoothing_forward_backward", |b| {
        b.iter(|| {
            smoothed
                .forward(&logits, &target)
                .expect("loss")
                .backward()
                .expect("scalar");
            logits.zero_grad();
        })
    });
    // The floor: the log_softmax inside cross-entropy, plus a sum to seed it.
    g.bench_function("log_softmax_sum_forward_backward", |b| {
        b.iter(|| {
            logits
                .log_softmax(1)
                .expect("dim")
                .sum()
                .backward()
                .expect("scalar");
            logits.zero_grad();
        })
    });
    let y = Tensor::rand(&[N, C], 2);
    let mse = MSELoss::new();
    g.bench_function("mse_forward_backward", |b| {
        b.iter(|| {
            mse.forward(&logits, &y)
                .expect("loss")
                .backward()
                .expect("scalar");
            logits.zero_grad();
        })
    });
    let bce = BCEWithLogitsLoss::new();
    g.bench_function("bce_with_logits_forward_backward", |b| {
        b.iter(|| {
            bce.forward(&logits, &y)
                .expect("loss")
                .backward()
                .expect("scalar");
            logits.zero_grad();
        })
    });
    g.finish();
}

criterion_group!(benches, cross_entropy);
criterion_main!(benches);
