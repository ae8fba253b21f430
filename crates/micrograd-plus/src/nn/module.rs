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
    /// rather than half loaded.
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
        load_into(&self.state_dict(), state)
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

/// Copies `state` into the tensors of `own` (both lists of named tensors),
/// checking that the names and shapes agree exactly.
pub(crate) fn load_into(own: &[(String, Tensor)], state: &[(String, Tensor)]) -> Result<()> {
    let err = |msg: String| Error::argument("load_state_dict", msg);
    for (name, _) in state {
        if !own.iter().any(|(n, _)| n == name) {
            return Err(err(format!("unexpected entry {name:?} in the state")));
        }
    }
    for (name, target) in own {
        let (_, source) = state
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| err(format!("missing entry {name:?} in the state")))?;
        if source.shape() != target.shape() {
            return Err(err(format!(
                "{name}: shape {:?} in the state, {:?} in the model",
                source.shape(),
                target.shape()
            )));
        }
    }
    // Checked everything first: nothing is half loaded on error.
    for (name, target) in own {
        let (_, source) = state.iter().find(|(n, _)| n == name).expect("checked");
        let converted = source.storage().to_dtype(target.dtype());
        *target.storage_mut() = converted;
    }
    Ok(())
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
