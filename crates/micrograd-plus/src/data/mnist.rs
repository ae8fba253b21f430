//! MNIST in LeCun's IDX format: handwritten digits, 28x28 grey pixels.
//!
//! An IDX file is a big-endian header (a magic number whose low byte is the
//! number of dims, 2051 for images and 2049 for labels, then one u32 per
//! dim) followed by the bytes. Files may be gzip-compressed; that is
//! detected from the first two bytes (`1f 8b`), not from the name.
//!
//! The repository carries a subset (`data/mnist/`): the first 10,000
//! training images and the official 10,000-image test set, also compiled
//! into the library ([`Mnist::load_embedded`]).
//!
//! ```
//! use micrograd_plus::data::mnist::Mnist;
//! use micrograd_plus::data::Dataset;
//!
//! let (train, test) = Mnist::load_embedded()?;
//! assert_eq!((train.len(), test.len()), (10_000, 10_000));
//! assert_eq!(train.inputs().shape(), &[10_000, 784]);
//! let cnn = test.with_sample_shape(&Mnist::IMAGE_SHAPE)?; // (N, 1, 28, 28)
//! assert_eq!(cnn.inputs().shape(), &[10_000, 1, 28, 28]);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::dataset::TensorDataset;
use crate::error::{Error, Result};

/// The magic number of an IDX file of unsigned bytes with 3 dims (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned bytes with 1 dim (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The most bytes one compressed byte can inflate to: DEFLATE's maximum
/// ratio is 1032:1 (a 258-byte match per 2 bits, ignoring the stream's
/// own overhead). A header that declares more data than the gzip file could
/// ever hold is refused before anything is decompressed.
pub(crate) const MAX_DEFLATE_RATIO: u64 = 1032;

/// Trailing bytes counted exactly when reporting junk after a gzip stream's
/// declared data; beyond this the count is only bounded, so that a bomb
/// appended to a valid file is not inflated just to be measured.
const TRAILING_COUNT_LIMIT: u64 = 1 << 20;

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

/// The bytes of a data file: on disk, or compiled into the binary (the
/// repository's MNIST subset, see [`super::embedded`]). Either way errors
/// name it by its path.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    File(&'a Path),
    Embedded(&'a Path, &'static [u8]),
}

impl Input<'_> {
    fn path(&self) -> &Path {
        match self {
            Input::File(path) | Input::Embedded(path, _) => path,
        }
    }
}

/// Opens `input` for reading, un-gzipping it if it starts with the gzip magic
/// `1f 8b`. Also returns the most bytes the stream can produce: the file's
/// length, or [`MAX_DEFLATE_RATIO`] times it when compressed.
pub(crate) fn open_maybe_gzip(input: Input) -> Result<(Box<dyn Read>, bool, u64)> {
    let path = input.path();
    let cannot_read = |e: std::io::Error| file_error(path, format!("cannot read: {e}"));
    let (mut source, len): (Box<dyn ReadSeek>, u64) = match input {
        Input::File(path) => {
            let file = File::open(path).map_err(cannot_read)?;
            let len = file.metadata().map_err(cannot_read)?.len();
            (Box::new(BufReader::new(file)), len)
        }
        Input::Embedded(_, bytes) => (Box::new(Cursor::new(bytes)), bytes.len() as u64),
    };
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut source, &mut magic).map_err(cannot_read)?;
    source.rewind().map_err(cannot_read)?;
    if got == 2 && magic == [0x1f, 0x8b] {
        // MultiGzDecoder: concatenated gzip members are one stream (as gzip
        // itself reads them), and junk after the last member is an error
        // instead of being ignored.
        Ok((
            Box::new(MultiGzDecoder::new(source)),
            true,
            len.saturating_mul(MAX_DEFLATE_RATIO),
        ))
    } else {
        Ok((source, false, len))
    }
}

/// A byte source that can go back to its start (after the magic is read).
trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Reads until `buf` is full or the stream ends; the number of bytes read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// An IDX file whose header has been read and checked: its dims, and the
/// stream positioned at the data.
struct IdxFile {
    path: PathBuf,
    what: &'static str,
    dims: Vec<usize>,
    /// Bytes of data the header declares (the product of the dims).
    expected: usize,
    reader: Box<dyn Read>,
    gzip: bool,
}

/// Reads and checks the header of the IDX file at `path`: the magic number,
/// the dims, and that the declared data fits what the file can hold (its
/// exact size when raw, at most [`MAX_DEFLATE_RATIO`] times its size when
/// gzipped). Nothing beyond the header is read.
fn open_idx(input: Input, magic: u32, what: &'static str) -> Result<IdxFile> {
    let path = input.path();
    let (mut reader, gzip, max_bytes) = open_maybe_gzip(input)?;
    let corrupt = |e: std::io::Error| {
        if gzip {
            file_error(path, format!("corrupt gzip data: {e}"))
        } else {
            file_error(path, format!("cannot read: {e}"))
        }
    };
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    let mut bytes = vec![0u8; header];
    let got = read_up_to(&mut reader, &mut bytes).map_err(corrupt)?;
    let truncated_header = || {
        file_error(
            path,
            format!("truncated: expected a {header}-byte IDX header, found {got} bytes"),
        )
    };
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    // The magic number first: a label file given as images should say so,
    // not that its header is short.
    if got < 4 {
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
    if got < header {
        return Err(truncated_header());
    }
    let dims: Vec<usize> = (0..ndim).map(|d| word(4 + 4 * d) as usize).collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| file_error(path, format!("impossible dims {dims:?}")))?;
    let header = header as u64;
    if gzip {
        if expected as u64 > max_bytes.saturating_sub(header) {
            return Err(file_error(
                path,
                format!(
                    "header declares {expected} bytes of {what} data for dims {dims:?}, more than a {}-byte gzip file can hold",
                    max_bytes / MAX_DEFLATE_RATIO
                ),
            ));
        }
    } else {
        // A raw file's size is known: check it against the header now, so a
        // wrong header costs nothing to refuse.
        let found = max_bytes.saturating_sub(header);
        if found < expected as u64 {
            return Err(file_error(
                path,
                format!(
                    "truncated: expected {expected} bytes of {what} data for dims {dims:?}, found {found}"
                ),
            ));
        }
        if found > expected as u64 {
            return Err(file_error(
                path,
                format!(
                    "{} unexpected bytes after the {expected} bytes of {what} data for dims {dims:?}",
                    found - expected as u64
                ),
            ));
        }
    }
    Ok(IdxFile {
        path: path.to_path_buf(),
        what,
        dims,
        expected,
        reader,
        gzip,
    })
}

impl IdxFile {
    /// The data the header declares, and nothing more: at most one byte past
    /// it is decompressed, so a gzip bomb behind a small header costs only
    /// the header's size. A gzipped file is read to its end (its CRC and
    /// length checked) only when it holds exactly the declared data.
    fn read_data(self) -> Result<Vec<u8>> {
        let IdxFile {
            path,
            what,
            dims,
            expected,
            mut reader,
            gzip,
        } = self;
        let path = path.as_path();
        let corrupt = |e: std::io::Error| {
            if gzip {
                file_error(path, format!("corrupt gzip data: {e}"))
            } else {
                file_error(path, format!("cannot read: {e}"))
            }
        };
        let mut data = Vec::new();
        data.try_reserve_exact(expected).map_err(|_| {
            file_error(
                path,
                format!("cannot allocate {expected} bytes for the {what} data of dims {dims:?}"),
            )
        })?;
        (&mut reader)
            .take(expected as u64 + 1)
            .read_to_end(&mut data)
            .map_err(corrupt)?;
        let found = data.len();
        if found < expected {
            return Err(file_error(
                path,
                format!(
                    "truncated: expected {expected} bytes of {what} data for dims {dims:?}, found {found}"
                ),
            ));
        }
        if found > expected {
            // Count the junk, but only so far: it may be a bomb.
            let more = std::io::copy(&mut reader.take(TRAILING_COUNT_LIMIT), &mut std::io::sink())
                .unwrap_or(0);
            let count = if more >= TRAILING_COUNT_LIMIT {
                format!("more than {TRAILING_COUNT_LIMIT}")
            } else {
                (more + 1).to_string()
            };
            return Err(file_error(
                path,
                format!(
                    "{count} unexpected bytes after the {expected} bytes of {what} data for dims {dims:?}"
                ),
            ));
        }
        Ok(data)
    }
}

/// Images from an IDX image file: `(count, rows, cols)` and the pixels,
/// row-major, one byte each (0 = background).
///
/// ```
/// use micrograd_plus::data::mnist::{read_images, Mnist};
/// let (dims, pixels) = read_images(Mnist::repository_dir().join("t10k-images-idx3-ubyte.gz"))?;
/// assert_eq!(dims, [10_000, 28, 28]);
/// assert_eq!(pixels.len(), 10_000 * 784);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn read_images(path: impl AsRef<Path>) -> Result<([usize; 3], Vec<u8>)> {
    let idx = open_idx(Input::File(path.as_ref()), IMAGES_MAGIC, "image")?;
    let dims = [idx.dims[0], idx.dims[1], idx.dims[2]];
    Ok((dims, idx.read_data()?))
}

/// Labels from an IDX label file, each checked to be a digit 0-9.
///
/// ```
/// use micrograd_plus::data::mnist::{read_labels, Mnist};
/// let labels = read_labels(Mnist::repository_dir().join("t10k-labels-idx1-ubyte.gz"))?;
/// assert_eq!(labels.len(), 10_000);
/// assert_eq!(labels[0], 7); // the test set opens with a 7
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    check_labels(
        path,
        open_idx(Input::File(path), LABELS_MAGIC, "label")?.read_data()?,
    )
}

/// `labels` if every one is a digit 0-9; else an error naming the first
/// that is not.
fn check_labels(path: &Path, labels: Vec<u8>) -> Result<Vec<u8>> {
    if let Some((i, l)) = labels.iter().enumerate().find(|&(_, &l)| l > 9) {
        return Err(file_error(
            path,
            format!("label {l} at index {i} is not a digit 0-9"),
        ));
    }
    Ok(labels)
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

/// A file compiled into the binary, as `Mnist::load_inputs` reads it.
fn embedded_input((name, bytes): (&'static str, &'static [u8])) -> Input<'static> {
    Input::Embedded(Path::new(name), bytes)
}

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

    /// The repository's `data/mnist` folder (the 10k-image subset) as files,
    /// where the source tree is at hand (tests, benches); a program should
    /// use [`Mnist::load_embedded`], which needs no file.
    ///
    /// ```
    /// assert!(micrograd_plus::data::mnist::Mnist::repository_dir().ends_with("data/mnist"));
    /// ```
    pub fn repository_dir() -> PathBuf {
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
        Ok((train, Mnist::load_test(dir)?))
    }

    /// The test set alone from `dir` (see [`Mnist::load`]): the training
    /// files are not read (evaluating a model needs only the test set).
    ///
    /// ```
    /// use micrograd_plus::data::mnist::Mnist;
    /// let err = Mnist::load_test("/nonexistent").unwrap_err();
    /// assert!(err.to_string().starts_with("/nonexistent: no MNIST file here"));
    /// ```
    pub fn load_test(dir: impl AsRef<Path>) -> Result<TensorDataset> {
        let dir = dir.as_ref();
        Mnist::load_pair(
            &find_file(dir, &TEST_IMAGES)?,
            &find_file(dir, &TEST_LABELS)?,
        )
    }

    /// One split from an image file and a label file.
    ///
    /// ```
    /// use micrograd_plus::data::mnist::Mnist;
    /// use micrograd_plus::data::Dataset;
    /// let dir = Mnist::repository_dir();
    /// let test = Mnist::load_pair(
    ///     dir.join("t10k-images-idx3-ubyte.gz"),
    ///     dir.join("t10k-labels-idx1-ubyte.gz"),
    /// )?;
    /// assert_eq!(test.len(), 10_000);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn load_pair(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<TensorDataset> {
        Mnist::load_inputs(Input::File(images.as_ref()), Input::File(labels.as_ref()))
    }

    /// The repository's subset (10k training images, the official 10k test
    /// set) from the copy compiled into the binary: no file is read, so it
    /// works from any directory, and from a `cargo install`ed `mgp`.
    ///
    /// ```
    /// use micrograd_plus::data::{mnist::Mnist, Dataset};
    /// let (train, test) = Mnist::load_embedded()?;
    /// assert_eq!((train.len(), test.len()), (10_000, 10_000));
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn load_embedded() -> Result<(TensorDataset, TensorDataset)> {
        use super::embedded::mnist as files;
        let train = Mnist::load_inputs(
            embedded_input(files::TRAIN_IMAGES),
            embedded_input(files::TRAIN_LABELS),
        )?;
        Ok((train, Mnist::load_embedded_test()?))
    }

    /// The embedded test set alone (see [`Mnist::load_embedded`]).
    ///
    /// ```
    /// use micrograd_plus::data::{mnist::Mnist, Dataset};
    /// assert_eq!(Mnist::load_embedded_test()?.len(), 10_000);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn load_embedded_test() -> Result<TensorDataset> {
        use super::embedded::mnist as files;
        Mnist::load_inputs(
            embedded_input(files::TEST_IMAGES),
            embedded_input(files::TEST_LABELS),
        )
    }

    /// One split from an image file and a label file, on disk or embedded.
    fn load_inputs(image_input: Input, label_input: Input) -> Result<TensorDataset> {
        let (images, labels) = (image_input.path(), label_input.path());
        // Both headers first: a wrong image size or a count mismatch is
        // refused before a byte of data is read or decompressed.
        let image_file = open_idx(image_input, IMAGES_MAGIC, "image")?;
        let [n, rows, cols] = [image_file.dims[0], image_file.dims[1], image_file.dims[2]];
        if (rows, cols) != (28, 28) {
            return Err(file_error(
                images,
                format!("header says {n} images of {rows}x{cols}, expected 28x28"),
            ));
        }
        let label_file = open_idx(label_input, LABELS_MAGIC, "label")?;
        if label_file.dims[0] != n {
            return Err(file_error(
                labels,
                format!(
                    "has {} labels but {} has {n} images",
                    label_file.dims[0],
                    images.display()
                ),
            ));
        }
        let targets = check_labels(labels, label_file.read_data()?)?;
        let pixels = image_file.read_data()?;
        let too_big = || {
            file_error(
                images,
                format!("cannot allocate {n} images as 32-bit floats"),
            )
        };
        let mut x: Vec<f32> = Vec::new();
        x.try_reserve_exact(pixels.len()).map_err(|_| too_big())?;
        x.extend(pixels.iter().map(|&p| p as f32 / 255.0));
        drop(pixels);
        let y: Vec<f32> = targets.iter().map(|&l| l as f32).collect();
        TensorDataset::from_vecs(x, &[Mnist::PIXELS], y)
    }
}
