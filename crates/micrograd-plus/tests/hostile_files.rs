//! Hostile and corrupt input files (issue 12): declared sizes are checked
//! against what the file and the format allow before anything is allocated
//! or decompressed, incomplete files are errors, and every error is a
//! `Error::File` naming the file and the field.

#[path = "hostile/fixtures.rs"]
mod fixtures;

use std::path::Path;
use std::time::{Duration, Instant};

use fixtures::*;
use micrograd_plus::data::cifar10::Cifar10;
use micrograd_plus::data::images::ImageFolder;
use micrograd_plus::data::mnist::{read_images, Mnist};
use micrograd_plus::data::Dataset;
use micrograd_plus::models::{GPTConfig, GPT};
use micrograd_plus::{io, Error};

/// The message of a `File` error about `path`.
fn file_msg(err: Error, path: &Path) -> String {
    match err {
        Error::File { path: p, msg } => {
            assert_eq!(
                p,
                path.display().to_string(),
                "error names another file: {msg}"
            );
            msg
        }
        other => panic!(
            "expected a File error for {}, got {other:?}",
            path.display()
        ),
    }
}

/// Anything here is a header check: far below the seconds the old readers
/// spent inflating or decoding before refusing.
const QUICK: Duration = Duration::from_secs(3);

#[test]
fn tar_gz_entry_claiming_2_pow_62_bytes_is_refused() {
    let dir = temp_dir("tar-huge");
    let mut tar = tar_header("cifar/train/cat/0.png", binary_size(1 << 62), b'0').to_vec();
    tar.extend([0u8; 512]);
    let gz = gzip(&tar);
    assert!(gz.len() < 120, "{} bytes", gz.len());
    let path = dir.join("huge.tar.gz");
    std::fs::write(&path, &gz).unwrap();
    let msg = file_msg(Cifar10::load(&path).unwrap_err(), &path);
    assert!(
        msg.starts_with("entry \"cifar/train/cat/0.png\" at byte 0: header says 4611686018427387904 bytes, more than the "),
        "{msg}"
    );

    // Uncompressed, the bound is the file's own size.
    let raw = dir.join("huge.tar");
    std::fs::write(&raw, &tar).unwrap();
    let msg = file_msg(Cifar10::load(&raw).unwrap_err(), &raw);
    assert_eq!(
        msg,
        "entry \"cifar/train/cat/0.png\" at byte 0: header says 4611686018427387904 bytes, more than the 512 bytes the archive can still hold"
    );

    // An image entry bigger than any 32x32 image file, backed by real data.
    let (big, _) = fixtures::tar(&[("cifar/train/cat/0.png".into(), vec![0u8; 2 << 20])]);
    std::fs::write(&raw, &big).unwrap();
    let msg = file_msg(Cifar10::load(&raw).unwrap_err(), &raw);
    assert_eq!(
        msg,
        "entry cifar/train/cat/0.png: header says 2097152 bytes, more than the 1048576-byte limit for an image"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tar_gz_with_a_wrong_crc_is_an_error() {
    let dir = temp_dir("crc");
    let (tar, _) = fixtures::tar(&cifar_entries());
    let good = gzip(&tar);
    let path = dir.join("a.tar.gz");
    std::fs::write(&path, &good).unwrap();
    let (train, test) = Cifar10::load(&path).unwrap();
    assert_eq!(
        (train.labels(), test.labels()),
        (&[0, 0, 1, 1][..], &[0, 1][..])
    );

    // The CRC-32 is the trailer's first four bytes.
    let mut bad = good.clone();
    let crc = bad.len() - 8;
    bad[crc] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let msg = file_msg(Cifar10::load(&path).unwrap_err(), &path);
    assert!(msg.starts_with("cannot read archive: "), "{msg}");
    assert!(msg.contains("checksum"), "{msg}");

    // And the length (ISIZE), the last four.
    let mut bad = good.clone();
    let len = bad.len() - 1;
    bad[len] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    assert!(Cifar10::load(&path).is_err());

    // Junk after the gzip stream is not silently ignored.
    let mut junk = good.clone();
    junk.extend(b"trailing junk");
    std::fs::write(&path, &junk).unwrap();
    let msg = file_msg(Cifar10::load(&path).unwrap_err(), &path);
    assert!(msg.starts_with("cannot read archive: "), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tar_cut_at_an_entry_boundary_is_an_error() {
    let dir = temp_dir("cut");
    let entries = cifar_entries();
    let (tar, offsets) = fixtures::tar(&entries);
    // Cut right before the last entry's header (README.md, not an image):
    // every image is still there, but the archive has no end blocks.
    let cut_at = *offsets.last().unwrap();
    for (name, bytes) in [
        ("cut.tar", tar[..cut_at].to_vec()),
        ("cut.tar.gz", gzip(&tar[..cut_at])),
        // Only one of the two end-of-archive blocks.
        ("one-end-block.tar", tar[..tar.len() - 512].to_vec()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let msg = file_msg(Cifar10::load(&path).unwrap_err(), &path);
        let expected = if name == "one-end-block.tar" {
            format!(
                "truncated: the archive stops at byte {} in its end-of-archive blocks",
                tar.len() - 512
            )
        } else {
            format!(
                "truncated: the archive stops at byte {cut_at} without its end-of-archive blocks"
            )
        };
        assert_eq!(msg, expected, "{name}");
    }
    // Data after the end blocks is not padding.
    let mut junk = tar.clone();
    junk.extend(b"junk");
    let path = dir.join("junk.tar");
    std::fs::write(&path, &junk).unwrap();
    let msg = file_msg(Cifar10::load(&path).unwrap_err(), &path);
    assert_eq!(
        msg,
        format!(
            "unexpected data at byte {} after the end of the archive",
            tar.len()
        )
    );
    // Zero padding (tar pads to 10240-byte records) is fine.
    let mut padded = tar.clone();
    padded.resize(tar.len().div_ceil(10240) * 10240, 0);
    std::fs::write(&path, &padded).unwrap();
    assert_eq!(Cifar10::load(&path).unwrap().0.len(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn official_classes_with_missing_images_is_an_error() {
    let dir = temp_dir("official");
    let mut entries = Vec::new();
    for (c, class) in Cifar10::CLASSES.iter().enumerate() {
        // Two training images per class, except one for the last.
        let n = if c == 9 { 1 } else { 2 };
        for i in 0..n {
            entries.push((format!("train/{class}/{i}.png"), png(c as u32 + i)));
        }
        entries.push((format!("test/{class}/0.png"), png(c as u32)));
    }
    let (tar, _) = fixtures::tar(&entries);
    let path = dir.join("cifar.tar");
    std::fs::write(&path, &tar).unwrap();
    let msg = file_msg(Cifar10::load(&path).unwrap_err(), &path);
    assert_eq!(
        msg,
        "incomplete CIFAR-10 archive: train/truck has 1 images but train/airplane has 2"
    );
    // Balanced, it loads.
    entries.push(("train/truck/1.png".into(), png(99)));
    std::fs::write(&path, fixtures::tar(&entries).0).unwrap();
    let (train, test) = Cifar10::load(&path).unwrap();
    assert_eq!((train.len(), test.len()), (20, 10));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn jpeg_claiming_32768x4096_is_refused_from_its_header() {
    let dir = temp_dir("jpeg-huge");
    let mut bytes = jpeg(1);
    let sof = jpeg_sof(&bytes);
    bytes[sof + 5..sof + 7].copy_from_slice(&4096u16.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&32768u16.to_be_bytes());
    assert!(bytes.len() < 2000);

    // As CIFAR: not 32x32, known from the header alone.
    let root = dir.join("cifar");
    write_folders(&root);
    let path = root.join("train/cat/1.jpg");
    std::fs::write(&path, &bytes).unwrap();
    let start = Instant::now();
    let msg = file_msg(Cifar10::load(&root).unwrap_err(), &path);
    assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
    assert_eq!(
        msg,
        "image is 32768x4096, but the data set's images are 32x32"
    );

    // In a generic folder it is the first image, and beyond the limit.
    let folder = dir.join("generic");
    std::fs::create_dir_all(folder.join("a")).unwrap();
    let path = folder.join("a/big.jpg");
    std::fs::write(&path, &bytes).unwrap();
    let start = Instant::now();
    let msg = file_msg(ImageFolder::load(&folder).unwrap_err(), &path);
    assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
    assert_eq!(
        msg,
        "header says the image is 32768x4096: beyond the limit of 16384 pixels a side and 67108864 pixels, or empty"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_jpeg_and_png_are_errors() {
    let dir = temp_dir("jpeg-cut");
    let root = dir.join("cifar");
    write_folders(&root);
    let full = jpeg(1);
    let path = root.join("train/cat/1.jpg");
    for keep in [full.len() - 2, full.len() * 3 / 4, full.len() / 2] {
        std::fs::write(&path, &full[..keep]).unwrap();
        let msg = file_msg(Cifar10::load(&root).unwrap_err(), &path);
        assert_eq!(
            msg,
            format!("cannot decode image: corrupt JPEG: truncated at byte {keep} before the end-of-image marker")
        );
    }
    // Bytes after the end-of-image marker are tolerated (cameras add them).
    let mut extra = full.clone();
    extra.extend([0u8; 16]);
    std::fs::write(&path, &extra).unwrap();
    assert!(Cifar10::load(&root).is_ok());
    std::fs::write(&path, &full).unwrap();

    let png_full = png(0);
    let path = root.join("train/cat/0.png");
    std::fs::write(&path, &png_full[..png_full.len() - 12]).unwrap();
    let msg = file_msg(Cifar10::load(&root).unwrap_err(), &path);
    assert_eq!(
        msg,
        format!(
            "cannot decode image: corrupt PNG: truncated at byte {} before the IEND chunk",
            png_full.len() - 12
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mnist_gzip_bomb_is_not_inflated() {
    let dir = temp_dir("bomb");
    // A valid header for one image, then 64 MiB of zeros: the reader stops
    // one byte past the declared 784 and reports junk, without inflating
    // (or counting) the rest.
    let mut bytes = idx_header(2051, &[1, 28, 28]);
    bytes.resize(16 + 784 + (64 << 20), 0);
    let bomb = gzip(&bytes);
    drop(bytes);
    let path = dir.join("train-images-idx3-ubyte.gz");
    std::fs::write(&path, &bomb).unwrap();
    let start = Instant::now();
    let msg = file_msg(read_images(&path).unwrap_err(), &path);
    assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
    assert_eq!(
        msg,
        "more than 1048576 unexpected bytes after the 784 bytes of image data for dims [1, 28, 28]"
    );

    // A header declaring more than the file could ever inflate to is
    // refused before any data is decompressed.
    let mut claim = idx_header(2051, &[4_000_000, 28, 28]);
    claim.extend([0u8; 784]);
    std::fs::write(&path, gzip(&claim)).unwrap();
    let msg = file_msg(read_images(&path).unwrap_err(), &path);
    let gz_len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        msg,
        format!("header declares 3136000000 bytes of image data for dims [4000000, 28, 28], more than a {gz_len}-byte gzip file can hold")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mnist_headers_are_checked_before_the_data() {
    let dir = temp_dir("mnist-headers");
    let labels = dir.join("train-labels-idx1-ubyte");
    std::fs::write(&labels, mnist_labels(2)).unwrap();

    // 14x56 is 784 pixels, but not MNIST.
    let images = dir.join("train-images-idx3-ubyte.gz");
    let mut wide = idx_header(2051, &[2, 14, 56]);
    wide.extend(vec![3u8; 2 * 784]);
    std::fs::write(&images, gzip(&wide)).unwrap();
    let msg = file_msg(Mnist::load_pair(&images, &labels).unwrap_err(), &images);
    assert_eq!(msg, "header says 2 images of 14x56, expected 28x28");

    // Counts that disagree are reported from the headers, even when the
    // image data behind the header is corrupt.
    let mut good = gzip(&mnist_images(3));
    let mid = good.len() / 2;
    good[mid] ^= 0xff;
    std::fs::write(&images, &good).unwrap();
    let msg = file_msg(Mnist::load_pair(&images, &labels).unwrap_err(), &labels);
    assert_eq!(
        msg,
        format!("has 2 labels but {} has 3 images", images.display())
    );

    // A raw file whose size disagrees with its header is refused from the
    // file's size, before it is read.
    let raw = dir.join("raw-images");
    let mut bytes = mnist_images(2);
    bytes.truncate(bytes.len() - 1);
    std::fs::write(&raw, &bytes).unwrap();
    let msg = file_msg(read_images(&raw).unwrap_err(), &raw);
    assert_eq!(
        msg,
        "truncated: expected 1568 bytes of image data for dims [2, 28, 28], found 1567"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cifar_batch_larger_than_an_official_one_is_refused() {
    let dir = temp_dir("batch-big");
    let path = dir.join("data_batch_1.bin");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: 10,001 records' worth of size without writing them.
    file.set_len(10_001 * 3073).unwrap();
    let msg = file_msg(
        micrograd_plus::data::cifar10::read_batch_file(&path).unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "not a CIFAR-10 batch: 10001 records, more than the 10000 of an official batch"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The checkpoint at `path` with its `gpt.config` metadata replaced.
fn with_config(src: &Path, path: &Path, edit: impl Fn(&mut GPTConfig)) {
    let (tensors, mut meta) = io::load_tensors(src).unwrap();
    let mut config = GPTConfig::from_json(&meta["gpt.config"]).unwrap();
    edit(&mut config);
    // Written as JSON by hand: to_json would be fine, but the point is a
    // file anyone could write.
    meta.insert("gpt.config".into(), config.to_json());
    io::save_tensors(path, &tensors, &meta).unwrap();
}

#[test]
fn gpt_checkpoint_config_is_checked_before_building() {
    let dir = temp_dir("gpt");
    let src = dir.join("good.safetensors");
    std::fs::write(&src, gpt_checkpoint(&dir)).unwrap();
    let (model, tok) = micrograd_plus::train::gpt::load_checkpoint(&src).unwrap();
    assert_eq!((model.config().layers, tok.vocab_size()), (2, 5));

    // layers = 2^40 used to build blocks until the process was killed.
    let bad = dir.join("layers.safetensors");
    with_config(&src, &bad, |c| c.layers = 1 << 40);
    let start = Instant::now();
    let msg = file_msg(
        micrograd_plus::train::gpt::load_checkpoint(&bad)
            .err()
            .unwrap(),
        &bad,
    );
    assert!(start.elapsed() < QUICK);
    assert_eq!(
        msg,
        "GPTConfig: layers is 1099511627776, expected 1 to 1024"
    );

    // Within the limits but not what the tensors hold: refused from the
    // tensors' shapes, before a model of that size is built.
    let (tensors, meta) = io::load_tensors(&src).unwrap();
    let config = GPTConfig::from_json(&meta["gpt.config"]).unwrap();
    let wide = GPTConfig {
        d_model: 8192,
        heads: 8,
        ..config.clone()
    };
    let wide_file = dir.join("wide.safetensors");
    with_config(&src, &wide_file, |c| *c = wide.clone());
    let start = Instant::now();
    let msg = file_msg(
        micrograd_plus::train::gpt::load_checkpoint(&wide_file)
            .err()
            .unwrap(),
        &wide_file,
    );
    assert!(start.elapsed() < QUICK);
    assert!(
        msg.contains("expects wte.weight with shape [5, 8192]"),
        "{msg}"
    );
    let start = Instant::now();
    let err = GPT::from_state_dict(wide, &tensors).err().unwrap();
    assert!(start.elapsed() < QUICK);
    assert_eq!(
        err.to_string(),
        "GPTConfig: config {\"vocab_size\":5,\"block_size\":4,\"d_model\":8192,\"heads\":8,\"layers\":2,\"dropout\":0.0,\"tie_weights\":false,\"positions\":\"learned\"} expects wte.weight with shape [5, 8192], the tensors have shape [5, 8]"
    );
    let deeper = GPTConfig {
        layers: 1000,
        ..config.clone()
    };
    assert_eq!(
        GPT::from_state_dict(deeper, &tensors)
            .err()
            .unwrap()
            .to_string(),
        "GPTConfig: config says 1000 layers, the tensors hold 2 blocks"
    );
    let tied = GPTConfig {
        tie_weights: true,
        ..config.clone()
    };
    assert!(GPT::from_state_dict(tied, &tensors)
        .err()
        .unwrap()
        .to_string()
        .contains("expects lm_head.weight with no tensor, the tensors have shape [5, 8]"));
    let model = GPT::from_state_dict(config, &tensors).unwrap();
    assert_eq!(model.config().layers, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn safetensors_shape_with_a_zero_and_an_overflowing_product_is_refused() {
    let dir = temp_dir("st-shape");
    let header = br#"{"t":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    let path = dir.join("zero.safetensors");
    std::fs::write(&path, &bytes).unwrap();
    let msg = file_msg(io::load_tensors(&path).unwrap_err(), &path);
    assert_eq!(
        msg,
        "tensor t: shape [0, 4611686018427387904, 4] is too large"
    );
    // A header length beyond the file.
    let mut long = bytes.clone();
    long[..8].copy_from_slice(&(1u64 << 62).to_le_bytes());
    std::fs::write(&path, &long).unwrap();
    let msg = file_msg(io::load_tensors(&path).unwrap_err(), &path);
    assert!(msg.starts_with("not a valid safetensors file"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}
