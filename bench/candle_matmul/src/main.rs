//! Times candle's f32 `matmul` on the CPU at the sizes given (64, 256 and
//! 1024 by default) and prints the same report line as
//! `bench/matmul_timing.py`: warm up with 3 products, size a loop to about
//! 50 ms, take 15 such timings, print the median and the best as
//! GFLOP/s = 2·n³ / time. Like `mgp bench matmul`, each product allocates
//! its output.

use candle_core::{Device, Tensor};
use std::time::Instant;

const SAMPLES: usize = 15;

/// Seconds per call of `f`, over `reps` calls.
fn time_once(f: &mut impl FnMut(), reps: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed().as_secs_f64() / reps as f64
}

fn gflops(n: usize, seconds: f64) -> f64 {
    2.0 * (n as f64).powi(3) / seconds / 1e9
}

fn main() -> candle_core::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("sizes are positive integers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![64, 256, 1024]
    } else {
        sizes
    };
    println!(
        "candle-core, threads={}, avx={}",
        candle_core::utils::get_num_threads(),
        candle_core::utils::with_avx()
    );
    for n in sizes {
        let a = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
        let b = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu)?;
        let mut f = || {
            let c = a.matmul(&b).expect("matmul of two n×n matrices");
            std::hint::black_box(c);
        };
        let per_call = time_once(&mut f, 3);
        let reps = ((0.05 / per_call) as usize).max(1);
        let mut samples: Vec<f64> = (0..SAMPLES).map(|_| time_once(&mut f, reps)).collect();
        samples.sort_by(f64::total_cmp);
        let (median, best) = (samples[SAMPLES / 2], samples[0]);
        println!(
            "candle  f32 n={n:5}: median {:7.1} GFLOP/s  best {:7.1}  ({:9.1} us)",
            gflops(n, median),
            gflops(n, best),
            median * 1e6
        );
    }
    Ok(())
}
