//! What a profiler recorded: the events, their per-op averages
//! (`torch.profiler`'s `key_averages`) and the table that prints them.

use super::{Event, Pass};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The events of one profiling session (see [`super::enable`]).
pub struct Report {
    pub(crate) events: Vec<Event>,
    wall_ns: u64,
    dropped: u64,
}

/// One row of the table: every event with the same name and pass.
#[derive(Debug, Clone, PartialEq)]
pub struct OpStats {
    /// The op's name (`"matmul"`) or the scope's.
    pub name: String,
    /// Forward, backward or a scope.
    pub pass: Pass,
    /// How many times it ran.
    pub calls: u64,
    /// Time inside it, less the events nested in it, in nanoseconds.
    pub self_ns: u64,
    /// Time inside it, nested events included, in nanoseconds.
    pub total_ns: u64,
    /// Floating-point operations over all calls, where defined.
    pub flops: Option<u64>,
    /// Bytes of the tensors it allocated (outputs, or the gradients returned).
    pub bytes: u64,
}

impl OpStats {
    /// FLOPs per second of its own time, in billions, where defined.
    ///
    /// ```
    /// use micrograd_plus::profiler::{OpStats, Pass};
    /// let s = OpStats { name: "matmul".into(), pass: Pass::Forward, calls: 1,
    ///     self_ns: 2_000, total_ns: 2_000, flops: Some(10_000), bytes: 0 };
    /// assert_eq!(s.gflops_per_s(), Some(5.0));
    /// ```
    pub fn gflops_per_s(&self) -> Option<f64> {
        let flops = self.flops?;
        (self.self_ns > 0).then(|| flops as f64 / self.self_ns as f64)
    }
}

impl Report {
    pub(crate) fn new(events: Vec<Event>, wall_ns: u64, dropped: u64) -> Report {
        Report {
            events,
            wall_ns,
            dropped,
        }
    }

    /// Nanoseconds from [`super::enable`] to [`super::Profiler::finish`].
    ///
    /// ```
    /// let p = micrograd_plus::profiler::enable().unwrap();
    /// std::thread::sleep(std::time::Duration::from_millis(2));
    /// assert!(p.finish().wall_ns() >= 2_000_000);
    /// ```
    pub fn wall_ns(&self) -> u64 {
        self.wall_ns
    }

    /// Events that were counted but not kept, past about a million (the
    /// table and trace then cover the first ones only).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::profiler::enable().unwrap().finish().dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// One row per (name, pass), sorted by self time, longest first.
    ///
    /// ```
    /// use micrograd_plus::{profiler, Tensor};
    /// let x = Tensor::ones(&[3]).requires_grad(true);
    /// let p = profiler::enable().unwrap();
    /// (&x * 2.0).sum().backward().unwrap();
    /// let rows = p.finish().key_averages();
    /// let names: Vec<_> = rows.iter().map(|r| (r.name.as_str(), r.pass.name())).collect();
    /// for want in [("mul_scalar", "forward"), ("sum", "forward"), ("sum", "backward"), ("backward", "scope")] {
    ///     assert!(names.contains(&want), "{want:?} not in {names:?}");
    /// }
    /// ```
    pub fn key_averages(&self) -> Vec<OpStats> {
        let mut rows: HashMap<(&str, Pass), OpStats> = HashMap::new();
        for e in &self.events {
            let row = rows.entry((&e.name, e.pass)).or_insert_with(|| OpStats {
                name: e.name.to_string(),
                pass: e.pass,
                calls: 0,
                self_ns: 0,
                total_ns: 0,
                flops: None,
                bytes: 0,
            });
            row.calls += 1;
            row.self_ns += e.self_ns;
            row.total_ns += e.dur_ns;
            row.bytes += e.bytes;
            if let Some(f) = e.flops {
                row.flops = Some(row.flops.unwrap_or(0) + f);
            }
        }
        let mut rows: Vec<OpStats> = rows.into_values().collect();
        rows.sort_by(|a, b| {
            b.self_ns
                .cmp(&a.self_ns)
                .then_with(|| (&a.name, a.pass).cmp(&(&b.name, b.pass)))
        });
        rows
    }

    /// The `limit` rows with the most self time as a text table, with the
    /// share of the profiled wall time each took and a total line.
    ///
    /// ```
    /// use micrograd_plus::{profiler, Tensor};
    /// let p = profiler::enable().unwrap();
    /// let _y = Tensor::ones(&[8, 8]).matmul(&Tensor::ones(&[8, 8])).unwrap();
    /// let table = p.finish().table(5);
    /// assert!(table.lines().next().unwrap().starts_with("name"));
    /// assert!(table.contains("matmul") && table.contains("GFLOP/s"));
    /// ```
    pub fn table(&self, limit: usize) -> String {
        let rows = self.key_averages();
        let wall = self.wall_ns.max(1) as f64;
        let width = rows
            .iter()
            .take(limit)
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = String::new();
        // `write!` into a String cannot fail.
        let _ = writeln!(
            out,
            "{:<width$}  {:<8}  {:>7}  {:>10}  {:>6}  {:>10}  {:>9}  {:>9}  {:>8}  {:>9}",
            "name",
            "pass",
            "calls",
            "self ms",
            "self %",
            "total ms",
            "avg µs",
            "GFLOP",
            "GFLOP/s",
            "MB alloc"
        );
        for r in rows.iter().take(limit) {
            let gflop = r
                .flops
                .map_or(String::from("-"), |f| format!("{:.3}", f as f64 * 1e-9));
            let rate = r
                .gflops_per_s()
                .map_or(String::from("-"), |g| format!("{g:.1}"));
            let _ = writeln!(
                out,
                "{:<width$}  {:<8}  {:>7}  {:>10.3}  {:>5.1}%  {:>10.3}  {:>9.1}  {:>9}  {:>8}  {:>9.2}",
                r.name,
                r.pass.name(),
                r.calls,
                r.self_ns as f64 * 1e-6,
                100.0 * r.self_ns as f64 / wall,
                r.total_ns as f64 * 1e-6,
                r.total_ns as f64 * 1e-3 / r.calls as f64,
                gflop,
                rate,
                r.bytes as f64 / 1e6,
            );
        }
        let accounted: u64 = rows.iter().map(|r| r.self_ns).sum();
        let _ = writeln!(
            out,
            "{} rows ({} shown); self time of all rows {:.3} ms = {:.1}% of {:.3} ms profiled{}",
            rows.len(),
            rows.len().min(limit),
            accounted as f64 * 1e-6,
            100.0 * accounted as f64 / wall,
            wall * 1e-6,
            if self.dropped > 0 {
                format!("; {} events past the first million not kept", self.dropped)
            } else {
                String::new()
            }
        );
        out
    }
}
