//! What a checkpoint holds, read from the checkpoint alone: every file `mgp
//! train` writes names its recipe, its architecture and the crate version
//! in the safetensors metadata, so evaluating or exporting it needs no
//! `config.json` beside it.
//!
//! | metadata key | example | written by |
//! |---|---|---|
//! | `recipe` | `cnn-mnist` | every recipe |
//! | `architecture` | `cnn-mnist` (see [`Architecture::name`]) | every recipe |
//! | `crate_version` | `0.1.0` | every recipe |
//! | `input.normalize` | `{"mean":[..],"std":[..]}` | `cnn-cifar10` (inputs are normalised per channel) |
//!
//! A checkpoint written before these keys existed still loads: a GPT is
//! recognised by its `gpt.config`, a classifier by the one architecture
//! whose parameter names and shapes its tensors match ([`load`] says so in
//! [`CheckpointInfo::inferred`]).
//!
//! ```
//! use micrograd_plus::train::saved::{self, Architecture, SavedModel};
//! use micrograd_plus::{io, nn::Module};
//! let path = std::env::temp_dir().join(format!("mgp-saved-doc-{}.safetensors", std::process::id()));
//! let model = micrograd_plus::train::mlp_mnist::mlp();
//! io::save_tensors(&path, &model.state_dict(), &Architecture::Mlp.metadata("mlp-mnist")).unwrap();
//! let loaded = saved::load(&path).unwrap();
//! assert_eq!(loaded.info.architecture, Architecture::Mlp);
//! assert_eq!(loaded.info.recipe.as_deref(), Some("mlp-mnist"));
//! assert!(matches!(loaded.model, SavedModel::Classifier(_)));
//! # std::fs::remove_file(&path).unwrap();
//! ```

use crate::data::text::CharTokenizer;
use crate::data::transforms::Normalize;
use crate::models::{GPTConfig, GPT};
use crate::nn::spec::{sequential, LayerSpec};
use crate::nn::{Module, Sequential};
use crate::tensor::Tensor;
use crate::train::gpt::CONFIG_KEY;
use crate::{io, Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Metadata key of the recipe that trained the model (`mlp-mnist`, ...).
pub const RECIPE_KEY: &str = "recipe";
/// Metadata key of the model's [`Architecture`].
pub const ARCHITECTURE_KEY: &str = "architecture";
/// Metadata key of the version of `micrograd-plus` that wrote the file.
pub const VERSION_KEY: &str = "crate_version";
/// Metadata key of the per-channel input normalisation, where there is one.
pub const NORMALIZE_KEY: &str = "input.normalize";

/// The models `mgp train` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Milestone 1's MLP 784-128-64-10 ([`super::mlp_mnist::LAYERS`]).
    Mlp,
    /// Milestone 2's CNN on `(N, 1, 28, 28)` ([`super::cnn_mnist::LAYERS`]).
    CnnMnist,
    /// Milestone 4's CNN on `(N, 3, 32, 32)` ([`super::cifar10::LAYERS`]).
    CifarCnn,
    /// A character-level [`GPT`] (its shape is in the `gpt.config` metadata).
    Gpt,
}

impl Architecture {
    /// Every architecture, classifiers first.
    pub const ALL: [Architecture; 4] = [
        Architecture::Mlp,
        Architecture::CnnMnist,
        Architecture::CifarCnn,
        Architecture::Gpt,
    ];

    /// The name stored in checkpoints.
    ///
    /// ```
    /// use micrograd_plus::train::saved::Architecture;
    /// assert_eq!(Architecture::parse(Architecture::CifarCnn.name()), Some(Architecture::CifarCnn));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Mlp => "mlp-784-128-64-10",
            Architecture::CnnMnist => "cnn-mnist",
            Architecture::CifarCnn => "cnn-cifar10",
            Architecture::Gpt => "gpt",
        }
    }

    /// The architecture called `name`, if any.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::saved::Architecture::parse("resnet"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Architecture> {
        Architecture::ALL.into_iter().find(|a| a.name() == name)
    }

    /// A classifier's layers (`None` for the GPT).
    ///
    /// ```
    /// use micrograd_plus::train::saved::Architecture;
    /// assert_eq!(Architecture::Mlp.layers().unwrap().len(), 5);
    /// assert!(Architecture::Gpt.layers().is_none());
    /// ```
    pub fn layers(self) -> Option<&'static [LayerSpec]> {
        match self {
            Architecture::Mlp => Some(&super::mlp_mnist::LAYERS),
            Architecture::CnnMnist => Some(&super::cnn_mnist::LAYERS),
            Architecture::CifarCnn => Some(&super::cifar10::LAYERS),
            Architecture::Gpt => None,
        }
    }

    /// The shape of one input sample of a classifier: `[784]`, `[1, 28, 28]`
    /// or `[3, 32, 32]` (empty for the GPT, whose input is token ids).
    ///
    /// ```
    /// use micrograd_plus::train::saved::Architecture;
    /// assert_eq!(Architecture::CnnMnist.sample_shape(), &[1, 28, 28]);
    /// ```
    pub fn sample_shape(self) -> &'static [usize] {
        match self {
            Architecture::Mlp => &[784],
            Architecture::CnnMnist => &[1, 28, 28],
            Architecture::CifarCnn => &[3, 32, 32],
            Architecture::Gpt => &[],
        }
    }

    /// The metadata that says a checkpoint of `recipe` holds this
    /// architecture, written by this version of the crate.
    ///
    /// ```
    /// use micrograd_plus::train::saved::Architecture;
    /// let meta = Architecture::Gpt.metadata("gpt-shakespeare");
    /// assert_eq!(meta["architecture"], "gpt");
    /// assert_eq!(meta["crate_version"], env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn metadata(self, recipe: &str) -> HashMap<String, String> {
        HashMap::from([
            (RECIPE_KEY.to_string(), recipe.to_string()),
            (ARCHITECTURE_KEY.to_string(), self.name().to_string()),
            (
                VERSION_KEY.to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ])
    }
}

/// The metadata entry recording a per-channel input normalisation.
///
/// ```
/// use micrograd_plus::{data::transforms::Normalize, train::saved::normalize_metadata};
/// let (key, value) = normalize_metadata(&Normalize::new(vec![0.5], vec![0.25]).unwrap());
/// assert_eq!((key.as_str(), value.as_str()), ("input.normalize", r#"{"mean":[0.5],"std":[0.25]}"#));
/// ```
pub fn normalize_metadata(normalize: &Normalize) -> (String, String) {
    let value = serde_json::json!({"mean": normalize.mean(), "std": normalize.std()});
    (NORMALIZE_KEY.to_string(), value.to_string())
}

/// What a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointInfo {
    /// The file read.
    pub path: PathBuf,
    /// The recipe that trained it (`None` in files from before it was recorded).
    pub recipe: Option<String>,
    /// The model it holds.
    pub architecture: Architecture,
    /// The crate version that wrote it (`None` in older files).
    pub crate_version: Option<String>,
    /// The normalisation its inputs take after scaling pixels to [0, 1].
    pub normalize: Option<Normalize>,
    /// True when the file carries no architecture and it was recognised
    /// from its tensors.
    pub inferred: bool,
}

/// The model of a checkpoint, ready for evaluation (eval mode).
pub enum SavedModel {
    /// One of the classifiers ([`Architecture::layers`]).
    Classifier(Sequential),
    /// A GPT and, where the file has it, its tokenizer (training
    /// checkpoints written before the tokenizer was stored have none).
    Gpt(Box<GPT>, Option<CharTokenizer>),
}

/// A checkpoint read back: what it says and its model.
pub struct Saved {
    /// The metadata.
    pub info: CheckpointInfo,
    /// The model with the checkpoint's weights.
    pub model: SavedModel,
}

/// The checkpoint of `path`: `path` itself if it is a file; in a run
/// folder the final GPT weights `model.safetensors`, else the training
/// checkpoint `checkpoint.safetensors`.
///
/// ```
/// let err = micrograd_plus::train::saved::checkpoint_path(std::env::temp_dir().as_path()).unwrap_err();
/// assert!(err.to_string().contains("no model.safetensors or checkpoint.safetensors"));
/// ```
pub fn checkpoint_path(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    ["model.safetensors", "checkpoint.safetensors"]
        .iter()
        .map(|name| path.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::File {
            path: path.display().to_string(),
            msg: "no model.safetensors or checkpoint.safetensors in this folder: not a run folder of mgp train".into(),
        })
}

/// Reads the checkpoint at `path` (a file or a run folder, see
/// [`checkpoint_path`]) and builds its model from its metadata. Errors name
/// the file and the field.
pub fn load(path: &Path) -> Result<Saved> {
    let path = checkpoint_path(path)?;
    let (tensors, meta) = io::load_tensors(&path)?;
    let file_err = |msg: String| Error::File {
        path: path.display().to_string(),
        msg,
    };
    // Training checkpoints keep the model's tensors under "model." beside
    // the optimizer's; a GPT's final weights file holds the model alone.
    let state = if meta.contains_key("format") {
        io::under_prefix(&tensors, "model")
    } else {
        tensors
    };
    let normalize = match meta.get(NORMALIZE_KEY) {
        None => None,
        Some(raw) => Some(
            parse_normalize(raw)
                .map_err(|e| file_err(format!("metadata {NORMALIZE_KEY:?} is not valid: {e}")))?,
        ),
    };
    let (architecture, inferred) = match meta.get(ARCHITECTURE_KEY) {
        Some(name) => {
            let known = Architecture::parse(name).ok_or_else(|| {
                let names: Vec<&str> = Architecture::ALL.iter().map(|a| a.name()).collect();
                file_err(format!(
                    "metadata {ARCHITECTURE_KEY:?} is {name:?}, expected one of {}",
                    names.join(", ")
                ))
            })?;
            (known, false)
        }
        None if meta.contains_key(CONFIG_KEY) => (Architecture::Gpt, true),
        None => (
            infer_classifier(&state).ok_or_else(|| {
                file_err(format!(
                    "no {ARCHITECTURE_KEY:?} in the metadata, and the tensors match none of mgp's \
                 models (mlp-mnist, cnn-mnist, cnn-cifar10): not a checkpoint of mgp train"
                ))
            })?,
            true,
        ),
    };
    let in_file = |e: Error| file_err(e.to_string());
    let model = match architecture.layers() {
        Some(layers) => {
            let mut model = sequential(layers);
            model.load_state_dict(&state).map_err(in_file)?;
            model.eval();
            SavedModel::Classifier(model)
        }
        None => {
            let config = meta.get(CONFIG_KEY).ok_or_else(|| {
                file_err(format!(
                    "no {CONFIG_KEY:?} in the metadata of a GPT checkpoint"
                ))
            })?;
            // Checked against the tensors before the model is built: a
            // hostile file must not make us allocate the model it claims.
            let config = GPTConfig::from_json(config).map_err(in_file)?;
            let mut model = GPT::from_state_dict(config, &state).map_err(in_file)?;
            model.eval();
            let tokenizer = CharTokenizer::from_metadata(&meta).ok();
            SavedModel::Gpt(Box::new(model), tokenizer)
        }
    };
    Ok(Saved {
        info: CheckpointInfo {
            path,
            recipe: meta.get(RECIPE_KEY).cloned(),
            architecture,
            crate_version: meta.get(VERSION_KEY).cloned(),
            normalize,
            inferred,
        },
        model,
    })
}

/// Reads [`normalize_metadata`]'s value.
fn parse_normalize(raw: &str) -> Result<Normalize> {
    #[derive(serde::Deserialize)]
    struct Stats {
        mean: Vec<f64>,
        std: Vec<f64>,
    }
    let stats: Stats = serde_json::from_str(raw)
        .map_err(|e| Error::argument("Normalize", format!("cannot parse {raw:?}: {e}")))?;
    Normalize::new(stats.mean, stats.std)
}

/// The classifier whose state dict has exactly `state`'s names and shapes.
fn infer_classifier(state: &[(String, Tensor)]) -> Option<Architecture> {
    let shapes = |s: &[(String, Tensor)]| {
        let mut v: Vec<(String, Vec<usize>)> = s
            .iter()
            .map(|(n, t)| (n.clone(), t.shape().to_vec()))
            .collect();
        v.sort();
        v
    };
    let wanted = shapes(state);
    Architecture::ALL.into_iter().find(|a| {
        a.layers()
            .is_some_and(|layers| shapes(&sequential(layers).state_dict()) == wanted)
    })
}
