//! CIFAR-10 readers on the fixtures of tests/data/fixtures/ (written by
//! make_cifar_fixtures.py from a pixel formula, repeated here), on the
//! official binary layout written by the tests (`hostile/fixtures.rs`), and
//! on broken files written by the tests.

#[path = "hostile/fixtures.rs"]
mod hostile_fixtures;

use std::path::{Path, PathBuf};

use micrograd_plus::data::cifar10::{read_batch_file, Cifar10};
use micrograd_plus::data::images::{ImageDataset, ImageFolder};
use micrograd_plus::data::{DataLoader, Dataset};
use micrograd_plus::Error;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixtures")
}

/// The fixture script's formula.
fn pixel(k: usize, c: usize, y: usize, x: usize) -> u8 {
    ((7 * x + 3 * y + 50 * c + 11 * k) % 256) as u8
}

fn expected_image(k: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(3072);
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                v.push(pixel(k, c, y, x));
            }
        }
    }
    v
}

fn label(k: usize) -> u32 {
    ((3 * k + 1) % 10) as u32
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mgp-data-cifar-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn file_error(err: Error) -> (String, String) {
    match err {
        Error::File { path, msg } => (path, msg),
        other => panic!("expected a File error, got {other:?}"),
    }
}

fn check_images(ds: &ImageDataset, ks: &[usize]) {
    assert_eq!(ds.len(), ks.len());
    for (i, &k) in ks.iter().enumerate() {
        assert_eq!(
            ds.image(i).unwrap(),
            expected_image(k).as_slice(),
            "image {i} (k={k})"
        );
    }
}

#[test]
fn binary_batches() {
    let dir = fixtures().join("cifar_bin");
    let (train, test) = Cifar10::load(&dir).unwrap();
    check_images(&train, &[0, 1, 2, 3, 4]);
    check_images(&test, &[5, 6, 7]);
    assert_eq!(train.labels(), &[0, 1, 2, 3, 4].map(label));
    assert_eq!(test.labels(), &[5, 6, 7].map(label));
    assert_eq!(train.classes()[3], "cat");

    // Batches are f32 (B, 3, 32, 32) in [0, 1] with float labels.
    let b = test.get_batch(&[2, 0]).unwrap();
    assert_eq!(b.inputs.shape(), &[2, 3, 32, 32]);
    let x = b.inputs.to_vec::<f32>();
    assert_eq!(x[0], pixel(7, 0, 0, 0) as f32 / 255.0);
    assert_eq!(
        x[3072 + 2 * 1024 + 5 * 32 + 9],
        pixel(5, 2, 5, 9) as f32 / 255.0
    );
    assert_eq!(
        b.targets.to_vec::<f32>(),
        vec![label(7) as f32, label(5) as f32]
    );

    let (labels, pixels) = read_batch_file(dir.join("test_batch.bin")).unwrap();
    assert_eq!(labels, vec![label(5) as u8, label(6) as u8, label(7) as u8]);
    assert_eq!(pixels.len(), 3 * 3072);
}

#[test]
fn truncated_or_bad_binary_batches_name_the_file() {
    let dir = temp_dir("bin");
    let src = std::fs::read(fixtures().join("cifar_bin/test_batch.bin")).unwrap();
    let cut = dir.join("test_batch.bin");
    std::fs::write(&cut, &src[..2 * 3073 + 100]).unwrap();
    let (path, msg) = file_error(read_batch_file(&cut).unwrap_err());
    assert_eq!(path, cut.display().to_string());
    assert_eq!(
        msg,
        "truncated or not a CIFAR-10 batch: 6246 bytes is not a whole number of 3073-byte records"
    );

    let mut bad = src.clone();
    bad[3073] = 10; // the second record's label
    let bad_path = dir.join("bad.bin");
    std::fs::write(&bad_path, &bad).unwrap();
    let (_, msg) = file_error(read_batch_file(&bad_path).unwrap_err());
    assert_eq!(msg, "record 1 has label 10, expected 0-9");

    // A folder with test_batch.bin but a missing data_batch_3.bin.
    for i in [1, 2, 4, 5] {
        std::fs::copy(
            fixtures().join(format!("cifar_bin/data_batch_{i}.bin")),
            dir.join(format!("data_batch_{i}.bin")),
        )
        .unwrap();
    }
    std::fs::write(&cut, &src).unwrap();
    let (path, msg) = file_error(Cifar10::load(&dir).unwrap_err());
    assert_eq!(path, dir.join("data_batch_3.bin").display().to_string());
    assert!(msg.starts_with("cannot read"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn image_folders() {
    let root = fixtures().join("cifar_folder");
    let (train, test) = Cifar10::load(&root).unwrap();
    assert_eq!(train.classes(), &["cat".to_string(), "dog".to_string()]);
    check_images(&train, &[0, 1, 2]); // notes.txt is ignored
    check_images(&test, &[3, 4]);
    assert_eq!(train.labels(), &[0, 0, 1]);
    assert_eq!(test.labels(), &[0, 1]);

    let one = ImageFolder::load(root.join("test")).unwrap();
    assert_eq!(one, test);
}

#[test]
fn archive_matches_folders() {
    let (train, test) = Cifar10::load(fixtures().join("cifar_folder.tar.gz")).unwrap();
    let (ftrain, ftest) = Cifar10::load_folders(fixtures().join("cifar_folder")).unwrap();
    assert_eq!(train, ftrain);
    assert_eq!(test, ftest);
}

#[test]
fn jpeg_and_png_written_here_decode() {
    let root = temp_dir("jpeg");
    let img = image::RgbImage::from_fn(32, 32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        image::Rgb([pixel(9, 0, y, x), pixel(9, 1, y, x), pixel(9, 2, y, x)])
    });
    for class in ["a", "b"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
    }
    img.save(root.join("a/x.png")).unwrap();
    // A flat grey JPEG: JPEG is lossy, but a constant image survives exactly
    // up to rounding.
    let grey = image::RgbImage::from_pixel(32, 32, image::Rgb([128, 128, 128]));
    grey.save(root.join("b/y.JPG")).unwrap();
    let ds = ImageFolder::load(&root).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.image(0).unwrap(), expected_image(9).as_slice());
    assert!(ds
        .image(1)
        .unwrap()
        .iter()
        .all(|&p| (127..=129).contains(&p)));
    assert_eq!(ds.labels(), &[0, 1]);

    // An undecodable image and a wrongly sized one are named.
    std::fs::write(root.join("b/z.jpg"), b"\xff\xd8 not really a jpeg").unwrap();
    let (path, msg) = file_error(ImageFolder::load(&root).unwrap_err());
    assert_eq!(path, root.join("b/z.jpg").display().to_string());
    assert!(msg.starts_with("cannot decode image"), "{msg}");
    std::fs::remove_file(root.join("b/z.jpg")).unwrap();
    image::RgbImage::new(16, 8)
        .save(root.join("b/small.png"))
        .unwrap();
    let (path, msg) = file_error(ImageFolder::load(&root).unwrap_err());
    assert_eq!(path, root.join("b/small.png").display().to_string());
    assert_eq!(msg, "image is 16x8, but the data set's images are 32x32");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn broken_archive_is_named() {
    let dir = temp_dir("archive");
    let src = std::fs::read(fixtures().join("cifar_folder.tar.gz")).unwrap();
    let cut = dir.join("cut.tar.gz");
    std::fs::write(&cut, &src[..src.len() / 2]).unwrap();
    let (path, msg) = file_error(Cifar10::load(&cut).unwrap_err());
    assert_eq!(path, cut.display().to_string());
    assert!(msg.starts_with("cannot read"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn channel_stats_and_loader() {
    let (train, _) = Cifar10::load(fixtures().join("cifar_bin")).unwrap();
    let norm = train.channel_stats().unwrap();
    for c in 0..3 {
        let vals: Vec<f64> = (0..5)
            .flat_map(|k| (0..1024).map(move |p| pixel(k, c, p / 32, p % 32) as f64 / 255.0))
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        let std = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
        assert!((norm.mean()[c] - mean).abs() < 1e-12);
        assert!((norm.std()[c] - std).abs() < 1e-9);
    }
    let loader = DataLoader::new(std::sync::Arc::new(train), 2)
        .unwrap()
        .shuffle(true);
    let n: usize = loader.epoch(0).map(|b| b.unwrap().len()).sum();
    assert_eq!(n, 5);
}

/// The official binary layout of `hostile_fixtures::cifar_binary_files`
/// written as `root/cifar-10-batches-bin/`, as its archive
/// `root/cifar-10-binary.tar.gz` (entries under `cifar-10-batches-bin/`, as
/// published), and as the equivalent image folders `root/folders/` (PNG,
/// so the pixels survive exactly: JPEG would change them).
fn write_binary_layouts(root: &Path) {
    let files = hostile_fixtures::cifar_binary_files();
    let bin = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, bytes) in &files {
        std::fs::write(bin.join(name), bytes).unwrap();
    }
    let entries: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| (format!("cifar-10-batches-bin/{n}"), b.clone()))
        .collect();
    let (tar, _) = hostile_fixtures::tar(&entries);
    std::fs::write(
        root.join("cifar-10-binary.tar.gz"),
        hostile_fixtures::gzip(&tar),
    )
    .unwrap();
    for (split, name) in ["train", "test"].iter().enumerate() {
        for k in 0..10 {
            let class = Cifar10::CLASSES[k % 10];
            let img = image::RgbImage::from_fn(32, 32, |x, y| {
                let at = |c: u32| (c * 1024 + y * 32 + x) as usize;
                image::Rgb([0, 1, 2].map(|c| hostile_fixtures::cifar_binary_pixel(split, k, at(c))))
            });
            let dir = root.join("folders").join(name).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            img.save(dir.join(format!("{k:02}.png"))).unwrap();
        }
    }
}

#[test]
fn official_binary_archive_and_folder_match_the_image_folder_form() {
    let root = temp_dir("official");
    write_binary_layouts(&root);
    let folders = Cifar10::load(root.join("folders")).unwrap();
    assert_eq!(folders.0.len(), 10);
    assert_eq!(folders.0.classes(), Cifar10::CLASSES);
    // The extracted folder, given itself or its parent, and the archive.
    for path in [
        root.join("cifar-10-batches-bin"),
        root.clone(),
        root.join("cifar-10-binary.tar.gz"),
    ] {
        let loaded = Cifar10::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded, folders, "{}", path.display());
    }
    // The folder the archive was downloaded to.
    let downloads = root.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::rename(
        root.join("cifar-10-binary.tar.gz"),
        downloads.join("cifar-10-binary.tar.gz"),
    )
    .unwrap();
    assert_eq!(Cifar10::load(&downloads).unwrap(), folders);
    // The pixels are the records' CHW bytes, the labels their first byte.
    let (train, test) = &folders;
    assert_eq!(train.labels(), (0..10).collect::<Vec<u32>>());
    assert_eq!(
        test.image(3).unwrap()[1024 + 5 * 32 + 7],
        hostile_fixtures::cifar_binary_pixel(1, 3, 1024 + 5 * 32 + 7)
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn load_test_reads_the_test_set_alone_in_every_form() {
    let root = temp_dir("test-only");
    write_binary_layouts(&root);
    for path in [
        root.join("folders"),
        root.join("cifar-10-batches-bin"),
        root.join("cifar-10-binary.tar.gz"),
        fixtures().join("cifar_folder"),
        fixtures().join("cifar_folder.tar.gz"),
    ] {
        let (_, test) = Cifar10::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let alone = Cifar10::load_test(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(alone, test, "{}", path.display());
    }
    // Without the training batches, the test batch still loads (and the
    // full load names the first one missing).
    for name in ["data_batch_1.bin", "data_batch_5.bin"] {
        std::fs::remove_file(root.join("cifar-10-batches-bin").join(name)).unwrap();
    }
    let bin = root.join("cifar-10-batches-bin");
    assert_eq!(Cifar10::load_test(&bin).unwrap().len(), 10);
    let err = Cifar10::load(&bin).unwrap_err().to_string();
    assert!(err.contains("data_batch_1.bin"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn class_names_come_from_batches_meta_txt() {
    let root = temp_dir("meta");
    write_binary_layouts(&root);
    let bin = root.join("cifar-10-batches-bin");
    let renamed: String = (0..10).map(|c| format!("class{c}\n")).collect();
    std::fs::write(bin.join("batches.meta.txt"), &renamed).unwrap();
    let (train, test) = Cifar10::load(&bin).unwrap();
    assert_eq!(train.classes()[7], "class7");
    assert_eq!(test.classes(), train.classes());

    std::fs::write(bin.join("batches.meta.txt"), "cat\ndog\n").unwrap();
    let (path, msg) = file_error(Cifar10::load(&bin).unwrap_err());
    assert_eq!(path, bin.join("batches.meta.txt").display().to_string());
    assert_eq!(
        msg,
        "not a CIFAR-10 batches.meta.txt: 2 class names, expected 10 (one a line)"
    );
    std::fs::write(bin.join("batches.meta.txt"), vec![b'a'; 5000]).unwrap();
    let (_, msg) = file_error(Cifar10::load(&bin).unwrap_err());
    assert_eq!(
        msg,
        "not a CIFAR-10 batches.meta.txt: 5000 bytes, more than the 4096-byte limit"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// `entries` of the official layout with `edit` applied, as a .tar.gz in
/// `dir`; the load's error message (the path must be the archive's).
fn archive_error(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> String {
    let mut entries: Vec<(String, Vec<u8>)> = hostile_fixtures::cifar_binary_files()
        .into_iter()
        .map(|(n, b)| (format!("cifar-10-batches-bin/{n}"), b))
        .collect();
    edit(&mut entries);
    let path = dir.join(name);
    std::fs::write(
        &path,
        hostile_fixtures::gzip(&hostile_fixtures::tar(&entries).0),
    )
    .unwrap();
    let (at, msg) = file_error(Cifar10::load(&path).unwrap_err());
    assert_eq!(at, path.display().to_string(), "{msg}");
    msg
}

#[test]
fn hostile_binary_archives_are_named_errors() {
    let dir = temp_dir("binary-hostile");
    // A batch cut short inside the archive (re-terminated, so the tar
    // itself is whole): refused from its declared size, naming the entry.
    let msg = archive_error(&dir, "cut.tar.gz", |e| e[1].1.truncate(2 * 3073 - 5));
    assert_eq!(
        msg,
        "entry cifar-10-batches-bin/data_batch_2.bin: truncated or not a CIFAR-10 batch: 6141 bytes is not a whole number of 3073-byte records"
    );
    let msg = archive_error(&dir, "missing.tar.gz", |e| {
        e.retain(|(n, _)| !n.ends_with("test_batch.bin") && !n.ends_with("data_batch_4.bin"))
    });
    assert_eq!(
        msg,
        "incomplete CIFAR-10 binary batches: data_batch_4.bin, test_batch.bin missing (expected data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin and test_batch.bin)"
    );
    let msg = archive_error(&dir, "twice.tar.gz", |e| {
        let again = e[0].clone();
        e.push(("copy/data_batch_1.bin".into(), again.1));
    });
    assert_eq!(msg, "data_batch_1.bin appears twice");
    let msg = archive_error(&dir, "label.tar.gz", |e| e[5].1[3 * 3073] = 200);
    assert_eq!(
        msg,
        "entry cifar-10-batches-bin/test_batch.bin: record 3 has label 200, expected 0-9"
    );
    let msg = archive_error(&dir, "meta.tar.gz", |e| e[6].1 = vec![b'x'; 5000]);
    assert_eq!(
        msg,
        "entry cifar-10-batches-bin/batches.meta.txt: header says 5000 bytes, more than the 4096-byte limit for batches.meta.txt"
    );
    // Neither layout: the error says what was expected; the Python
    // version's pickles are recognised as such.
    let msg = archive_error(&dir, "python.tar.gz", |e| {
        for (name, _) in e.iter_mut() {
            *name = name
                .replace("batches-bin", "batches-py")
                .trim_end_matches(".bin")
                .to_string();
        }
    });
    assert!(
        msg.starts_with(
            "no CIFAR-10 data in the archive: expected the official cifar-10-binary.tar.gz"
        ),
        "{msg}"
    );
    assert!(msg.contains("this looks like the Python version"), "{msg}");
    // A file that is no archive at all, gzipped or not.
    for (name, bytes) in [
        ("junk.tar.gz", hostile_fixtures::gzip(b"not a tar")),
        ("junk.bin", b"junk".to_vec()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (at, msg) = file_error(Cifar10::load(&path).unwrap_err());
        assert_eq!(at, path.display().to_string());
        assert!(msg.starts_with("not a tar archive (truncated: "), "{msg}");
        assert!(
            msg.ends_with("or train/<class>/ and test/<class>/ image folders"),
            "{msg}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_binary_folders_are_named_errors() {
    let root = temp_dir("binary-folder-hostile");
    write_binary_layouts(&root);
    let bin = root.join("cifar-10-batches-bin");
    // An odd-length batch: the error names it, found from the parent too.
    let batch = bin.join("data_batch_5.bin");
    std::fs::write(&batch, vec![0u8; 3073 + 1]).unwrap();
    let (path, msg) = file_error(Cifar10::load(&root).unwrap_err());
    assert_eq!(path, batch.display().to_string());
    assert_eq!(
        msg,
        "truncated or not a CIFAR-10 batch: 3074 bytes is not a whole number of 3073-byte records"
    );
    // A single batch file instead of its folder.
    let (path, msg) = file_error(Cifar10::load(bin.join("test_batch.bin")).unwrap_err());
    assert_eq!(path, bin.join("test_batch.bin").display().to_string());
    assert!(
        msg.starts_with("one CIFAR-10 batch file: pass the folder"),
        "{msg}"
    );
    // A folder of neither layout lists the layouts it could have been.
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (_, msg) = file_error(Cifar10::load(&empty).unwrap_err());
    assert_eq!(
        msg,
        "no CIFAR-10 data here: expected the official cifar-10-binary.tar.gz (or a .tar/.tar.gz of image folders), a folder with data_batch_1.bin ... data_batch_5.bin and test_batch.bin (directly or in cifar-10-batches-bin/), or train/<class>/ and test/<class>/ image folders"
    );
    std::fs::create_dir_all(empty.join("cifar-10-batches-py")).unwrap();
    let (_, msg) = file_error(Cifar10::load(&empty).unwrap_err());
    assert!(
        msg.ends_with("download the binary version, cifar-10-binary.tar.gz)"),
        "{msg}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
