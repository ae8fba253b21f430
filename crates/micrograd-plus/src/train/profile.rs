//! Profiling a recipe: a few training steps under the [`profiler`], after a
//! warm-up that is not recorded (the first steps allocate buffers and wake
//! the thread pool, and would dominate a short profile). What `mgp profile`
//! runs for the MLP, the CNN, CIFAR-10 and the GPT.
//!
//! ```
//! use micrograd_plus::data::{synthetic, DataLoader};
//! use micrograd_plus::nn::{loss::CrossEntropyLoss, Linear, Module};
//! use micrograd_plus::optim::{SGD, SGDConfig};
//! use micrograd_plus::profiler::Pass;
//! use micrograd_plus::train::{profile, trainer::{Trainer, TrainingRun}};
//! let data = std::sync::Arc::new(synthetic::make_moons_dataset(64, 0.1, 0)?);
//! let model = Linear::new(2, 2, true);
//! let opt = SGD::new(model.parameters(), SGDConfig { lr: 0.1, ..Default::default() })?;
//! let ce = CrossEntropyLoss::new();
//! let mut run = TrainingRun {
//!     trainer: Trainer::new(Box::new(model), Box::new(opt), Box::new(move |y, t| ce.forward(y, t)), 2),
//!     train: DataLoader::new(data.clone(), 16)?,
//!     test: DataLoader::new(data, 16)?,
//!     epochs: 1,
//! };
//! let report = profile::classifier_steps(&mut run, 1, 6, true)?; // more steps than one epoch has
//! let rows = report.key_averages();
//! let linear = rows.iter().find(|r| r.name == "linear" && r.pass == Pass::Forward).unwrap();
//! assert_eq!(linear.calls, 6);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use super::gpt::{optimizer, random_windows, train_step, TextData, TrainConfig};
use super::trainer::TrainingRun;
use crate::models::GPT;
use crate::profiler::{self, Report};
use crate::{Error, Result};
use rand::{rngs::StdRng, SeedableRng};

/// `warmup` unrecorded steps, then `steps` recorded ones, of `run`'s
/// training loop ([`super::trainer::Trainer::train_step`]), starting a new
/// epoch of the loader whenever one ends. With `record` false the steps
/// run without the profiler and the report holds only their wall time:
/// what profiling costs is the ratio of the two.
pub fn classifier_steps(
    run: &mut TrainingRun,
    warmup: usize,
    steps: usize,
    record: bool,
) -> Result<Report> {
    if run.train.num_batches() == 0 {
        return Err(Error::argument(
            "profile",
            "the training set has no batches",
        ));
    }
    run.trainer.model.train();
    let mut epoch = 1;
    let mut batches = run.train.epoch(epoch);
    let mut step = || -> Result<()> {
        let batch = match batches.next() {
            Some(batch) => batch?,
            None => {
                epoch += 1;
                batches = run.train.epoch(epoch);
                batches.next().expect("the loader has batches")?
            }
        };
        run.trainer.train_step(&batch).map(drop)
    };
    recorded(warmup, steps, record, &mut step)
}

/// `warmup` unrecorded steps, then `steps` recorded ones (or, with
/// `record` false, timed only), of the GPT recipe `config` on random
/// windows of `data`'s training split, from a fresh model.
///
/// ```
/// use micrograd_plus::{models::GPTConfig, train::gpt::{TextData, TrainConfig}};
/// let data = TextData::new(&"to be or not to be ".repeat(20), 0.9)?;
/// let v = data.tokenizer.vocab_size();
/// let config = TrainConfig { model: GPTConfig { block_size: 8, d_model: 16, heads: 2, layers: 1, ..GPTConfig::shakespeare(v) }, batch_size: 2, ..TrainConfig::shakespeare(v) };
/// let report = micrograd_plus::train::profile::gpt_steps(&config, &data, 1, 2, true)?;
/// let attention = report.key_averages().into_iter()
///     .find(|r| r.name == "qkv_packed_attention" && r.pass.name() == "forward").unwrap();
/// assert_eq!(attention.calls, 2); // one layer, two steps
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn gpt_steps(
    config: &TrainConfig,
    data: &TextData,
    warmup: usize,
    steps: usize,
    record: bool,
) -> Result<Report> {
    crate::manual_seed(config.seed);
    let model = GPT::new(config.model.clone())?;
    let mut opt = optimizer(&model, config)?;
    let (b, t) = (config.batch_size, config.model.block_size);
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut step = || -> Result<()> {
        let (x, y) = {
            let _data = profiler::scope("data");
            random_windows(&data.train, b, t, &mut rng)?
        };
        train_step(&model, &mut opt, &x, &y, b, t).map(drop)
    };
    recorded(warmup, steps, record, &mut step)
}

/// Runs `step` `warmup` times, then `steps` times under a profiler, or
/// with `record` false without one (a report of the wall time only).
fn recorded(
    warmup: usize,
    steps: usize,
    record: bool,
    step: &mut dyn FnMut() -> Result<()>,
) -> Result<Report> {
    if steps == 0 {
        return Err(Error::argument("profile", "steps must be at least 1"));
    }
    for _ in 0..warmup {
        step()?;
    }
    if !record {
        let start = std::time::Instant::now();
        for _ in 0..steps {
            step()?;
        }
        return Ok(Report::new(
            Vec::new(),
            start.elapsed().as_nanos() as u64,
            0,
        ));
    }
    let recording = profiler::enable()?;
    for _ in 0..steps {
        step()?;
    }
    Ok(recording.finish())
}
