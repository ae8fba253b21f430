//! MNIST from scratch: an MLP trained on the embedded subset with a plain
//! loop you can read top to bottom (the milestone-1 recipe, by hand).
//!
//! `cargo run --release --example mnist_from_scratch`  (under a second an epoch)

use micrograd_plus::data::mnist::Mnist;
use micrograd_plus::data::DataLoader;
use micrograd_plus::nn::loss::CrossEntropyLoss;
use micrograd_plus::nn::{Linear, Module, ReLU, Sequential};
use micrograd_plus::optim::{Adam, AdamConfig, Optimizer};
use micrograd_plus::train::metrics::ConfusionMatrix;
use micrograd_plus::{no_grad, Result};
use std::sync::Arc;

fn main() -> Result<()> {
    micrograd_plus::manual_seed(0);
    // 10,000 training and 10,000 test images, pixels scaled to [0, 1].
    let (train, test) = Mnist::load_embedded()?;
    let train = DataLoader::new(Arc::new(train), 64)?.shuffle(true).seed(0);
    let test = DataLoader::new(Arc::new(test), 1000)?;

    let mut model = Sequential::new()
        .layer(Linear::new(784, 128, true))
        .layer(ReLU)
        .layer(Linear::new(128, 10, true));
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::default())?;
    let loss_fn = CrossEntropyLoss::new();

    for epoch in 1..=3 {
        model.train();
        let (mut total, mut batches) = (0.0, 0);
        for batch in &train {
            let batch = batch?;
            optimizer.zero_grad(); // gradients add up until cleared
            let loss = loss_fn.forward(&model.forward(&batch.inputs)?, &batch.targets)?;
            loss.backward()?; // d loss / d every parameter
            optimizer.step()?; // move each parameter against its gradient
            total += loss.item()?;
            batches += 1;
        }

        model.eval();
        let mut confusion = ConfusionMatrix::new(10);
        for batch in &test {
            let batch = batch?;
            // No graph is needed to measure accuracy.
            confusion.add(&no_grad(|| model.forward(&batch.inputs))?, &batch.targets)?;
        }
        println!(
            "epoch {epoch}: train loss {:.4}, test accuracy {:.2}%",
            total / batches as f64,
            100.0 * confusion.accuracy()
        );
    }
    Ok(())
}
