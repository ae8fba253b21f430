//! One training step (forward, backward, AdamW) of the milestone-5 GPT:
//! batch 32, context 64, d_model 128, 4 heads, 4 layers, vocabulary 65 (the
//! `gpt` workload of `micrograd_plus::bench`, which `mgp bench gpt` times).
//! Compare with `python3 bench/pytorch_gpt.py` run back to back.

use criterion::{criterion_group, criterion_main, Criterion};
use micrograd_plus::bench::{gpt_config, gpt_step};

fn gpt_step_b32(c: &mut Criterion) {
    let (mut step, _) = gpt_step(&gpt_config(32)).expect("the reference GPT");
    c.bench_function("gpt_train_step_b32_t64_c128_l4", |b| {
        b.iter(|| step().expect("step"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = gpt_step_b32
}
criterion_main!(benches);
