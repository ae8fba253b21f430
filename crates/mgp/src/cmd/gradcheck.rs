//! `mgp gradcheck`: runs the library's catalogue of gradient checks and
//! prints a table: op, shapes, max error, PASS/FAIL. Exits non-zero on any failure.

use micrograd_plus::gradcheck::{op_checks, tie_checks};

/// Arguments of `mgp gradcheck`.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    mgp gradcheck\n  \
    mgp gradcheck --filter conv --failures-only")]
pub struct Args {
    /// Only run checks whose op name contains this text [default: every
    /// check].
    #[arg(long)]
    filter: Option<String>,
    /// Print only failures and the summary.
    #[arg(long)]
    failures_only: bool,
}

/// One printed row.
struct Row {
    op: String,
    shapes: String,
    error: f64,
    passed: bool,
}

/// Runs the checks and prints the table; fails if any check fails.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let keep = |op: &str| args.filter.as_deref().is_none_or(|f| op.contains(f));
    let mut rows = Vec::new();
    for check in op_checks().into_iter().filter(|c| keep(c.op)) {
        let shapes = format!("{} {}", check.shapes, check.detail)
            .trim()
            .to_string();
        let (error, passed) = match check.run() {
            Ok(report) => (report.max_rel_error, report.passed),
            Err(e) => {
                eprintln!("{}: {e}", check.name());
                (f64::NAN, false)
            }
        };
        rows.push(Row {
            op: check.op.to_string(),
            shapes,
            error,
            passed,
        });
    }
    for tie in tie_checks().into_iter().filter(|c| keep(c.op)) {
        let shapes = format!("{} {} (tie, closed form)", tie.shapes, tie.detail)
            .trim()
            .to_string();
        let error = tie.run().unwrap_or(f64::NAN);
        rows.push(Row {
            op: tie.op.to_string(),
            shapes,
            error,
            passed: error <= 1e-12,
        });
    }

    let op_w = rows.iter().map(|r| r.op.len()).max().unwrap_or(2).max(2);
    let shape_w = rows
        .iter()
        .map(|r| r.shapes.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 60);
    println!(
        "{:<op_w$}  {:<shape_w$}  {:>10}  RESULT",
        "OP", "SHAPES", "MAX ERROR"
    );
    for r in rows.iter().filter(|r| !args.failures_only || !r.passed) {
        let verdict = if r.passed { "PASS" } else { "FAIL" };
        println!(
            "{:<op_w$}  {:<shape_w$}  {:>10.2e}  {verdict}",
            r.op, r.shapes, r.error
        );
    }
    let failed = rows.iter().filter(|r| !r.passed).count();
    let worst = rows.iter().map(|r| r.error).fold(0.0, f64::max);
    println!(
        "{} passed, {} failed (worst error {worst:.2e}; tolerance 1e-6 relative, f64)",
        rows.len() - failed,
        failed
    );
    if failed > 0 {
        anyhow::bail!("{failed} gradient check(s) failed");
    }
    Ok(())
}
