//! `LayerNorm(normalized_shape)`: normalise each sample over its last dims.
//!
//! `y = (x - mean) / √(var + eps) · γ + β`, with the mean and the biased
//! variance taken over the trailing `normalized_shape` dims of every sample,
//! so it behaves the same in training and evaluation and for any batch size.

use super::{Module, Visitor};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Layer normalisation with an optional elementwise affine (γ = 1, β = 0 at
/// the start).
///
/// ```
/// use micrograd_plus::{nn::{LayerNorm, Module}, Tensor};
/// let ln = LayerNorm::new(&[4]);
/// let y = ln.forward(&Tensor::new([[1.0f64, 2.0, 3.0, 4.0]]).unwrap()).unwrap();
/// let v = y.to_vec::<f64>();
/// assert!(v.iter().sum::<f64>().abs() < 1e-9);                      // mean 0
/// assert!((v.iter().map(|x| x * x).sum::<f64>() / 4.0 - 1.0).abs() < 1e-4); // variance 1
/// ```
pub struct LayerNorm {
    normalized_shape: Vec<usize>,
    eps: f64,
    weight: Option<Tensor>,
    bias: Option<Tensor>,
}

impl LayerNorm {
    /// Normalises over `normalized_shape` (the trailing dims) with eps 1e-5
    /// and a learnable affine.
    ///
    /// ```
    /// use micrograd_plus::nn::{LayerNorm, Module};
    /// assert_eq!(LayerNorm::new(&[8]).num_parameters(), 16);
    /// ```
    pub fn new(normalized_shape: &[usize]) -> LayerNorm {
        LayerNorm::with_options(normalized_shape, 1e-5, true)
    }

    /// Full control over eps and the affine parameters.
    ///
    /// ```
    /// use micrograd_plus::nn::{LayerNorm, Module};
    /// assert_eq!(LayerNorm::with_options(&[8], 1e-6, false).num_parameters(), 0);
    /// ```
    pub fn with_options(normalized_shape: &[usize], eps: f64, affine: bool) -> LayerNorm {
        let param = |v: f64| affine.then(|| Tensor::full(normalized_shape, v).requires_grad(true));
        LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            eps,
            weight: param(1.0),
            bias: param(0.0),
        }
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let k = self.normalized_shape.len();
        let shape = x.shape();
        if shape.len() < k || shape[shape.len() - k..] != self.normalized_shape[..] {
            return Err(Error::shape(
                "LayerNorm",
                format!(
                    "input {shape:?} does not end with normalized_shape {:?}",
                    self.normalized_shape
                ),
            ));
        }
        // One fused op (see tensor::ops::layer_norm) instead of nine composed ones.
        x.layer_norm(
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        if let (Some(w), Some(b)) = (&self.weight, &self.bias) {
            f("weight", w);
            f("bias", b);
        }
    }

    fn describe(&self) -> String {
        format!(
            "LayerNorm({:?}, eps={}, elementwise_affine={})",
            self.normalized_shape,
            self.eps,
            self.weight.is_some()
        )
    }
}
