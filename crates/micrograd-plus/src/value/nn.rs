//! A tiny neural-network library on top of [`Value`]: micrograd's `nn.py`.
//!
//! A [`Neuron`] computes `act(w . x + b)`, a [`Layer`] is a list of neurons
//! that see the same inputs, and an [`MLP`] chains layers: ReLU on every
//! hidden layer, linear on the last one (so its output can be any score).
//!
//! ```
//! use micrograd_plus::value::nn::{Module, MLP};
//! use micrograd_plus::value::Value;
//!
//! let model = MLP::new(2, &[4, 1], 42);
//! let x = [Value::new(1.0), Value::new(-1.0)];
//! let score = model.forward(&x)?.remove(0);
//! let loss = (score - 1.0).pow(2.0);
//! model.zero_grad();
//! loss.backward();
//! for p in model.parameters() {
//!     p.set_data(p.data() - 0.01 * p.grad());
//! }
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Value;
use crate::error::{Error, Result};

/// Anything with trainable parameters (micrograd's `Module`).
///
/// ```
/// use micrograd_plus::value::nn::{Module, Neuron};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let n = Neuron::new(3, true, &mut rng);
/// assert_eq!(n.parameters().len(), 4); // 3 weights + bias
/// n.zero_grad();
/// ```
pub trait Module {
    /// Handles to every trainable value, in a fixed order.
    ///
    /// ```
    /// use micrograd_plus::value::nn::{Module, MLP};
    /// assert_eq!(MLP::new(2, &[3, 1], 0).parameters().len(), 3 * 3 + 4);
    /// ```
    fn parameters(&self) -> Vec<Value>;

    /// Sets every parameter's gradient to 0 before a new backward pass.
    ///
    /// ```
    /// use micrograd_plus::value::nn::{Module, MLP};
    /// let m = MLP::new(1, &[1], 0);
    /// m.parameters()[0].set_grad(3.0);
    /// m.zero_grad();
    /// assert!(m.parameters().iter().all(|p| p.grad() == 0.0));
    /// ```
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }
}

fn check_len(op: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::argument(
            op,
            format!("expected {expected} inputs, got {got}"),
        ))
    }
}

/// One unit: `relu(w . x + b)`, or `w . x + b` when linear.
///
/// ```
/// use micrograd_plus::value::nn::Neuron;
/// use micrograd_plus::value::Value;
/// use rand::SeedableRng;
///
/// let n = Neuron::new(2, false, &mut rand::rngs::StdRng::seed_from_u64(1));
/// n.weights()[0].set_data(2.0);
/// n.weights()[1].set_data(-1.0);
/// let out = n.forward(&[Value::new(3.0), Value::new(4.0)])?;
/// assert_eq!(out.data(), 2.0); // 2*3 - 1*4 + 0
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub struct Neuron {
    w: Vec<Value>,
    b: Value,
    nonlin: bool,
}

impl Neuron {
    /// `nin` weights drawn uniformly from [-1, 1) and a zero bias, like
    /// micrograd; `nonlin` selects ReLU.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Neuron;
    /// use rand::SeedableRng;
    /// let n = Neuron::new(5, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(n.weights().iter().all(|w| (-1.0..1.0).contains(&w.data())));
    /// assert_eq!(n.bias().data(), 0.0);
    /// ```
    pub fn new(nin: usize, nonlin: bool, rng: &mut impl Rng) -> Neuron {
        Neuron {
            w: (0..nin)
                .map(|_| Value::new(rng.gen_range(-1.0..1.0)))
                .collect(),
            b: Value::new(0.0),
            nonlin,
        }
    }

    /// The weights, one per input.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Neuron;
    /// use rand::SeedableRng;
    /// let n = Neuron::new(3, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(n.weights().len(), 3);
    /// ```
    pub fn weights(&self) -> &[Value] {
        &self.w
    }

    /// The bias.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Neuron;
    /// use rand::SeedableRng;
    /// let n = Neuron::new(3, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(n.bias().data(), 0.0);
    /// ```
    pub fn bias(&self) -> &Value {
        &self.b
    }

    /// Whether the output goes through ReLU.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Neuron;
    /// use rand::SeedableRng;
    /// let n = Neuron::new(3, false, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(!n.is_relu());
    /// ```
    pub fn is_relu(&self) -> bool {
        self.nonlin
    }

    /// Builds `act(w . x + b)` in the graph. Errors if `x` has the wrong
    /// length.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Neuron;
    /// use micrograd_plus::value::Value;
    /// use rand::SeedableRng;
    /// let n = Neuron::new(2, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(n.forward(&[Value::new(1.0)]).is_err());
    /// assert!(n.forward(&[Value::new(1.0), Value::new(2.0)])?.data() >= 0.0);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn forward(&self, x: &[Value]) -> Result<Value> {
        check_len("Neuron::forward", self.w.len(), x.len())?;
        // Same graph as micrograd's sum((wi*xi ...), self.b): b + w0*x0 + ...
        let mut act = self.b.clone();
        for (w, x) in self.w.iter().zip(x) {
            act += w * x;
        }
        Ok(if self.nonlin { act.relu() } else { act })
    }
}

impl Module for Neuron {
    fn parameters(&self) -> Vec<Value> {
        let mut p = self.w.clone();
        p.push(self.b.clone());
        p
    }
}

impl fmt::Display for Neuron {
    /// micrograd's repr: `ReLUNeuron(2)` or `LinearNeuron(2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.nonlin { "ReLU" } else { "Linear" };
        write!(f, "{kind}Neuron({})", self.w.len())
    }
}

/// `nout` neurons reading the same `nin` inputs.
///
/// ```
/// use micrograd_plus::value::nn::{Layer, Module};
/// use micrograd_plus::value::Value;
/// use rand::SeedableRng;
///
/// let layer = Layer::new(2, 3, true, &mut rand::rngs::StdRng::seed_from_u64(0));
/// let out = layer.forward(&[Value::new(1.0), Value::new(2.0)])?;
/// assert_eq!(out.len(), 3);
/// assert_eq!(layer.parameters().len(), 3 * (2 + 1));
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub struct Layer {
    neurons: Vec<Neuron>,
}

impl Layer {
    /// A layer of `nout` neurons with `nin` inputs each.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Layer;
    /// use rand::SeedableRng;
    /// let l = Layer::new(4, 2, false, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(l.neurons().len(), 2);
    /// ```
    pub fn new(nin: usize, nout: usize, nonlin: bool, rng: &mut impl Rng) -> Layer {
        Layer {
            neurons: (0..nout).map(|_| Neuron::new(nin, nonlin, rng)).collect(),
        }
    }

    /// The neurons, in output order.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Layer;
    /// use rand::SeedableRng;
    /// let l = Layer::new(4, 2, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(l.neurons()[0].weights().len(), 4);
    /// ```
    pub fn neurons(&self) -> &[Neuron] {
        &self.neurons
    }

    /// Every neuron's output for input `x`.
    ///
    /// ```
    /// use micrograd_plus::value::nn::Layer;
    /// use micrograd_plus::value::Value;
    /// use rand::SeedableRng;
    /// let l = Layer::new(1, 2, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(l.forward(&[Value::new(1.0)])?.len(), 2);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn forward(&self, x: &[Value]) -> Result<Vec<Value>> {
        self.neurons.iter().map(|n| n.forward(x)).collect()
    }
}

impl Module for Layer {
    fn parameters(&self) -> Vec<Value> {
        self.neurons.iter().flat_map(|n| n.parameters()).collect()
    }
}

impl fmt::Display for Layer {
    /// micrograd's repr: `Layer of [ReLUNeuron(2), ...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Layer of [")?;
        for (i, n) in self.neurons.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{n}")?;
        }
        write!(f, "]")
    }
}

/// A multi-layer perceptron: ReLU hidden layers, a linear output layer.
///
/// ```
/// use micrograd_plus::value::nn::{Module, MLP};
/// let model = MLP::new(2, &[16, 16, 1], 1337);
/// assert_eq!(model.parameters().len(), 337);
/// assert_eq!(model.to_string().lines().count(), 1);
/// ```
pub struct MLP {
    layers: Vec<Layer>,
}

impl MLP {
    /// `nin` inputs, then one layer per entry of `nouts`; weights drawn
    /// from a [`StdRng`] seeded with `seed`, so the same seed gives the same
    /// model.
    ///
    /// ```
    /// use micrograd_plus::value::nn::{Module, MLP};
    /// let a = MLP::new(2, &[3, 1], 7);
    /// let b = MLP::new(2, &[3, 1], 7);
    /// let same = a.parameters().iter().zip(b.parameters()).all(|(x, y)| x.data() == y.data());
    /// assert!(same);
    /// ```
    pub fn new(nin: usize, nouts: &[usize], seed: u64) -> MLP {
        MLP::with_rng(nin, nouts, &mut StdRng::seed_from_u64(seed))
    }

    /// Like [`MLP::new`], drawing the weights from `rng`.
    ///
    /// ```
    /// use micrograd_plus::value::nn::MLP;
    /// use rand::SeedableRng;
    /// let m = MLP::with_rng(2, &[1], &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(m.layers().len(), 1);
    /// ```
    pub fn with_rng(nin: usize, nouts: &[usize], rng: &mut impl Rng) -> MLP {
        let sizes: Vec<usize> = std::iter::once(nin).chain(nouts.iter().copied()).collect();
        let layers = (0..nouts.len())
            .map(|i| Layer::new(sizes[i], sizes[i + 1], i + 1 != nouts.len(), rng))
            .collect();
        MLP { layers }
    }

    /// The layers, input side first.
    ///
    /// ```
    /// use micrograd_plus::value::nn::MLP;
    /// let m = MLP::new(2, &[8, 1], 0);
    /// assert!(m.layers()[0].neurons()[0].is_relu());
    /// assert!(!m.layers()[1].neurons()[0].is_relu());
    /// ```
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Runs `x` through every layer, building the graph.
    ///
    /// ```
    /// use micrograd_plus::value::nn::MLP;
    /// use micrograd_plus::value::Value;
    /// let m = MLP::new(2, &[4, 1], 0);
    /// let out = m.forward(&[Value::new(0.5), Value::new(-0.5)])?;
    /// assert_eq!(out.len(), 1);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn forward(&self, x: &[Value]) -> Result<Vec<Value>> {
        let mut layers = self.layers.iter();
        let Some(first) = layers.next() else {
            return Ok(x.to_vec());
        };
        let mut h = first.forward(x)?;
        for layer in layers {
            h = layer.forward(&h)?;
        }
        Ok(h)
    }

    /// A copy of the current weights as plain `f64`s, for fast inference
    /// without building a graph (e.g. to colour a decision-boundary grid).
    ///
    /// ```
    /// use micrograd_plus::value::nn::MLP;
    /// use micrograd_plus::value::Value;
    /// let m = MLP::new(2, &[4, 1], 0);
    /// let graph = m.forward(&[Value::new(0.3), Value::new(0.7)])?[0].data();
    /// let fast = m.freeze().predict(&[0.3, 0.7])?[0];
    /// assert!((graph - fast).abs() < 1e-12);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn freeze(&self) -> FrozenMlp {
        FrozenMlp {
            layers: self
                .layers
                .iter()
                .map(|l| {
                    l.neurons
                        .iter()
                        .map(|n| FrozenNeuron {
                            w: n.w.iter().map(Value::data).collect(),
                            b: n.b.data(),
                            relu: n.nonlin,
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

impl Module for MLP {
    fn parameters(&self) -> Vec<Value> {
        self.layers.iter().flat_map(|l| l.parameters()).collect()
    }
}

impl fmt::Display for MLP {
    /// micrograd's repr: `MLP of [Layer of [...], ...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MLP of [")?;
        for (i, l) in self.layers.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{l}")?;
        }
        write!(f, "]")
    }
}

struct FrozenNeuron {
    w: Vec<f64>,
    b: f64,
    relu: bool,
}

/// An [`MLP`]'s weights as plain numbers: same outputs, no graph, and
/// `Send + Sync` so it can be used from any thread.
///
/// ```
/// use micrograd_plus::value::nn::MLP;
/// let frozen = MLP::new(2, &[1], 3).freeze();
/// assert_eq!(frozen.predict(&[0.0, 0.0])?, vec![0.0]); // zero bias
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub struct FrozenMlp {
    layers: Vec<Vec<FrozenNeuron>>,
}

impl FrozenMlp {
    /// The network's outputs for input `x`, computed in the same order as
    /// [`MLP::forward`] (so results match bit for bit).
    ///
    /// ```
    /// use micrograd_plus::value::nn::MLP;
    /// let frozen = MLP::new(2, &[3, 2], 0).freeze();
    /// assert_eq!(frozen.predict(&[1.0, 2.0])?.len(), 2);
    /// assert!(frozen.predict(&[1.0]).is_err());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>> {
        let mut h = x.to_vec();
        for layer in &self.layers {
            let mut next = Vec::with_capacity(layer.len());
            for n in layer {
                check_len("FrozenMlp::predict", n.w.len(), h.len())?;
                let mut act = n.b;
                for (w, x) in n.w.iter().zip(&h) {
                    act += w * x;
                }
                // Same comparison as Op::Relu, so NaN maps to 0 in both.
                let out = match (n.relu, act > 0.0) {
                    (true, false) => 0.0,
                    _ => act,
                };
                next.push(out);
            }
            h = next;
        }
        Ok(h)
    }
}
