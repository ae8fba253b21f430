//! Leaving MicroGrad+: a checkpoint's model (read by [`crate::train::saved`])
//! written for PyTorch or for ONNX runtimes.
//!
//! | file | writes |
//! |---|---|
//! | [`pytorch`] | a state dict with PyTorch's names (nanoGPT's for the GPT) and a runnable `model.py` defining the architecture |
//! | [`onnx`] | an ONNX model (opset 17): the classifiers with a dynamic batch, the GPT with a fixed context |
//!
//! Inputs are the engine's: MNIST pixels scaled to [0, 1] (`pixels / 255`),
//! CIFAR-10 pixels scaled to [0, 1] then normalised per channel with the
//! mean and std the checkpoint records ([`input_convention`]), GPT token ids
//! of the checkpoint's character vocabulary.
//!
//! ```
//! use micrograd_plus::train::saved::Architecture;
//! let text = micrograd_plus::export::input_convention(Architecture::Mlp, None);
//! assert!(text.contains("pixels / 255"));
//! ```

pub mod onnx;
pub mod pytorch;

use crate::data::transforms::Normalize;
use crate::tensor::Tensor;
use crate::train::saved::Architecture;
use crate::{Error, Result};

/// What a model of `architecture` takes as input, in words (written into
/// the exported files).
///
/// ```
/// use micrograd_plus::{data::transforms::Normalize, export::input_convention, train::saved::Architecture};
/// let n = Normalize::new(vec![0.5, 0.5, 0.5], vec![0.25, 0.25, 0.25]).unwrap();
/// let text = input_convention(Architecture::CifarCnn, Some(&n));
/// assert!(text.contains("mean [0.5, 0.5, 0.5]"));
/// ```
pub fn input_convention(architecture: Architecture, normalize: Option<&Normalize>) -> String {
    let shape = architecture.sample_shape();
    match (architecture, normalize) {
        (Architecture::Gpt, _) => {
            "token ids (batch, time) as int64, from the character vocabulary VOCAB; \
             output: logits (batch, time, vocabulary)"
                .to_string()
        }
        (_, None) => format!(
            "float32 images (batch, {}) with pixels / 255 in [0, 1], not normalised; \
             output: logits (batch, 10)",
            dims(shape)
        ),
        (_, Some(n)) => format!(
            "float32 images (batch, {}) with pixels / 255 in [0, 1], then normalised per \
             channel: (x - mean) / std with mean {:?} and std {:?}; output: logits (batch, 10)",
            dims(shape),
            n.mean(),
            n.std()
        ),
    }
}

/// `[1, 28, 28]` as `1, 28, 28`.
fn dims(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tensor called `name` in a state dict; its absence is an error (a
/// state dict that does not fit the architecture it claims).
fn entry<'a>(state: &'a [(String, Tensor)], name: &str) -> Result<&'a Tensor> {
    state
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(|| Error::argument("export", format!("the model has no tensor {name:?}")))
}
