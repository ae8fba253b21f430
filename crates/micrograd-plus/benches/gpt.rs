//! One training step (forward, backward, AdamW) of the milestone-5 GPT:
//! batch 32, context 64, d_model 128, 4 heads, 4 layers, vocabulary 65.
//! Compare with `python3 bench/pytorch_gpt.py` run back to back.

use criterion::{criterion_group, criterion_main, Criterion};
use micrograd_plus::models::GPT;
use micrograd_plus::train::gpt::{optimizer, random_windows, train_step, TrainConfig};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn gpt_step(c: &mut Criterion) {
    let config = TrainConfig::shakespeare(65);
    micrograd_plus::manual_seed(0);
    let model = GPT::new(config.model.clone()).unwrap();
    let mut opt = optimizer(&model, &config).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    let ids: Vec<usize> = (0..32 * 64 * 4).map(|_| rng.gen_range(0..65)).collect();
    c.bench_function("gpt_train_step_b32_t64_c128_l4", |b| {
        b.iter(|| {
            let (x, y) = random_windows(&ids, 32, 64, &mut rng).unwrap();
            train_step(&model, &mut opt, &x, &y, 32, 64).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = gpt_step
}
criterion_main!(benches);
