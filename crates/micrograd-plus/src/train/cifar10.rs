//! Milestones 3 and 4: the course's CIFAR-10 network.
//!
//! Conv(3,32,3,p1)-BN-ReLU-Conv(32,32,3,p1)-BN-ReLU-MaxPool2-
//! Conv(32,64,3,p1)-BN-ReLU-Conv(64,64,3,p1)-BN-ReLU-MaxPool2-Flatten-
//! Linear(4096,256)-ReLU-Dropout(0.5)-Linear(256,10), cross-entropy.
//!
//! Data: pixels in [0, 1] normalised per channel with the training set's
//! mean and std; training batches get a random 32×32 crop of the image
//! padded by 4 and a random horizontal flip, on the loader's background
//! thread so augmentation overlaps the model's work.
//!
//! Optimisation: SGD, momentum 0.9 (Nesterov), weight decay 5e-4, batch
//! 128, and a one-cycle schedule (or cosine, or constant) stepped after
//! every batch. Milestone 4 is 30 epochs of this; milestone 3 is the same
//! recipe on a short run ([`Cifar10Config::milestone3`]).
//!
//! ```no_run
//! use micrograd_plus::train::cifar10::{run, Cifar10Config};
//! let mut run = run(&Cifar10Config::milestone3())?;
//! let eval = run.fit(&Default::default(), &mut |_| {}, &mut |m, _| println!("{m:?}"))?;
//! println!("test accuracy {:.2}%", 100.0 * eval.unwrap().accuracy);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use super::cnn_mnist::limited;
use super::saved::{normalize_metadata, Architecture};
use super::trainer::{Trainer, TrainingRun};
use crate::data::cifar10::Cifar10;
use crate::data::transforms::{Compose, Normalize, RandomCrop, RandomHorizontalFlip, Transform};
use crate::data::DataLoader;
use crate::nn::loss::CrossEntropyLoss;
use crate::nn::spec::{sequential, LayerSpec};
use crate::nn::{Module, Sequential};
use crate::optim::scheduler::{CosineAnnealingLR, LrScheduler, OneCycleConfig, OneCycleLR};
use crate::optim::{Optimizer, SGDConfig, SGD};
use crate::{manual_seed, Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The learning-rate schedule over the run, stepped once per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// One-cycle: warm up to `lr` over 30% of the steps, cosine down to ~0.
    OneCycle,
    /// Cosine from `lr` to 0 over the run.
    Cosine,
    /// `lr` throughout.
    Constant,
}

impl std::str::FromStr for Schedule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "onecycle" | "one-cycle" => Ok(Schedule::OneCycle),
            "cosine" => Ok(Schedule::Cosine),
            "constant" => Ok(Schedule::Constant),
            _ => Err(Error::argument(
                "schedule",
                format!("unknown schedule {s:?}: expected onecycle, cosine or constant"),
            )),
        }
    }
}

impl std::fmt::Display for Schedule {
    /// The name [`Schedule::from_str`](std::str::FromStr) reads and
    /// `config.json` writes.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::cifar10::Schedule::OneCycle.to_string(), "onecycle");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Schedule::OneCycle => "onecycle",
            Schedule::Cosine => "cosine",
            Schedule::Constant => "constant",
        })
    }
}

/// The shared CIFAR-10 archive, relative to the repository root.
pub const DEFAULT_DATA: &str = "../shared/datasets/cifar10/cifar10-jpg.tar.gz";

/// The recipe's settings; `Default` is milestone 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cifar10Config {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// The peak (one-cycle) or starting (cosine, constant) learning rate.
    pub lr: f64,
    /// SGD momentum (Nesterov).
    pub momentum: f64,
    /// L2 penalty on every parameter.
    pub weight_decay: f64,
    /// The lr schedule.
    pub schedule: Schedule,
    /// Seeds the initialisation, dropout, the shuffle and the augmentation.
    pub seed: u64,
    /// The data: an archive, binary batches or image folders (see
    /// [`Cifar10::load`]); `None` is [`DEFAULT_DATA`] from the repository root.
    pub data: Option<PathBuf>,
    /// Train on `n` training images only (drawn at random, fixed seed).
    #[serde(default)]
    pub train_limit: Option<usize>,
    /// Evaluate on `n` test images only (drawn at random, fixed seed).
    #[serde(default)]
    pub test_limit: Option<usize>,
}

impl Default for Cifar10Config {
    fn default() -> Self {
        Cifar10Config {
            epochs: 30,
            batch_size: 128,
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 5e-4,
            schedule: Schedule::OneCycle,
            seed: 0,
            data: None,
            train_limit: None,
            test_limit: None,
        }
    }
}

impl Cifar10Config {
    /// Milestone 3: the same recipe for 2 epochs, a complete one-cycle
    /// schedule over them.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::cifar10::Cifar10Config::milestone3().epochs, 2);
    /// ```
    pub fn milestone3() -> Cifar10Config {
        Cifar10Config {
            epochs: 2,
            ..Default::default()
        }
    }

    /// The data path: `data`, or [`DEFAULT_DATA`] under the repository root.
    ///
    /// ```
    /// let p = micrograd_plus::train::cifar10::Cifar10Config::default().data_path();
    /// assert!(p.ends_with("shared/datasets/cifar10/cifar10-jpg.tar.gz"));
    /// ```
    pub fn data_path(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join(DEFAULT_DATA)
        })
    }
}

/// A 3×3 convolution with padding 1 from `inputs` to `outputs` channels.
const fn conv3(inputs: usize, outputs: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        inputs,
        outputs,
        kernel: 3,
        padding: 1,
    }
}

/// The milestone-4 network as data, for `(N, 3, 32, 32)` input: four
/// conv-batch-norm-ReLU blocks, two max-pools, then the classifier.
pub const LAYERS: [LayerSpec; 19] = [
    conv3(3, 32),
    LayerSpec::BatchNorm2d { channels: 32 },
    LayerSpec::ReLU,
    conv3(32, 32),
    LayerSpec::BatchNorm2d { channels: 32 },
    LayerSpec::ReLU,
    LayerSpec::MaxPool2d { kernel: 2 },
    conv3(32, 64),
    LayerSpec::BatchNorm2d { channels: 64 },
    LayerSpec::ReLU,
    conv3(64, 64),
    LayerSpec::BatchNorm2d { channels: 64 },
    LayerSpec::ReLU,
    LayerSpec::MaxPool2d { kernel: 2 },
    LayerSpec::Flatten,
    LayerSpec::Linear {
        inputs: 4096,
        outputs: 256,
    },
    LayerSpec::ReLU,
    LayerSpec::Dropout { p: 0.5 },
    LayerSpec::Linear {
        inputs: 256,
        outputs: 10,
    },
];

/// The milestone-4 network, built from [`LAYERS`].
///
/// ```
/// use micrograd_plus::nn::Module;
/// let model = micrograd_plus::train::cifar10::cifar_net();
/// assert_eq!(model.num_parameters(), 1_117_354);
/// let y = model.forward(&micrograd_plus::Tensor::randn(&[2, 3, 32, 32], 0)).unwrap();
/// assert_eq!(y.shape(), &[2, 10]);
/// ```
pub fn cifar_net() -> Sequential {
    sequential(&LAYERS)
}

/// The recipe's SGD (momentum, Nesterov, weight decay) and its per-batch
/// schedule over `total_steps` batches.
///
/// ```
/// use micrograd_plus::nn::Module;
/// use micrograd_plus::optim::Optimizer;
/// use micrograd_plus::train::cifar10::{optimizer, Cifar10Config};
/// let net = micrograd_plus::train::cifar10::cifar_net();
/// let (opt, sched) = optimizer(&Cifar10Config::default(), net.parameters(), 100).unwrap();
/// assert!((opt.lr() - 0.1 / 25.0).abs() < 1e-12); // one-cycle starts low
/// assert!(sched.is_some());
/// ```
#[allow(clippy::type_complexity)]
pub fn optimizer(
    config: &Cifar10Config,
    params: Vec<crate::Tensor>,
    total_steps: usize,
) -> Result<(Box<dyn Optimizer>, Option<Box<dyn LrScheduler>>)> {
    let mut sgd = SGD::new(
        params,
        SGDConfig {
            lr: config.lr,
            momentum: config.momentum,
            dampening: 0.0,
            weight_decay: config.weight_decay,
            nesterov: config.momentum > 0.0,
        },
    )?;
    let scheduler: Option<Box<dyn LrScheduler>> = match config.schedule {
        Schedule::OneCycle => Some(Box::new(OneCycleLR::new(
            &mut sgd,
            config.lr,
            total_steps,
            OneCycleConfig::default(),
        )?)),
        Schedule::Cosine => Some(Box::new(CosineAnnealingLR::new(
            &mut sgd,
            total_steps,
            0.0,
        )?)),
        Schedule::Constant => None,
    };
    Ok((Box::new(sgd), scheduler))
}

/// The training augmentation: crop 32×32 from the image padded by 4, flip
/// half the images, then normalise.
///
/// ```
/// use micrograd_plus::data::transforms::{Normalize, Transform};
/// use micrograd_plus::data::Batch;
/// use micrograd_plus::Tensor;
/// use rand::SeedableRng;
/// let aug = micrograd_plus::train::cifar10::augmentation(Normalize::new(vec![0.5; 3], vec![0.25; 3])?)?;
/// let b = Batch { inputs: Tensor::full(&[2, 3, 32, 32], 0.5), targets: Tensor::zeros(&[2]) };
/// let out = aug.apply(b, &mut rand::rngs::StdRng::seed_from_u64(0))?;
/// // Padding pixels become (0 - 0.5) / 0.25 = -2; image pixels 0.
/// assert!(out.inputs.to_vec::<f32>().iter().all(|&v| v == 0.0 || v == -2.0));
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn augmentation(normalize: Normalize) -> Result<Compose> {
    Ok(Compose::new()
        .then(RandomCrop::new(32, 4))
        .then(RandomHorizontalFlip::new(0.5)?)
        .then(normalize))
}

/// Loads the data from [`Cifar10Config::data_path`] and builds the
/// seeded model, optimizer and schedule.
///
/// ```
/// use micrograd_plus::train::cifar10::{Cifar10Config, run};
/// let config = Cifar10Config { data: Some("/nonexistent".into()), ..Default::default() };
/// let err = run(&config).err().unwrap();
/// assert!(err.to_string().starts_with("/nonexistent: no CIFAR-10 data here"));
/// ```
pub fn run(config: &Cifar10Config) -> Result<TrainingRun> {
    if config.batch_size == 0
        || config.epochs == 0
        || config.train_limit == Some(0)
        || config.test_limit == Some(0)
    {
        return Err(Error::argument(
            "cnn-cifar10",
            "epochs, batch size and limits must be at least 1",
        ));
    }
    let (train, test) = Cifar10::load(config.data_path())?;
    // Statistics of the images trained on (before any limit: the same
    // normalisation whatever part of the set a short run uses).
    let normalize = train.channel_stats()?;
    // Checkpoints record it: the model expects inputs normalised this way.
    let input_normalisation = normalize_metadata(&normalize);
    let train = limited(Arc::new(train), config.train_limit)?;
    let test = limited(Arc::new(test), config.test_limit)?;
    let test = test_batches(test, normalize.clone())?;
    manual_seed(config.seed);
    let model = cifar_net();
    let train = DataLoader::new(train, config.batch_size)?
        .shuffle(true)
        .seed(config.seed)
        .transform(augmentation(normalize)?.into_batch_fn());
    let total_steps = config.epochs * train.num_batches();
    let (optimizer, scheduler) = optimizer(config, model.parameters(), total_steps)?;
    let ce = CrossEntropyLoss::new();
    let mut trainer = Trainer::new(
        Box::new(model),
        optimizer,
        Box::new(move |y, t| ce.forward(y, t)),
        10,
    );
    trainer.scheduler = scheduler;
    trainer.metadata = Architecture::CifarCnn.metadata("cnn-cifar10");
    trainer.metadata.extend([input_normalisation]);
    trainer.scheduler_per_batch = true;
    Ok(TrainingRun {
        trainer,
        train,
        test,
        epochs: config.epochs,
    })
}

/// Images per evaluation batch: at 200 the first layers' outputs (200 × 32
/// × 32 × 32 floats, 26 MB) stay under glibc's 32 MiB mmap threshold, as
/// for CNN-MNIST (`cnn_mnist`'s `EVAL_BATCH`). At 500 each was mapped,
/// faulted in and unmapped for every batch: the network's forward over 10k
/// images (no grad, two cores, AVX-512) took 4.52-4.56 s with 1.04M page
/// faults, and takes 3.42-3.44 s with 22k.
const EVAL_BATCH: usize = 200;

/// The evaluation batches: `test` in order, [`EVAL_BATCH`] at a time,
/// normalised.
fn test_batches(test: crate::data::SharedDataset, normalize: Normalize) -> Result<DataLoader> {
    Ok(DataLoader::new(test, EVAL_BATCH)?.transform(normalize.into_batch_fn()))
}

/// The recipe's evaluation batches alone, as [`run`] makes them (`config`'s
/// data and test limit), normalised with `normalize`, the statistics a
/// checkpoint records ([`super::saved::CheckpointInfo::normalize`]): only
/// the test images are read. A checkpoint from before checkpoints recorded
/// them passes `None`, and the training images are read for their
/// statistics, as training computed them.
///
/// ```
/// use micrograd_plus::train::cifar10::{test_loader, Cifar10Config};
/// let config = Cifar10Config { data: Some("/nonexistent".into()), ..Default::default() };
/// let err = test_loader(&config, None).err().unwrap();
/// assert!(err.to_string().starts_with("/nonexistent: no CIFAR-10 data here"));
/// ```
pub fn test_loader(config: &Cifar10Config, normalize: Option<Normalize>) -> Result<DataLoader> {
    let (test, normalize) = match normalize {
        Some(normalize) => (Cifar10::load_test(config.data_path())?, normalize),
        None => {
            let (train, test) = Cifar10::load(config.data_path())?;
            (test, train.channel_stats()?)
        }
    };
    test_batches(limited(Arc::new(test), config.test_limit)?, normalize)
}
