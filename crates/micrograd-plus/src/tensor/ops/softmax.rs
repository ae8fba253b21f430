//! softmax and log_softmax over one dim, stable for inputs of any magnitude
//! (the row maximum is subtracted before exponentiating), and the gated
//! linear unit `glu`, another function of a whole dim.
//!
//! Backward rules, with `y` the output and `g` the upstream gradient, summing
//! along the softmax dim:
//! - softmax: `dx = y · (g − Σ g·y)`
//! - log_softmax: `dx = g − softmax(x) · Σ g`

use super::record::{record, Fused, Operands, Scalar};
use crate::kernels::simd;
use crate::tensor::shape::{fold_slice, normalize_dim, sum_slice, zip_sum};
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};

/// Splits `shape` around `dim` into (outer, len, inner) so that element
/// `(o, j, i)` sits at `(o * len + j) * inner + i` (a 0-d tensor is one
/// line of one element).
pub(crate) fn split_at_dim(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    if shape.is_empty() {
        return (1, 1, 1);
    }
    (
        shape[..dim].iter().product(),
        shape[dim],
        shape[dim + 1..].iter().product(),
    )
}

/// Runs `f` on every line along the dim, given as (base offset, stride).
fn for_each_line(outer: usize, len: usize, inner: usize, mut f: impl FnMut(usize, usize)) {
    for o in 0..outer {
        for i in 0..inner {
            f(o * len * inner + i, inner);
        }
    }
}

/// Each row minus its maximum `m`, exponentiated, over the sum. A row with
/// +∞ has `∞ − ∞ = NaN` in it and a row of −∞ is all NaN, exactly as in
/// PyTorch: no guess at what the limit "should" be.
fn softmax_forward<T: Element>(
    x: &[T],
    (outer, len, inner): (usize, usize, usize),
    log: bool,
) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    if inner == 1 && len > 0 {
        // Contiguous rows (the usual last-dim softmax): plain slice loops
        // that vectorise, with exp's polynomial fused where the CPU can.
        simd::wide_fused(
            #[inline(always)]
            |fused| {
                for (xr, yr) in x.chunks_exact(len).zip(y.chunks_exact_mut(len)) {
                    let m = fold_slice(xr, T::neg_infinity(), &T::max);
                    for (o, &v) in yr.iter_mut().zip(xr) {
                        *o = (v - m).exp_fast_with(fused);
                    }
                    let sum = sum_slice(yr);
                    if log {
                        let log_sum = sum.ln();
                        for (o, &v) in yr.iter_mut().zip(xr) {
                            *o = v - m - log_sum;
                        }
                    } else {
                        yr.iter_mut().for_each(|o| *o = *o / sum);
                    }
                }
            },
        );
        return y;
    }
    for_each_line(outer, len, inner, |base, stride| {
        let at = |j: usize| base + j * stride;
        let m = (0..len).map(|j| x[at(j)]).fold(T::neg_infinity(), T::max);
        let mut sum = T::zero();
        for j in 0..len {
            y[at(j)] = (x[at(j)] - m).exp_fast();
            sum = sum + y[at(j)];
        }
        let log_sum = sum.ln();
        for j in 0..len {
            y[at(j)] = if log {
                x[at(j)] - m - log_sum
            } else {
                y[at(j)] / sum
            };
        }
    });
    y
}

/// Softmax of `scale · row` in place, for one contiguous row with
/// `scale > 0`; entries of −∞ (masked) get probability 0, and a row with
/// nothing but −∞ becomes all zeros. Vectorises inside
/// [`simd::wide_fused`]; `fused` is the flag it hands the calling loop.
#[inline(always)]
pub(crate) fn softmax_row_in_place<T: Element>(row: &mut [T], scale: T, fused: bool) {
    let max = fold_slice(row, T::neg_infinity(), &T::max);
    if max == T::neg_infinity() {
        row.fill(T::zero());
        return;
    }
    for v in row.iter_mut() {
        *v = ((*v - max) * scale).exp_fast_with(fused);
    }
    let inv = T::one() / sum_slice(row);
    row.iter_mut().for_each(|v| *v = *v * inv);
}

fn softmax_backward<T: Element>(
    g: &[T],
    y: &[T],
    dims: (usize, usize, usize),
    log: bool,
) -> Vec<T> {
    let (outer, len, inner) = dims;
    let mut dx = vec![T::zero(); g.len()];
    if inner == 1 && len > 0 {
        // Contiguous rows, as in the forward. (The loss's log-softmax over
        // the GPT's 2048 × 65 logits, AVX2: 440-447 → 123-132 µs a backward;
        // the strided loop below called the scalar `exp` per element.)
        simd::wide_fused(
            #[inline(always)]
            |fused| {
                let rows = g.chunks_exact(len).zip(y.chunks_exact(len));
                for ((gr, yr), dr) in rows.zip(dx.chunks_exact_mut(len)) {
                    let row = dr.iter_mut().zip(gr).zip(yr);
                    if log {
                        let sum_g = sum_slice(gr);
                        for ((d, &gv), &yv) in row {
                            *d = gv - yv.exp_fast_with(fused) * sum_g;
                        }
                    } else {
                        let dot = zip_sum(gr, yr, |a, b| a * b);
                        for ((d, &gv), &yv) in row {
                            *d = yv * (gv - dot);
                        }
                    }
                }
            },
        );
        return dx;
    }
    for_each_line(outer, len, inner, |base, stride| {
        let at = |j: usize| base + j * stride;
        if log {
            let sum_g: T = (0..len).map(|j| g[at(j)]).sum();
            for j in 0..len {
                dx[at(j)] = g[at(j)] - y[at(j)].exp() * sum_g;
            }
        } else {
            let dot: T = (0..len).map(|j| g[at(j)] * y[at(j)]).sum();
            for j in 0..len {
                dx[at(j)] = y[at(j)] * (g[at(j)] - dot);
            }
        }
    });
    dx
}

impl Tensor {
    /// `exp(x) / Σ exp(x)` along `dim`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([[1e4f32, 1e4], [0.0, 0.0]]).unwrap().softmax(-1).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.5, 0.5, 0.5, 0.5]);
    /// ```
    pub fn softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_impl("softmax", dim, false)
    }

    /// `x − log Σ exp(x)` along `dim`: the log of [`Tensor::softmax`], computed directly.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([0.0f64, 0.0]).unwrap().log_softmax(0).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![-(2f64.ln()); 2]);
    /// ```
    pub fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_impl("log_softmax", dim, true)
    }

    fn softmax_impl(&self, op: &'static str, dim: isize, log: bool) -> Result<Tensor> {
        let d = normalize_dim(op, dim, self.ndim())?;
        let dims = split_at_dim(self.shape(), d);
        let shape = self.shape().to_vec();
        Ok(record(Softmax { op, dims, log }, [Some(self)], shape))
    }
}

/// softmax or log_softmax along one dim, as (outer, len, inner).
struct Softmax {
    op: &'static str,
    dims: (usize, usize, usize),
    log: bool,
}

impl Fused for Softmax {
    /// The backward is written in the output, which the graph keeps.
    type Saved<T: Scalar> = ();

    fn name(&self) -> &'static str {
        self.op
    }

    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, ()) {
        (softmax_forward(&x[0], self.dims, self.log), ())
    }

    fn backward<T: Scalar>(
        &self,
        g: &[T],
        _x: &Operands<'_, T>,
        y: &[T],
        _saved: &(),
        _want: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        vec![Some(softmax_backward(g, y, self.dims, self.log))]
    }
}

impl Tensor {
    /// The gated linear unit along `dim`: the first half times the sigmoid
    /// of the second half (PyTorch's `F.glu`); the dim must have even size.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([[2.0f32, 4.0, 0.0, 0.0]]).unwrap().glu(-1).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, 2.0]);
    /// assert!(Tensor::ones(&[3]).glu(0).is_err());
    /// ```
    pub fn glu(&self, dim: isize) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Err(Error::shape(
                "glu",
                "glu does not support scalars because halving size must be even",
            ));
        }
        let d = normalize_dim("glu", dim, self.ndim())?;
        let n = self.shape()[d];
        if !n.is_multiple_of(2) {
            return Err(Error::shape(
                "glu",
                format!(
                    "Halving dimension must be even, but dimension {d} is size {n} (shape {:?})",
                    self.shape()
                ),
            ));
        }
        let half = n / 2;
        let (a, b) = (
            self.narrow(d as isize, 0, half)?,
            self.narrow(d as isize, half, half)?,
        );
        a.mul(&b.sigmoid())
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn softmax_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for dim in [0, 1, 2, -1] {
            out.push(OpCheck::new(
                "softmax",
                format!("dim={dim}"),
                vec![g.randn(&[2, 3, 4])],
                move |t| t[0].softmax(dim),
            ));
            out.push(OpCheck::new(
                "log_softmax",
                format!("dim={dim}"),
                vec![g.randn(&[2, 3, 4])],
                move |t| t[0].log_softmax(dim),
            ));
        }
        out.push(OpCheck::new(
            "softmax",
            "dim=0, 1-D",
            vec![g.randn(&[5])],
            |t| t[0].softmax(0),
        ));
        out.push(OpCheck::new(
            "log_softmax",
            "dim=-1, large inputs (1000 + x)",
            vec![g.randn(&[2, 3])],
            |t| t[0].add_scalar(1000.0).log_softmax(-1),
        ));
    }

    /// glu (any values).
    pub(crate) fn glu_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        out.push(OpCheck::new("glu", "dim=-1", vec![g.randn(&[3, 4])], |t| {
            t[0].glu(-1)
        }));
    }
}
