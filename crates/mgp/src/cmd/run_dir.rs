//! A training run's folder: `runs/<recipe>-<timestamp>/` unless given, with
//! its `config.json` and checkpoint.

use anyhow::Context;
use serde::{de::DeserializeOwned, Serialize};
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

impl RunDir {
    /// Creates `out`, or `runs/<recipe>-<timestamp>` when `out` is None.
    pub fn create(out: Option<PathBuf>, recipe: &str) -> anyhow::Result<RunDir> {
        let path =
            out.unwrap_or_else(|| Path::new("runs").join(format!("{recipe}-{}", timestamp())));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create run folder {}", path.display()))?;
        Ok(RunDir(path))
    }

    /// An existing run folder (for `--resume`).
    pub fn open(path: &Path) -> anyhow::Result<RunDir> {
        anyhow::ensure!(
            path.join("config.json").is_file(),
            "{}: not a run folder (no config.json)",
            path.display()
        );
        Ok(RunDir(path.to_path_buf()))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Where the checkpoint lives.
    pub fn checkpoint(&self) -> PathBuf {
        self.0.join("checkpoint.safetensors")
    }

    /// Writes `config.json`.
    pub fn write_config(&self, config: &impl Serialize) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(config)?;
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
