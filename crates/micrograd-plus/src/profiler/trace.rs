//! The Chrome trace of a [`Report`]: the JSON object format that Perfetto
//! (ui.perfetto.dev) and `chrome://tracing` open, one complete (`"X"`)
//! event per op, backward rule and scope, as `torch.profiler` writes it.

use super::Report;
use crate::Result;
use serde_json::{json, Value};
use std::path::Path;

impl Report {
    /// The trace as JSON text. Times are microseconds from the start of
    /// profiling; every event carries its pass as category and, in `args`,
    /// its self time, FLOPs (where defined) and bytes allocated.
    ///
    /// ```
    /// use micrograd_plus::{profiler, Tensor};
    /// let p = profiler::enable().unwrap();
    /// let _y = Tensor::ones(&[2, 2]).matmul(&Tensor::ones(&[2, 2])).unwrap();
    /// let trace: serde_json::Value = serde_json::from_str(&p.finish().to_chrome_trace()).unwrap();
    /// let e = &trace["traceEvents"][0];
    /// assert_eq!((e["name"].as_str(), e["ph"].as_str()), (Some("matmul"), Some("X")));
    /// assert_eq!(e["args"]["flops"], 16);
    /// ```
    pub fn to_chrome_trace(&self) -> String {
        let us = |ns: u64| ns as f64 * 1e-3;
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                let mut args = json!({ "self_us": us(e.self_ns), "bytes": e.bytes });
                if let Some(f) = e.flops {
                    args["flops"] = f.into();
                }
                json!({
                    "name": e.name,
                    "cat": e.pass.name(),
                    "ph": "X",
                    "ts": us(e.start_ns),
                    "dur": us(e.dur_ns),
                    "pid": 0,
                    "tid": 0,
                    "args": args,
                })
            })
            .collect();
        json!({ "traceEvents": events, "displayTimeUnit": "ms" }).to_string()
    }

    /// Writes [`Report::to_chrome_trace`] to `path` atomically (a crash
    /// never leaves half a trace); errors name the file.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("mgp-trace-doc-{}.json", std::process::id()));
    /// let report = micrograd_plus::profiler::enable().unwrap().finish();
    /// report.write_chrome_trace(&path).unwrap();
    /// assert!(std::fs::read_to_string(&path).unwrap().contains("traceEvents"));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn write_chrome_trace(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::write_atomic(path.as_ref(), self.to_chrome_trace().as_bytes())
    }
}
