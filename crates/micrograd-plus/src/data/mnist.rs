//! MNIST in LeCun's IDX format: handwritten digits, 28x28 grey pixels.
//!
//! An IDX file is a big-endian header (a magic number whose low byte is the
//! number of dims, 2051 for images and 2049 for labels, then one u32 per
//! dim) followed by the bytes. Files may be gzip-compressed; that is
//! detected from the first two bytes (`1f 8b`), not from the name.
//!
//! The repository carries a subset (`data/mnist/`): the first 10,000
//! training images and the official 10,000-image test set.
//!
//! ```
//! use micrograd_plus::data::mnist::Mnist;
//! use micrograd_plus::data::Dataset;
//!
//! let (train, test) = Mnist::load(Mnist::embedded_dir())?;
//! assert_eq!((train.len(), test.len()), (10_000, 10_000));
//! assert_eq!(train.inputs().shape(), &[10_000, 784]);
//! let cnn = test.with_sample_shape(&Mnist::IMAGE_SHAPE)?; // (N, 1, 28, 28)
//! assert_eq!(cnn.inputs().shape(), &[10_000, 1, 28, 28]);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::dataset::TensorDataset;
use crate::error::{Error, Result};

/// The magic number of an IDX file of unsigned bytes with 3 dims (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned bytes with 1 dim (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

/// The whole file, un-gzipped if it starts with the gzip magic `1f 8b`.
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| file_error(path, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// An IDX file's dims and data, checked to match each other.
struct Idx {
    dims: Vec<usize>,
    data: Vec<u8>,
}

fn read_idx(path: &Path, magic: u32, what: &str) -> Result<Idx> {
    let bytes = read_maybe_gzip(path)?;
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    let truncated_header = || {
        file_error(
            path,
            format!(
                "truncated: expected a {header}-byte IDX header, found {} bytes",
                bytes.len()
            ),
        )
    };
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    // The magic number first: a label file given as images should say so,
    // not that its header is short.
    if bytes.len() < 4 {
        return Err(truncated_header());
    }
    let found = word(0);
    if found != magic {
        return Err(file_error(
            path,
            format!(
                "not an IDX {what} file: magic number {found} (0x{found:08x}), expected {magic} (0x{magic:08x})"
            ),
        ));
    }
    if bytes.len() < header {
        return Err(truncated_header());
    }
    let dims: Vec<usize> = (0..ndim).map(|d| word(4 + 4 * d) as usize).collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| file_error(path, format!("impossible dims {dims:?}")))?;
    let found = bytes.len() - header;
    if found < expected {
        return Err(file_error(
            path,
            format!(
                "truncated: expected {expected} bytes of {what} data for dims {dims:?}, found {found}"
            ),
        ));
    }
    if found > expected {
        return Err(file_error(
            path,
            format!(
                "{} unexpected bytes after the {expected} bytes of {what} data for dims {dims:?}",
                found - expected
            ),
        ));
    }
    let mut data = bytes;
    data.drain(..header);
    Ok(Idx { dims, data })
}

/// Images from an IDX image file: `(count, rows, cols)` and the pixels,
/// row-major, one byte each (0 = background).
///
/// ```
/// use micrograd_plus::data::mnist::{read_images, Mnist};
/// let (dims, pixels) = read_images(Mnist::embedded_dir().join("t10k-images-idx3-ubyte.gz"))?;
/// assert_eq!(dims, [10_000, 28, 28]);
/// assert_eq!(pixels.len(), 10_000 * 784);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn read_images(path: impl AsRef<Path>) -> Result<([usize; 3], Vec<u8>)> {
    let idx = read_idx(path.as_ref(), IMAGES_MAGIC, "image")?;
    Ok(([idx.dims[0], idx.dims[1], idx.dims[2]], idx.data))
}

/// Labels from an IDX label file, each checked to be a digit 0-9.
///
/// ```
/// use micrograd_plus::data::mnist::{read_labels, Mnist};
/// let labels = read_labels(Mnist::embedded_dir().join("t10k-labels-idx1-ubyte.gz"))?;
/// assert_eq!(labels.len(), 10_000);
/// assert_eq!(labels[0], 7); // the test set opens with a 7
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let idx = read_idx(path, LABELS_MAGIC, "label")?;
    if let Some((i, l)) = idx.data.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(file_error(
            path,
            format!("label {l} at index {i} is not a digit 0-9"),
        ));
    }
    Ok(idx.data)
}

/// The MNIST data set: where to find it and how to load it.
#[derive(Debug, Clone, Copy)]
pub struct Mnist;

/// Accepted file names, official first, then the repository's subset.
const TRAIN_IMAGES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-images-idx3-ubyte",
    "train-10k-images-idx3-ubyte.gz",
    "train-10k-images-idx3-ubyte",
];
const TRAIN_LABELS: [&str; 4] = [
    "train-labels-idx1-ubyte.gz",
    "train-labels-idx1-ubyte",
    "train-10k-labels-idx1-ubyte.gz",
    "train-10k-labels-idx1-ubyte",
];
const TEST_IMAGES: [&str; 2] = ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"];
const TEST_LABELS: [&str; 2] = ["t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte"];

fn find_file(dir: &Path, names: &[&str]) -> Result<PathBuf> {
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            file_error(
                dir,
                format!("no MNIST file here: looked for {}", names.join(", ")),
            )
        })
}

impl Mnist {
    /// Pixels per image.
    pub const PIXELS: usize = 784;
    /// The per-sample shape a CNN wants: `[1, 28, 28]`.
    pub const IMAGE_SHAPE: [usize; 3] = [1, 28, 28];

    /// The repository's `data/mnist` folder (the 10k-image subset).
    ///
    /// ```
    /// assert!(micrograd_plus::data::mnist::Mnist::embedded_dir().ends_with("data/mnist"));
    /// ```
    pub fn embedded_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("data")
            .join("mnist")
    }

    /// The training and test sets found in `dir` under the official names
    /// (`train-images-idx3-ubyte[.gz]`, `t10k-...`) or the subset's
    /// (`train-10k-images-idx3-ubyte.gz`, ...): inputs `(N, 784)` f32 in
    /// `[0, 1]`, targets `(N,)` the digits as floats.
    ///
    /// Errors name the file: missing, corrupt, truncated, wrong magic
    /// number, image and label counts that disagree, a label above 9.
    ///
    /// ```
    /// use micrograd_plus::data::mnist::Mnist;
    /// let err = Mnist::load("/nonexistent").unwrap_err();
    /// assert!(err.to_string().starts_with("/nonexistent: no MNIST file here"));
    /// ```
    pub fn load(dir: impl AsRef<Path>) -> Result<(TensorDataset, TensorDataset)> {
        let dir = dir.as_ref();
        let train = Mnist::load_pair(
            &find_file(dir, &TRAIN_IMAGES)?,
            &find_file(dir, &TRAIN_LABELS)?,
        )?;
        let test = Mnist::load_pair(
            &find_file(dir, &TEST_IMAGES)?,
            &find_file(dir, &TEST_LABELS)?,
        )?;
        Ok((train, test))
    }

    /// One split from an image file and a label file.
    ///
    /// ```
    /// use micrograd_plus::data::mnist::Mnist;
    /// use micrograd_plus::data::Dataset;
    /// let dir = Mnist::embedded_dir();
    /// let test = Mnist::load_pair(
    ///     dir.join("t10k-images-idx3-ubyte.gz"),
    ///     dir.join("t10k-labels-idx1-ubyte.gz"),
    /// )?;
    /// assert_eq!(test.len(), 10_000);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn load_pair(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<TensorDataset> {
        let (images, labels) = (images.as_ref(), labels.as_ref());
        let ([n, rows, cols], pixels) = read_images(images)?;
        let targets = read_labels(labels)?;
        if targets.len() != n {
            return Err(file_error(
                labels,
                format!(
                    "has {} labels but {} has {n} images",
                    targets.len(),
                    images.display()
                ),
            ));
        }
        if rows * cols != Mnist::PIXELS {
            return Err(file_error(
                images,
                format!("images are {rows}x{cols}, expected 28x28"),
            ));
        }
        let x: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
        let y: Vec<f32> = targets.iter().map(|&l| l as f32).collect();
        TensorDataset::from_vecs(x, &[Mnist::PIXELS], y)
    }
}
