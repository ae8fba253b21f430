//! Milestone 2: the course's small CNN on MNIST.
//!
//! Conv2d(1,16,3)-ReLU-MaxPool2d(2)-Conv2d(16,32,3)-ReLU-MaxPool2d(2)-
//! Flatten-Linear(800,128)-ReLU-Linear(128,10), cross-entropy, Adam lr 1e-3,
//! batch 64, shuffled, pixels in [0, 1] as `(N, 1, 28, 28)`, 3 epochs on the
//! training set, evaluated on the 10k test set. [`run`]
//! assembles the pieces so `mgp train cnn-mnist` and a user's code run the
//! same recipe.
//!
//! ```no_run
//! use micrograd_plus::train::cnn_mnist::{run, CnnMnistConfig};
//! let mut run = run(&CnnMnistConfig::default())?;
//! let eval = run.fit(&Default::default(), &mut |_| {}, &mut |m, _| println!("{m:?}"))?;
//! println!("test accuracy {:.2}%", 100.0 * eval.unwrap().accuracy);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use super::saved::Architecture;
use super::trainer::{Trainer, TrainingRun};
use crate::data::mnist::Mnist;
use crate::data::{DataLoader, SharedDataset, Subset, TensorDataset};
use crate::nn::loss::CrossEntropyLoss;
use crate::nn::spec::{sequential, LayerSpec};
use crate::nn::{Module, Sequential};
use crate::optim::{Adam, AdamConfig};
use crate::{manual_seed, Error, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The recipe's settings; `Default` is milestone 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CnnMnistConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Seeds the initialisation and the shuffle.
    pub seed: u64,
    /// Folder with the MNIST files; `None` is the repository's embedded subset.
    pub data: Option<PathBuf>,
    /// Use only `limit` training and `limit` test images, drawn at random
    /// with a fixed seed (quick runs).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl Default for CnnMnistConfig {
    fn default() -> Self {
        CnnMnistConfig {
            epochs: 3,
            batch_size: 64,
            lr: 1e-3,
            seed: 0,
            data: None,
            limit: None,
        }
    }
}

/// The milestone-2 network as data, for `(N, 1, 28, 28)` input.
pub const LAYERS: [LayerSpec; 10] = [
    LayerSpec::Conv2d {
        inputs: 1,
        outputs: 16,
        kernel: 3,
        padding: 0,
    },
    LayerSpec::ReLU,
    LayerSpec::MaxPool2d { kernel: 2 },
    LayerSpec::Conv2d {
        inputs: 16,
        outputs: 32,
        kernel: 3,
        padding: 0,
    },
    LayerSpec::ReLU,
    LayerSpec::MaxPool2d { kernel: 2 },
    LayerSpec::Flatten,
    LayerSpec::Linear {
        inputs: 800,
        outputs: 128,
    },
    LayerSpec::ReLU,
    LayerSpec::Linear {
        inputs: 128,
        outputs: 10,
    },
];

/// The milestone-2 network, built from [`LAYERS`].
///
/// ```
/// use micrograd_plus::nn::Module;
/// let model = micrograd_plus::train::cnn_mnist::cnn();
/// assert_eq!(model.num_parameters(), (16 * 9 + 16) + (32 * 16 * 9 + 32) + (800 * 128 + 128) + (128 * 10 + 10));
/// let y = model.forward(&micrograd_plus::Tensor::zeros(&[2, 1, 28, 28])).unwrap();
/// assert_eq!(y.shape(), &[2, 10]);
/// ```
pub fn cnn() -> Sequential {
    sequential(&LAYERS)
}

/// `limit` samples of `ds` drawn at random with a fixed seed (the same
/// ones for every run; all of them when `None`). Random rather than the
/// first `limit`: image-folder data sets come ordered by class.
pub(crate) fn limited(ds: SharedDataset, limit: Option<usize>) -> Result<SharedDataset> {
    match limit {
        Some(n) if n < ds.len() => {
            let mut order: Vec<usize> = (0..ds.len()).collect();
            order.shuffle(&mut StdRng::seed_from_u64(0));
            order.truncate(n);
            // In storage order: the same samples, read with better locality.
            order.sort_unstable();
            Ok(Arc::new(Subset::new(ds, order)?))
        }
        _ => Ok(ds),
    }
}

/// Loads the data as images and builds the seeded model and optimizer.
///
/// ```
/// use micrograd_plus::train::cnn_mnist::{CnnMnistConfig, run};
/// let err = run(&CnnMnistConfig { limit: Some(0), ..Default::default() }).err().unwrap();
/// assert_eq!(err.to_string(), "cnn-mnist: epochs, batch size and limit must be at least 1");
/// ```
pub fn run(config: &CnnMnistConfig) -> Result<TrainingRun> {
    if config.batch_size == 0 || config.epochs == 0 || config.limit == Some(0) {
        return Err(Error::argument(
            "cnn-mnist",
            "epochs, batch size and limit must be at least 1",
        ));
    }
    let (train, test) = match &config.data {
        Some(dir) => Mnist::load(dir)?,
        None => Mnist::load_embedded()?,
    };
    let images = |ds: TensorDataset| images(ds, config.limit);
    manual_seed(config.seed);
    let model = cnn();
    let optimizer = Adam::new(
        model.parameters(),
        AdamConfig {
            lr: config.lr,
            ..Default::default()
        },
    )?;
    let ce = CrossEntropyLoss::new();
    let mut trainer = Trainer::new(
        Box::new(model),
        Box::new(optimizer),
        Box::new(move |y, t| ce.forward(y, t)),
        10,
    );
    trainer.metadata = Architecture::CnnMnist.metadata("cnn-mnist");
    Ok(TrainingRun {
        trainer,
        train: DataLoader::new(images(train)?, config.batch_size)?
            .shuffle(true)
            .seed(config.seed),
        test: DataLoader::new(images(test)?, EVAL_BATCH)?,
        epochs: config.epochs,
    })
}

/// Images per evaluation batch. At 500 the largest activation (the first
/// convolution's output, 500 × 16 × 26 × 26 floats) is 21.6 MB, under the
/// 32 MiB above which glibc maps a buffer by itself and hands it back to
/// the kernel when freed (see `kernels::allocator`); at 1000 each of the
/// first layers' 43 MB outputs was mapped, page-faulted in zeroed and
/// unmapped again for every batch: `mgp train cnn-mnist --epochs 2` took
/// 2.08-2.12 s with 249k page faults, and takes 1.80-1.90 s with 37k
/// (three pairs, same results).
const EVAL_BATCH: usize = 500;

/// The recipe's evaluation batches alone, as [`run`] makes them (`config`'s
/// data and limit): the MNIST test set as images, without reading the
/// training set.
///
/// ```
/// use micrograd_plus::train::cnn_mnist::{test_loader, CnnMnistConfig};
/// let loader = test_loader(&CnnMnistConfig { limit: Some(10), ..Default::default() }).unwrap();
/// assert_eq!(loader.dataset().len(), 10);
/// ```
pub fn test_loader(config: &CnnMnistConfig) -> Result<DataLoader> {
    let test = match &config.data {
        Some(dir) => Mnist::load_test(dir)?,
        None => Mnist::load_embedded_test()?,
    };
    DataLoader::new(images(test, config.limit)?, EVAL_BATCH)
}

/// `ds`'s samples as `(1, 28, 28)` images, `limit` of them (see [`limited`]).
fn images(ds: TensorDataset, limit: Option<usize>) -> Result<SharedDataset> {
    limited(Arc::new(ds.with_sample_shape(&Mnist::IMAGE_SHAPE)?), limit)
}
