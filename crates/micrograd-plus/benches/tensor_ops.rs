//! Criterion benches of the tensor engine's building blocks: an elementwise
//! op and a reduction on 1M elements, and the per-op cost of the graph.
//! Run with `cargo bench -p micrograd-plus --bench tensor_ops`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use micrograd_plus::bench::op_overhead_step;
use micrograd_plus::{no_grad, Tensor};

const N: usize = 1 << 20;

fn elementwise(c: &mut Criterion) {
    let a = Tensor::randn(&[N], 1);
    let b = Tensor::randn(&[N], 2);
    let mut g = c.benchmark_group("elementwise_1M");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("add", |bench| {
        bench.iter(|| no_grad(|| a.add(&b).expect("same shape")))
    });
    g.bench_function("mul_broadcast_row", |bench| {
        let a2 = a.reshape(&[1024, 1024]).expect("1M");
        let row = Tensor::randn(&[1024], 3);
        bench.iter(|| no_grad(|| a2.mul(&row).expect("broadcast")))
    });
    g.bench_function("exp", |bench| bench.iter(|| no_grad(|| a.exp())));
    g.finish();
}

fn reduction(c: &mut Criterion) {
    let a = Tensor::randn(&[1024, 1024], 1);
    let mut g = c.benchmark_group("reduction_1M");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("sum_all", |bench| bench.iter(|| no_grad(|| a.sum())));
    g.bench_function("sum_dim0", |bench| {
        bench.iter(|| no_grad(|| a.sum_dims(&[0], false).expect("dim")))
    });
    g.bench_function("sum_dim1", |bench| {
        bench.iter(|| no_grad(|| a.sum_dims(&[1], false).expect("dim")))
    });
    g.finish();
}

/// One tiny op recorded on the graph plus its backward, amortised over a
/// chain: the `op-overhead` workload of `micrograd_plus::bench`.
fn op_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("op_overhead");
    for chain in [1usize, 100] {
        g.throughput(Throughput::Elements(chain as u64));
        let mut step = op_overhead_step(chain).expect("chain");
        g.bench_with_input(
            BenchmarkId::new("mul_add_chain_backward", chain),
            &chain,
            |bench, _| bench.iter(|| step().expect("scalar")),
        );
    }
    g.finish();
}

criterion_group!(benches, elementwise, reduction, op_overhead);
criterion_main!(benches);
