//! Small valid files of every format the readers take, written here (no
//! shared datasets): MNIST IDX, CIFAR-10 binary batches (and the official
//! binary layout), tar and tar.gz archives of image folders, JPEG/PNG
//! class folders, GPT checkpoints.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

/// A fresh, empty folder under the system's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mgp-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The contents of a gzip file.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// An IDX header: the magic number, then one big-endian u32 per dim.
pub fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v
}

/// An IDX image file of `n` 28x28 images with varied pixels.
pub fn mnist_images(n: u32) -> Vec<u8> {
    let mut v = idx_header(2051, &[n, 28, 28]);
    v.extend((0..n as usize * 784).map(|i| (i * 37 % 256) as u8));
    v
}

/// An IDX label file of `n` digits.
pub fn mnist_labels(n: u32) -> Vec<u8> {
    let mut v = idx_header(2049, &[n]);
    v.extend((0..n as usize).map(|i| (i * 7 % 10) as u8));
    v
}

/// One CIFAR-10 binary batch of `n` records.
pub fn cifar_batch(n: usize, seed: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for k in 0..n {
        v.push(((k + seed) % 10) as u8);
        v.extend((0..3072).map(|i| ((i * 7 + k * 11 + seed * 13) % 256) as u8));
    }
    v
}

/// Pixel `i` (CHW order) of record `k` of a [`cifar_binary_files`] split.
pub fn cifar_binary_pixel(split: usize, k: usize, i: usize) -> u8 {
    ((i * 7 + k * 29 + split * 101) % 256) as u8
}

/// A small CIFAR-10 in the official binary layout, as (file name, bytes):
/// `data_batch_1.bin` ... `data_batch_5.bin` with two records each, then
/// `test_batch.bin` with ten, then `batches.meta.txt`. Record `k` of a
/// split has label `k % 10` and [`cifar_binary_pixel`]s: every class once
/// per split, in label order, as class folders sorted by name would list
/// them.
pub fn cifar_binary_files() -> Vec<(String, Vec<u8>)> {
    let record = |split: usize, k: usize| {
        let mut v = vec![(k % 10) as u8];
        v.extend((0..3072).map(|i| cifar_binary_pixel(split, k, i)));
        v
    };
    let mut files: Vec<(String, Vec<u8>)> = (0..5)
        .map(|b| {
            let bytes = (2 * b..2 * b + 2).flat_map(|k| record(0, k)).collect();
            (format!("data_batch_{}.bin", b + 1), bytes)
        })
        .collect();
    files.push((
        "test_batch.bin".into(),
        (0..10).flat_map(|k| record(1, k)).collect(),
    ));
    let meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    files.push(("batches.meta.txt".into(), meta.as_bytes().to_vec()));
    files
}

/// A 32x32 RGB test image.
pub fn rgb_image(seed: u32) -> image::RgbImage {
    image::RgbImage::from_fn(32, 32, |x, y| {
        image::Rgb([
            (x * 7 + seed) as u8,
            (y * 5 + seed * 3) as u8,
            ((x + y) * 3) as u8,
        ])
    })
}

/// `img` encoded as `format`.
pub fn encode(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), format)
        .unwrap();
    out
}

/// A 32x32 JPEG.
pub fn jpeg(seed: u32) -> Vec<u8> {
    encode(&rgb_image(seed), image::ImageFormat::Jpeg)
}

/// A 32x32 PNG.
pub fn png(seed: u32) -> Vec<u8> {
    encode(&rgb_image(seed), image::ImageFormat::Png)
}

/// Offset of a JPEG's baseline start-of-frame marker `FF C0`: height at +5,
/// width at +7 (big-endian u16s).
pub fn jpeg_sof(bytes: &[u8]) -> usize {
    bytes
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("a baseline JPEG")
}

/// A ustar header block for a regular file `name` whose size field holds
/// `size_field` as is (octal text or base-256), with a correct checksum.
pub fn tar_header(name: &str, size_field: [u8; 12], typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(&size_field);
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    set_tar_checksum(&mut h);
    h
}

/// Recomputes a tar header's checksum field (so a mutated size field is
/// seen by the reader, not refused for its checksum).
pub fn set_tar_checksum(h: &mut [u8]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h[..512].iter().map(|&b| b as u32).sum();
    let field = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(field.as_bytes());
}

/// An octal size field.
pub fn octal_size(size: u64) -> [u8; 12] {
    let mut f = [0u8; 12];
    f[..11].copy_from_slice(format!("{size:011o}").as_bytes());
    f
}

/// A base-256 size field (GNU's form for sizes beyond 8 GiB).
pub fn binary_size(size: u64) -> [u8; 12] {
    let mut f = [0u8; 12];
    f[0] = 0x80;
    f[4..].copy_from_slice(&size.to_be_bytes());
    f
}

/// A tar archive of `entries` (path, contents), ended by the two zero
/// blocks, unpadded: (archive, offsets of each entry's header).
pub fn tar(entries: &[(String, Vec<u8>)]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for (name, data) in entries {
        offsets.push(out.len());
        out.extend(tar_header(name, octal_size(data.len() as u64), b'0'));
        out.extend(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend([0u8; 1024]);
    (out, offsets)
}

/// Entries `top/split/class/name` of a small CIFAR-style archive: two
/// classes, two training and one test image each, PNG and JPEG mixed.
pub fn cifar_entries() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for (c, class) in ["cat", "dog"].iter().enumerate() {
        for i in 0..2u32 {
            let seed = c as u32 * 10 + i;
            let (ext, bytes) = if i == 0 {
                ("png", png(seed))
            } else {
                ("jpg", jpeg(seed))
            };
            v.push((format!("cifar/train/{class}/{i}.{ext}"), bytes));
        }
        v.push((format!("cifar/test/{class}/0.png"), png(c as u32 + 50)));
    }
    v.push(("cifar/README.md".to_string(), b"CIFAR-ish\n".to_vec()));
    v
}

/// Writes `root/split/class/name` image folders from [`cifar_entries`].
pub fn write_folders(root: &Path) {
    for (name, bytes) in cifar_entries() {
        let path = root.join(name.trim_start_matches("cifar/"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// A tiny GPT checkpoint (weights, config and tokenizer), as bytes.
pub fn gpt_checkpoint(dir: &Path) -> Vec<u8> {
    use micrograd_plus::data::text::CharTokenizer;
    use micrograd_plus::models::{GPTConfig, GPT};
    let tok = CharTokenizer::from_text("abcde");
    let config = GPTConfig {
        block_size: 4,
        d_model: 8,
        heads: 2,
        layers: 2,
        ..GPTConfig::shakespeare(5)
    };
    micrograd_plus::manual_seed(3);
    let model = GPT::new(config).unwrap();
    let path = dir.join("fixture-gpt.safetensors");
    micrograd_plus::train::gpt::save_checkpoint(&path, &model, &tok, "gpt-shakespeare").unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
}
