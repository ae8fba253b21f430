//! Dropout as a function, PyTorch's `F.dropout(x, p, training)`:
//!
//! ```text
//! y = x · m / (1 − p)      m ~ Bernoulli(1 − p), one draw per mask element
//! ∂y/∂x = m / (1 − p)      (the same mask: dropped units get no gradient)
//! ```
//!
//! Inverted dropout: kept values are scaled by `1/(1 − p)` while training,
//! so the expected activation is unchanged and evaluation is the identity.
//! The forward is one `mul` by the mask, whose backward is exactly the rule
//! above. `p = 1` drops everything (the mask is all zeros).
//!
//! [`Tensor::dropout`] draws from the default generator;
//! `nn::Dropout`/`nn::Dropout2d` call `dropout_with` with their own
//! generator (and, for `Dropout2d`, one draw per channel).

use crate::random::with_rng;
use crate::tensor::Tensor;
use crate::{Error, Result};
use rand::Rng;

/// Checks a dropout probability: `p` in `[0, 1]` (NaN refused).
pub(crate) fn check_probability(op: &'static str, p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::argument(
            op,
            format!("dropout probability has to be between 0 and 1, got {p}"),
        ))
    }
}

/// `x · mask` with a mask of `mask_shape` (broadcast over `x`) drawn from
/// `rng`: 0 with probability `p`, `1/(1 − p)` otherwise. `p` must already
/// be checked; `p = 0` returns `x` itself and draws nothing.
pub(crate) fn dropout_with(
    x: &Tensor,
    p: f64,
    mask_shape: &[usize],
    rng: &mut impl Rng,
) -> Result<Tensor> {
    if p == 0.0 {
        return Ok(x.clone());
    }
    let scale = 1.0 / (1.0 - p);
    let n: usize = mask_shape.iter().product();
    let mask: Vec<f64> = (0..n)
        .map(|_| if rng.r#gen::<f64>() < p { 0.0 } else { scale })
        .collect();
    let mask = Tensor::from_vec(mask, mask_shape)?.to_dtype(x.dtype());
    x.mul(&mask)
}

impl Tensor {
    /// PyTorch's `F.dropout(x, p, training)`: while `training`, zeroes each
    /// element with probability `p` (drawn from the default generator, so
    /// [`crate::manual_seed`] makes it repeatable) and scales the rest by
    /// `1/(1 − p)`; otherwise the identity. `p` must be in `[0, 1]`, as in
    /// PyTorch, even when not training.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// micrograd_plus::manual_seed(0);
    /// let x = Tensor::ones(&[1000]).requires_grad(true);
    /// let y = x.dropout(0.5, true).unwrap();
    /// let values = y.to_vec::<f32>();
    /// assert!(values.iter().all(|&v| v == 0.0 || v == 2.0));
    /// y.sum().backward().unwrap(); // the gradient is the mask
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>(), values);
    /// assert_eq!(x.dropout(0.5, false).unwrap().to_vec::<f32>(), vec![1.0; 1000]);
    /// let err = x.dropout(1.5, false).unwrap_err();
    /// assert_eq!(err.to_string(), "dropout: dropout probability has to be between 0 and 1, got 1.5");
    /// ```
    pub fn dropout(&self, p: f64, training: bool) -> Result<Tensor> {
        check_probability("dropout", p)?;
        if !training {
            return Ok(self.clone());
        }
        with_rng(|rng| dropout_with(self, p, self.shape(), rng))
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// Functional dropout under a fixed seed, so every evaluation draws
    /// the same mask.
    pub(crate) fn dropout_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        out.push(OpCheck::new(
            "dropout",
            "p=0.3, fixed seed",
            vec![g.randn(&[3, 4])],
            |t| {
                crate::manual_seed(7);
                t[0].dropout(0.3, true)
            },
        ));
    }
}
