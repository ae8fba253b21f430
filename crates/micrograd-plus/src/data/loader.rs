//! [`DataLoader`]: batches of a dataset in a seeded order, prepared on a
//! background thread while the model trains on the previous ones.
//!
//! Everything random is a function of `(seed, epoch)` alone (the shuffle)
//! or `(seed, epoch, batch index)` (the batch transform's generator), never
//! of how many batches were drawn before. So `loader.epoch(e)` yields the
//! same batches whether it is the first call of a run or the first after a
//! restart from a checkpoint, and [`DataLoader::epoch_from`] resumes in the
//! middle of an epoch without preparing the skipped batches.
//!
//! ```
//! use std::sync::Arc;
//! use micrograd_plus::data::{DataLoader, TensorDataset};
//! use micrograd_plus::Tensor;
//!
//! let ds = TensorDataset::new(Tensor::arange(0.0, 10.0, 1.0), Tensor::zeros(&[10]))?;
//! let loader = DataLoader::new(Arc::new(ds), 4)?.shuffle(true).seed(7);
//! assert_eq!(loader.num_batches(), 3); // 4 + 4 + 2
//! let mut seen = Vec::new();
//! for batch in loader.epoch(0) {
//!     seen.extend(batch?.inputs.to_vec::<f32>());
//! }
//! seen.sort_by(f32::total_cmp);
//! assert_eq!(seen, (0..10).map(|i| i as f32).collect::<Vec<_>>());
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::dataset::{Batch, SharedDataset};
use crate::error::{Error, Result};

/// A function applied to every batch on the loader's thread (augmentation,
/// normalisation), given a generator seeded from `(seed, epoch, batch index)`.
pub type BatchTransform = Arc<dyn Fn(Batch, &mut StdRng) -> Result<Batch> + Send + Sync>;

/// Mixes words into one well-spread 64-bit seed (SplitMix64's finaliser on a
/// running hash), so nearby `(seed, epoch)` pairs give unrelated streams.
pub(crate) fn mix_seed(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        h ^= p.wrapping_add(0x9E37_79B9_7F4A_7C15);
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
        h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 29;
    }
    h
}

// Domain tags, so the shuffle and the transforms never share a stream.
const SHUFFLE_STREAM: u64 = 1;
const TRANSFORM_STREAM: u64 = 2;

/// Iterates a dataset in batches: PyTorch's `DataLoader` with one worker.
///
/// Built with [`DataLoader::new`] and configured builder-style; see the
/// [module docs](self).
pub struct DataLoader {
    dataset: SharedDataset,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    seed: u64,
    prefetch: usize,
    transform: Option<BatchTransform>,
    /// The epoch the next `for batch in &loader` runs: each loop over the
    /// loader is the next epoch, reshuffled, as in PyTorch.
    next_epoch: AtomicU64,
}

/// A copy with the same settings, continuing from the same epoch.
impl Clone for DataLoader {
    fn clone(&self) -> DataLoader {
        DataLoader {
            dataset: self.dataset.clone(),
            batch_size: self.batch_size,
            shuffle: self.shuffle,
            drop_last: self.drop_last,
            seed: self.seed,
            prefetch: self.prefetch,
            transform: self.transform.clone(),
            next_epoch: AtomicU64::new(self.next_epoch.load(Ordering::Relaxed)),
        }
    }
}

/// `for batch in &loader`: the next epoch's batches (epoch 0 first, then 1,
/// ...), each a `Result<Batch>`; [`DataLoader::epoch`] picks one explicitly.
///
/// ```
/// use std::sync::Arc;
/// use micrograd_plus::data::{DataLoader, TensorDataset};
/// use micrograd_plus::Tensor;
/// let ds = Arc::new(TensorDataset::new(Tensor::arange(0.0, 6.0, 1.0), Tensor::zeros(&[6]))?);
/// let loader = DataLoader::new(ds, 4)?.shuffle(true).seed(2);
/// let mut sizes = Vec::new();
/// for batch in &loader {
///     sizes.push(batch?.len());
/// }
/// assert_eq!(sizes, [4, 2]);
/// // The second loop is epoch 1: a fresh order.
/// let second: Vec<f32> = (&loader).into_iter().flat_map(|b| b.unwrap().inputs.to_vec::<f32>()).collect();
/// let epoch1: Vec<f32> = loader.epoch(1).flat_map(|b| b.unwrap().inputs.to_vec::<f32>()).collect();
/// assert_eq!(second, epoch1);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
impl IntoIterator for &DataLoader {
    type Item = Result<Batch>;
    type IntoIter = EpochIter;

    fn into_iter(self) -> EpochIter {
        self.epoch(self.next_epoch.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLoader")
            .field("len", &self.dataset.len())
            .field("batch_size", &self.batch_size)
            .field("shuffle", &self.shuffle)
            .field("drop_last", &self.drop_last)
            .field("seed", &self.seed)
            .field("prefetch", &self.prefetch)
            .field("transform", &self.transform.is_some())
            .finish()
    }
}

impl DataLoader {
    /// Batches of `batch_size` samples of `dataset`, in order, no transform,
    /// two batches prepared ahead. Errors if `batch_size` is 0.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[3, 1]), Tensor::zeros(&[3]))?);
    /// assert!(DataLoader::new(ds.clone(), 2).is_ok());
    /// assert_eq!(
    ///     DataLoader::new(ds, 0).unwrap_err().to_string(),
    ///     "DataLoader: batch_size must be at least 1"
    /// );
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn new(dataset: SharedDataset, batch_size: usize) -> Result<DataLoader> {
        if batch_size == 0 {
            return Err(Error::argument(
                "DataLoader",
                "batch_size must be at least 1",
            ));
        }
        Ok(DataLoader {
            dataset,
            batch_size,
            shuffle: false,
            drop_last: false,
            seed: 0,
            prefetch: 2,
            transform: None,
            next_epoch: AtomicU64::new(0),
        })
    }

    /// Whether each epoch visits the samples in a fresh random order.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[5, 1]), Tensor::zeros(&[5]))?);
    /// let plain = DataLoader::new(ds, 2)?;
    /// assert_eq!(plain.order(3), vec![0, 1, 2, 3, 4]);
    /// assert_ne!(plain.shuffle(true).seed(1).order(3), vec![0, 1, 2, 3, 4]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn shuffle(mut self, on: bool) -> DataLoader {
        self.shuffle = on;
        self
    }

    /// The seed behind the shuffle and the transforms' generators (default 0).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[50, 1]), Tensor::zeros(&[50]))?);
    /// let l = DataLoader::new(ds, 8)?.shuffle(true);
    /// assert_eq!(l.clone().seed(1).order(0), l.clone().seed(1).order(0));
    /// assert_ne!(l.clone().seed(1).order(0), l.seed(2).order(0));
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn seed(mut self, seed: u64) -> DataLoader {
        self.seed = seed;
        self
    }

    /// Whether to skip a last batch smaller than `batch_size`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[10, 1]), Tensor::zeros(&[10]))?);
    /// assert_eq!(DataLoader::new(ds.clone(), 4)?.num_batches(), 3);
    /// assert_eq!(DataLoader::new(ds, 4)?.drop_last(true).num_batches(), 2);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn drop_last(mut self, on: bool) -> DataLoader {
        self.drop_last = on;
        self
    }

    /// How many batches the background thread may prepare ahead (default 2).
    /// 0 prepares each batch on the calling thread when it is asked for,
    /// with no thread at all: the same batches, handy for debugging.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[3, 1]), Tensor::zeros(&[3]))?);
    /// let inline = DataLoader::new(ds, 2)?.prefetch(0);
    /// assert_eq!(inline.epoch(0).count(), 2);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn prefetch(mut self, batches: usize) -> DataLoader {
        self.prefetch = batches;
        self
    }

    /// A function applied to every batch on the loader's thread, with a
    /// generator seeded from `(seed, epoch, batch index)`; see
    /// [`crate::data::transforms::Transform::into_batch_fn`] to use a
    /// [`crate::data::transforms::Compose`] pipeline.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{Batch, DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::ones(&[4, 1]), Tensor::zeros(&[4]))?);
    /// let double = Arc::new(|b: Batch, _: &mut rand::rngs::StdRng| {
    ///     Ok(Batch { inputs: &b.inputs * 2.0, targets: b.targets })
    /// });
    /// let loader = DataLoader::new(ds, 4)?.transform(double);
    /// let b = loader.epoch(0).next().unwrap()?;
    /// assert_eq!(b.inputs.to_vec::<f32>(), vec![2.0; 4]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn transform(mut self, f: BatchTransform) -> DataLoader {
        self.transform = Some(f);
        self
    }

    /// The dataset this loader reads.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[3, 1]), Tensor::zeros(&[3]))?);
    /// assert_eq!(DataLoader::new(ds, 2)?.dataset().len(), 3);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn dataset(&self) -> &SharedDataset {
        &self.dataset
    }

    /// Samples per batch.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[3, 1]), Tensor::zeros(&[3]))?);
    /// assert_eq!(DataLoader::new(ds, 2)?.batch_size(), 2);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[3, 1]), Tensor::zeros(&[3]))?);
    /// assert_eq!(DataLoader::new(ds, 2)?.num_batches(), 2);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn num_batches(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// The order in which epoch `epoch` visits the samples: `0..len` without
    /// shuffling, else a permutation that depends only on `(seed, epoch)`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[100, 1]), Tensor::zeros(&[100]))?);
    /// let l = DataLoader::new(ds, 10)?.shuffle(true).seed(3);
    /// assert_ne!(l.order(0), l.order(1)); // a new order every epoch
    /// let mut sorted = l.order(0);
    /// sorted.sort();
    /// assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.shuffle {
            let mut rng = StdRng::seed_from_u64(mix_seed(&[SHUFFLE_STREAM, self.seed, epoch]));
            order.shuffle(&mut rng);
        }
        order
    }

    /// The batches of epoch `epoch`, prepared ahead on a background thread.
    /// Dropping the iterator early stops the thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[1000, 1]), Tensor::zeros(&[1000]))?);
    /// let loader = DataLoader::new(ds, 10)?;
    /// let first = loader.epoch(0).next().unwrap()?; // the rest is abandoned
    /// assert_eq!(first.len(), 10);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn epoch(&self, epoch: u64) -> EpochIter {
        self.epoch_from(epoch, 0)
    }

    /// The batches of epoch `epoch` from batch `start` on: exactly the tail
    /// of [`DataLoader::epoch`], for resuming a run mid-epoch.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::arange(0.0, 9.0, 1.0), Tensor::zeros(&[9]))?);
    /// let l = DataLoader::new(ds, 2)?.shuffle(true).seed(5);
    /// let all: Vec<Vec<f32>> = l.epoch(4).map(|b| b.unwrap().inputs.to_vec()).collect();
    /// let tail: Vec<Vec<f32>> = l.epoch_from(4, 3).map(|b| b.unwrap().inputs.to_vec()).collect();
    /// assert_eq!(tail, all[3..].to_vec());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn epoch_from(&self, epoch: u64, start: usize) -> EpochIter {
        let plan = Arc::new(EpochPlan {
            dataset: self.dataset.clone(),
            order: self.order(epoch),
            batch_size: self.batch_size,
            num_batches: self.num_batches(),
            transform: self.transform.clone(),
            seed: self.seed,
            epoch,
        });
        let start = start.min(plan.num_batches);
        if self.prefetch == 0 {
            return EpochIter {
                next: start,
                end: plan.num_batches,
                source: Source::Inline(plan),
            };
        }
        let (tx, rx) = sync_channel(self.prefetch);
        let worker_plan = plan.clone();
        let spawned = std::thread::Builder::new()
            .name("mgp-data-loader".into())
            .spawn(move || {
                for b in start..worker_plan.num_batches {
                    let batch = worker_plan.make(b);
                    let failed = batch.is_err();
                    // A send fails only when the iterator was dropped: stop.
                    if tx.send(batch).is_err() || failed {
                        return;
                    }
                }
            });
        let end = plan.num_batches;
        match spawned {
            Ok(handle) => EpochIter {
                next: start,
                end,
                source: Source::Thread {
                    rx: Some(rx),
                    handle: Some(handle),
                },
            },
            // No thread to be had: prepare batches on the caller's thread.
            Err(_) => EpochIter {
                next: start,
                end,
                source: Source::Inline(plan),
            },
        }
    }
}

/// What one epoch needs to build any of its batches, shared with the worker.
struct EpochPlan {
    dataset: SharedDataset,
    order: Vec<usize>,
    batch_size: usize,
    num_batches: usize,
    transform: Option<BatchTransform>,
    seed: u64,
    epoch: u64,
}

impl EpochPlan {
    /// Batch `b` of the epoch, transformed.
    fn make(&self, b: usize) -> Result<Batch> {
        let start = b * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        let batch = self.dataset.get_batch(&self.order[start..end])?;
        match &self.transform {
            None => Ok(batch),
            Some(f) => {
                let seed = mix_seed(&[TRANSFORM_STREAM, self.seed, self.epoch, b as u64]);
                f(batch, &mut StdRng::seed_from_u64(seed))
            }
        }
    }
}

enum Source {
    Inline(Arc<EpochPlan>),
    Thread {
        // Options so that Drop can close the channel before joining.
        rx: Option<Receiver<Result<Batch>>>,
        handle: Option<JoinHandle<()>>,
    },
}

/// The batches of one epoch, from [`DataLoader::epoch`]. Yields
/// `Result<Batch>`; after an error it ends.
pub struct EpochIter {
    next: usize,
    end: usize,
    source: Source,
}

impl Iterator for EpochIter {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.next >= self.end {
            return None;
        }
        // Waiting for a batch (or making it inline) shows in a profile as
        // its own line rather than inside the model's first op.
        let _data = crate::profiler::scope("data");
        let item = match &mut self.source {
            Source::Inline(plan) => plan.make(self.next),
            Source::Thread { rx, handle } => match rx.as_ref().map(|rx| rx.recv()) {
                Some(Ok(batch)) => batch,
                // The worker hung up without sending: it panicked (in a
                // user transform or dataset).
                _ => {
                    let why = match handle.take().map(|h| h.join()) {
                        Some(Err(panic)) => panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "unknown panic".into()),
                        _ => "the worker stopped early".into(),
                    };
                    Err(Error::argument(
                        "DataLoader",
                        format!("background thread failed at batch {}: {why}", self.next),
                    ))
                }
            },
        };
        // After an error, end: later batches were never prepared.
        self.next = if item.is_err() {
            self.end
        } else {
            self.next + 1
        };
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // An error ends the epoch early, so only one more item is certain.
        let left = self.end - self.next;
        (left.min(1), Some(left))
    }
}

impl Drop for EpochIter {
    fn drop(&mut self) {
        if let Source::Thread { rx, handle } = &mut self.source {
            // Closing the channel first makes the worker's next (or pending)
            // send fail, so it returns after the batch it is preparing.
            drop(rx.take());
            if let Some(h) = handle.take() {
                let _ = h.join();
            }
        }
    }
}
