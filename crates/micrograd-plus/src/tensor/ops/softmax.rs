//! softmax and log_softmax over one dim, stable for inputs of any magnitude
//! (the row maximum is subtracted before exponentiating).
//!
//! Backward rules, with `y` the output and `g` the upstream gradient, summing
//! along the softmax dim:
//! - softmax: `dx = y · (g − Σ g·y)`
//! - log_softmax: `dx = g − softmax(x) · Σ g`

use crate::tensor::shape::normalize_dim;
use crate::tensor::{with_slice, Element, Tensor};
use crate::Result;

/// Splits `shape` around `dim` into (outer, len, inner) so that element
/// `(o, j, i)` sits at `(o * len + j) * inner + i`.
fn split_at_dim(shape: &[usize], dim: usize) -> (usize, usize, usize) {
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

fn softmax_forward<T: Element>(
    x: &[T],
    (outer, len, inner): (usize, usize, usize),
    log: bool,
) -> Vec<T> {
    let mut y = vec![T::zero(); x.len()];
    for_each_line(outer, len, inner, |base, stride| {
        let at = |j: usize| base + j * stride;
        let m = (0..len).map(|j| x[at(j)]).fold(T::neg_infinity(), T::max);
        let m = if m.is_finite() { m } else { T::zero() };
        let sum: T = (0..len).map(|j| (x[at(j)] - m).exp()).sum();
        for j in 0..len {
            y[at(j)] = if log {
                x[at(j)] - m - sum.ln()
            } else {
                (x[at(j)] - m).exp() / sum
            };
        }
    });
    y
}

fn softmax_backward<T: Element>(
    g: &[T],
    y: &[T],
    dims: (usize, usize, usize),
    log: bool,
) -> Vec<T> {
    let (outer, len, inner) = dims;
    let mut dx = vec![T::zero(); g.len()];
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
        let out = with_slice!(&*self.storage(), |x: T| T::into_storage(softmax_forward(
            x, dims, log
        )));
        Ok(Tensor::record(
            out,
            self.shape().to_vec(),
            op,
            vec![self.clone()],
            move |g, _, y| {
                let (gs, ys) = (g.storage(), y.storage());
                let dx = with_slice!(&*gs, |gv: T| {
                    T::into_storage(softmax_backward(
                        gv,
                        T::slice(&ys).expect("dtype"),
                        dims,
                        log,
                    ))
                });
                Ok(vec![Some(Tensor::from_storage(dx, g.shape().to_vec()))])
            },
        ))
    }
}
