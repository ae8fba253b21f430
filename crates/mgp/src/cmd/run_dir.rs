//! A training run's folder: `runs/<recipe>-<timestamp>/` unless given, with
//! its `config.json` and checkpoint.

use anyhow::Context;
use micrograd_plus::train::saved::{ARCHITECTURE_KEY, RECIPE_KEY, VERSION_KEY};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The folder of one run.
pub struct RunDir(PathBuf);

/// `YYYYmmdd-HHMMSS` in UTC, from the system clock.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The files a run writes into its folder; `--force` removes them before a
/// new run takes the folder over, so nothing of the old run is mistaken for
/// the new one's.
const RUN_FILES: &[&str] = &[
    "config.json",
    "checkpoint.safetensors",
    "metrics.csv",
    "curves.png",
    "confusion.png",
    "model.safetensors",
    "loss.png",
    "doctor.csv",
    "warnings.jsonl",
    "doctor.png",
];

/// Whether `name` is a temporary file of [`micrograd_plus::io::write_atomic`]
/// (`<file>.tmp-<pid>`) written by another process than this one.
fn is_stale_temp(name: &str) -> bool {
    name.rsplit_once(".tmp-").is_some_and(|(_, pid)| {
        !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && pid != std::process::id().to_string()
    })
}

impl RunDir {
    /// Creates the folder of a new run: `out`, or `runs/<recipe>-<timestamp>`
    /// (with `-2`, `-3`, ... appended when a run started in the same second
    /// already took that name) when `out` is None.
    ///
    /// An `out` that already holds files is refused unless `force`, which
    /// removes the old run's files first: overwriting a run's checkpoint
    /// without a word loses work.
    pub fn create(out: Option<PathBuf>, recipe: &str, force: bool) -> anyhow::Result<RunDir> {
        let Some(path) = out else {
            let runs = Path::new("runs");
            std::fs::create_dir_all(runs)
                .with_context(|| format!("cannot create folder {}", runs.display()))?;
            let stem = format!("{recipe}-{}", timestamp());
            // create_dir (not create_dir_all) fails if the name is taken, so
            // two runs started at once never share a folder.
            for n in 1.. {
                let name = if n == 1 {
                    stem.clone()
                } else {
                    format!("{stem}-{n}")
                };
                let path = runs.join(name);
                match std::fs::create_dir(&path) {
                    Ok(()) => return Ok(RunDir(path)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot create run folder {}", path.display())
                        })
                    }
                }
            }
            unreachable!("an unbounded loop only exits by returning");
        };
        if path.exists() {
            anyhow::ensure!(
                path.is_dir(),
                "--out {}: exists and is not a folder",
                path.display()
            );
            let entries = std::fs::read_dir(&path)
                .with_context(|| format!("cannot read folder {}", path.display()))?;
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if !names.is_empty() && !force {
                names.sort();
                names.truncate(4);
                anyhow::bail!(
                    "--out {}: the folder already holds files ({}{}): pass --force to replace \
                     that run, or --resume {} to continue it",
                    path.display(),
                    names.join(", "),
                    if names.len() == 4 { ", ..." } else { "" },
                    path.display()
                );
            }
            let dir = RunDir(path);
            for name in RUN_FILES {
                let file = dir.0.join(name);
                if file.exists() {
                    std::fs::remove_file(&file)
                        .with_context(|| format!("cannot remove {}", file.display()))?;
                }
            }
            dir.remove_stale_temps()?;
            return Ok(dir);
        }
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create run folder {}", path.display()))?;
        Ok(RunDir(path))
    }

    /// An existing run folder (for `--resume`); temporary files a killed
    /// run left behind are removed.
    pub fn open(path: &Path) -> anyhow::Result<RunDir> {
        anyhow::ensure!(
            path.join("config.json").is_file(),
            "{}: not a run folder (no config.json)",
            path.display()
        );
        let dir = RunDir(path.to_path_buf());
        dir.remove_stale_temps()?;
        Ok(dir)
    }

    /// Removes `<file>.tmp-<pid>` files of other processes: a run killed
    /// while writing a checkpoint leaves one, and nothing else ever would.
    fn remove_stale_temps(&self) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(&self.0)
            .with_context(|| format!("cannot read folder {}", self.0.display()))?;
        for entry in entries.filter_map(|e| e.ok()) {
            if is_stale_temp(&entry.file_name().to_string_lossy()) {
                let path = entry.path();
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// Removes what a run that failed before its first checkpoint wrote
    /// (its config.json), and the folder itself if that leaves it empty, so
    /// a failed start leaves nothing behind. Best effort: it runs while
    /// another error is being reported.
    pub fn discard(&self) {
        for name in RUN_FILES {
            let _ = std::fs::remove_file(self.0.join(name));
        }
        let _ = std::fs::remove_dir(&self.0);
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Where the checkpoint lives.
    pub fn checkpoint(&self) -> PathBuf {
        self.0.join("checkpoint.safetensors")
    }

    /// Writes `config.json`: what the run is (`recipe`, `architecture`, the
    /// `crate_version` that wrote it: the metadata its checkpoint carries
    /// too, see `train::saved`), then every setting of `config`. Reading it
    /// back ([`RunDir::read_config`]) takes the settings and skips the rest.
    pub fn write_config(
        &self,
        about: &HashMap<String, String>,
        config: &impl Serialize,
    ) -> anyhow::Result<()> {
        #[derive(Serialize)]
        struct ConfigFile<'a, C> {
            #[serde(flatten)]
            about: BTreeMap<&'a str, &'a str>,
            #[serde(flatten)]
            settings: &'a C,
        }
        // The three keys that say what the run is; the checkpoint's other
        // metadata (a tokenizer, a normalisation) is the model's, not a setting.
        let about = [RECIPE_KEY, ARCHITECTURE_KEY, VERSION_KEY]
            .into_iter()
            .filter_map(|k| about.get(k).map(|v| (k, v.as_str())))
            .collect();
        let json = serde_json::to_string_pretty(&ConfigFile {
            about,
            settings: config,
        })?;
        micrograd_plus::io::write_atomic(&self.0.join("config.json"), json.as_bytes())?;
        Ok(())
    }

    /// Reads `config.json`.
    pub fn read_config<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        let path = self.0.join("config.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))
    }
}
