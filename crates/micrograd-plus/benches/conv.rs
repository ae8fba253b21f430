//! Criterion benches of conv2d, max_pool2d and batch_norm, forward plus
//! backward in f32, at the shape (`Conv2d(3, 64, 3, padding=1)` on
//! `(32, 3, 32, 32)`, with and without an input gradient) and at the CIFAR-10
//! network's larger layers (batch 128). `bench/pytorch_conv.py` times the
//! same cases in PyTorch. Run with
//! `cargo bench -p micrograd-plus --bench conv -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use micrograd_plus::Tensor;

fn conv_case(
    c: &mut Criterion,
    name: &str,
    shape: [usize; 4],
    out_channels: usize,
    input_grad: bool,
) {
    let [n, ci, h, w] = shape;
    let x = Tensor::randn(&shape, 1).requires_grad(input_grad);
    let wt = Tensor::randn(&[out_channels, ci, 3, 3], 2)
        .mul_scalar(0.1)
        .detach()
        .requires_grad(true);
    let b = Tensor::randn(&[out_channels], 3).requires_grad(true);
    let g = Tensor::randn(&[n, out_channels, h, w], 4);
    c.bench_function(name, |bench| {
        bench.iter(|| {
            x.conv2d(&wt, Some(&b), (1, 1), (1, 1), (1, 1), 1)
                .expect("conv2d")
                .backward_with(&g)
                .expect("backward");
            for t in [&x, &wt, &b] {
                t.zero_grad();
            }
        })
    });
}

fn conv(c: &mut Criterion) {
    conv_case(
        c,
        "conv2d_3to64_b32_32x32_fwd_bwd",
        [32, 3, 32, 32],
        64,
        true,
    );
    conv_case(
        c,
        "conv2d_3to64_b32_32x32_fwd_bwd_no_input_grad",
        [32, 3, 32, 32],
        64,
        false,
    );
    conv_case(
        c,
        "conv2d_32to32_b128_32x32_fwd_bwd",
        [128, 32, 32, 32],
        32,
        true,
    );
    conv_case(
        c,
        "conv2d_64to64_b128_16x16_fwd_bwd",
        [128, 64, 16, 16],
        64,
        true,
    );
}

fn pool_and_norm(c: &mut Criterion) {
    for (ch, size) in [(32, 32), (64, 16)] {
        let x = Tensor::randn(&[128, ch, size, size], 1).requires_grad(true);
        let g = Tensor::randn(&[128, ch, size / 2, size / 2], 2);
        c.bench_function(
            &format!("max_pool2d_2x2_b128_c{ch}_{size}x{size}_fwd_bwd"),
            |bench| {
                bench.iter(|| {
                    x.max_pool2d((2, 2), (2, 2), (0, 0))
                        .expect("pool")
                        .backward_with(&g)
                        .expect("backward");
                    x.zero_grad();
                })
            },
        );
        let w = Tensor::ones(&[ch]).requires_grad(true);
        let b = Tensor::zeros(&[ch]).requires_grad(true);
        let (rm, rv) = (Tensor::zeros(&[ch]), Tensor::ones(&[ch]));
        let g = Tensor::randn(x.shape(), 3);
        c.bench_function(
            &format!("batch_norm_train_b128_c{ch}_{size}x{size}_fwd_bwd"),
            |bench| {
                bench.iter(|| {
                    x.batch_norm(Some(&rm), Some(&rv), Some(&w), Some(&b), true, 0.1, 1e-5)
                        .expect("batch_norm")
                        .backward_with(&g)
                        .expect("backward");
                    for t in [&x, &w, &b] {
                        t.zero_grad();
                    }
                })
            },
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = conv, pool_and_norm
}
criterion_main!(benches);
