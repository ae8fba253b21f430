//! The repository's small data sets, compiled into the binary so that the
//! default runs need no file: `mgp train mlp-mnist` works from any
//! directory and from a `cargo install`ed binary. (4.3 MB in all; the
//! linker drops whatever a program does not use.) CIFAR-10 is too large and
//! is always read from disk.

/// The MNIST subset of `data/mnist`: the first 10,000 official training
/// images and the official 10,000 test images, gzipped IDX files as
/// published. Each is `(name used in messages, bytes)`.
pub mod mnist {
    /// Training images, `(10000, 28, 28)`.
    pub const TRAIN_IMAGES: (&str, &[u8]) = (
        "<embedded>/train-10k-images-idx3-ubyte.gz",
        include_bytes!("../../../../data/mnist/train-10k-images-idx3-ubyte.gz"),
    );
    /// Training labels.
    pub const TRAIN_LABELS: (&str, &[u8]) = (
        "<embedded>/train-10k-labels-idx1-ubyte.gz",
        include_bytes!("../../../../data/mnist/train-10k-labels-idx1-ubyte.gz"),
    );
    /// Test images, `(10000, 28, 28)`.
    pub const TEST_IMAGES: (&str, &[u8]) = (
        "<embedded>/t10k-images-idx3-ubyte.gz",
        include_bytes!("../../../../data/mnist/t10k-images-idx3-ubyte.gz"),
    );
    /// Test labels.
    pub const TEST_LABELS: (&str, &[u8]) = (
        "<embedded>/t10k-labels-idx1-ubyte.gz",
        include_bytes!("../../../../data/mnist/t10k-labels-idx1-ubyte.gz"),
    );
}

/// Tiny Shakespeare (`data/tinyshakespeare/input.txt`, 1.1 MB), the GPT
/// milestone's corpus.
///
/// ```
/// assert!(micrograd_plus::data::embedded::TINY_SHAKESPEARE.starts_with("First Citizen:"));
/// ```
pub const TINY_SHAKESPEARE: &str = include_str!("../../../../data/tinyshakespeare/input.txt");

/// TinyTalks v1 (`data/tinytalks/tinytalks_v1.txt`), the small dialogue corpus.
///
/// ```
/// assert!(!micrograd_plus::data::embedded::TINY_TALKS.is_empty());
/// ```
pub const TINY_TALKS: &str = include_str!("../../../../data/tinytalks/tinytalks_v1.txt");
