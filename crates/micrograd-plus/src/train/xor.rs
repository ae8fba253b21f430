//! The XOR milestone: the smallest problem a linear model cannot solve.
//! A 2-8-2 network (tanh hidden layer) trained full-batch with Adam lr 0.1
//! for 500 iterations must classify all four points.

use super::trainer::count_correct;
use crate::data::synthetic;
use crate::nn::loss::CrossEntropyLoss;
use crate::nn::{Linear, Module, Sequential, Tanh};
use crate::optim::{Adam, AdamConfig, Optimizer};
use crate::{manual_seed, Result};

/// Trains 2-8-2 on XOR and returns `(final loss, accuracy)`.
///
/// ```
/// let (loss, accuracy) = micrograd_plus::train::xor::train_xor(0).unwrap();
/// assert_eq!(accuracy, 1.0);
/// assert!(loss < 0.05);
/// ```
pub fn train_xor(seed: u64) -> Result<(f64, f64)> {
    manual_seed(seed);
    let data = synthetic::xor();
    let (x, y) = (data.inputs(), data.targets());
    let model = Sequential::new()
        .layer(Linear::new(2, 8, true))
        .layer(Tanh)
        .layer(Linear::new(8, 2, true));
    let mut opt = Adam::new(
        model.parameters(),
        AdamConfig {
            lr: 0.1,
            ..Default::default()
        },
    )?;
    let ce = CrossEntropyLoss::new();
    let mut loss = f64::NAN;
    for _ in 0..500 {
        opt.zero_grad();
        let l = ce.forward(&model.forward(x)?, y)?;
        l.backward()?;
        opt.step()?;
        loss = l.item()?;
    }
    let correct = count_correct(&model.forward(x)?, y)?;
    Ok((loss, correct as f64 / y.numel() as f64))
}
