//! The [`Dataset`] trait: anything that can hand out a batch of samples by
//! index, plus the in-memory [`TensorDataset`] and index-based [`Subset`]s
//! made by [`random_split`] and [`train_val_split`].
//!
//! A dataset answers whole batches rather than single samples: gathering 128
//! rows into one buffer is one copy per row, where building 128 one-row
//! tensors and stacking them would cost 128 tensor allocations and a
//! concatenation.
//!
//! ```
//! use micrograd_plus::data::{Dataset, TensorDataset};
//! use micrograd_plus::Tensor;
//!
//! let x = Tensor::arange(0.0, 6.0, 1.0).reshape(&[3, 2])?;
//! let y = Tensor::new([0.0f32, 1.0, 0.0])?;
//! let ds = TensorDataset::new(x, y)?;
//! let batch = ds.get_batch(&[2, 0])?;
//! assert_eq!(batch.inputs.to_vec::<f32>(), vec![4.0, 5.0, 0.0, 1.0]);
//! assert_eq!(batch.targets.to_vec::<f32>(), vec![0.0, 0.0]);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::error::{Error, Result};
use crate::tensor::{with_slice, Element, Tensor};

/// A batch of samples: `inputs` with the batch as the first dim, and
/// `targets`, one per sample: class indices stored as floats (shape `(N,)`,
/// the engine has no integer dtype) or regression values.
///
/// ```
/// use micrograd_plus::data::Batch;
/// use micrograd_plus::Tensor;
/// let b = Batch { inputs: Tensor::zeros(&[4, 2]), targets: Tensor::zeros(&[4]) };
/// assert_eq!(b.len(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct Batch {
    /// Inputs, shape `(N, ...)`.
    pub inputs: Tensor,
    /// Targets, shape `(N, ...)`.
    pub targets: Tensor,
}

impl Batch {
    /// Number of samples (the inputs' first dim; 0 for a 0-d tensor).
    ///
    /// ```
    /// use micrograd_plus::data::Batch;
    /// use micrograd_plus::Tensor;
    /// let b = Batch { inputs: Tensor::zeros(&[0, 2]), targets: Tensor::zeros(&[0]) };
    /// assert!(b.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.inputs.shape().first().copied().unwrap_or(0)
    }

    /// Whether the batch holds no samples.
    ///
    /// ```
    /// use micrograd_plus::data::Batch;
    /// use micrograd_plus::Tensor;
    /// let b = Batch { inputs: Tensor::zeros(&[1, 2]), targets: Tensor::zeros(&[1]) };
    /// assert!(!b.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A collection of samples that can be gathered into batches by index.
///
/// Loaders share datasets across threads as [`SharedDataset`]
/// (`Arc<dyn Dataset + Send + Sync>`).
///
/// ```
/// use micrograd_plus::data::{Batch, Dataset};
/// use micrograd_plus::{Result, Tensor};
///
/// /// Sample i is the number i, its target is i squared.
/// struct Squares(usize);
/// impl Dataset for Squares {
///     fn len(&self) -> usize { self.0 }
///     fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
///         let x: Vec<f32> = indices.iter().map(|&i| i as f32).collect();
///         let y: Vec<f32> = x.iter().map(|v| v * v).collect();
///         Ok(Batch {
///             inputs: Tensor::from_vec(x, &[indices.len(), 1])?,
///             targets: Tensor::from_vec(y, &[indices.len()])?,
///         })
///     }
/// }
/// let b = Squares(10).get_batch(&[3, 4])?;
/// assert_eq!(b.targets.to_vec::<f32>(), vec![9.0, 16.0]);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub trait Dataset {
    /// Number of samples.
    fn len(&self) -> usize;

    /// The samples at `indices`, in that order, as one batch. Errors if an
    /// index is out of range.
    fn get_batch(&self, indices: &[usize]) -> Result<Batch>;

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A dataset shared between the training thread and a loader's worker.
pub type SharedDataset = Arc<dyn Dataset + Send + Sync>;

/// Errors unless every index is below `len`.
pub(crate) fn check_indices(op: &'static str, indices: &[usize], len: usize) -> Result<()> {
    match indices.iter().find(|&&i| i >= len) {
        Some(i) => Err(Error::index(
            op,
            format!("index {i} is out of range for a dataset of {len} samples"),
        )),
        None => Ok(()),
    }
}

/// Copies the rows `indices` of a row-major tensor into a new tensor of shape
/// `(indices.len(), ...)`: one `extend_from_slice` per row.
fn gather_rows(t: &Tensor, indices: &[usize]) -> Tensor {
    let row: usize = t.shape()[1..].iter().product();
    let mut shape = t.shape().to_vec();
    shape[0] = indices.len();
    let storage = with_slice!(&*t.storage(), |v: T| {
        let mut out: Vec<T> = Vec::with_capacity(indices.len() * row);
        for &i in indices {
            out.extend_from_slice(&v[i * row..(i + 1) * row]);
        }
        T::into_storage(out)
    });
    Tensor::from_storage(storage, shape)
}

/// Samples held in two tensors whose first dims agree: PyTorch's
/// `TensorDataset` for an `(inputs, targets)` pair.
///
/// ```
/// use micrograd_plus::data::{Dataset, TensorDataset};
/// use micrograd_plus::Tensor;
/// let ds = TensorDataset::new(Tensor::zeros(&[5, 3]), Tensor::zeros(&[5]))?;
/// assert_eq!(ds.len(), 5);
/// let err = TensorDataset::new(Tensor::zeros(&[5, 3]), Tensor::zeros(&[4])).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "TensorDataset: inputs have 5 samples (shape [5, 3]) but targets have 4 (shape [4])"
/// );
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TensorDataset {
    inputs: Tensor,
    targets: Tensor,
}

impl TensorDataset {
    /// Pairs `inputs` `(N, ...)` with `targets` `(N, ...)`; errors when
    /// either is 0-d or the first dims differ. The tensors are detached: a
    /// dataset holds data, not graph.
    ///
    /// ```
    /// use micrograd_plus::data::TensorDataset;
    /// use micrograd_plus::Tensor;
    /// assert!(TensorDataset::new(Tensor::scalar(1.0f32), Tensor::zeros(&[1])).is_err());
    /// ```
    pub fn new(inputs: Tensor, targets: Tensor) -> Result<TensorDataset> {
        if inputs.ndim() == 0 || targets.ndim() == 0 {
            return Err(Error::shape(
                "TensorDataset",
                format!(
                    "inputs and targets need a sample dim, got shapes {:?} and {:?}",
                    inputs.shape(),
                    targets.shape()
                ),
            ));
        }
        let (n, m) = (inputs.shape()[0], targets.shape()[0]);
        if n != m {
            return Err(Error::shape(
                "TensorDataset",
                format!(
                    "inputs have {n} samples (shape {:?}) but targets have {m} (shape {:?})",
                    inputs.shape(),
                    targets.shape()
                ),
            ));
        }
        let detach = |t: Tensor| if t.is_leaf() { t } else { t.detach() };
        Ok(TensorDataset {
            inputs: detach(inputs),
            targets: detach(targets),
        })
    }

    /// A dataset from flat row-major buffers: `inputs` holds `N` samples of
    /// `sample_shape`, `targets` one value per sample (shape `(N,)`).
    ///
    /// ```
    /// use micrograd_plus::data::{Dataset, TensorDataset};
    /// let ds = TensorDataset::from_vecs(vec![1.0f32, 2.0, 3.0, 4.0], &[2], vec![0.0f32, 1.0])?;
    /// assert_eq!(ds.inputs().shape(), &[2, 2]);
    /// assert!(TensorDataset::from_vecs(vec![1.0f32; 3], &[2], vec![0.0f32]).is_err());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn from_vecs<T: Element>(
        inputs: Vec<T>,
        sample_shape: &[usize],
        targets: Vec<T>,
    ) -> Result<TensorDataset> {
        let mut shape = vec![targets.len()];
        shape.extend_from_slice(sample_shape);
        let n = targets.len();
        TensorDataset::new(
            Tensor::from_vec(inputs, &shape)?,
            Tensor::from_vec(targets, &[n])?,
        )
    }

    /// All inputs, `(N, ...)`.
    ///
    /// ```
    /// use micrograd_plus::data::TensorDataset;
    /// use micrograd_plus::Tensor;
    /// let ds = TensorDataset::new(Tensor::zeros(&[5, 3]), Tensor::zeros(&[5]))?;
    /// assert_eq!(ds.inputs().shape(), &[5, 3]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn inputs(&self) -> &Tensor {
        &self.inputs
    }

    /// All targets, `(N, ...)`.
    ///
    /// ```
    /// use micrograd_plus::data::TensorDataset;
    /// use micrograd_plus::Tensor;
    /// let ds = TensorDataset::new(Tensor::zeros(&[5, 3]), Tensor::zeros(&[5]))?;
    /// assert_eq!(ds.targets().shape(), &[5]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn targets(&self) -> &Tensor {
        &self.targets
    }

    /// The same samples with each input viewed as `sample_shape` (for
    /// example MNIST's flat 784 pixels as `[1, 28, 28]` for a CNN).
    ///
    /// ```
    /// use micrograd_plus::data::TensorDataset;
    /// use micrograd_plus::Tensor;
    /// let ds = TensorDataset::new(Tensor::zeros(&[2, 784]), Tensor::zeros(&[2]))?;
    /// assert_eq!(ds.with_sample_shape(&[1, 28, 28])?.inputs().shape(), &[2, 1, 28, 28]);
    /// assert!(ds.with_sample_shape(&[1, 28, 27]).is_err());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn with_sample_shape(&self, sample_shape: &[usize]) -> Result<TensorDataset> {
        let mut shape = vec![self.inputs.shape()[0] as isize];
        shape.extend(sample_shape.iter().map(|&d| d as isize));
        let inputs = self.inputs.reshape(&shape)?.detach();
        TensorDataset::new(inputs, self.targets.clone())
    }

    /// The same targets with new inputs (for example normalised ones).
    ///
    /// ```
    /// use micrograd_plus::data::TensorDataset;
    /// use micrograd_plus::Tensor;
    /// let ds = TensorDataset::new(Tensor::zeros(&[2, 3]), Tensor::zeros(&[2]))?;
    /// assert_eq!(ds.with_inputs(Tensor::ones(&[2, 4]))?.inputs().shape(), &[2, 4]);
    /// assert!(ds.with_inputs(Tensor::ones(&[3, 4])).is_err());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn with_inputs(&self, inputs: Tensor) -> Result<TensorDataset> {
        TensorDataset::new(inputs, self.targets.clone())
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        check_indices("TensorDataset::get_batch", indices, self.len())?;
        Ok(Batch {
            inputs: gather_rows(&self.inputs, indices),
            targets: gather_rows(&self.targets, indices),
        })
    }
}

/// The samples of another dataset at a list of indices (PyTorch's `Subset`).
///
/// ```
/// use std::sync::Arc;
/// use micrograd_plus::data::{Dataset, Subset, TensorDataset};
/// use micrograd_plus::Tensor;
/// let ds = TensorDataset::new(Tensor::arange(0.0, 5.0, 1.0), Tensor::zeros(&[5]))?;
/// let sub = Subset::new(Arc::new(ds), vec![4, 1])?;
/// assert_eq!(sub.get_batch(&[0, 1])?.inputs.to_vec::<f32>(), vec![4.0, 1.0]);
/// assert!(sub.get_batch(&[2]).is_err());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
#[derive(Clone)]
pub struct Subset {
    dataset: SharedDataset,
    indices: Vec<usize>,
}

impl std::fmt::Debug for Subset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subset")
            .field("of", &self.dataset.len())
            .field("indices", &self.indices.len())
            .finish()
    }
}

impl Subset {
    /// The samples `indices` of `dataset`; errors if one is out of range.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{Subset, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[3, 1]), Tensor::zeros(&[3]))?);
    /// assert!(Subset::new(ds, vec![3]).is_err());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn new(dataset: SharedDataset, indices: Vec<usize>) -> Result<Subset> {
        check_indices("Subset", &indices, dataset.len())?;
        Ok(Subset { dataset, indices })
    }

    /// The indices into the underlying dataset.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::{Subset, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[3, 1]), Tensor::zeros(&[3]))?);
    /// assert_eq!(Subset::new(ds, vec![2, 0])?.indices(), &[2, 0]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        check_indices("Subset::get_batch", indices, self.indices.len())?;
        let mapped: Vec<usize> = indices.iter().map(|&i| self.indices[i]).collect();
        self.dataset.get_batch(&mapped)
    }
}

/// Splits `dataset` into non-overlapping random subsets of the given
/// `lengths` (which must add up to its size); the same `seed` gives the same
/// split (PyTorch's `random_split` with a seeded generator).
///
/// ```
/// use std::sync::Arc;
/// use micrograd_plus::data::{random_split, Dataset, TensorDataset};
/// use micrograd_plus::Tensor;
/// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[10, 1]), Tensor::zeros(&[10]))?);
/// let parts = random_split(ds.clone(), &[7, 3], 0)?;
/// assert_eq!((parts[0].len(), parts[1].len()), (7, 3));
/// assert!(random_split(ds, &[7, 4], 0).is_err());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn random_split(dataset: SharedDataset, lengths: &[usize], seed: u64) -> Result<Vec<Subset>> {
    let n = dataset.len();
    let total: usize = lengths.iter().sum();
    if total != n {
        return Err(Error::argument(
            "random_split",
            format!("lengths {lengths:?} add up to {total}, but the dataset has {n} samples"),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut start = 0;
    Ok(lengths
        .iter()
        .map(|&len| {
            let part = order[start..start + len].to_vec();
            start += len;
            Subset {
                dataset: dataset.clone(),
                indices: part,
            }
        })
        .collect())
}

/// Splits `dataset` into a training and a validation subset, the latter
/// holding `round(val_fraction * len)` random samples; seeded.
///
/// ```
/// use std::sync::Arc;
/// use micrograd_plus::data::{train_val_split, Dataset, TensorDataset};
/// use micrograd_plus::Tensor;
/// let ds = Arc::new(TensorDataset::new(Tensor::zeros(&[10, 1]), Tensor::zeros(&[10]))?);
/// let (train, val) = train_val_split(ds.clone(), 0.2, 42)?;
/// assert_eq!((train.len(), val.len()), (8, 2));
/// assert!(train_val_split(ds, 1.5, 42).is_err());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn train_val_split(
    dataset: SharedDataset,
    val_fraction: f64,
    seed: u64,
) -> Result<(Subset, Subset)> {
    if !(0.0..=1.0).contains(&val_fraction) {
        return Err(Error::argument(
            "train_val_split",
            format!("val_fraction must be in [0, 1], got {val_fraction}"),
        ));
    }
    let n = dataset.len();
    let n_val = (val_fraction * n as f64).round() as usize;
    let mut parts = random_split(dataset, &[n - n_val, n_val], seed)?.into_iter();
    match (parts.next(), parts.next()) {
        (Some(train), Some(val)) => Ok((train, val)),
        _ => unreachable!("random_split returns one subset per length"),
    }
}
