//! `mgp doctor RUN_DIR`: the training doctor's report on a finished (or
//! failed) run, as text on stdout and a PNG page in the run folder.

use anyhow::Context;
use micrograd_plus::train::doctor::report::{DoctorReport, PICTURE_FILE};
use std::path::PathBuf;

/// Options of `mgp doctor`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp train mlp-mnist --epochs 1 --break lr-high --out broken\n  \
    mgp doctor broken          # the report, and broken/doctor.png\n  \
    mgp doctor broken --json")]
pub struct Args {
    /// The run folder (holding doctor.csv and warnings.jsonl).
    pub run_dir: PathBuf,
    /// Print the warnings as JSON objects, one per line, instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// Prints the report and writes `doctor.png` into the run folder.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let report = DoctorReport::load(&args.run_dir)?;
    let picture = args.run_dir.join(PICTURE_FILE);
    let title = format!("training doctor: {}", args.run_dir.display());
    report
        .plot(&picture, &title)
        .with_context(|| format!("cannot draw {}", picture.display()))?;
    if args.json {
        for d in &report.diagnoses {
            println!("{}", d.to_json());
        }
    } else {
        print!("{}", report.text());
        println!("wrote {}", picture.display());
    }
    Ok(())
}
