//! A small CNN on the embedded MNIST subset: two convolution blocks and a
//! linear head, trained for one epoch with the library's `Trainer`.
//!
//! `cargo run --release --example cnn_mnist`  (a few seconds)

use micrograd_plus::data::mnist::Mnist;
use micrograd_plus::data::DataLoader;
use micrograd_plus::nn::loss::CrossEntropyLoss;
use micrograd_plus::nn::{
    Conv2d, Conv2dConfig, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential,
};
use micrograd_plus::optim::{Adam, AdamConfig};
use micrograd_plus::train::trainer::{LossFn, Trainer};
use micrograd_plus::Result;
use std::sync::Arc;

fn main() -> Result<()> {
    micrograd_plus::manual_seed(0);
    let (train, test) = Mnist::load_embedded()?;
    // Images as (N, 1, 28, 28) instead of flat rows of 784.
    let train = train.with_sample_shape(&Mnist::IMAGE_SHAPE)?;
    let test = test.with_sample_shape(&Mnist::IMAGE_SHAPE)?;
    let train = DataLoader::new(Arc::new(train), 64)?.shuffle(true);
    let test = DataLoader::new(Arc::new(test), 500)?;

    let same = Conv2dConfig {
        padding: (1, 1),
        ..Default::default()
    }; // 3x3 keeps the size
    let conv = |cin, cout| Conv2d::with_config(cin, cout, (3, 3), same);
    let model = Sequential::new()
        .layer(conv(1, 8)?) // (N, 8, 28, 28)
        .layer(ReLU)
        .layer(MaxPool2d::new(2)) // (N, 8, 14, 14)
        .layer(conv(8, 16)?) // (N, 16, 14, 14)
        .layer(ReLU)
        .layer(MaxPool2d::new(2)) // (N, 16, 7, 7)
        .layer(Flatten::new(1, -1)) // (N, 784)
        .layer(Linear::new(16 * 7 * 7, 10, true));
    println!("{}", model.describe());
    let optimizer = Adam::new(model.parameters(), AdamConfig::default())?;

    // The library's loop this time (mnist_from_scratch writes it by hand):
    // forward, loss, backward and step per batch, then an evaluation
    // without a graph.
    let loss: LossFn = Box::new(|logits, labels| CrossEntropyLoss::new().forward(logits, labels));
    let mut trainer = Trainer::new(Box::new(model), Box::new(optimizer), loss, 10);
    let (train_loss, train_accuracy, seconds) = trainer.train_epoch(&train, 1, &mut |report| {
        if report.batch % 40 == 0 {
            println!(
                "batch {:3} of {}: loss {:.4}",
                report.batch, report.batches, report.loss
            );
        }
    })?;
    let test = trainer.evaluate(&test)?;
    println!(
        "one epoch in {seconds:.1} s: train loss {train_loss:.4} ({:.2}%), test accuracy {:.2}%",
        100.0 * train_accuracy,
        100.0 * test.accuracy
    );
    Ok(())
}
