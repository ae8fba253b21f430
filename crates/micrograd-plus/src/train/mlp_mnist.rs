//! Milestone 1: the course's MLP on MNIST.
//!
//! MLP 784-128-64-10 with ReLU, cross-entropy, Adam lr 1e-3, batch 64,
//! shuffled, pixels in [0, 1], 10 epochs on the training set, evaluated on
//! the official 10k test set. [`run`] assembles the pieces so the
//! `mgp train mlp-mnist` command and a user's own code run the same recipe.
//!
//! ```no_run
//! use micrograd_plus::train::mlp_mnist::{run, MnistConfig};
//! let mut run = run(&MnistConfig { epochs: 1, ..Default::default() })?;
//! let eval = run.fit(&Default::default(), &mut |_| {}, &mut |m, _| println!("{m:?}"))?;
//! println!("test accuracy {:.2}%", 100.0 * eval.unwrap().accuracy);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use super::saved::Architecture;
use super::trainer::{Trainer, TrainingRun};
use crate::data::mnist::Mnist;
use crate::data::DataLoader;
use crate::nn::loss::CrossEntropyLoss;
use crate::nn::spec::{sequential, LayerSpec};
use crate::nn::{Module, Sequential};
use crate::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, SGDConfig, SGD};
use crate::{manual_seed, Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// Which optimizer the recipe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (the recipe's choice).
    Adam,
    /// AdamW with its default weight decay 0.01.
    AdamW,
    /// SGD with momentum 0.9.
    Sgd,
}

impl std::fmt::Display for OptimizerKind {
    /// The name [`OptimizerKind::from_str`](std::str::FromStr) reads and
    /// `config.json` writes.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::mlp_mnist::OptimizerKind::AdamW.to_string(), "adamw");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::Sgd => "sgd",
        })
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "adam" => Ok(OptimizerKind::Adam),
            "adamw" => Ok(OptimizerKind::AdamW),
            "sgd" => Ok(OptimizerKind::Sgd),
            _ => Err(Error::argument(
                "optimizer",
                format!("unknown optimizer {s:?}: expected adam, adamw or sgd"),
            )),
        }
    }
}

/// The recipe's settings; `Default` is milestone 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Seeds the initialisation and the shuffle.
    pub seed: u64,
    /// Folder with the MNIST files; `None` is the repository's embedded subset.
    pub data: Option<PathBuf>,
}

impl Default for MnistConfig {
    fn default() -> Self {
        MnistConfig {
            epochs: 10,
            batch_size: 64,
            lr: 1e-3,
            optimizer: OptimizerKind::Adam,
            seed: 0,
            data: None,
        }
    }
}

/// The milestone-1 network as data: 784-128-64-10 with ReLU.
pub const LAYERS: [LayerSpec; 5] = [
    LayerSpec::Linear {
        inputs: 784,
        outputs: 128,
    },
    LayerSpec::ReLU,
    LayerSpec::Linear {
        inputs: 128,
        outputs: 64,
    },
    LayerSpec::ReLU,
    LayerSpec::Linear {
        inputs: 64,
        outputs: 10,
    },
];

/// The milestone-1 network, built from [`LAYERS`].
///
/// ```
/// use micrograd_plus::nn::Module;
/// let model = micrograd_plus::train::mlp_mnist::mlp();
/// assert_eq!(model.num_parameters(), 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
/// ```
pub fn mlp() -> Sequential {
    sequential(&LAYERS)
}

/// Builds the recipe's optimizer over `params`.
pub fn optimizer(
    kind: OptimizerKind,
    params: Vec<crate::Tensor>,
    lr: f64,
) -> Result<Box<dyn Optimizer>> {
    Ok(match kind {
        OptimizerKind::Adam => Box::new(Adam::new(
            params,
            AdamConfig {
                lr,
                ..Default::default()
            },
        )?),
        OptimizerKind::AdamW => Box::new(AdamW::new(
            params,
            AdamWConfig {
                lr,
                ..Default::default()
            },
        )?),
        OptimizerKind::Sgd => Box::new(SGD::new(
            params,
            SGDConfig {
                lr,
                momentum: 0.9,
                ..Default::default()
            },
        )?),
    })
}

/// Loads the data and builds the seeded model and optimizer.
pub fn run(config: &MnistConfig) -> Result<TrainingRun> {
    if config.batch_size == 0 || config.epochs == 0 {
        return Err(Error::argument(
            "mlp-mnist",
            "epochs and batch size must be at least 1",
        ));
    }
    let (train, test) = match &config.data {
        Some(dir) => Mnist::load(dir)?,
        None => Mnist::load_embedded()?,
    };
    manual_seed(config.seed);
    let model = mlp();
    let optimizer = optimizer(config.optimizer, model.parameters(), config.lr)?;
    let ce = CrossEntropyLoss::new();
    let mut trainer = Trainer::new(
        Box::new(model),
        optimizer,
        Box::new(move |y, t| ce.forward(y, t)),
        10,
    );
    trainer.metadata = Architecture::Mlp.metadata("mlp-mnist");
    Ok(TrainingRun {
        trainer,
        train: DataLoader::new(Arc::new(train), config.batch_size)?
            .shuffle(true)
            .seed(config.seed),
        test: test_batches(test)?,
        epochs: config.epochs,
    })
}

/// The evaluation batches: `test` in order, 1000 at a time.
fn test_batches(test: crate::data::TensorDataset) -> Result<DataLoader> {
    DataLoader::new(Arc::new(test), 1000)
}

/// The recipe's evaluation batches alone, as [`run`] makes them: the MNIST
/// test set in `data` (or the embedded one), without reading the training
/// set.
///
/// ```
/// let loader = micrograd_plus::train::mlp_mnist::test_loader(None).unwrap();
/// assert_eq!(loader.num_batches(), 10);
/// ```
pub fn test_loader(data: Option<&std::path::Path>) -> Result<DataLoader> {
    test_batches(match data {
        Some(dir) => Mnist::load_test(dir)?,
        None => Mnist::load_embedded_test()?,
    })
}
