//! CIFAR-10: 60,000 colour images of 32x32 pixels in 10 classes, read from
//! any of the three forms it comes in:
//!
//! - the official binary batches (`data_batch_1.bin` ... `data_batch_5.bin`,
//!   `test_batch.bin`, and `batches.meta.txt` for the class names): records
//!   of one label byte and 3072 pixel bytes, CHW (1024 red, 1024 green,
//!   1024 blue) (`cifar10/binary.rs`); as the official `cifar-10-binary.tar.gz` or
//!   its extracted `cifar-10-batches-bin/` folder, unchanged;
//! - image folders `train/<class>/*.jpg|png` and `test/<class>/...`;
//! - a `.tar.gz` (or `.tar`) of those folders, streamed and decoded in
//!   memory on all cores, so there is no extraction step.
//!
//! Images are kept as bytes ([`ImageDataset`]); batches come out as f32
//! `(B, 3, 32, 32)` in `[0, 1]`.
//!
//! ```no_run
//! use micrograd_plus::data::cifar10::Cifar10;
//! use micrograd_plus::data::Dataset;
//! let (train, test) = Cifar10::load("cifar-10-batches-bin")?;
//! assert_eq!((train.len(), test.len()), (50_000, 10_000));
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::path::Path;

use super::images::{decode_all, is_image_name, Encoded, ImageDataset, ImageFolder};
use super::mnist::{open_maybe_gzip, Input};
use super::tar;
use crate::error::{Error, Result};

pub(crate) mod binary;
use binary::{Batch, Batches};

/// Bytes per image: 3 channels of 32x32.
const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Bytes per record of the binary format: the label, then the image.
const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Largest image entry read from an archive: a 32x32 JPEG or PNG is a few
/// kilobytes, so this leaves room for metadata while an entry header that
/// claims more is refused before anything is allocated.
const MAX_ARCHIVE_IMAGE_BYTES: u64 = 1 << 20;
/// Most image bytes read from one archive (CIFAR-10's 60,000 JPEGs are
/// about 60 MB).
const MAX_ARCHIVE_TOTAL_BYTES: u64 = 4 << 30;
/// Most bytes after the end-of-archive blocks (tar pads its output to a
/// record of up to this size; anything beyond is not padding).
const MAX_ARCHIVE_PADDING: u64 = 1 << 20;

/// The official binary download's file name.
const OFFICIAL_ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// What [`Cifar10::load`] reads, for the error that finds none of it.
const EXPECTED_LAYOUTS: &str = "expected the official cifar-10-binary.tar.gz (or a .tar/.tar.gz of image folders), a folder with data_batch_1.bin ... data_batch_5.bin and test_batch.bin (directly or in cifar-10-batches-bin/), or train/<class>/ and test/<class>/ image folders";
/// Added when the data found is CIFAR-10's Python (pickle) version.
const PICKLE_HINT: &str = " (this looks like the Python version, cifar-10-batches-py: its pickled batches are not read; download the binary version, cifar-10-binary.tar.gz)";

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File {
        path: path.display().to_string(),
        msg: msg.into(),
    }
}

/// The labels and CHW pixels of one binary batch file; errors (naming the
/// file) if its size is not a whole number of 3073-byte records or a label
/// is not below 10.
///
/// ```
/// use micrograd_plus::data::cifar10::read_batch_file;
/// let err = read_batch_file("/nonexistent/data_batch_1.bin").unwrap_err();
/// assert!(err.to_string().starts_with("/nonexistent/data_batch_1.bin: cannot read"));
/// ```
pub fn read_batch_file(path: impl AsRef<Path>) -> Result<(Vec<u8>, Vec<u8>)> {
    let batch = read_batch(path.as_ref())?;
    Ok((batch.labels, batch.pixels))
}

/// [`read_batch_file`]'s batch.
fn read_batch(path: &Path) -> Result<Batch> {
    let bytes = read_bounded(path, |len| binary::batch_records(len).map(|_| ()))?;
    binary::parse_batch(&bytes).map_err(|msg| file_error(path, msg))
}

/// The bytes of `path`, its size first checked by `check` from the file
/// system (so a file that cannot be what is expected is refused before it
/// is read); errors name the file.
fn read_bounded(
    path: &Path,
    check: impl FnOnce(u64) -> std::result::Result<(), String>,
) -> Result<Vec<u8>> {
    let cannot_read = |e: std::io::Error| file_error(path, format!("cannot read: {e}"));
    let len = std::fs::metadata(path).map_err(cannot_read)?.len();
    check(len).map_err(|msg| file_error(path, msg))?;
    let bytes = std::fs::read(path).map_err(cannot_read)?;
    if bytes.len() as u64 != len {
        return Err(file_error(
            path,
            format!(
                "changed while being read: {len} bytes, then {}",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// The `batches.meta.txt` beside the binary batches in `dir`, if any.
fn read_meta(dir: &Path) -> Result<Option<Vec<String>>> {
    let path = dir.join(binary::META_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = read_bounded(&path, |len| {
        if len > binary::MAX_META_BYTES {
            return Err(format!(
                "not a CIFAR-10 {}: {len} bytes, more than the {}-byte limit",
                binary::META_FILE,
                binary::MAX_META_BYTES
            ));
        }
        Ok(())
    })?;
    binary::parse_meta(&bytes)
        .map(Some)
        .map_err(|msg| file_error(&path, msg))
}

/// The `size` bytes of an archive entry (`size` already checked against
/// the entry's format), read into memory.
fn read_entry(
    data: &mut dyn std::io::Read,
    size: u64,
    what: &str,
) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size as usize)
        .map_err(|_| format!("{what}: cannot allocate {size} bytes"))?;
    data.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if bytes.len() as u64 != size {
        return Err(format!(
            "truncated in {what}: {} of its {size} bytes",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// The CIFAR-10 data set: its classes and its readers.
#[derive(Debug, Clone, Copy)]
pub struct Cifar10;

impl Cifar10 {
    /// The class names, indexed by label (also their alphabetical order, so
    /// image folders sorted by name get the same labels).
    pub const CLASSES: [&'static str; 10] = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    /// One image's shape `[C, H, W]`.
    pub const IMAGE_SHAPE: [usize; 3] = [3, 32, 32];
    /// The test split's file in the binary format.
    pub const TEST_BATCH: &'static str = "test_batch.bin";

    fn classes() -> Vec<String> {
        Cifar10::CLASSES.iter().map(|c| c.to_string()).collect()
    }

    /// Training and test sets from `path`, whatever form it has: a
    /// `.tar.gz`/`.tar` archive file, a folder with the binary batches
    /// (directly or in `cifar-10-batches-bin/`), a folder with `train/`
    /// and `test/` image folders, or a folder holding the official
    /// `cifar-10-binary.tar.gz`.
    ///
    /// ```
    /// use micrograd_plus::data::cifar10::Cifar10;
    /// let err = Cifar10::load("/nonexistent").unwrap_err();
    /// assert!(err.to_string().starts_with("/nonexistent: no CIFAR-10 data here"));
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<(ImageDataset, ImageDataset)> {
        Cifar10::load_splits(path.as_ref(), false)
    }

    /// The test set alone from `path`, in any form [`Cifar10::load`]
    /// reads: the training images are skipped, neither read nor decoded
    /// (evaluating a model needs only the test set).
    ///
    /// ```
    /// use micrograd_plus::data::cifar10::Cifar10;
    /// let err = Cifar10::load_test("/nonexistent").unwrap_err();
    /// assert!(err.to_string().starts_with("/nonexistent: no CIFAR-10 data here"));
    /// ```
    pub fn load_test(path: impl AsRef<Path>) -> Result<ImageDataset> {
        Ok(Cifar10::load_splits(path.as_ref(), true)?.1)
    }

    /// An empty training set, in place of the one `test_only` skips.
    fn no_images() -> Result<ImageDataset> {
        ImageDataset::new(
            Vec::new(),
            Vec::new(),
            Cifar10::IMAGE_SHAPE,
            Cifar10::classes(),
        )
    }

    /// [`Cifar10::load`], or with `test_only` the test set and an empty
    /// training set.
    fn load_splits(path: &Path, test_only: bool) -> Result<(ImageDataset, ImageDataset)> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_file() {
            if Batches::slot(name).is_some() {
                return Err(file_error(
                    path,
                    "one CIFAR-10 batch file: pass the folder that holds all six (data_batch_1.bin ... data_batch_5.bin, test_batch.bin) or the cifar-10-binary.tar.gz archive",
                ));
            }
            return Cifar10::archive(path, test_only);
        }
        for dir in [path.to_path_buf(), path.join("cifar-10-batches-bin")] {
            let any_batch = binary::TRAIN_BATCHES
                .iter()
                .chain([&Cifar10::TEST_BATCH, &binary::META_FILE])
                .any(|f| dir.join(f).is_file());
            if any_batch {
                return Cifar10::binary(&dir, test_only);
            }
        }
        if path.join("train").is_dir() && path.join("test").is_dir() {
            return Cifar10::folders(path, test_only);
        }
        // The folder the archive was downloaded to.
        let archive = path.join(OFFICIAL_ARCHIVE);
        if archive.is_file() {
            return Cifar10::archive(&archive, test_only);
        }
        // The Python version's batches are pickles, which are not read here.
        let pickles = path.join("cifar-10-batches-py").is_dir()
            || path.join("data_batch_1").is_file()
            || name == "cifar-10-batches-py";
        Err(file_error(
            path,
            format!(
                "no CIFAR-10 data here: {EXPECTED_LAYOUTS}{}",
                if pickles { PICKLE_HINT } else { "" }
            ),
        ))
    }

    /// The official binary format in `dir`: `data_batch_1.bin` ...
    /// `data_batch_5.bin` (all five, in order), `test_batch.bin`, and the
    /// class names from `batches.meta.txt` where it is present (else
    /// [`Cifar10::CLASSES`]). Each file's size is checked before it is
    /// read; errors name the file.
    pub fn load_binary(dir: impl AsRef<Path>) -> Result<(ImageDataset, ImageDataset)> {
        Cifar10::binary(dir.as_ref(), false)
    }

    /// [`Cifar10::load_binary`]; with `test_only`, `test_batch.bin` alone.
    fn binary(dir: &Path, test_only: bool) -> Result<(ImageDataset, ImageDataset)> {
        let mut batches = Batches::default();
        let train: &[&str] = if test_only {
            &[]
        } else {
            &binary::TRAIN_BATCHES
        };
        for name in train.iter().chain([&Cifar10::TEST_BATCH]) {
            let slot = Batches::slot(name).unwrap_or_default();
            let batch = read_batch(&dir.join(name))?;
            batches
                .insert(slot, batch)
                .map_err(|msg| file_error(dir, msg))?;
        }
        if let Some(classes) = read_meta(dir)? {
            batches
                .set_classes(classes)
                .map_err(|msg| file_error(dir, msg))?;
        }
        batches
            .into_datasets(test_only)
            .map_err(|msg| file_error(dir, msg))
    }

    /// Image folders `dir/train/<class>/*` and `dir/test/<class>/*` of
    /// 32x32 images; both splits must have the same classes.
    pub fn load_folders(dir: impl AsRef<Path>) -> Result<(ImageDataset, ImageDataset)> {
        Cifar10::folders(dir.as_ref(), false)
    }

    /// [`Cifar10::load_folders`]; with `test_only`, `test/` alone.
    fn folders(dir: &Path, test_only: bool) -> Result<(ImageDataset, ImageDataset)> {
        let shape = Some(Cifar10::IMAGE_SHAPE);
        let test = ImageFolder::load_expecting(&dir.join("test"), shape)?;
        if test_only {
            return Ok((Cifar10::no_images()?, test));
        }
        let train = ImageFolder::load_expecting(&dir.join("train"), shape)?;
        if train.classes() != test.classes() {
            return Err(file_error(
                dir,
                format!(
                    "train classes {:?} differ from test classes {:?}",
                    train.classes(),
                    test.classes()
                ),
            ));
        }
        Ok((train, test))
    }

    /// A tar archive (gzip-compressed or not, detected from its first
    /// bytes) of either layout: the official binary batches (the
    /// `cifar-10-binary.tar.gz` as published: `data_batch_1.bin` ...
    /// `test_batch.bin` and `batches.meta.txt` in `cifar-10-batches-bin/`),
    /// or `train/<class>/<image>` and `test/<class>/<image>` entries,
    /// possibly under a common top folder. Entries are streamed into memory
    /// (each size checked against its format before anything is allocated)
    /// and images decoded on all cores; other entries are ignored. Within a
    /// split of image folders, classes are sorted by name and images by file
    /// name, so the result does not depend on the order of the archive.
    pub fn load_archive(path: impl AsRef<Path>) -> Result<(ImageDataset, ImageDataset)> {
        Cifar10::archive(path.as_ref(), false)
    }

    /// [`Cifar10::load_archive`]; with `test_only`, the training entries
    /// are skipped unread.
    fn archive(path: &Path, test_only: bool) -> Result<(ImageDataset, ImageDataset)> {
        let (reader, _, max_bytes) = open_maybe_gzip(Input::File(path))?;
        let mut batches = Batches::default();
        // (split, class, file name, bytes)
        let mut found: Vec<(usize, String, String, Vec<u8>)> = Vec::new();
        let mut total: u64 = 0;
        let mut pickles = false;
        let walked = tar::for_each_file(reader, max_bytes, MAX_ARCHIVE_PADDING, |entry| {
            // Path components as the file system would see them, without
            // empty, `.` and `..` parts.
            let parts: Vec<&str> = entry
                .path
                .split('/')
                .filter(|p| !p.is_empty() && *p != "." && *p != "..")
                .collect();
            let what = format!("entry {}", entry.path);
            let file_name = parts.last().copied().unwrap_or("");
            if let Some(slot) = Batches::slot(file_name) {
                if test_only && slot != Batches::TEST_SLOT {
                    return Ok(());
                }
                binary::batch_records(entry.size).map_err(|msg| format!("{what}: {msg}"))?;
                let bytes = read_entry(entry.data, entry.size, &what)?;
                let batch = binary::parse_batch(&bytes).map_err(|msg| format!("{what}: {msg}"))?;
                return batches.insert(slot, batch);
            }
            if file_name == binary::META_FILE {
                if entry.size > binary::MAX_META_BYTES {
                    return Err(format!(
                        "{what}: header says {} bytes, more than the {}-byte limit for {}",
                        entry.size,
                        binary::MAX_META_BYTES,
                        binary::META_FILE
                    ));
                }
                let bytes = read_entry(entry.data, entry.size, &what)?;
                let classes = binary::parse_meta(&bytes).map_err(|msg| format!("{what}: {msg}"))?;
                return batches.set_classes(classes);
            }
            pickles |= parts.contains(&"cifar-10-batches-py");
            let [.., split, class, name] = parts.as_slice() else {
                return Ok(());
            };
            let split = match *split {
                "train" => 0,
                "test" => 1,
                _ => return Ok(()),
            };
            if test_only && split == 0 {
                return Ok(());
            }
            if !is_image_name(name) {
                return Ok(());
            }
            if entry.size > MAX_ARCHIVE_IMAGE_BYTES {
                return Err(format!(
                    "{what}: header says {} bytes, more than the {MAX_ARCHIVE_IMAGE_BYTES}-byte limit for an image",
                    entry.size
                ));
            }
            total += entry.size;
            if total > MAX_ARCHIVE_TOTAL_BYTES {
                return Err(format!(
                    "more than {MAX_ARCHIVE_TOTAL_BYTES} bytes of images in the archive"
                ));
            }
            let bytes = read_entry(entry.data, entry.size, &what)?;
            found.push((split, class.to_string(), name.to_string(), bytes));
            Ok(())
        });
        walked.map_err(|msg| {
            // Refused at its first header: not a tar archive at all, so
            // say what the file could have been.
            let first_header = msg.contains("at byte 0") && !msg.starts_with("entry ");
            if first_header {
                file_error(
                    path,
                    format!("not a tar archive ({msg}): {EXPECTED_LAYOUTS}"),
                )
            } else {
                file_error(path, msg)
            }
        })?;
        if !batches.is_empty() {
            return batches
                .into_datasets(test_only)
                .map_err(|msg| file_error(path, msg));
        }
        if found.is_empty() {
            return Err(file_error(
                path,
                format!(
                    "no CIFAR-10 data in the archive: {EXPECTED_LAYOUTS}{}",
                    if pickles { PICKLE_HINT } else { "" }
                ),
            ));
        }
        found.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
        const SPLITS: [&str; 2] = ["train", "test"];
        // Sorted by class within a split: a new class name is the next label.
        let mut splits: [(Vec<Encoded>, Vec<String>); 2] = Default::default();
        for (split, class, name, bytes) in found {
            let (items, classes) = &mut splits[split];
            if classes.last() != Some(&class) {
                classes.push(class.clone());
            }
            items.push(Encoded {
                name: format!("{}:{}/{class}/{name}", path.display(), SPLITS[split]),
                label: (classes.len() - 1) as u32,
                bytes,
            });
        }
        let [(train_items, train_classes), (test_items, test_classes)] = splits;
        for (split, classes) in [&train_classes, &test_classes].into_iter().enumerate() {
            if classes.is_empty() && !(test_only && split == 0) {
                let s = SPLITS[split];
                return Err(file_error(
                    path,
                    format!("no {s} images in the archive (expected {s}/<class>/<image> entries)"),
                ));
            }
        }
        if !test_only && train_classes != test_classes {
            return Err(file_error(
                path,
                format!(
                    "train classes {train_classes:?} differ from test classes {test_classes:?}"
                ),
            ));
        }
        // CIFAR-10 itself has the same number of images in every class
        // (5,000 for training, 1,000 for test): with its class names, an
        // unequal count means images went missing (an archive cut short and
        // re-terminated, a partial extraction re-packed).
        if test_classes == Cifar10::classes() {
            for (split, items) in [&train_items, &test_items].into_iter().enumerate() {
                let mut counts = [0usize; 10];
                for it in items {
                    counts[it.label as usize] += 1;
                }
                if let Some(c) = (1..10).find(|&c| counts[c] != counts[0]) {
                    let s = SPLITS[split];
                    return Err(file_error(
                        path,
                        format!(
                            "incomplete CIFAR-10 archive: {s}/{} has {} images but {s}/{} has {}",
                            Cifar10::CLASSES[c],
                            counts[c],
                            Cifar10::CLASSES[0],
                            counts[0]
                        ),
                    ));
                }
            }
        }
        let shape = Some(Cifar10::IMAGE_SHAPE);
        let train = if test_only {
            Cifar10::no_images()?
        } else {
            decode_all(train_items, train_classes, shape)?
        };
        let test = decode_all(test_items, test_classes, shape)?;
        Ok((train, test))
    }
}
