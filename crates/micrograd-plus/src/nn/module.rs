//! The [`Module`] trait: a layer or a model that maps a tensor to a tensor
//! and owns named parameters (trained) and buffers (state such as
//! BatchNorm's running statistics, saved but not trained).
//!
//! A module implements four small things: `forward`, visiting its own
//! parameters and buffers by name, switching train/eval mode, and a display
//! name. Everything else (`parameters`, `named_parameters` with PyTorch's
//! dotted names, `state_dict`, `zero_grad`, parameter counts, ...) is
//! provided on top of those visits, so containers only have to prefix their
//! children's names.

use crate::tensor::Tensor;
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// A callback receiving `(dotted name, tensor)` pairs.
pub type Visitor<'a> = dyn FnMut(&str, &Tensor) + 'a;

/// A differentiable building block: layer, activation, container or model.
///
/// ```
/// use micrograd_plus::nn::{Linear, Module, ReLU, Sequential};
/// use micrograd_plus::Tensor;
/// micrograd_plus::manual_seed(0);
/// let mut model = Sequential::new()
///     .layer(Linear::new(4, 8, true))
///     .layer(ReLU)
///     .layer(Linear::new(8, 2, true));
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(model.num_parameters(), 4 * 8 + 8 + 8 * 2 + 2);
/// let y = model.forward(&Tensor::zeros(&[3, 4])).unwrap();
/// assert_eq!(y.shape(), &[3, 2]);
/// model.eval();
/// assert!(!model.is_training());
/// ```
pub trait Module: Send + Sync {
    /// Applies the module.
    fn forward(&self, input: &Tensor) -> Result<Tensor>;

    /// Calls `f` with every trainable parameter, named relative to this
    /// module (`"weight"`, `"0.bias"`, ...). Leaves without parameters keep
    /// the default, which visits nothing.
    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        let _ = f;
    }

    /// Calls `f` with every buffer: state that is saved with the model but
    /// not trained (BatchNorm's running mean and variance).
    fn visit_buffers(&self, f: &mut Visitor<'_>) {
        let _ = f;
    }

    /// Switches training behaviour (dropout, batch statistics) on or off in
    /// this module and every sub-module.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Whether the module is in training mode (true unless `eval()` was called).
    fn is_training(&self) -> bool {
        true
    }

    /// A one-line description with the settings, as PyTorch prints it:
    /// `Linear(in_features=4, out_features=8, bias=true)`.
    fn describe(&self) -> String;

    /// Training mode (PyTorch's `model.train()`).
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Evaluation mode (PyTorch's `model.eval()`): dropout off, running
    /// statistics used.
    fn eval(&mut self) {
        self.set_training(false);
    }

    /// Every trainable parameter, in registration order.
    fn parameters(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        self.visit_parameters(&mut |_, t| out.push(t.clone()));
        out
    }

    /// Every parameter with its stable dotted name (`"0.weight"`).
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit_parameters(&mut |name, t| out.push((name.to_string(), t.clone())));
        out
    }

    /// Every buffer with its dotted name (`"1.running_mean"`).
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit_buffers(&mut |name, t| out.push((name.to_string(), t.clone())));
        out
    }

    /// Number of trainable scalars.
    fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit_parameters(&mut |_, t| n += t.numel());
        n
    }

    /// Clears every parameter's gradient (sets it to `None`, as PyTorch does
    /// by default).
    fn zero_grad(&self) {
        self.visit_parameters(&mut |_, t| t.set_grad(None));
    }

    /// The tensors `output` was computed from that want a gradient but are
    /// not this module's parameters: with a hand-written `visit_parameters`
    /// that forgot a layer, they would get gradients that no optimizer
    /// applies and no checkpoint saves. Empty when everything is registered.
    ///
    /// ```
    /// use micrograd_plus::nn::{Linear, Module};
    /// use micrograd_plus::Tensor;
    /// let layer = Linear::new(3, 2, true);
    /// let stray = Tensor::ones(&[2]).requires_grad(true);
    /// let out = layer.forward(&Tensor::ones(&[1, 3])).unwrap();
    /// assert!(layer.unregistered_parameters(&out).is_empty());
    /// let out = out.add(&stray).unwrap().sum();
    /// assert_eq!(layer.unregistered_parameters(&out)[0].id(), stray.id());
    /// ```
    fn unregistered_parameters(&self, output: &Tensor) -> Vec<Tensor> {
        let mut registered = std::collections::HashSet::new();
        self.visit_parameters(&mut |_, t| {
            registered.insert(t.id());
        });
        output
            .graph_leaves()
            .into_iter()
            .filter(|t| !registered.contains(&t.id()))
            .collect()
    }

    /// Parameters and buffers by name: everything needed to rebuild the
    /// model's state. The tensors are the live ones, not copies.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut out = self.named_parameters();
        out.extend(self.named_buffers());
        out
    }

    /// Copies the values in `state` into this module's parameters and
    /// buffers. Every entry must be present with the same shape; unknown
    /// entries are errors too, so a checkpoint of another model is refused
    /// rather than half loaded. The error lists every problem at once.
    ///
    /// ```
    /// use micrograd_plus::nn::{Linear, Module};
    /// let a = Linear::new(3, 2, true);
    /// let mut b = Linear::new(3, 2, true);
    /// b.load_state_dict(&a.state_dict()).unwrap();
    /// assert_eq!(a.weight().to_vec::<f32>(), b.weight().to_vec::<f32>());
    /// let err = b.load_state_dict(&Linear::new(4, 2, true).state_dict()).unwrap_err();
    /// assert_eq!(err.to_string(), "load_state_dict: weight: shape [2, 4] in the state, [2, 3] in the model");
    /// ```
    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let own = self.state_dict();
        let report = LoadReport::compare(&own, state);
        if !report.is_exact() {
            return Err(Error::argument("load_state_dict", report.to_string()));
        }
        report.copy(&own, state)?;
        Ok(())
    }

    /// PyTorch's `load_state_dict(state, strict=False)`: copies the entries
    /// whose names match, and reports the ones missing from `state` and the
    /// ones it has that this module does not. A matching name with another
    /// shape is still an error (and nothing is loaded), as in PyTorch.
    ///
    /// ```
    /// use micrograd_plus::nn::{Linear, Module};
    /// let with_bias = Linear::new(3, 2, true);
    /// let mut without = Linear::new(3, 2, false);
    /// let report = without.load_state_dict_non_strict(&with_bias.state_dict()).unwrap();
    /// assert_eq!(report.loaded, ["weight"]);
    /// assert_eq!(report.unexpected, ["bias"]);
    /// assert!(report.missing.is_empty());
    /// assert_eq!(without.weight().to_vec::<f32>(), with_bias.weight().to_vec::<f32>());
    /// ```
    fn load_state_dict_non_strict(&mut self, state: &[(String, Tensor)]) -> Result<LoadReport> {
        let own = self.state_dict();
        let report = LoadReport::compare(&own, state);
        if !report.mismatched.is_empty() {
            return Err(Error::argument("load_state_dict", report.to_string()));
        }
        report.copy(&own, state)?;
        Ok(report)
    }

    /// Saves the state dict (parameters and buffers, with their dotted
    /// names) to a safetensors file, atomically; PyTorch reads it with
    /// `safetensors.torch.load_file`. [`Module::load`] reads it back.
    ///
    /// ```
    /// use micrograd_plus::nn::{Linear, Module};
    /// let path = std::env::temp_dir().join(format!("mgp-module-save-{}.safetensors", std::process::id()));
    /// let trained = Linear::new(3, 2, true);
    /// trained.save(&path).unwrap();
    /// let mut fresh = Linear::new(3, 2, true);
    /// fresh.load(&path).unwrap();
    /// assert_eq!(fresh.weight().to_vec::<f32>(), trained.weight().to_vec::<f32>());
    /// let err = Linear::new(4, 2, true).load(&path).unwrap_err().to_string();
    /// assert!(err.ends_with("weight: shape [2, 3] in the state, [2, 4] in the model"), "{err}");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    fn save(&self, path: &Path) -> Result<()> {
        let metadata = HashMap::from([("module".to_string(), self.describe())]);
        crate::io::save_tensors(path, &self.state_dict(), &metadata)
    }

    /// Loads the weights in a file written by [`Module::save`], or the
    /// model part of a training checkpoint (`mgp train`'s
    /// `checkpoint.safetensors`, whose entries are named `model.*`),
    /// strictly as [`Module::load_state_dict`]; errors name the file.
    fn load(&mut self, path: &Path) -> Result<()> {
        let (tensors, _) = crate::io::load_tensors(path)?;
        let own = self.state_dict();
        let is_checkpoint = !own
            .iter()
            .any(|(name, _)| tensors.iter().any(|(n, _)| n == name))
            && tensors.iter().any(|(n, _)| n.starts_with("model."));
        let state = if is_checkpoint {
            crate::io::under_prefix(&tensors, "model")
        } else {
            tensors
        };
        self.load_state_dict(&state).map_err(|e| Error::File {
            path: path.display().to_string(),
            msg: e.to_string(),
        })
    }
}

/// What comparing a state dict with a module found: the entries that load,
/// and every one that does not (PyTorch's missing and unexpected keys, and
/// its size mismatches).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Names present in both, with the same shape.
    pub loaded: Vec<String>,
    /// The module's names the state lacks.
    pub missing: Vec<String>,
    /// The state's names the module lacks.
    pub unexpected: Vec<String>,
    /// Names in both with different shapes: (name, the state's shape, the module's).
    pub mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
}

impl LoadReport {
    fn compare(own: &[(String, Tensor)], state: &[(String, Tensor)]) -> LoadReport {
        let mut report = LoadReport::default();
        for (name, target) in own {
            match state.iter().find(|(n, _)| n == name) {
                None => report.missing.push(name.clone()),
                Some((_, source)) if source.shape() != target.shape() => report.mismatched.push((
                    name.clone(),
                    source.shape().to_vec(),
                    target.shape().to_vec(),
                )),
                Some(_) => report.loaded.push(name.clone()),
            }
        }
        report.unexpected = state
            .iter()
            .filter(|(n, _)| !own.iter().any(|(name, _)| name == n))
            .map(|(n, _)| n.clone())
            .collect();
        report
    }

    /// True when every entry matched: nothing missing, unexpected or mismatched.
    ///
    /// ```
    /// use micrograd_plus::nn::{Linear, Module};
    /// let mut layer = Linear::new(2, 2, true);
    /// let report = layer.load_state_dict_non_strict(&Linear::new(2, 2, true).state_dict()).unwrap();
    /// assert!(report.is_exact());
    /// ```
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }

    /// Copies the `loaded` entries of `state` into `own`'s tensors, converting
    /// the dtype, in place (views of a parameter see the loaded values).
    fn copy(&self, own: &[(String, Tensor)], state: &[(String, Tensor)]) -> Result<()> {
        for name in &self.loaded {
            let target = own.iter().find(|(n, _)| n == name).map(|(_, t)| t);
            let source = state.iter().find(|(n, _)| n == name).map(|(_, t)| t);
            if let (Some(target), Some(source)) = (target, source) {
                target.copy_from(source)?;
            }
        }
        Ok(())
    }
}

/// Every problem, `; `-separated: `unexpected entry "x" in the state`,
/// `missing entry "y" in the state`, `z: shape [..] in the state, [..] in the model`.
impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unexpected =
            (self.unexpected.iter()).map(|n| format!("unexpected entry {n:?} in the state"));
        let missing = (self.missing.iter()).map(|n| format!("missing entry {n:?} in the state"));
        let mismatched = (self.mismatched.iter()).map(|(n, state, model)| {
            format!("{n}: shape {state:?} in the state, {model:?} in the model")
        });
        let problems: Vec<String> = unexpected.chain(missing).chain(mismatched).collect();
        if problems.is_empty() {
            write!(f, "all {} entries match", self.loaded.len())
        } else {
            write!(f, "{}", problems.join("; "))
        }
    }
}

/// A boxed module is a module: `Box<dyn Module>` fields and containers
/// (and `Sequential`'s layers) forward everything to the module inside.
impl<M: Module + ?Sized> Module for Box<M> {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        self.as_ref().forward(input)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        self.as_ref().visit_parameters(f);
    }

    fn visit_buffers(&self, f: &mut Visitor<'_>) {
        self.as_ref().visit_buffers(f);
    }

    fn set_training(&mut self, training: bool) {
        self.as_mut().set_training(training);
    }

    fn is_training(&self) -> bool {
        self.as_ref().is_training()
    }

    fn describe(&self) -> String {
        self.as_ref().describe()
    }
}

/// Visits `child`'s tensors with `prefix.` in front of their names: how a
/// container gives its children PyTorch's dotted names.
pub fn visit_child(prefix: &str, child: &dyn Module, buffers: bool, f: &mut Visitor<'_>) {
    let mut named = |name: &str, t: &Tensor| f(&format!("{prefix}.{name}"), t);
    if buffers {
        child.visit_buffers(&mut named);
    } else {
        child.visit_parameters(&mut named);
    }
}
