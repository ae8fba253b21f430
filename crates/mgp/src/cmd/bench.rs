//! `mgp bench NAME`: runs a named workload from `micrograd_plus::bench`.

use super::args::positive_usize;
use micrograd_plus::{bench, DType};

/// Workloads `mgp bench` knows.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Workload {
    /// Square matrix product (`--size`, `--dtype`), reports GFLOP/s.
    Matmul,
    /// A chain of tiny recorded ops plus backward, reports µs per op.
    OpOverhead,
    /// f32 conv2d forward + backward (`--batch`, `--in-channels`,
    /// `--out-channels`, `--image`, `--kernel`, `--padding`, `--no-input-grad`).
    Conv,
    /// f32 max_pool2d(2, 2) forward + backward (`--batch`, `--in-channels`, `--image`).
    MaxPool,
    /// f32 batch_norm (training) forward + backward (`--batch`, `--in-channels`, `--image`).
    BatchNorm,
    /// GPT training steps of the milestone-5 configuration (`--batch`), AdamW.
    Gpt,
    /// Training steps of the milestone-4 CIFAR-10 network with augmentation
    /// (`--batch`, default 128), extrapolated to an epoch.
    Cifar10,
}

/// Arguments of `mgp bench`.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    mgp bench matmul --size 512 --dtype f64\n  \
    mgp bench op-overhead --json\n  \
    mgp bench conv --batch 8 --image 64\n  \
    mgp bench gpt --batch 16 --runs 5")]
pub struct Args {
    /// Which workload to run.
    name: Workload,
    /// Matrix size for `matmul`.
    #[arg(long, default_value_t = 1024, value_parser = positive_usize)]
    size: usize,
    /// Element type for `matmul`.
    #[arg(long, default_value = "f32", value_parser = ["f32", "f64"])]
    dtype: String,
    /// Chain length for `op-overhead`.
    #[arg(long, default_value_t = 10_000, value_parser = positive_usize)]
    chain: usize,
    /// Batch size for `conv`, `max-pool`, `batch-norm` and `cifar10`
    /// [default: 32; cifar10: 128].
    #[arg(long, value_parser = positive_usize)]
    batch: Option<usize>,
    /// Input channels for `conv` (channels for `max-pool`, `batch-norm`).
    #[arg(long, default_value_t = 3, value_parser = positive_usize)]
    in_channels: usize,
    /// Output channels for `conv`.
    #[arg(long, default_value_t = 64, value_parser = positive_usize)]
    out_channels: usize,
    /// Image height and width for `conv`, `max-pool`, `batch-norm`.
    #[arg(long, default_value_t = 32, value_parser = positive_usize)]
    image: usize,
    /// Square kernel size for `conv`.
    #[arg(long, default_value_t = 3, value_parser = positive_usize)]
    kernel: usize,
    /// Zero padding for `conv`.
    #[arg(long, default_value_t = 1)]
    padding: usize,
    /// For `conv`: the input needs no gradient (only weight and bias get one).
    #[arg(long)]
    no_input_grad: bool,
    /// Timed runs after the warm-up.
    #[arg(long, default_value_t = 20, value_parser = positive_usize)]
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
    let batch = args.batch.unwrap_or(32);
    let result = match args.name {
        Workload::Matmul => bench::matmul(args.size, dtype, args.runs)?,
        Workload::OpOverhead => bench::op_overhead(args.chain, args.runs)?,
        Workload::Conv => bench::conv(
            bench::ConvShape {
                batch,
                in_channels: args.in_channels,
                out_channels: args.out_channels,
                image: args.image,
                kernel: args.kernel,
                padding: args.padding,
                input_grad: !args.no_input_grad,
            },
            args.runs,
        )?,
        Workload::MaxPool => bench::max_pool(batch, args.in_channels, args.image, args.runs)?,
        Workload::BatchNorm => bench::batch_norm(batch, args.in_channels, args.image, args.runs)?,
        Workload::Cifar10 => bench::cifar10(args.batch.unwrap_or(128), args.runs)?,
        Workload::Gpt => bench::gpt(&bench::gpt_config(batch), 3, args.runs)?,
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
