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
use crate::tensor::{DType, Element, Storage, Tensor};
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

/// `x · mask` with a mask of `mask_shape` (broadcast over `x`) made from
/// `draws`, uniform numbers in `[0, 1)` taken one per mask element in
/// row-major order: 0 where the draw is below `p`, `1/(1 − p)` otherwise.
/// `p` must already be checked; `p = 0` returns `x` itself and draws
/// nothing; too few draws is an error.
pub(crate) fn dropout_with(
    x: &Tensor,
    p: f64,
    mask_shape: &[usize],
    draws: impl Iterator<Item = f64>,
) -> Result<Tensor> {
    if p == 0.0 {
        return Ok(x.clone());
    }
    let n: usize = mask_shape.iter().product();
    // The mask is made in x's dtype, its scale rounded once to it.
    let mask = match x.dtype() {
        DType::F32 => mask_of::<f32>(p, n, draws),
        DType::F64 => mask_of::<f64>(p, n, draws),
    };
    if mask.len() != n {
        return Err(draw_count_error(mask.len(), mask_shape));
    }
    x.mul(&Tensor::from_storage(mask, mask_shape.to_vec()))
}

/// The error for `got` uniform draws where a mask of `shape` needs one per
/// element.
fn draw_count_error(got: usize, shape: &[usize]) -> Error {
    let n: usize = shape.iter().product();
    Error::argument(
        "dropout",
        format!("{got} uniform draws for a mask of {n} elements {shape:?}"),
    )
}

/// Up to `n` mask values from `draws`: 0 below `p`, `1/(1 − p)` otherwise.
fn mask_of<T: Element>(p: f64, n: usize, draws: impl Iterator<Item = f64>) -> Storage {
    let (zero, scale) = (T::zero(), T::of(1.0 / (1.0 - p)));
    let mask: Vec<T> = draws
        .take(n)
        .map(|u| if u < p { zero } else { scale })
        .collect();
    T::into_storage(mask)
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
        with_rng(|rng| {
            dropout_with(
                self,
                p,
                self.shape(),
                std::iter::repeat_with(|| rng.r#gen()),
            )
        })
    }

    /// Dropout (while training) with the uniform draws supplied by the
    /// caller: `uniforms` holds one number in `[0, 1)` per element, in
    /// row-major order, and an element is dropped where its number is below
    /// `p`. The Python package uses it with NumPy's numbers, as the course's
    /// `np.random.rand(*x.shape) > p` draws them.
    ///
    /// ```
    /// use micrograd_plus::{random::Mt19937, Tensor};
    /// let x = Tensor::ones(&[3]);
    /// // np.random.seed(42); np.random.rand(3) is [0.37, 0.95, 0.73]
    /// let mut uniforms = [0.0; 3];
    /// Mt19937::new(42).fill_f64(&mut uniforms);
    /// let y = x.dropout_with_uniforms(0.5, &uniforms).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 2.0, 2.0]);
    /// let err = x.dropout_with_uniforms(0.5, &uniforms[..2]).unwrap_err();
    /// assert_eq!(err.to_string(), "dropout: 2 uniform draws for a mask of 3 elements [3]");
    /// ```
    pub fn dropout_with_uniforms(&self, p: f64, uniforms: &[f64]) -> Result<Tensor> {
        check_probability("dropout", p)?;
        if uniforms.len() != self.numel() {
            return Err(draw_count_error(uniforms.len(), self.shape()));
        }
        dropout_with(self, p, self.shape(), uniforms.iter().copied())
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
