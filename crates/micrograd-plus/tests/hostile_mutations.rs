//! A seeded mutation test of every reader and the checkpoint loader
//! (issue 12): small valid files of every format are mutated thousands of
//! times (bit flips, truncations, size fields overwritten with huge values,
//! junk appended or inserted, ranges deleted) and each load must return
//! `Ok` or a clean `Error::File` naming a file of the case: no panic, no
//! abort, no hang, and bounded memory.
//!
//! Deterministic: one seed per case. A failure prints the case, the
//! iteration and the mutation, and leaves the mutated file in place.
//! Set `MGP_MUTATIONS` to change the number of mutations per case.

#[path = "hostile/fixtures.rs"]
mod fixtures;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fixtures::*;
use micrograd_plus::data::cifar10::Cifar10;
use micrograd_plus::data::images::ImageFolder;
use micrograd_plus::data::mnist::Mnist;
use micrograd_plus::data::text::{read_text, CharTokenizer};
use micrograd_plus::models::{GPTConfig, GPT};
use micrograd_plus::{io, Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mutations per case (13 cases).
const DEFAULT_MUTATIONS: usize = 800;
/// Longest any single load may take (they take milliseconds).
const MAX_LOAD: Duration = Duration::from_secs(5);
/// Most resident memory the whole test may reach.
const MAX_PEAK_RSS_BYTES: u64 = 768 << 20;

/// Sizes written over size fields: the classic overflow and bomb values.
const HUGE: [u64; 8] = [
    u64::MAX,
    1 << 62,
    1 << 40,
    i64::MAX as u64,
    u32::MAX as u64,
    0x7fff_ffff,
    0x8000_0000,
    1 << 24,
];

/// How a case's file is mutated beyond the generic mutations: known
/// offsets of size fields.
#[derive(Clone, Copy)]
enum Fields {
    None,
    /// IDX: the dims after the magic number.
    Idx,
    /// Tar: every entry header's size field (checksum fixed afterwards, so
    /// the size itself is what the reader sees).
    Tar,
    /// JPEG: the frame's height and width.
    Jpeg,
    /// safetensors: the header length and the numbers in its JSON.
    Safetensors,
}

struct Case {
    name: &'static str,
    /// The file that is mutated.
    file: PathBuf,
    /// Its valid contents.
    bytes: Vec<u8>,
    /// For a gzip file: the uncompressed contents, mutated and recompressed
    /// half of the time (mutating the compressed bytes mostly tests the
    /// inflater; this tests the parser behind it).
    plain: Option<Vec<u8>>,
    fields: Fields,
    /// The load, through the public API.
    load: Box<dyn Fn() -> Result<()>>,
}

/// `GPT` from a checkpoint, as `mgp generate` needs it: the tensors, then
/// the config checked against them before a model is built, then the
/// tokenizer. Errors name the file.
fn load_gpt(path: &Path) -> Result<()> {
    let (tensors, meta) = io::load_tensors(path)?;
    let named = |e: Error| Error::File {
        path: path.display().to_string(),
        msg: e.to_string(),
    };
    let config = meta.get("gpt.config").ok_or_else(|| Error::File {
        path: path.display().to_string(),
        msg: "no gpt.config".into(),
    })?;
    let config = GPTConfig::from_json(config).map_err(named)?;
    GPT::from_state_dict(config, &tensors).map_err(named)?;
    CharTokenizer::from_metadata(&meta).map_err(named)?;
    Ok(())
}

fn cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();

    // MNIST, raw and gzipped, images and labels.
    for gz in [false, true] {
        let dir = root.join(if gz { "mnist-gz" } else { "mnist-raw" });
        std::fs::create_dir_all(&dir).unwrap();
        let (images, labels) = (mnist_images(3), mnist_labels(3));
        let ext = if gz { ".gz" } else { "" };
        let ip = dir.join(format!("train-images-idx3-ubyte{ext}"));
        let lp = dir.join(format!("train-labels-idx1-ubyte{ext}"));
        let enc = |b: &[u8]| if gz { gzip(b) } else { b.to_vec() };
        std::fs::write(&ip, enc(&images)).unwrap();
        std::fs::write(&lp, enc(&labels)).unwrap();
        for (name, file, plain) in [
            (
                if gz {
                    "mnist images .gz"
                } else {
                    "mnist images"
                },
                ip.clone(),
                images,
            ),
            (
                if gz {
                    "mnist labels .gz"
                } else {
                    "mnist labels"
                },
                lp.clone(),
                labels,
            ),
        ] {
            let (ip, lp) = (ip.clone(), lp.clone());
            cases.push(Case {
                name,
                bytes: std::fs::read(&file).unwrap(),
                file,
                plain: gz.then_some(plain),
                fields: Fields::Idx,
                load: Box::new(move || Mnist::load_pair(&ip, &lp).map(|_| ())),
            });
        }
    }

    // CIFAR-10 binary batches: one record each, the third one mutated.
    let dir = root.join("cifar-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, name) in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(dir.join(name), cifar_batch(2, i)).unwrap();
    }
    let file = dir.join("data_batch_3.bin");
    cases.push(Case {
        name: "cifar binary batch",
        bytes: std::fs::read(&file).unwrap(),
        file,
        plain: None,
        fields: Fields::None,
        load: Box::new(move || Cifar10::load(&dir).map(|_| ())),
    });

    // CIFAR-10 archives, tar and tar.gz.
    let (tar, _) = fixtures::tar(&cifar_entries());
    for gz in [false, true] {
        let file = root.join(if gz { "cifar.tar.gz" } else { "cifar.tar" });
        let bytes = if gz { gzip(&tar) } else { tar.clone() };
        std::fs::write(&file, &bytes).unwrap();
        let path = file.clone();
        cases.push(Case {
            name: if gz { "cifar .tar.gz" } else { "cifar .tar" },
            file,
            bytes,
            plain: gz.then(|| tar.clone()),
            fields: Fields::Tar,
            load: Box::new(move || Cifar10::load_archive(&path).map(|_| ())),
        });
    }

    // The official cifar-10-binary.tar.gz layout: batches and
    // batches.meta.txt under cifar-10-batches-bin/.
    let entries: Vec<(String, Vec<u8>)> = cifar_binary_files()
        .into_iter()
        .map(|(n, b)| (format!("cifar-10-batches-bin/{n}"), b))
        .collect();
    let (tar, _) = fixtures::tar(&entries);
    let file = root.join("cifar-10-binary.tar.gz");
    let bytes = gzip(&tar);
    std::fs::write(&file, &bytes).unwrap();
    let path = file.clone();
    cases.push(Case {
        name: "cifar-10-binary.tar.gz",
        file,
        bytes,
        plain: Some(tar),
        fields: Fields::Tar,
        load: Box::new(move || Cifar10::load(&path).map(|_| ())),
    });

    // Image folders: a JPEG in the CIFAR reader (32x32 expected), a JPEG and
    // a PNG as the first image of a generic folder (any size, limits).
    let cifar_root = root.join("cifar-folders");
    write_folders(&cifar_root);
    let file = cifar_root.join("train/cat/1.jpg");
    let r = cifar_root.clone();
    cases.push(Case {
        name: "cifar folder jpeg",
        bytes: std::fs::read(&file).unwrap(),
        file,
        plain: None,
        fields: Fields::Jpeg,
        load: Box::new(move || Cifar10::load(&r).map(|_| ())),
    });
    for (name, ext, bytes, fields) in [
        ("generic folder jpeg", "jpg", jpeg(7), Fields::Jpeg),
        ("generic folder png", "png", png(7), Fields::None),
    ] {
        let folder = root.join(format!("generic-{ext}"));
        std::fs::create_dir_all(folder.join("a")).unwrap();
        std::fs::create_dir_all(folder.join("b")).unwrap();
        let file = folder.join(format!("a/0.{ext}"));
        std::fs::write(&file, &bytes).unwrap();
        std::fs::write(folder.join("b/1.png"), png(8)).unwrap();
        cases.push(Case {
            name,
            file,
            bytes,
            plain: None,
            fields,
            load: Box::new(move || ImageFolder::load(&folder).map(|_| ())),
        });
    }

    // A text corpus (UTF-8; its only binary aspect).
    let file = root.join("corpus.txt");
    let text = "First Citizen:\nBefore we proceed any further, hear me speak. ¶ é\n".repeat(4);
    std::fs::write(&file, &text).unwrap();
    let path = file.clone();
    cases.push(Case {
        name: "text corpus",
        file,
        bytes: text.into_bytes(),
        plain: None,
        fields: Fields::None,
        load: Box::new(move || {
            let text = read_text(&path)?;
            CharTokenizer::from_text(&text).encode(&text).map(|_| ())
        }),
    });

    // A GPT checkpoint: safetensors with the config and tokenizer.
    let file = root.join("gpt.safetensors");
    let bytes = gpt_checkpoint(root);
    std::fs::write(&file, &bytes).unwrap();
    let path = file.clone();
    cases.push(Case {
        name: "gpt checkpoint",
        file,
        bytes,
        plain: None,
        fields: Fields::Safetensors,
        load: Box::new(move || load_gpt(&path)),
    });
    cases
}

/// Offsets of the tar entry headers in `bytes` (walking the valid layout).
fn tar_headers(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= bytes.len() && bytes[at..at + 512].iter().any(|&b| b != 0) {
        out.push(at);
        let size = std::str::from_utf8(&bytes[at + 124..at + 135])
            .ok()
            .and_then(|s| u64::from_str_radix(s, 8).ok())
            .unwrap_or(0) as usize;
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

/// One mutation of `bytes`, described for the failure report.
fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>, fields: Fields) -> String {
    let len = bytes.len();
    let huge = HUGE[rng.gen_range(0..HUGE.len())];
    match rng.gen_range(0..9) {
        0 => {
            let n = rng.gen_range(1..=4);
            let mut at = Vec::new();
            for _ in 0..n {
                let i = rng.gen_range(0..len);
                bytes[i] ^= 1 << rng.gen_range(0..8);
                at.push(i);
            }
            format!("flip bits at {at:?}")
        }
        1 => {
            let keep = rng.gen_range(0..len);
            bytes.truncate(keep);
            format!("truncate to {keep}")
        }
        2 => {
            let i = rng.gen_range(0..len.saturating_sub(4).max(1));
            let v = (huge as u32).to_be_bytes();
            let v = if rng.r#gen() {
                v
            } else {
                (huge as u32).to_le_bytes()
            };
            let end = (i + 4).min(len);
            bytes[i..end].copy_from_slice(&v[..end - i]);
            format!("u32 {:#x} at {i}", huge as u32)
        }
        3 => {
            let i = rng.gen_range(0..len.saturating_sub(8).max(1));
            let v = if rng.r#gen() {
                huge.to_be_bytes()
            } else {
                huge.to_le_bytes()
            };
            let end = (i + 8).min(len);
            bytes[i..end].copy_from_slice(&v[..end - i]);
            format!("u64 {huge:#x} at {i}")
        }
        4 => {
            let n = rng.gen_range(1..4096);
            let zeros = rng.gen_bool(0.3);
            bytes.extend((0..n).map(|_| if zeros { 0 } else { rng.r#gen() }));
            format!("append {n} {} bytes", if zeros { "zero" } else { "random" })
        }
        5 => {
            let i = rng.gen_range(0..=len);
            let n = rng.gen_range(1..64);
            let junk: Vec<u8> = (0..n).map(|_| rng.r#gen()).collect();
            bytes.splice(i..i, junk);
            format!("insert {n} bytes at {i}")
        }
        6 => {
            let i = rng.gen_range(0..len);
            let n = rng.gen_range(1..=(len - i).min(600));
            bytes.drain(i..i + n);
            format!("delete {n} bytes at {i}")
        }
        _ => mutate_field(rng, bytes, fields, huge),
    }
}

/// Overwrites a size field the format declares.
fn mutate_field(rng: &mut StdRng, bytes: &mut [u8], fields: Fields, huge: u64) -> String {
    match fields {
        Fields::Idx if bytes.len() >= 16 => {
            let i = 4 * rng.gen_range(1..4);
            let v = if rng.r#gen() {
                huge as u32
            } else {
                rng.gen_range(0..100_000)
            };
            bytes[i..i + 4].copy_from_slice(&v.to_be_bytes());
            format!("IDX dim at {i} = {v}")
        }
        Fields::Tar => {
            let headers = tar_headers(bytes);
            if headers.is_empty() {
                return "tar: no header".into();
            }
            let h = headers[rng.gen_range(0..headers.len())];
            let field = match rng.gen_range(0..3) {
                0 => binary_size(huge),
                1 => octal_size(rng.gen_range(0..0o77777777777)),
                _ => *b"77777777777\0",
            };
            bytes[h + 124..h + 136].copy_from_slice(&field);
            set_tar_checksum(&mut bytes[h..h + 512]);
            format!("tar size field at {h} = {field:?}")
        }
        Fields::Jpeg => {
            let sof = jpeg_sof(bytes);
            let (hgt, wid): (u16, u16) = if rng.r#gen() {
                (rng.r#gen(), rng.r#gen())
            } else {
                (huge as u16 | 0x8000, 4096)
            };
            bytes[sof + 5..sof + 7].copy_from_slice(&hgt.to_be_bytes());
            bytes[sof + 7..sof + 9].copy_from_slice(&wid.to_be_bytes());
            format!("JPEG frame {wid}x{hgt}")
        }
        Fields::Safetensors if bytes.len() > 8 => {
            if rng.gen_bool(0.25) {
                bytes[..8].copy_from_slice(&huge.to_le_bytes());
                return format!("safetensors header length {huge}");
            }
            // A run of digits in the JSON header, replaced by a huge number
            // of the same length or less (so the layout stays).
            let header_len =
                u64::from_le_bytes(bytes[..8].try_into().unwrap()).min(bytes.len() as u64 - 8);
            let header = &bytes[8..8 + header_len as usize];
            let runs: Vec<(usize, usize)> = header
                .iter()
                .enumerate()
                .filter(|&(i, b)| b.is_ascii_digit() && (i == 0 || !header[i - 1].is_ascii_digit()))
                .map(|(i, _)| {
                    let n = header[i..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                    (i + 8, n)
                })
                .collect();
            if runs.is_empty() {
                return "safetensors: no number".into();
            }
            let (at, n) = runs[rng.gen_range(0..runs.len())];
            let digits = huge.to_string();
            let v: String = if rng.r#gen() {
                "9".repeat(n)
            } else {
                format!("{:>n$}", &digits[..n.min(digits.len())])
            };
            bytes[at..at + n].copy_from_slice(&v.as_bytes()[..n]);
            format!("safetensors number at {at} = {v:?}")
        }
        _ => {
            let i = rng.gen_range(0..bytes.len());
            bytes[i] = 0xff;
            format!("0xff at {i}")
        }
    }
}

/// Peak resident set size of this process, where the OS reports it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn mutated_files_load_or_fail_cleanly() {
    let per_case = std::env::var("MGP_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_MUTATIONS);
    let root = temp_dir("mutations");
    let cases = cases(&root);
    // Every fixture loads as it is: the mutations start from valid files.
    for case in &cases {
        if let Err(e) = (case.load)() {
            panic!("{}: the valid fixture does not load: {e}", case.name);
        }
    }
    // Panics are caught and reported below; their default message would
    // only repeat it (and a clean run prints nothing).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));

    let start = Instant::now();
    let mut failures = Vec::new();
    let (mut tried, mut ok, mut slowest) = (0usize, 0usize, Duration::ZERO);
    let root_name = root.display().to_string();
    for (c, case) in cases.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(0x6d67_7031_2000 + c as u64);
        for i in 0..per_case {
            let (bytes, what) = match &case.plain {
                Some(plain) if rng.r#gen() => {
                    let mut p = plain.clone();
                    let what = mutate(&mut rng, &mut p, case.fields);
                    (gzip(&p), format!("{what} (uncompressed, re-gzipped)"))
                }
                _ => {
                    let mut b = case.bytes.clone();
                    let what = mutate(&mut rng, &mut b, case.fields);
                    (b, what)
                }
            };
            std::fs::write(&case.file, &bytes).unwrap();
            let t = Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| (case.load)()));
            let took = t.elapsed();
            slowest = slowest.max(took);
            tried += 1;
            let problem = match result {
                Err(_) => Some("panicked".to_string()),
                Ok(Ok(())) => {
                    ok += 1;
                    None
                }
                Ok(Err(Error::File { path, msg })) => (!path.starts_with(&root_name)
                    || msg.is_empty())
                .then(|| format!("error does not name a file of the case: {path}: {msg}")),
                Ok(Err(other)) => Some(format!("not a file error: {other}")),
            };
            let problem = problem.or_else(|| (took > MAX_LOAD).then(|| format!("took {took:?}")));
            if let Some(p) = problem {
                // Keep the file for a look.
                let keep = root.join(format!("failure-{c}-{i}"));
                std::fs::write(&keep, &bytes).unwrap();
                failures.push(format!(
                    "{} #{i} ({what}): {p} [kept as {}]",
                    case.name,
                    keep.display()
                ));
            }
        }
        // The fixture back, for the next case's loads.
        std::fs::write(&case.file, &case.bytes).unwrap();
    }
    std::panic::set_hook(default_hook);
    let elapsed = start.elapsed();
    println!(
        "{tried} mutated files over {} cases in {elapsed:.1?} ({ok} still loaded; slowest load {slowest:.1?}; peak RSS {:?} bytes)",
        cases.len(),
        peak_rss()
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} mutated files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(tried, cases.len() * per_case);
    // Most mutations must be refused: a reader that accepted everything
    // would pass the checks above.
    assert!(ok < tried / 2, "{ok} of {tried} mutated files loaded");
    if let Some(peak) = peak_rss() {
        assert!(peak < MAX_PEAK_RSS_BYTES, "peak RSS {peak} bytes");
    }
    std::fs::remove_dir_all(&root).unwrap();
}
