//! `mgp export --format pytorch|onnx CHECKPOINT_OR_RUN_DIR`: a checkpoint's
//! model for PyTorch (state dict + `model.py`) or ONNX runtimes, chosen from
//! the checkpoint's own metadata (`micrograd_plus::export`).

use micrograd_plus::export::{input_convention, onnx, pytorch};
use micrograd_plus::train::saved;
use std::path::PathBuf;

/// What to export to.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// weights.safetensors with PyTorch's names (nanoGPT's for the GPT) and
    /// a runnable model.py.
    Pytorch,
    /// One .onnx file (opset 17); the GPT with a fixed context length.
    Onnx,
}

/// Options of `mgp export`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp export --format pytorch runs/mlp-mnist-20260101-120000   # writes runs/.../pytorch/{weights.safetensors,model.py}\n  \
    python3 runs/mlp-mnist-20260101-120000/pytorch/model.py\n  \
    mgp export --format onnx runs/X --out model.onnx")]
pub struct Args {
    /// pytorch or onnx.
    #[arg(long)]
    pub format: Format,
    /// A checkpoint written by `mgp train`, or its run folder.
    #[arg(value_name = "CHECKPOINT_OR_RUN_DIR")]
    pub path: PathBuf,
    /// Where to write [default: beside the checkpoint: the folder `pytorch/`
    /// for pytorch, the file `model.onnx` for onnx].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Exports and says what it wrote and what the model takes as input.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let saved = saved::load(&args.path)?;
    let beside = |name: &str| {
        saved
            .info
            .path
            .parent()
            .map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
    };
    let written = match args.format {
        Format::Pytorch => {
            let dir = args.out.clone().unwrap_or_else(|| beside("pytorch"));
            pytorch::export(&saved, &dir)?.to_vec()
        }
        Format::Onnx => {
            let path = args.out.clone().unwrap_or_else(|| beside("model.onnx"));
            onnx::export(&saved, &path)?;
            vec![path]
        }
    };
    for path in &written {
        println!("wrote {}", path.display());
    }
    println!(
        "{} ({}): input {}",
        saved.info.architecture.name(),
        saved.info.path.display(),
        input_convention(saved.info.architecture, saved.info.normalize.as_ref())
    );
    Ok(())
}
