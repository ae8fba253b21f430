//! The MNIST IDX reader: the embedded subset read correctly (checked against
//! bytes decompressed here with flate2, independently of the reader), and
//! every kind of broken file reported as a `File` error naming the file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use micrograd_plus::data::mnist::{read_images, read_labels, Mnist};
use micrograd_plus::data::Dataset;
use micrograd_plus::Error;

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A fresh, empty folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mgp-data-mnist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut h = magic.to_be_bytes().to_vec();
    for d in dims {
        h.extend(d.to_be_bytes());
    }
    h
}

fn expect_file_error(err: Error, path: &Path, msg_part: &str) {
    match err {
        Error::File { path: p, msg } => {
            assert_eq!(p, path.display().to_string());
            assert!(msg.contains(msg_part), "message {msg:?} lacks {msg_part:?}");
        }
        other => panic!("expected a File error, got {other:?}"),
    }
}

#[test]
fn embedded_subset_counts_pixels_and_labels() {
    let dir = Mnist::repository_dir();
    let (train, test) = Mnist::load(&dir).unwrap();
    assert_eq!(train.len(), 10_000);
    assert_eq!(test.len(), 10_000);
    assert_eq!(train.inputs().shape(), &[10_000, 784]);
    assert_eq!(test.targets().shape(), &[10_000]);

    for (ds, images, labels) in [
        (
            &train,
            "train-10k-images-idx3-ubyte.gz",
            "train-10k-labels-idx1-ubyte.gz",
        ),
        (
            &test,
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ),
    ] {
        let raw_images = gunzip(&dir.join(images));
        let raw_labels = gunzip(&dir.join(labels));
        for idx in [0usize, 1, 4321, 9_999] {
            let b = ds.get_batch(&[idx]).unwrap();
            assert_eq!(b.targets.to_vec::<f32>()[0], raw_labels[8 + idx] as f32);
            let px = b.inputs.to_vec::<f32>();
            let raw = &raw_images[16 + idx * 784..16 + (idx + 1) * 784];
            for (p, &r) in px.iter().zip(raw) {
                assert_eq!(*p, r as f32 / 255.0);
            }
            // The digit has ink: not an all-zero image read by mistake.
            assert!(raw.iter().any(|&r| r > 200));
        }
    }
    // Known facts about MNIST: the training set opens 5, 0, 4, 1, 9 and the
    // test set 7, 2, 1, 0, 4.
    assert_eq!(
        train
            .get_batch(&[0, 1, 2, 3, 4])
            .unwrap()
            .targets
            .to_vec::<f32>(),
        vec![5.0, 0.0, 4.0, 1.0, 9.0]
    );
    assert_eq!(
        test.get_batch(&[0, 1, 2, 3, 4])
            .unwrap()
            .targets
            .to_vec::<f32>(),
        vec![7.0, 2.0, 1.0, 0.0, 4.0]
    );
}

#[test]
fn official_names_and_raw_files_are_found() {
    // Official names, uncompressed: the reader must detect gzip by content.
    let dir = temp_dir("official");
    let src = Mnist::repository_dir();
    for (from, to) in [
        ("train-10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte"),
        ("train-10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte"),
        ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"),
    ] {
        std::fs::write(dir.join(to), gunzip(&src.join(from))).unwrap();
    }
    // A gzip file under a name without .gz is still un-gzipped.
    std::fs::copy(
        src.join("t10k-labels-idx1-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte"),
    )
    .unwrap();
    let (train, test) = Mnist::load(&dir).unwrap();
    let (train0, test0) = Mnist::load(&src).unwrap();
    assert_eq!(
        train.inputs().to_vec::<f32>(),
        train0.inputs().to_vec::<f32>()
    );
    assert_eq!(
        test.targets().to_vec::<f32>(),
        test0.targets().to_vec::<f32>()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cnn_shape() {
    let (_, test) = Mnist::load(Mnist::repository_dir()).unwrap();
    let cnn = test.with_sample_shape(&Mnist::IMAGE_SHAPE).unwrap();
    assert_eq!(cnn.inputs().shape(), &[10_000, 1, 28, 28]);
    let b = cnn.get_batch(&[3]).unwrap();
    assert_eq!(b.inputs.shape(), &[1, 1, 28, 28]);
    assert_eq!(
        b.inputs.to_vec::<f32>(),
        test.get_batch(&[3]).unwrap().inputs.to_vec::<f32>()
    );
}

#[test]
fn truncated_image_file_names_file_and_sizes() {
    let dir = temp_dir("truncated");
    let path = dir.join("images.gz");
    // 3 images declared, 1200 bytes present. (A header declaring far more
    // than the gzip file could inflate to is refused earlier, with another
    // message: tests/hostile_files.rs.)
    let mut bytes = idx_header(2051, &[3, 28, 28]);
    bytes.extend(vec![0u8; 1200]);
    std::fs::write(&path, gzip(&bytes)).unwrap();
    let err = read_images(&path).unwrap_err();
    expect_file_error(
        err.clone(),
        &path,
        "truncated: expected 2352 bytes of image data for dims [3, 28, 28], found 1200",
    );
    assert!(err.to_string().starts_with(&path.display().to_string()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_gzip_stream_is_an_error() {
    let dir = temp_dir("cut-gzip");
    let path = dir.join("t10k-images-idx3-ubyte.gz");
    let full = std::fs::read(Mnist::repository_dir().join("t10k-images-idx3-ubyte.gz")).unwrap();
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    expect_file_error(read_images(&path).unwrap_err(), &path, "corrupt gzip data");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn short_header_wrong_magic_and_trailing_bytes() {
    let dir = temp_dir("magic");
    let short = dir.join("short");
    std::fs::write(&short, [0u8, 0, 8]).unwrap();
    expect_file_error(
        read_labels(&short).unwrap_err(),
        &short,
        "truncated: expected a 8-byte IDX header, found 3 bytes",
    );

    // A label file handed to the image reader: magic 2049, not 2051.
    let labels = dir.join("labels");
    let mut bytes = idx_header(2049, &[2]);
    bytes.extend([1, 2]);
    std::fs::write(&labels, &bytes).unwrap();
    expect_file_error(
        read_images(&labels).unwrap_err(),
        &labels,
        "not an IDX image file: magic number 2049 (0x00000801), expected 2051",
    );
    assert_eq!(read_labels(&labels).unwrap(), vec![1, 2]);

    let long = dir.join("long");
    bytes.push(3);
    std::fs::write(&long, &bytes).unwrap();
    expect_file_error(read_labels(&long).unwrap_err(), &long, "1 unexpected bytes");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_label_and_count_mismatch() {
    let dir = temp_dir("labels");
    let labels = dir.join("labels");
    let mut bytes = idx_header(2049, &[3]);
    bytes.extend([1, 12, 3]);
    std::fs::write(&labels, &bytes).unwrap();
    expect_file_error(
        read_labels(&labels).unwrap_err(),
        &labels,
        "label 12 at index 1 is not a digit 0-9",
    );

    let images = dir.join("images");
    let mut img = idx_header(2051, &[2, 28, 28]);
    img.extend(vec![7u8; 2 * 784]);
    std::fs::write(&images, &img).unwrap();
    let good_labels = dir.join("good_labels");
    let mut lb = idx_header(2049, &[3]);
    lb.extend([1, 2, 3]);
    std::fs::write(&good_labels, &lb).unwrap();
    let err = Mnist::load_pair(&images, &good_labels).unwrap_err();
    expect_file_error(
        err,
        &good_labels,
        &format!("has 3 labels but {} has 2 images", images.display()),
    );

    let small = dir.join("small");
    let mut s = idx_header(2051, &[3, 2, 2]);
    s.extend([0u8; 12]);
    std::fs::write(&small, &s).unwrap();
    expect_file_error(
        Mnist::load_pair(&small, &good_labels).unwrap_err(),
        &small,
        "header says 3 images of 2x2, expected 28x28",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_files_are_named() {
    let dir = temp_dir("missing");
    let err = Mnist::load(&dir).unwrap_err();
    expect_file_error(err, &dir, "train-images-idx3-ubyte.gz");
    let missing = dir.join("nope");
    expect_file_error(read_images(&missing).unwrap_err(), &missing, "cannot read");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_copy_compiled_into_the_library_is_the_repositorys_files() {
    let (train, test) = Mnist::load_embedded().unwrap();
    let (train_files, test_files) = Mnist::load(Mnist::repository_dir()).unwrap();
    for (embedded, files) in [(&train, &train_files), (&test, &test_files)] {
        assert_eq!(
            embedded.inputs().to_vec::<f32>(),
            files.inputs().to_vec::<f32>()
        );
        assert_eq!(
            embedded.targets().to_vec::<f32>(),
            files.targets().to_vec::<f32>()
        );
    }
}
