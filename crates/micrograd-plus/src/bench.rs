//! Named workloads behind `mgp bench`: each runs after a warm-up and reports
//! the distribution of its run times, so results from different machines and
//! from the PyTorch scripts under `bench/` can be compared side by side.

use crate::tensor::{DType, Tensor};
use crate::Result;
use serde::Serialize;
use std::time::Instant;

/// Timing summary of one workload, printed as JSON by `mgp bench --json`.
///
/// ```
/// let r = micrograd_plus::bench::BenchResult::from_samples("x", vec![2.0, 1.0, 3.0]);
/// assert_eq!((r.median_ms, r.min_ms, r.max_ms, r.runs), (2.0, 1.0, 3.0, 3));
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Workload name, e.g. `matmul`.
    pub name: String,
    /// Median time of one run, in milliseconds.
    pub median_ms: f64,
    /// Fastest run.
    pub min_ms: f64,
    /// Slowest run.
    pub max_ms: f64,
    /// Number of timed runs.
    pub runs: usize,
    /// Floating-point throughput at the median, where it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops: Option<f64>,
    /// Median time per recorded op (forward + backward), for overhead workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_op_us: Option<f64>,
    /// Workload parameters (size, dtype, chain length, ...).
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl BenchResult {
    /// Summarises run times given in milliseconds.
    ///
    /// ```
    /// let r = micrograd_plus::bench::BenchResult::from_samples("x", vec![1.0]);
    /// assert_eq!(r.runs, 1);
    /// ```
    pub fn from_samples(name: &str, mut samples_ms: Vec<f64>) -> BenchResult {
        samples_ms.sort_by(f64::total_cmp);
        let n = samples_ms.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            samples_ms[n / 2]
        } else {
            (samples_ms[n / 2 - 1] + samples_ms[n / 2]) / 2.0
        };
        BenchResult {
            name: name.to_string(),
            median_ms: median,
            min_ms: samples_ms.first().copied().unwrap_or(f64::NAN),
            max_ms: samples_ms.last().copied().unwrap_or(f64::NAN),
            runs: n,
            gflops: None,
            per_op_us: None,
            params: serde_json::Map::new(),
        }
    }

    fn param(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }
}

/// Runs `f` `warmup` times untimed, then `runs` times timed (milliseconds).
///
/// ```
/// let times = micrograd_plus::bench::time_runs(1, 3, || Ok(())).unwrap();
/// assert_eq!(times.len(), 3);
/// ```
pub fn time_runs(
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(samples)
}

/// `size × size` matrix product (no graph), reporting GFLOP/s (2·n³ flops).
///
/// ```
/// use micrograd_plus::{bench, DType};
/// let r = bench::matmul(8, DType::F32, 3).unwrap();
/// assert!(r.gflops.unwrap() > 0.0);
/// ```
pub fn matmul(size: usize, dtype: DType, runs: usize) -> Result<BenchResult> {
    let a = Tensor::randn(&[size, size], 1).to_dtype(dtype);
    let b = Tensor::randn(&[size, size], 2).to_dtype(dtype);
    let warmup = runs.clamp(1, 3);
    let samples = time_runs(warmup, runs, || a.matmul(&b).map(drop))?;
    let mut r = BenchResult::from_samples("matmul", samples);
    r.gflops = Some(2.0 * (size as f64).powi(3) / (r.median_ms * 1e-3) / 1e9);
    Ok(r.param("size", size).param("dtype", dtype.name()))
}

/// The per-op cost of the graph itself: a chain of `chain` tiny recorded ops
/// (alternating multiply and add on a 4-element tensor), then backward.
/// Mirrors `bench/pytorch_op_overhead.py`.
///
/// ```
/// let r = micrograd_plus::bench::op_overhead(100, 3).unwrap();
/// assert!(r.per_op_us.unwrap() > 0.0);
/// ```
pub fn op_overhead(chain: usize, runs: usize) -> Result<BenchResult> {
    let x = Tensor::new([1.0f32, 2.0, 3.0, 4.0])?.requires_grad(true);
    let (m, a) = (Tensor::full(&[4], 0.999), Tensor::full(&[4], 0.001));
    let step = || -> Result<()> {
        let mut y = x.clone();
        for i in 0..chain {
            y = if i % 2 == 0 { y.mul(&m)? } else { y.add(&a)? };
        }
        y.sum().backward()?;
        x.zero_grad();
        Ok(())
    };
    let samples = time_runs(runs.clamp(1, 3), runs, step)?;
    let mut r = BenchResult::from_samples("op-overhead", samples);
    r.per_op_us = Some(r.median_ms * 1e3 / chain as f64);
    Ok(r.param("chain", chain).param("numel", 4))
}
