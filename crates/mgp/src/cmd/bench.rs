//! `mgp bench NAME`: runs a named workload from `micrograd_plus::bench`.

use micrograd_plus::{bench, DType};

/// Workloads `mgp bench` knows.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Workload {
    /// Square matrix product (`--size`, `--dtype`), reports GFLOP/s.
    Matmul,
    /// A chain of tiny recorded ops plus backward, reports µs per op.
    OpOverhead,
}

/// Arguments of `mgp bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Which workload to run.
    name: Workload,
    /// Matrix size for `matmul`.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Element type for `matmul`.
    #[arg(long, default_value = "f32", value_parser = ["f32", "f64"])]
    dtype: String,
    /// Chain length for `op-overhead`.
    #[arg(long, default_value_t = 10_000)]
    chain: usize,
    /// Timed runs after the warm-up.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Print one JSON object and nothing else.
    #[arg(long)]
    json: bool,
}

/// Runs the workload and prints the result.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let dtype = if args.dtype == "f64" {
        DType::F64
    } else {
        DType::F32
    };
    let result = match args.name {
        Workload::Matmul => bench::matmul(args.size, dtype, args.runs)?,
        Workload::OpOverhead => bench::op_overhead(args.chain, args.runs)?,
    };
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    print!(
        "{}: median {:.4} ms (min {:.4}, max {:.4}) over {} runs",
        result.name, result.median_ms, result.min_ms, result.max_ms, result.runs
    );
    if let Some(g) = result.gflops {
        print!(", {g:.1} GFLOP/s");
    }
    if let Some(us) = result.per_op_us {
        print!(", {us:.3} µs per op");
    }
    println!(" {}", serde_json::Value::Object(result.params.clone()));
    Ok(())
}
