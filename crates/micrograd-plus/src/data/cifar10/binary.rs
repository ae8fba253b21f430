//! CIFAR-10's official binary format, as `cifar-10-binary.tar.gz` ships it
//! in `cifar-10-batches-bin/`: five training batches `data_batch_1.bin` ...
//! `data_batch_5.bin`, the test batch `test_batch.bin`, each 10,000 records
//! of one label byte and 3072 pixel bytes (channel-planar 32x32: 1024 red,
//! 1024 green, 1024 blue), and `batches.meta.txt`, the class names one a
//! line.
//!
//! The parsers here take bytes and return messages; the folder and archive
//! readers in [`super`] read the bytes (sizes checked first) and name the
//! file in the error.

use super::{Cifar10, IMAGE_BYTES, RECORD_BYTES};
use crate::data::images::ImageDataset;

/// The training batches, in the order their records are concatenated.
pub(crate) const TRAIN_BATCHES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The class names, one a line (the official file ends with blank lines).
pub(crate) const META_FILE: &str = "batches.meta.txt";
/// Records in an official batch file; none holds more.
const MAX_BATCH_RECORDS: usize = 10_000;
/// Largest `batches.meta.txt` read: ten short names are 61 bytes.
pub(crate) const MAX_META_BYTES: u64 = 4 << 10;

/// The number of records in a batch of `len` bytes, or why `len` cannot be
/// a batch; checked before a byte is read or allocated.
pub(crate) fn batch_records(len: u64) -> Result<usize, String> {
    if len == 0 || !len.is_multiple_of(RECORD_BYTES as u64) {
        return Err(format!(
            "truncated or not a CIFAR-10 batch: {len} bytes is not a whole number of {RECORD_BYTES}-byte records"
        ));
    }
    let records = len / RECORD_BYTES as u64;
    if records > MAX_BATCH_RECORDS as u64 {
        return Err(format!(
            "not a CIFAR-10 batch: {records} records, more than the {MAX_BATCH_RECORDS} of an official batch"
        ));
    }
    Ok(records as usize)
}

/// One batch: a label per record and the records' CHW pixels.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) labels: Vec<u8>,
    pub(crate) pixels: Vec<u8>,
}

/// Splits a batch's bytes (their length already accepted by
/// [`batch_records`]) into labels and pixels; a label of 10 or more is an
/// error naming its record.
pub(crate) fn parse_batch(bytes: &[u8]) -> Result<Batch, String> {
    let n = batch_records(bytes.len() as u64)?;
    let mut batch = Batch {
        labels: Vec::with_capacity(n),
        pixels: Vec::new(),
    };
    batch
        .pixels
        .try_reserve_exact(n * IMAGE_BYTES)
        .map_err(|_| format!("cannot allocate {n} images"))?;
    for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        if record[0] as usize >= Cifar10::CLASSES.len() {
            return Err(format!("record {i} has label {}, expected 0-9", record[0]));
        }
        batch.labels.push(record[0]);
        batch.pixels.extend_from_slice(&record[1..]);
    }
    Ok(batch)
}

/// The class names of `batches.meta.txt`: its non-blank lines, which must
/// be ten (a label byte is below 10).
pub(crate) fn parse_meta(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("not a CIFAR-10 {META_FILE}: not UTF-8 text ({e})"))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != Cifar10::CLASSES.len() {
        return Err(format!(
            "not a CIFAR-10 {META_FILE}: {} class names, expected {} (one a line)",
            names.len(),
            Cifar10::CLASSES.len()
        ));
    }
    Ok(names)
}

/// The batches of one binary layout, gathered in any order (an archive's
/// entries come in whatever order it was written).
#[derive(Debug, Default)]
pub(crate) struct Batches {
    /// `TRAIN_BATCHES`, then the test batch.
    slots: [Option<Batch>; 6],
    /// From `batches.meta.txt`, where there is one.
    classes: Option<Vec<String>>,
}

impl Batches {
    /// The test batch's slot.
    pub(crate) const TEST_SLOT: usize = 5;

    /// The slot of a batch file name (`data_batch_3.bin` is 2, the test
    /// batch 5), `None` for any other name.
    pub(crate) fn slot(name: &str) -> Option<usize> {
        TRAIN_BATCHES
            .iter()
            .chain([&Cifar10::TEST_BATCH])
            .position(|b| *b == name)
    }

    fn name(slot: usize) -> &'static str {
        TRAIN_BATCHES
            .get(slot)
            .copied()
            .unwrap_or(Cifar10::TEST_BATCH)
    }

    /// Whether no batch has been found.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// Adds the batch of `slot`; a second one of the same name is an error.
    pub(crate) fn insert(&mut self, slot: usize, batch: Batch) -> Result<(), String> {
        if self.slots[slot].replace(batch).is_some() {
            return Err(format!("{} appears twice", Batches::name(slot)));
        }
        Ok(())
    }

    /// Sets the class names (from `batches.meta.txt`); a second file is an
    /// error.
    pub(crate) fn set_classes(&mut self, classes: Vec<String>) -> Result<(), String> {
        if self.classes.replace(classes).is_some() {
            return Err(format!("{META_FILE} appears twice"));
        }
        Ok(())
    }

    /// The training set (the five training batches in order) and the test
    /// set; a missing batch is an error naming it. With `test_only` the
    /// training batches are not expected, and the training set is empty.
    pub(crate) fn into_datasets(
        self,
        test_only: bool,
    ) -> Result<(ImageDataset, ImageDataset), String> {
        let missing: Vec<&str> = (0..self.slots.len())
            .filter(|&s| self.slots[s].is_none() && !(test_only && s != Batches::TEST_SLOT))
            .map(Batches::name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "incomplete CIFAR-10 binary batches: {} missing (expected {} and {})",
                missing.join(", "),
                TRAIN_BATCHES.join(", "),
                Cifar10::TEST_BATCH
            ));
        }
        let classes = self
            .classes
            .unwrap_or_else(|| Cifar10::CLASSES.iter().map(|c| c.to_string()).collect());
        let [b1, b2, b3, b4, b5, test] = self.slots.map(Option::unwrap_or_default);
        let train_batches = [b1, b2, b3, b4, b5];
        let records: usize = train_batches.iter().map(|b| b.labels.len()).sum();
        let mut train = Batch {
            labels: Vec::with_capacity(records),
            pixels: Vec::new(),
        };
        train
            .pixels
            .try_reserve_exact(records * IMAGE_BYTES)
            .map_err(|_| format!("cannot allocate {records} training images"))?;
        for b in train_batches {
            train.labels.extend(b.labels);
            train.pixels.extend(b.pixels);
        }
        let dataset = |b: Batch| {
            let labels = b.labels.into_iter().map(u32::from).collect();
            ImageDataset::new(b.pixels, labels, Cifar10::IMAGE_SHAPE, classes.clone())
                .map_err(|e| e.to_string())
        };
        Ok((dataset(train)?, dataset(test)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_that_cannot_be_a_batch_are_refused_before_reading() {
        assert_eq!(batch_records(3 * 3073), Ok(3));
        assert!(batch_records(0).is_err());
        assert!(batch_records(3073 + 1).is_err());
        let err = batch_records(10_001 * 3073).unwrap_err();
        assert!(err.contains("10001 records"), "{err}");
    }

    #[test]
    fn meta_needs_ten_names() {
        let official = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
        assert_eq!(parse_meta(official.as_bytes()).unwrap(), Cifar10::CLASSES);
        let err = parse_meta(b"cat\ndog\n").unwrap_err();
        assert!(err.contains("2 class names, expected 10"), "{err}");
        assert!(parse_meta(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn slots_duplicates_and_missing_batches() {
        assert_eq!(Batches::slot("data_batch_3.bin"), Some(2));
        assert_eq!(Batches::slot("test_batch.bin"), Some(5));
        assert_eq!(Batches::slot("data_batch_6.bin"), None);
        let mut b = Batches::default();
        assert!(b.is_empty());
        b.insert(5, Batch::default()).unwrap();
        assert!(!b.is_empty());
        assert_eq!(
            b.insert(5, Batch::default()).unwrap_err(),
            "test_batch.bin appears twice"
        );
        let err = b.into_datasets(false).unwrap_err();
        assert!(
            err.starts_with("incomplete CIFAR-10 binary batches: data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin missing"),
            "{err}"
        );
    }
}
