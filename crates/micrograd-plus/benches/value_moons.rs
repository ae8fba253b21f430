//! Times micrograd's two-moons demo (100 SGD steps) on the scalar engine.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use micrograd_plus::train::moons::{train_moons, MoonsConfig};

fn moons_demo(c: &mut Criterion) {
    let config = MoonsConfig::default();
    let mut group = c.benchmark_group("value_moons");
    // One iteration is a whole 100-step training run (tens of ms), so a
    // few samples already give a stable estimate on a shared machine.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("train_100_steps", |b| {
        b.iter(|| train_moons(&config, |_| {}).map(|run| run.history.len()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Plots would need fonts registered with plotters (see the workspace
    // Cargo.toml); the numbers are what matters here.
    config = Criterion::default().without_plots();
    targets = moons_demo
}
criterion_main!(benches);
