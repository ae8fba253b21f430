//! `Sequential`: modules applied one after another, named `0`, `1`, ...

use super::module::visit_child;
use super::{Module, Visitor};
use crate::tensor::Tensor;
use crate::Result;

/// A chain of modules; its parameters are named by position (`"0.weight"`),
/// as PyTorch names them.
///
/// ```
/// use micrograd_plus::nn::{Linear, Module, ReLU, Sequential};
/// let mut net = Sequential::new().layer(Linear::new(2, 3, true)).layer(ReLU);
/// net.push(Linear::new(3, 1, true));
/// assert_eq!(net.len(), 3);
/// assert_eq!(net[2].describe(), "Linear(in_features=3, out_features=1, bias=true)");
/// assert_eq!(net.iter().count(), 3);
/// ```
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
    training: bool,
}

impl Default for Sequential {
    fn default() -> Self {
        Sequential {
            layers: Vec::new(),
            training: true,
        }
    }
}

impl Sequential {
    /// An empty chain (the identity).
    ///
    /// ```
    /// assert!(micrograd_plus::nn::Sequential::new().is_empty());
    /// ```
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a module (builder style).
    ///
    /// ```
    /// use micrograd_plus::nn::{ReLU, Sequential};
    /// assert_eq!(Sequential::new().layer(ReLU).len(), 1);
    /// ```
    pub fn layer(mut self, module: impl Module + 'static) -> Sequential {
        self.push(module);
        self
    }

    /// Appends a module.
    ///
    /// ```
    /// let mut net = micrograd_plus::nn::Sequential::new();
    /// net.push(micrograd_plus::nn::Tanh);
    /// assert_eq!(net.len(), 1);
    /// ```
    pub fn push(&mut self, module: impl Module + 'static) {
        self.layers.push(Box::new(module));
    }

    /// Appends an already boxed module.
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, ReLU, Sequential};
    /// let layers: Vec<Box<dyn Module>> = vec![Box::new(ReLU)];
    /// let mut net = Sequential::new();
    /// layers.into_iter().for_each(|m| net.push_boxed(m));
    /// assert_eq!(net.len(), 1);
    /// ```
    pub fn push_boxed(&mut self, module: Box<dyn Module>) {
        self.layers.push(module);
    }

    /// Number of modules.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Sequential::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the chain is empty.
    ///
    /// ```
    /// assert!(micrograd_plus::nn::Sequential::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The modules in order.
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, ReLU, Sequential};
    /// let net = Sequential::new().layer(ReLU);
    /// assert_eq!(net.iter().next().unwrap().describe(), "ReLU()");
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &dyn Module> {
        self.layers.iter().map(|m| m.as_ref())
    }
}

impl std::ops::Index<usize> for Sequential {
    type Output = dyn Module + 'static;
    fn index(&self, i: usize) -> &(dyn Module + 'static) {
        self.layers[i].as_ref()
    }
}

impl Module for Sequential {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let mut x = input.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            // The child's position names the activations it records.
            x = super::observe::within(i, || layer.forward(&x))?;
        }
        Ok(x)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        for (i, layer) in self.layers.iter().enumerate() {
            visit_child(&i.to_string(), layer.as_ref(), false, f);
        }
    }

    fn visit_buffers(&self, f: &mut Visitor<'_>) {
        for (i, layer) in self.layers.iter().enumerate() {
            visit_child(&i.to_string(), layer.as_ref(), true, f);
        }
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
        self.layers
            .iter_mut()
            .for_each(|l| l.set_training(training));
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn describe(&self) -> String {
        let lines: Vec<String> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("({i}): {}", l.describe()))
            .collect();
        super::field::describe_struct("Sequential", &lines)
    }
}
