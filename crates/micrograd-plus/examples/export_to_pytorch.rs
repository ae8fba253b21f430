//! Leaving MicroGrad+: export a model for PyTorch with
//! `micrograd_plus::export::pytorch` (what `mgp export --format pytorch`
//! does for a run): the weights under PyTorch's names (`0.weight`,
//! `2.bias`, layouts unchanged: `Linear.weight` is `(out, in)`) and a
//! `model.py` that defines the same `nn.Sequential` and loads them with
//! `strict=True`. The script beside this file checks that PyTorch computes
//! the same logits.
//!
//! ```text
//! cargo run --release --example export_to_pytorch -- /tmp/export
//! python3 crates/micrograd-plus/examples/export_to_pytorch.py /tmp/export
//! ```

use micrograd_plus::export::pytorch;
use micrograd_plus::nn::Module;
use micrograd_plus::train::{mlp_mnist, saved};
use micrograd_plus::{io, Result, Tensor};
use std::path::PathBuf;

fn main() -> Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "export".into()));
    std::fs::create_dir_all(&dir).map_err(|e| micrograd_plus::Error::File {
        path: dir.display().to_string(),
        msg: format!("cannot create the folder: {e}"),
    })?;
    micrograd_plus::manual_seed(0);
    // Milestone 1's MLP, saved as `mgp train mlp-mnist` saves it: the
    // metadata says which architecture the tensors belong to.
    let model = mlp_mnist::mlp();
    let checkpoint = dir.join("mlp.safetensors");
    let metadata = saved::Architecture::Mlp.metadata("mlp-mnist");
    io::save_tensors(&checkpoint, &model.state_dict(), &metadata)?;
    let [weights, module] = pytorch::export(&saved::load(&checkpoint)?, &dir.join("pytorch"))?;

    // A batch and our logits for it, for the script to compare against.
    let inputs = Tensor::rand(&[16, 784], 1);
    let logits = model.forward(&inputs)?;
    let check = [
        ("inputs".to_string(), inputs),
        ("logits".to_string(), logits),
    ];
    let check_path = dir.join("mlp_check.safetensors");
    io::save_tensors(&check_path, &check, &Default::default())?;
    for path in [weights, module, check_path] {
        println!("wrote {}", path.display());
    }
    Ok(())
}
