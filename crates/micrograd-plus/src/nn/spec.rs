//! A `Sequential` written down as data: a list of [`LayerSpec`]s that
//! builds the model and that exporters read, so a model, its PyTorch
//! definition and its ONNX graph come from one description and cannot
//! drift apart.
//!
//! ```
//! use micrograd_plus::nn::spec::{sequential, LayerSpec};
//! use micrograd_plus::nn::Module;
//! let layers = [LayerSpec::Linear { inputs: 4, outputs: 3 }, LayerSpec::ReLU];
//! let model = sequential(&layers);
//! assert_eq!(model.num_parameters(), 4 * 3 + 3);
//! assert_eq!(layers[0].torch(), "nn.Linear(4, 3)");
//! ```

use super::{BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential};

/// One layer of a [`Sequential`], with what it needs to be built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerSpec {
    /// `Linear(inputs, outputs)` with a bias.
    Linear {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
    },
    /// `Conv2d(inputs, outputs, kernel, padding=padding)` with a bias, stride 1.
    Conv2d {
        /// Input channels.
        inputs: usize,
        /// Output channels.
        outputs: usize,
        /// Square kernel size.
        kernel: usize,
        /// Zero padding on every side.
        padding: usize,
    },
    /// `BatchNorm2d(channels)`, eps 1e-5.
    BatchNorm2d {
        /// Channels.
        channels: usize,
    },
    /// `ReLU()`.
    ReLU,
    /// `MaxPool2d(kernel)` (stride = kernel).
    MaxPool2d {
        /// Square window and stride.
        kernel: usize,
    },
    /// `Flatten()`: every dimension after the batch into one.
    Flatten,
    /// `Dropout(p)`: the identity in evaluation.
    Dropout {
        /// Probability of zeroing an element while training.
        p: f64,
    },
}

/// The eps of [`LayerSpec::BatchNorm2d`] (PyTorch's default).
pub const BATCH_NORM_EPS: f64 = 1e-5;

impl LayerSpec {
    /// The layer, freshly initialised from the default generator.
    ///
    /// ```
    /// use micrograd_plus::nn::{spec::LayerSpec, Module};
    /// let conv = LayerSpec::Conv2d { inputs: 1, outputs: 2, kernel: 3, padding: 1 }.build();
    /// assert_eq!(conv.num_parameters(), 2 * 9 + 2);
    /// ```
    pub fn build(&self) -> Box<dyn Module> {
        match *self {
            LayerSpec::Linear { inputs, outputs } => Box::new(Linear::new(inputs, outputs, true)),
            LayerSpec::Conv2d {
                inputs,
                outputs,
                kernel,
                padding,
            } => Box::new(Conv2d::new(inputs, outputs, kernel).padding(padding)),
            LayerSpec::BatchNorm2d { channels } => Box::new(BatchNorm2d::new(channels)),
            LayerSpec::ReLU => Box::new(ReLU),
            LayerSpec::MaxPool2d { kernel } => Box::new(MaxPool2d::new(kernel)),
            LayerSpec::Flatten => Box::new(Flatten::default()),
            // A spec's p comes from the code (the recipes), never from a
            // file, and every recipe's is in [0, 1).
            LayerSpec::Dropout { p } => Box::new(Dropout::new(p).expect("dropout p in [0, 1)")),
        }
    }

    /// The same layer in PyTorch, as Python source (`torch.nn` imported
    /// as `nn`); PyTorch's defaults are the engine's, so they are left out.
    ///
    /// ```
    /// use micrograd_plus::nn::spec::LayerSpec;
    /// assert_eq!(LayerSpec::MaxPool2d { kernel: 2 }.torch(), "nn.MaxPool2d(2)");
    /// ```
    pub fn torch(&self) -> String {
        match *self {
            LayerSpec::Linear { inputs, outputs } => format!("nn.Linear({inputs}, {outputs})"),
            LayerSpec::Conv2d {
                inputs,
                outputs,
                kernel,
                padding,
            } => format!("nn.Conv2d({inputs}, {outputs}, {kernel}, padding={padding})"),
            LayerSpec::BatchNorm2d { channels } => format!("nn.BatchNorm2d({channels})"),
            LayerSpec::ReLU => "nn.ReLU()".to_string(),
            LayerSpec::MaxPool2d { kernel } => format!("nn.MaxPool2d({kernel})"),
            LayerSpec::Flatten => "nn.Flatten()".to_string(),
            LayerSpec::Dropout { p } => format!("nn.Dropout({p})"),
        }
    }
}

/// A [`Sequential`] of `layers`, in order (its state dict names are
/// `"<index>.<name>"`, PyTorch's for `nn.Sequential`).
///
/// ```
/// use micrograd_plus::nn::{spec::{sequential, LayerSpec}, Module};
/// let model = sequential(&[LayerSpec::ReLU, LayerSpec::Linear { inputs: 2, outputs: 1 }]);
/// let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["1.weight", "1.bias"]);
/// ```
pub fn sequential(layers: &[LayerSpec]) -> Sequential {
    let mut model = Sequential::new();
    for layer in layers {
        model.push_boxed(layer.build());
    }
    model
}
