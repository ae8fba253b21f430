//! What the eval and export tests share: running `mgp` as a user would,
//! and a fresh temporary folder.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `mgp` binary with `args` (and `RUST_BACKTRACE=1`, as users
/// debugging set it: errors must still be one line).
pub fn mgp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mgp"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("mgp runs")
}

/// An empty folder of this test process, named after `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mgp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
