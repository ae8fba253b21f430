//! A checkpoint's model for PyTorch: `weights.safetensors`, a state dict
//! with PyTorch's names, and `model.py`, a runnable module that defines the
//! architecture and loads the weights into it with `strict=True`.
//!
//! The classifiers are `nn.Sequential`s whose names are the engine's own
//! (`0.weight`, `3.running_mean`, ...), so their tensors are written as
//! they are. The GPT is written in nanoGPT's layout ([`nanogpt_state_dict`]):
//! `transformer.wte`, `transformer.h.0.attn.c_attn` (query, key and value
//! stacked), `transformer.h.0.mlp.c_fc`, `lm_head`, ...
//!
//! `model.py` needs only `torch`: it reads the safetensors file with a few
//! lines of its own (`safetensors.torch.load_file` reads it the same).
//!
//! ```
//! use micrograd_plus::{export::pytorch, io, nn::Module, train::saved::{self, Architecture}};
//! let dir = std::env::temp_dir().join(format!("mgp-pytorch-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let checkpoint = dir.join("mlp.safetensors");
//! let model = micrograd_plus::train::mlp_mnist::mlp();
//! io::save_tensors(&checkpoint, &model.state_dict(), &Architecture::Mlp.metadata("mlp-mnist")).unwrap();
//! let [weights, module] = pytorch::export(&saved::load(&checkpoint).unwrap(), &dir.join("pytorch")).unwrap();
//! assert!(std::fs::read_to_string(&module).unwrap().contains("nn.Linear(784, 128)"));
//! let (tensors, _) = io::load_tensors(&weights).unwrap();
//! assert_eq!(tensors.len(), 6);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use super::{entry, input_convention};
use crate::models::GPT;
use crate::nn::Module;
use crate::tensor::Tensor;
use crate::train::saved::{Saved, SavedModel};
use crate::{io, Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The state dict file [`export`] writes.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// The Python module file [`export`] writes.
pub const MODULE_FILE: &str = "model.py";

/// Loading the weights and the `python model.py` entry point, shared by
/// every architecture.
const RUNTIME_PY: &str = include_str!("runtime.py");
/// `preprocess(pixels)` for the classifiers.
const CLASSIFIER_PY: &str = include_str!("classifier.py");
/// nanoGPT's model classes, with `encode`/`decode` over `VOCAB`.
const GPT_PY: &str = include_str!("gpt.py");

/// Writes [`WEIGHTS_FILE`] and [`MODULE_FILE`] into `dir` (created if
/// needed), each atomically, and returns their paths.
pub fn export(saved: &Saved, dir: &Path) -> Result<[PathBuf; 2]> {
    std::fs::create_dir_all(dir).map_err(|e| Error::File {
        path: dir.display().to_string(),
        msg: format!("cannot create the folder: {e}"),
    })?;
    let weights = dir.join(WEIGHTS_FILE);
    let module = dir.join(MODULE_FILE);
    let meta = HashMap::from([("source".to_string(), saved.info.path.display().to_string())]);
    io::save_tensors(&weights, &state_dict(saved)?, &meta)?;
    io::write_atomic(&module, module_source(saved)?.as_bytes())?;
    Ok([weights, module])
}

/// The state dict PyTorch's definition of the model takes.
pub fn state_dict(saved: &Saved) -> Result<Vec<(String, Tensor)>> {
    match &saved.model {
        SavedModel::Classifier(model) => Ok(model.state_dict()),
        SavedModel::Gpt(model, _) => nanogpt_state_dict(model),
    }
}

/// The GPT's tensors under nanoGPT's names: `c_attn` is the query, key and
/// value projections stacked (`(3C, C)`), `wpe` is the position table
/// (the fixed sinusoids too, where the model has those), and with tied
/// weights `lm_head.weight` repeats `transformer.wte.weight`, as in
/// nanoGPT's own state dict.
///
/// ```
/// use micrograd_plus::{export::pytorch::nanogpt_state_dict, models::{GPTConfig, GPT}};
/// let model = GPT::new(GPTConfig { block_size: 4, d_model: 8, heads: 2, layers: 1, ..GPTConfig::shakespeare(5) }).unwrap();
/// let state = nanogpt_state_dict(&model).unwrap();
/// let shape = |n: &str| state.iter().find(|(k, _)| k == n).unwrap().1.shape().to_vec();
/// assert_eq!(shape("transformer.h.0.attn.c_attn.weight"), [24, 8]);
/// assert_eq!(shape("lm_head.weight"), [5, 8]);
/// ```
pub fn nanogpt_state_dict(model: &GPT) -> Result<Vec<(String, Tensor)>> {
    let ours = model.state_dict();
    let get = |name: &str| entry(&ours, name).cloned();
    let positions = if model.config().positions == crate::models::Positions::Learned {
        get("wpe.weight")?
    } else {
        get("wpe.pe")?.narrow(0, 0, model.config().block_size)?
    };
    let mut out = vec![
        ("transformer.wte.weight".to_string(), get("wte.weight")?),
        ("transformer.wpe.weight".to_string(), positions),
    ];
    for i in 0..model.config().layers {
        let ours = |n: &str| get(&format!("blocks.{i}.{n}"));
        let theirs = |n: &str| format!("transformer.h.{i}.{n}");
        for p in ["weight", "bias"] {
            let qkv = ["q_proj", "k_proj", "v_proj"]
                .iter()
                .map(|proj| ours(&format!("attn.{proj}.{p}")))
                .collect::<Result<Vec<_>>>()?;
            out.push((theirs(&format!("attn.c_attn.{p}")), Tensor::cat(&qkv, 0)?));
            for (from, to) in [
                ("ln1", "ln_1"),
                ("attn.out_proj", "attn.c_proj"),
                ("ln2", "ln_2"),
                ("mlp.fc", "mlp.c_fc"),
                ("mlp.proj", "mlp.c_proj"),
            ] {
                out.push((theirs(&format!("{to}.{p}")), ours(&format!("{from}.{p}"))?));
            }
        }
    }
    out.push(("transformer.ln_f.weight".to_string(), get("ln_f.weight")?));
    out.push(("transformer.ln_f.bias".to_string(), get("ln_f.bias")?));
    let head = if model.config().tie_weights {
        get("wte.weight")?
    } else {
        get("lm_head.weight")?
    };
    out.push(("lm_head.weight".to_string(), head));
    Ok(out)
}

/// The source of `model.py`: the constants of this checkpoint, the
/// architecture's definition (`build()`), and the loader.
pub fn module_source(saved: &Saved) -> Result<String> {
    let info = &saved.info;
    let convention = input_convention(info.architecture, info.normalize.as_ref());
    let mut py = format!(
        "r\"\"\"{arch} exported by MicroGrad+ {version} from {source}.\n\n    \
         python model.py   # builds the model, loads weights.safetensors beside it (strict), prints it\n\n\
         In Python: `from model import load; net = load()`.\nInput: {convention}.\n\"\"\"\n\
         import json\nimport os\nimport struct\nimport sys\n\nimport torch\nfrom torch import nn\n\
         from torch.nn import functional as F  # noqa: F401 (the GPT's attention)\n\n\
         ARCHITECTURE = {arch:?}\nINPUT = {convention:?}\n\
         WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), {WEIGHTS_FILE:?})\n",
        arch = info.architecture.name(),
        version = env!("CARGO_PKG_VERSION"),
        source = info.path.display(),
    );
    match &saved.model {
        SavedModel::Classifier(_) => {
            let (mean, std) = match &info.normalize {
                Some(n) => (format!("{:?}", n.mean()), format!("{:?}", n.std())),
                None => ("None".to_string(), "None".to_string()),
            };
            py.push_str(&format!("MEAN = {mean}\nSTD = {std}\n"));
            py.push_str(CLASSIFIER_PY);
            let layers = info.architecture.layers().unwrap_or_default();
            let lines: Vec<String> = layers
                .iter()
                .map(|l| format!("        {},\n", l.torch()))
                .collect();
            py.push_str(&format!(
                "\n\ndef build():\n    return nn.Sequential(\n{}    )\n",
                lines.concat()
            ));
        }
        SavedModel::Gpt(model, tokenizer) => {
            let c = model.config();
            let vocab = match tokenizer {
                Some(t) => {
                    let all: Vec<usize> = (0..t.vocab_size()).collect();
                    t.decode(&all)?
                }
                None => String::new(),
            };
            // A JSON string is a valid Python string literal.
            let vocab = serde_json::to_string(&vocab)
                .map_err(|e| Error::argument("export", e.to_string()))?;
            py.push_str(&format!(
                "VOCAB = {vocab}  # token id i is VOCAB[i]\n\
                 CONFIG = dict(vocab_size={}, block_size={}, n_layer={}, n_head={}, n_embd={}, tie_weights={})\n",
                c.vocab_size,
                c.block_size,
                c.layers,
                c.heads,
                c.d_model,
                if c.tie_weights { "True" } else { "False" }
            ));
            py.push_str(GPT_PY);
        }
    }
    py.push_str(RUNTIME_PY);
    Ok(py)
}
