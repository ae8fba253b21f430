//! Datasets, readers and the loader.
//!
//! | module | what |
//! |---|---|
//! | [`dataset`] | the [`Dataset`] trait, [`TensorDataset`], subsets and splits |
//! | [`loader`] | [`DataLoader`]: seeded batches prepared on a background thread |
//! | [`transforms`] | per-batch image transforms: normalise, random crop, flip |
//! | [`images`] | byte-backed [`ImageDataset`](images::ImageDataset), image folders |
//! | [`mnist`] | the MNIST IDX reader and the embedded 10k subset |
//! | [`cifar10`] | CIFAR-10 from binary batches, image folders or a tar.gz |
//! | [`synthetic`] | spirals, XOR, linear regression, moons as datasets |
//! | [`text`] | [`CharTokenizer`](text::CharTokenizer), text files |
//! | [`moons`] | scikit-learn's two moons |
pub mod cifar10;
pub mod dataset;
pub mod embedded;
pub mod images;
pub mod loader;
pub mod mnist;
pub mod moons;
pub mod synthetic;
mod tar;
pub mod text;
pub mod transforms;

pub use dataset::{
    random_split, train_val_split, Batch, Dataset, SharedDataset, Subset, TensorDataset,
};
pub use loader::{BatchTransform, DataLoader, EpochIter};
