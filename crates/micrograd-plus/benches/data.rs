//! Criterion benches of the data pipeline: augmenting a batch of 128
//! CIFAR-sized images (bytes to f32, random crop with padding 4, random
//! flip, per-channel normalisation) and fetching a batch of 128 MNIST
//! images from the embedded subset.
//! Run with `cargo bench -p micrograd-plus --bench data`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use micrograd_plus::bench::random_cifar;
use micrograd_plus::data::mnist::Mnist;
use micrograd_plus::data::transforms::{
    Compose, Normalize, RandomCrop, RandomHorizontalFlip, Transform,
};
use micrograd_plus::data::{DataLoader, Dataset};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

const BATCH: usize = 128;

fn cifar_augment(c: &mut Criterion) {
    // CIFAR-10's shape without the files, as the `cifar10` workload uses.
    let ds = random_cifar(1024, 0).expect("consistent sizes");
    let indices: Vec<usize> = (0..BATCH).map(|i| i * 7 % 1024).collect();
    let augment = Compose::new()
        .then(RandomCrop::new(32, 4))
        .then(RandomHorizontalFlip::new(0.5).expect("p"))
        .then(
            Normalize::new(vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616])
                .expect("stats"),
        );
    let mut g = c.benchmark_group("cifar_batch_128");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("fetch", |b| {
        b.iter(|| ds.get_batch(&indices).expect("batch"))
    });
    let mut rng = StdRng::seed_from_u64(1);
    g.bench_function("fetch_crop_flip_normalize", |b| {
        b.iter(|| {
            let batch = ds.get_batch(&indices).expect("batch");
            augment.apply(batch, &mut rng).expect("augment")
        })
    });
    g.bench_function("crop_flip_normalize", |b| {
        let batch = ds.get_batch(&indices).expect("batch");
        b.iter(|| augment.apply(batch.clone(), &mut rng).expect("augment"))
    });
    g.finish();

    // A whole epoch of 1024 images through the loader's background thread.
    let loader = DataLoader::new(Arc::new(ds), BATCH)
        .expect("batch size")
        .shuffle(true)
        .transform(augment.into_batch_fn());
    let mut g = c.benchmark_group("cifar_loader_1024");
    g.throughput(Throughput::Elements(1024));
    let mut epoch = 0;
    g.bench_function("epoch_augmented", |b| {
        b.iter(|| {
            epoch += 1;
            loader
                .epoch(epoch)
                .map(|b| b.expect("batch").len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn mnist_fetch(c: &mut Criterion) {
    let (train, _) = Mnist::load(Mnist::repository_dir()).expect("embedded MNIST");
    let mut rng = StdRng::seed_from_u64(2);
    let mut g = c.benchmark_group("mnist_batch_128");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("get_batch_random", |b| {
        b.iter_batched(
            || {
                (0..BATCH)
                    .map(|_| rng.gen_range(0..train.len()))
                    .collect::<Vec<_>>()
            },
            |idx| train.get_batch(&idx).expect("batch"),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, cifar_augment, mnist_fetch);
criterion_main!(benches);
