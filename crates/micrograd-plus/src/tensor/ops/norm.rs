//! Vector norms over chosen dims: `‖x‖_p = (Σ|x|^p)^(1/p)`, with `p = ∞`
//! the largest `|x|`, `p = −∞` the smallest and `p = 0` the count of
//! non-zeros (PyTorch's `linalg.vector_norm`), and `normalize`, which
//! divides by the norm.
//!
//! Backward (PyTorch's `norm_backward`, with `n` the norm and `g` the
//! upstream gradient, broadcast back over the reduced dims):
//! - `p = 0`: 0;  `p = 1`: `sign(x)·g`;
//! - `p = 2`: `g · x / n`, taken as 0 where `n = 0` (so the norm of zeros
//!   has gradient 0, not NaN);
//! - `p = ±∞`: `sign(x) · g / k` at the `k` elements with `|x| = n` (or NaN);
//! - `p < 1`: `sign(x)·|x|^(p−1) · g · n^(1−p)` (0 where `x = 0`);
//! - otherwise: `sign(x)·|x|^(p−1) · g / n^(p−1)`, 0 where `n = 0`.

use super::record::{record, Fused, Operands, Scalar};
use super::reduce::{output_shape, reduction_dims};
use super::unary::sign as sgn;
use crate::tensor::shape::{broadcast_copy, reduce, reduced_shape};
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};

/// The larger (or smaller) of two values, NaN winning.
fn extreme<T: Element>(largest: bool) -> impl Fn(T, T) -> T {
    move |a: T, b: T| {
        if a.is_nan() || b.is_nan() {
            T::nan()
        } else if largest {
            a.max(b)
        } else {
            a.min(b)
        }
    }
}

/// `‖x‖_p` of every reduced block, in the keepdim shape.
fn norm_forward<T: Element>(x: &[T], shape: &[usize], dims: &[usize], p: f64) -> Vec<T> {
    let abs: Vec<T> = x.iter().map(|v| v.abs()).collect();
    if p.is_infinite() {
        let (init, largest) = if p > 0.0 {
            (T::zero(), true)
        } else {
            (T::infinity(), false)
        };
        return reduce(&abs, shape, dims, init, extreme(largest));
    }
    let terms: Vec<T> = if p == 0.0 {
        x.iter()
            .map(|&v| if v != T::zero() { T::one() } else { T::zero() })
            .collect()
    } else if p == 1.0 {
        abs
    } else if p == 2.0 {
        x.iter().map(|&v| v * v).collect()
    } else {
        abs.iter().map(|&a| a.powf(T::of(p))).collect()
    };
    let sums = reduce(&terms, shape, dims, T::zero(), |a, b| a + b);
    if p == 0.0 || p == 1.0 {
        sums
    } else if p == 2.0 {
        sums.iter().map(|s| s.sqrt()).collect()
    } else {
        sums.iter().map(|s| s.powf(T::of(1.0 / p))).collect()
    }
}

/// The input gradient (see the module docs); `n` and `g` are already
/// broadcast to the input's shape, `count` (for `p = ±∞`) too.
fn norm_backward<T: Element>(x: &[T], n: &[T], g: &[T], count: Option<&[T]>, p: f64) -> Vec<T> {
    let pt = T::of(p);
    (0..x.len())
        .map(|i| {
            let (x, n, g) = (x[i], n[i], g[i]);
            let zero_norm = |v: T| if n == T::zero() { T::zero() } else { v };
            if p == 0.0 {
                T::zero()
            } else if p == 1.0 {
                sgn(x) * g
            } else if p == 2.0 {
                g * zero_norm(x / n)
            } else if p.is_infinite() {
                let hit = x.abs() == n || x.is_nan();
                let k = count.map_or(T::one(), |c| c[i]);
                let mask = if hit { T::one() } else { T::zero() };
                sgn(x) * (g / k * mask)
            } else if p < 1.0 {
                let scaled = if x == T::zero() {
                    T::zero()
                } else {
                    sgn(x) * x.abs().powf(pt - T::one())
                };
                scaled * g * n.powf(T::one() - pt)
            } else {
                let scaled = if p < 2.0 {
                    sgn(x) * x.abs().powf(pt - T::one())
                } else {
                    x * x.abs().powf(pt - T::of(2.0))
                };
                scaled * zero_norm(g / n.powf(pt - T::one()))
            }
        })
        .collect()
}

/// The `ord`-norm of an input of `shape` over `dims`; `kept` is the
/// output's keepdim shape.
struct VectorNorm {
    shape: Vec<usize>,
    dims: Vec<usize>,
    kept: Vec<usize>,
    ord: f64,
}

impl Fused for VectorNorm {
    /// The backward is written in the output (the norm), which the graph keeps.
    type Saved<T: Scalar> = ();

    fn name(&self) -> &'static str {
        "vector_norm"
    }

    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, ()) {
        (norm_forward(&x[0], &self.shape, &self.dims, self.ord), ())
    }

    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        y: &[T],
        _saved: &(),
        _want: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let (x, shape, kept) = (&x[0], &self.shape, &self.kept);
        let n = broadcast_copy(y, kept, shape);
        let gb = broadcast_copy(g, kept, shape);
        // ±∞ norms share the gradient among the elements that reach the norm.
        let count = self.ord.is_infinite().then(|| {
            let hits: Vec<T> = x
                .iter()
                .zip(&n)
                .map(|(&a, &m)| {
                    if a.abs() == m || a.is_nan() {
                        T::one()
                    } else {
                        T::zero()
                    }
                })
                .collect();
            let c = reduce(&hits, shape, &self.dims, T::zero(), |a, b| a + b);
            broadcast_copy(&c, kept, shape)
        });
        vec![Some(norm_backward(x, &n, &gb, count.as_deref(), self.ord))]
    }
}

impl Tensor {
    /// The vector `ord`-norm over `dims` (all dims when empty), PyTorch's
    /// `linalg.vector_norm`: `ord` may be any real, `f64::INFINITY` (largest
    /// `|x|`), `f64::NEG_INFINITY` (smallest) or 0 (count of non-zeros).
    /// The gradient of the 2-norm at 0 is 0, as in PyTorch. The ∞ norm and
    /// negative orders of an empty reduction are errors (no identity).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[3.0f64, -4.0], [0.0, 0.0]]).unwrap().requires_grad(true);
    /// let n = x.vector_norm(2.0, &[1], false).unwrap();
    /// assert_eq!(n.to_vec::<f64>(), vec![5.0, 0.0]);
    /// n.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![0.6, -0.8, 0.0, 0.0]);
    /// assert_eq!(x.vector_norm(f64::INFINITY, &[], false).unwrap().item().unwrap(), 4.0);
    /// ```
    pub fn vector_norm(&self, ord: f64, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let op = "vector_norm";
        let d = reduction_dims(op, dims, self.ndim())?;
        if ord.is_nan() {
            return Err(Error::argument(op, "the norm's order cannot be NaN"));
        }
        let empty = if self.ndim() == 0 {
            false
        } else {
            d.iter().any(|&k| self.shape()[k] == 0)
        };
        // No identity: the max of nothing, or 1/0 for a negative order.
        if (ord < 0.0 || ord == f64::INFINITY) && empty {
            return Err(Error::shape(
                op,
                format!(
                    "cannot compute the {ord} norm over a zero-size dim (shape {:?}, dims {d:?}): the operation does not have an identity",
                    self.shape()
                ),
            ));
        }
        let kept = reduced_shape(self.shape(), &d);
        let out_shape = output_shape(self.shape(), &d, keepdim);
        let norm = VectorNorm {
            shape: self.shape().to_vec(),
            dims: d,
            kept,
            ord,
        };
        Ok(record(norm, [Some(self)], out_shape))
    }

    /// PyTorch's `norm(p, dim, keepdim)` for vectors: the same as
    /// [`Tensor::vector_norm`].
    ///
    /// ```
    /// let x = micrograd_plus::Tensor::new([3.0f32, 4.0]).unwrap();
    /// assert_eq!(x.norm(2.0, &[], false).unwrap().item().unwrap(), 5.0);
    /// ```
    pub fn norm(&self, p: f64, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        self.vector_norm(p, dims, keepdim)
    }

    /// `x / max(‖x‖_p, eps)` along `dim` (PyTorch's `F.normalize`), built
    /// from [`Tensor::vector_norm`], `clamp` and `div`.
    ///
    /// ```
    /// let x = micrograd_plus::Tensor::new([[3.0f64, 4.0], [0.0, 0.0]]).unwrap();
    /// let y = x.normalize(2.0, 1, 1e-12).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![0.6, 0.8, 0.0, 0.0]);
    /// ```
    pub fn normalize(&self, p: f64, dim: isize, eps: f64) -> Result<Tensor> {
        let norm = self.vector_norm(p, &[dim], true)?.clamp(Some(eps), None);
        self.div(&norm)
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// vector_norm over every order, inputs away from 0 (its kink is a tie
    /// check); the 1- and ±∞-norms get distinct, separated values.
    pub(crate) fn vector_norm_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[2, 3, 4];
        for ord in [
            2.0,
            1.0,
            3.0,
            1.5,
            0.5,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            // ±∞ norms pick one element: distinct values keep that choice
            // stable under the finite-difference step.
            let x = if ord.is_infinite() || ord == 1.0 {
                g.spread(&[&[3, 4]]).remove(0)
            } else {
                g.away(&[3, 4])
            };
            out.push(OpCheck::new(
                "vector_norm",
                format!("ord={ord}, dims=[1]"),
                vec![x],
                move |t| t[0].vector_norm(ord, &[1], false),
            ));
        }
        out.push(OpCheck::new(
            "vector_norm",
            "ord=2, all elements, keepdim",
            vec![g.randn(s)],
            |t| t[0].vector_norm(2.0, &[], true),
        ));
    }

    /// normalize, the norm's inputs away from 0.
    pub(crate) fn normalize_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for p in [2.0, 1.0, 3.0] {
            out.push(OpCheck::new(
                "normalize",
                format!("p={p}, dim=1"),
                vec![g.away(&[3, 4])],
                move |t| t[0].normalize(p, 1, 1e-12),
            ));
        }
    }
}
