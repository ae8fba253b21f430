//! Leaving MicroGrad+: save a model's weights so that PyTorch loads them
//! into the same architecture with `strict=True`, and check that both
//! compute the same logits. The names are PyTorch's (`0.weight`, `2.bias`)
//! and the layouts too (`Linear.weight` is `(out, in)`), so nothing is
//! renamed or transposed.
//!
//! ```text
//! cargo run --release --example export_to_pytorch -- /tmp/export
//! python3 crates/micrograd-plus/examples/export_to_pytorch.py /tmp/export
//! ```

use micrograd_plus::nn::{Linear, Module, ReLU, Sequential};
use micrograd_plus::{io, Result, Tensor};
use std::path::PathBuf;

fn main() -> Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "export".into()));
    std::fs::create_dir_all(&dir).map_err(|e| micrograd_plus::Error::File {
        path: dir.display().to_string(),
        msg: format!("cannot create the folder: {e}"),
    })?;
    micrograd_plus::manual_seed(0);
    // torch.nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    let model = Sequential::new()
        .layer(Linear::new(784, 128, true))
        .layer(ReLU)
        .layer(Linear::new(128, 10, true));
    model.save(&dir.join("mlp.safetensors"))?;

    // A batch and our logits for it, for the script to compare against.
    let inputs = Tensor::rand(&[16, 784], 1);
    let logits = model.forward(&inputs)?;
    let check = [
        ("inputs".to_string(), inputs),
        ("logits".to_string(), logits),
    ];
    io::save_tensors(
        &dir.join("mlp_check.safetensors"),
        &check,
        &Default::default(),
    )?;
    println!(
        "wrote {0}/mlp.safetensors and {0}/mlp_check.safetensors",
        dir.display()
    );
    Ok(())
}
