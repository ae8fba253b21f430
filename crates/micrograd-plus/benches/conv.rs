//! Criterion benches of conv2d, max_pool2d and batch_norm, forward plus
//! backward in f32, at the shape (`Conv2d(3, 64, 3, padding=1)` on
//! `(32, 3, 32, 32)`, with and without an input gradient) and at the CIFAR-10
//! network's larger layers (batch 128), and a whole training step of that
//! network: the `conv`, `max-pool`, `batch-norm` and `cifar10` workloads of
//! `micrograd_plus::bench`, which `mgp bench` times. `bench/pytorch_conv.py`
//! times the same cases in PyTorch. Run with
//! `cargo bench -p micrograd-plus --bench conv -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use micrograd_plus::bench::{batch_norm_step, cifar10_step, conv_step, max_pool_step, ConvShape};

fn conv_case(
    c: &mut Criterion,
    name: &str,
    [batch, in_channels, image]: [usize; 3],
    out_channels: usize,
    input_grad: bool,
) {
    let shape = ConvShape {
        batch,
        in_channels,
        out_channels,
        image,
        kernel: 3,
        padding: 1,
        input_grad,
    };
    let mut step = conv_step(shape).expect("conv shape");
    c.bench_function(name, |bench| bench.iter(|| step().expect("conv2d")));
}

fn conv(c: &mut Criterion) {
    conv_case(c, "conv2d_3to64_b32_32x32_fwd_bwd", [32, 3, 32], 64, true);
    conv_case(
        c,
        "conv2d_3to64_b32_32x32_fwd_bwd_no_input_grad",
        [32, 3, 32],
        64,
        false,
    );
    conv_case(
        c,
        "conv2d_32to32_b128_32x32_fwd_bwd",
        [128, 32, 32],
        32,
        true,
    );
    conv_case(
        c,
        "conv2d_64to64_b128_16x16_fwd_bwd",
        [128, 64, 16],
        64,
        true,
    );
}

fn pool_and_norm(c: &mut Criterion) {
    for (ch, size) in [(32, 32), (64, 16)] {
        let mut pool = max_pool_step(128, ch, size);
        c.bench_function(
            &format!("max_pool2d_2x2_b128_c{ch}_{size}x{size}_fwd_bwd"),
            |bench| bench.iter(|| pool().expect("pool")),
        );
        let mut norm = batch_norm_step(128, ch, size);
        c.bench_function(
            &format!("batch_norm_train_b128_c{ch}_{size}x{size}_fwd_bwd"),
            |bench| bench.iter(|| norm().expect("batch_norm")),
        );
    }
}

/// The whole network's training step at batch 128 (augmentation on the
/// loader's thread included), over 1024 random images.
fn cifar10_train_step(c: &mut Criterion) {
    let mut step = cifar10_step(128, 1024).expect("random images");
    c.bench_function("cifar10_train_step_b128", |bench| {
        bench.iter(|| step().expect("step"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = conv, pool_and_norm, cifar10_train_step
}
criterion_main!(benches);
