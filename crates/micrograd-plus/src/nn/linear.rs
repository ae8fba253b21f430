//! `Linear(in, out, bias)`: the fully connected layer `y = x·Wᵀ + b`.

use super::init;
use super::{Module, Visitor};
use crate::tensor::Tensor;
use crate::Result;

/// A fully connected layer with PyTorch's weight layout `(out, in)` and
/// default initialisation (weight and bias uniform in ±1/√in). It applies to
/// the last dimension of inputs of any rank, so sequence models use it
/// unchanged on `(batch, time, features)`.
///
/// ```
/// use micrograd_plus::{nn::{Linear, Module}, Tensor};
/// let layer = Linear::new(4, 3, true);
/// assert_eq!(layer.weight().shape(), &[3, 4]);
/// let y = layer.forward(&Tensor::zeros(&[2, 5, 4])).unwrap();
/// assert_eq!(y.shape(), &[2, 5, 3]);
/// // A zero input gives the bias in every row.
/// assert_eq!(y.to_vec::<f32>()[..3], layer.bias().unwrap().to_vec::<f32>()[..]);
/// ```
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// A layer from `in_features` to `out_features`, with or without bias,
    /// initialised from the default generator.
    ///
    /// ```
    /// let layer = micrograd_plus::nn::Linear::new(784, 128, false);
    /// assert!(layer.bias().is_none());
    /// ```
    pub fn new(in_features: usize, out_features: usize, bias: bool) -> Linear {
        let weight = Tensor::zeros(&[out_features, in_features]);
        // A 2-D weight always has fans, so PyTorch's default init cannot fail.
        init::layer_weight_(&weight).expect("2-D weight");
        let bias = bias.then(|| init::layer_bias(&weight).expect("2-D weight"));
        Linear {
            weight: weight.requires_grad(true),
            bias,
        }
    }

    /// A layer with the given weight `(out, in)` and optional bias `(out,)`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Linear, Module}, Tensor};
    /// let w = Tensor::new([[2.0f32]]).unwrap();
    /// let layer = Linear::from_parts(w, None);
    /// assert_eq!(layer.forward(&Tensor::new([[3.0f32]]).unwrap()).unwrap().item().unwrap(), 6.0);
    /// ```
    pub fn from_parts(weight: Tensor, bias: Option<Tensor>) -> Linear {
        Linear {
            weight: weight.requires_grad(true),
            bias: bias.map(|b| b.requires_grad(true)),
        }
    }

    /// The weight, `(out_features, in_features)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Linear::new(2, 5, true).weight().shape(), &[5, 2]);
    /// ```
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(out_features,)`, if the layer has one.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Linear::new(2, 5, true).bias().unwrap().shape(), &[5]);
    /// ```
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

impl Module for Linear {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        input.linear(&self.weight, self.bias.as_ref())
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        format!(
            "Linear(in_features={}, out_features={}, bias={})",
            s[1],
            s[0],
            self.bias.is_some()
        )
    }
}
