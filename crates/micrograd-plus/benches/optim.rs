//! Criterion bench of an optimizer step on the MNIST MLP's parameters
//! (784-128-64-10: 109,386 f32 values in 6 tensors), the cost the optimizer
//! adds to every training step of a small model.
//! Run with `cargo bench -p micrograd-plus --bench optim`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use micrograd_plus::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, SGDConfig, SGD};
use micrograd_plus::Tensor;

/// The MLP's weights and biases, each with a fixed random gradient.
fn mlp_params() -> Vec<Tensor> {
    let shapes: [&[usize]; 6] = [&[128, 784], &[128], &[64, 128], &[64], &[10, 64], &[10]];
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = Tensor::randn(s, i as u64).requires_grad(true);
            p.set_grad(Some(Tensor::randn(s, 100 + i as u64)));
            p
        })
        .collect()
}

fn bench_step(c: &mut Criterion, name: &str, mut opt: Box<dyn Optimizer>) {
    let n: usize = opt.params().iter().map(Tensor::numel).sum();
    let mut g = c.benchmark_group("optim_step_mnist_mlp");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(name, |bench| bench.iter(|| opt.step().expect("step")));
    g.finish();
}

fn optimizers(c: &mut Criterion) {
    let adam = Adam::new(mlp_params(), AdamConfig::default()).expect("Adam");
    bench_step(c, "adam", Box::new(adam));
    let adamw = AdamW::new(mlp_params(), AdamWConfig::default()).expect("AdamW");
    bench_step(c, "adamw", Box::new(adamw));
    let cfg = SGDConfig {
        lr: 0.01,
        momentum: 0.9,
        ..Default::default()
    };
    bench_step(
        c,
        "sgd_momentum",
        Box::new(SGD::new(mlp_params(), cfg).expect("SGD")),
    );
}

criterion_group!(benches, optimizers);
criterion_main!(benches);
