//! Times micrograd's two-moons demo (100 SGD steps) on the scalar engine.

use criterion::{criterion_group, criterion_main, Criterion};
use micrograd_plus::train::moons::{train_moons, MoonsConfig};

fn moons_demo(c: &mut Criterion) {
    let config = MoonsConfig::default();
    let mut group = c.benchmark_group("value_moons");
    // One iteration is a whole 100-step training run (tens of ms), so a
    // few samples already give a stable estimate on a shared machine.
    group.sample_size(10);
    group.bench_function("train_100_steps", |b| {
        b.iter(|| train_moons(&config, |_| {}).map(|run| run.history.len()))
    });
    group.finish();
}

criterion_group!(benches, moons_demo);
criterion_main!(benches);
