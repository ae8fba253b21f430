//! f32 matrix product at 64, 256 and 1024: MicroGrad+'s `sgemm` (threaded
//! above a size threshold, and `Threads::Serial`) against `matrixmultiply`.
//!
//! ```text
//! cargo bench -p micrograd-plus --bench matmul
//! MATMUL_NUM_THREADS=1 cargo bench -p micrograd-plus --bench matmul -- matrixmultiply
//! ```
//!
//! Throughput is reported in elements/s with 2·n³ "elements" per product, so
//! `Gelem/s` reads as GFLOP/s. `matrixmultiply` picks its thread count once
//! per process from `MATMUL_NUM_THREADS` (default: the physical cores), hence
//! the second command for its single-threaded numbers.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use micrograd_plus::kernels::matmul::{sgemm, MatMut, MatRef, Threads, Update};
use std::time::Duration;

/// Deterministic, varied operand values (the kernel's speed does not depend
/// on them, but zeros or denormals could flatter some CPUs).
fn operand(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7 + seed) % 23) as f32 / 11.0 - 1.0)
        .collect()
}

fn bench_sgemm(crit: &mut Criterion) {
    let mut group = crit.benchmark_group("sgemm_f32");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [64usize, 256, 1024] {
        let a = operand(n * n, 1);
        let b = operand(n * n, 2);
        let mut c = vec![0.0f32; n * n];
        group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
        if n >= 1024 {
            group.sample_size(20);
        }
        let (av, bv) = (MatRef::row_major(&a, n, n), MatRef::row_major(&b, n, n));
        for (id, threads) in [
            ("micrograd_plus", Threads::Shared),
            ("micrograd_plus_serial", Threads::Serial),
        ] {
            group.bench_with_input(BenchmarkId::new(id, n), &n, |bench, &n| {
                bench.iter(|| {
                    let c = MatMut::row_major(&mut c, n, n);
                    sgemm(c, black_box(av), black_box(bv), Update::Overwrite, threads)
                })
            });
        }
        group.bench_with_input(BenchmarkId::new("matrixmultiply", n), &n, |bench, &n| {
            bench.iter(|| {
                // SAFETY: a, b, c are n×n row-major buffers of the right size.
                unsafe {
                    matrixmultiply::sgemm(
                        n,
                        n,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        n as isize,
                        1,
                        black_box(b.as_ptr()),
                        n as isize,
                        1,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sgemm);
criterion_main!(benches);
