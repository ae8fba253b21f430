//! Running sums and products along one dim (`cumsum`, `cumprod`) and the
//! product reduction `prod`, whose gradient is built from the same
//! exclusive products. Every op works line by line: a line is the elements
//! `(o, 0..len, i)` of the input read as `(outer, len, inner)` around the dim.
//!
//! Backward rules, with `g` the upstream gradient and `y` the output, as
//! PyTorch computes them (so NaN and ±∞ give the same results):
//! - cumsum: `dx = reversed cumsum of g`;
//! - cumprod: without zeros in the input, `dx = (reversed cumsum of g·y) / x`;
//!   with zeros, before a line's first zero the same sum stops at that zero,
//!   at the first zero `dx_k = Π_{i<k} x_i · Σ_{j≥k} g_j · Π_{k<i≤j} x_i`,
//!   after it 0;
//! - prod: without zeros in the input, `dx = g · y / x`; with zeros,
//!   `dx_m = g · Π_{i≠m} x_i` (exclusive prefix times suffix products), which
//!   is the product of the others at a lone zero and 0 everywhere else.

use super::softmax::split_at_dim as lines;
use crate::tensor::shape::normalize_dim;
use crate::tensor::{with_slice, Element, Tensor};
use crate::Result;

/// Calls `f(offsets)` with the offsets of every line's elements, in order.
fn for_each_line((outer, len, inner): (usize, usize, usize), mut f: impl FnMut(&[usize])) {
    let mut at = Vec::with_capacity(len);
    for o in 0..outer {
        for i in 0..inner {
            at.clear();
            at.extend((0..len).map(|j| (o * len + j) * inner + i));
            f(&at);
        }
    }
}

/// A running fold of every line (from the end when `reverse`).
fn scan<T: Element>(
    v: &[T],
    shape: (usize, usize, usize),
    reverse: bool,
    f: impl Fn(T, T) -> T,
    init: T,
) -> Vec<T> {
    let mut out = vec![T::zero(); v.len()];
    for_each_line(shape, |at| {
        let mut acc = init;
        let mut step = |k: usize| {
            acc = f(acc, v[k]);
            out[k] = acc;
        };
        if reverse {
            at.iter().rev().for_each(|&k| step(k));
        } else {
            at.iter().for_each(|&k| step(k));
        }
    });
    out
}

/// `Π_{i≠m} x_i` for every `m` of every line: exclusive prefix times
/// exclusive suffix products (exact with zeros, unlike `y / x`).
fn products_of_others<T: Element>(x: &[T], shape: (usize, usize, usize)) -> Vec<T> {
    let mut out = vec![T::zero(); x.len()];
    for_each_line(shape, |at| {
        let mut prefix = T::one();
        for &k in at {
            out[k] = prefix;
            prefix = prefix * x[k];
        }
        let mut suffix = T::one();
        for &k in at.iter().rev() {
            out[k] = out[k] * suffix;
            suffix = suffix * x[k];
        }
    });
    out
}

/// cumprod's input gradient for inputs with zeros (see the module docs).
fn cumprod_backward_with_zeros<T: Element>(
    x: &[T],
    y: &[T],
    g: &[T],
    shape: (usize, usize, usize),
) -> Vec<T> {
    let mut dx = vec![T::zero(); x.len()];
    for_each_line(shape, |at| {
        let first_zero = at.iter().position(|&k| x[k] == T::zero());
        let stop = first_zero.unwrap_or(at.len());
        // Before the first zero: (Σ_{m≤j<stop} g_j·y_j) / x_m.
        let mut acc = T::zero();
        for &k in at[..stop].iter().rev() {
            acc = acc + g[k] * y[k];
            dx[k] = acc / x[k];
        }
        if let Some(z) = first_zero {
            // At it: (Π_{i<z} x_i) · Σ_{j≥z} g_j · Π_{z<i≤j} x_i, the
            // product before the zero factored out as PyTorch does.
            let before = if z == 0 { T::one() } else { y[at[z - 1]] };
            let mut running = T::one();
            let mut sum = g[at[z]];
            for &k in &at[z + 1..] {
                running = running * x[k];
                sum = sum + g[k] * running;
            }
            dx[at[z]] = before * sum;
        }
    });
    dx
}

impl Tensor {
    /// Running sum along `dim`: `y_j = Σ_{i≤j} x_i`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]).unwrap();
    /// assert_eq!(t.cumsum(1).unwrap().to_vec::<f32>(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
    /// assert!(t.cumsum(2).is_err());
    /// ```
    pub fn cumsum(&self, dim: isize) -> Result<Tensor> {
        let shape = lines(self.shape(), normalize_dim("cumsum", dim, self.ndim())?);
        let out = with_slice!(&*self.storage(), |v: T| T::into_storage(scan(
            v,
            shape,
            false,
            |a, b| a + b,
            T::zero()
        )));
        Ok(Tensor::record(
            out,
            self.shape().to_vec(),
            "cumsum",
            vec![self.clone()],
            move |g, _, _| {
                let dx = with_slice!(&*g.storage(), |gv: T| T::into_storage(scan(
                    gv,
                    shape,
                    true,
                    |a, b| a + b,
                    T::zero()
                )));
                Ok(vec![Some(Tensor::from_storage(dx, g.shape().to_vec()))])
            },
        ))
    }

    /// Running product along `dim`: `y_j = Π_{i≤j} x_i`, with PyTorch's
    /// gradient where the input has zeros.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([2.0f64, 0.0, 3.0]).unwrap().requires_grad(true);
    /// let y = x.cumprod(0).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![2.0, 0.0, 0.0]);
    /// y.sum().backward().unwrap();
    /// // d/dx0 = 1 (only y0 depends on it without the zero); d/dx1 = 2 + 2·3
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![1.0, 8.0, 0.0]);
    /// ```
    pub fn cumprod(&self, dim: isize) -> Result<Tensor> {
        let shape = lines(self.shape(), normalize_dim("cumprod", dim, self.ndim())?);
        let out = with_slice!(&*self.storage(), |v: T| T::into_storage(scan(
            v,
            shape,
            false,
            |a, b| a * b,
            T::one()
        )));
        Ok(Tensor::record(
            out,
            self.shape().to_vec(),
            "cumprod",
            vec![self.clone()],
            move |g, inputs, y| {
                let x = &inputs[0];
                // A line of one element passes the gradient unchanged.
                if x.numel() <= 1 || shape.1 == 1 {
                    return Ok(vec![Some(g.clone())]);
                }
                let (xs, ys, gs) = (x.storage(), y.storage(), g.storage());
                let dx = with_slice!(&*xs, |xv: T| {
                    let (yv, gv) = (T::slice(&ys).expect("dtype"), T::slice(&gs).expect("dtype"));
                    T::into_storage(if xv.contains(&T::zero()) {
                        cumprod_backward_with_zeros(xv, yv, gv, shape)
                    } else {
                        let w: Vec<T> = gv.iter().zip(yv).map(|(&g, &y)| g * y).collect();
                        let sums = scan(&w, shape, true, |a, b| a + b, T::zero());
                        sums.iter().zip(xv).map(|(&s, &x)| s / x).collect()
                    })
                });
                Ok(vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))])
            },
        ))
    }

    /// Product of all elements, as a 0-d tensor (1 for an empty tensor).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.prod().item().unwrap(), 24.0);
    /// ```
    pub fn prod(&self) -> Tensor {
        let flat = self.numel();
        self.prod_lines((1, flat, 1), Vec::new())
    }

    /// Product along `dim`, PyTorch's gradient included: with one zero in a
    /// line, the zero's gradient is the product of the others; with several,
    /// every gradient in the line is 0.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[2.0f64, 0.0, 3.0], [0.0, 0.0, 5.0]]).unwrap().requires_grad(true);
    /// let y = x.prod_dim(1, false).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![0.0, 0.0]);
    /// y.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![0.0, 6.0, 0.0, 0.0, 0.0, 0.0]);
    /// ```
    pub fn prod_dim(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        let d = normalize_dim("prod", dim, self.ndim())?;
        let mut out_shape = self.shape().to_vec();
        if !out_shape.is_empty() {
            if keepdim {
                out_shape[d] = 1;
            } else {
                out_shape.remove(d);
            }
        }
        Ok(self.prod_lines(lines(self.shape(), d), out_shape))
    }

    /// The product of every line of `shape`, one output element per line.
    fn prod_lines(&self, shape: (usize, usize, usize), out_shape: Vec<usize>) -> Tensor {
        let (outer, _, inner) = shape;
        let out = with_slice!(&*self.storage(), |v: T| {
            let mut out = vec![T::one(); outer * inner];
            let mut n = 0;
            for_each_line(shape, |at| {
                out[n] = at.iter().fold(T::one(), |p, &k| p * v[k]);
                n += 1;
            });
            T::into_storage(out)
        });
        Tensor::record(
            out,
            out_shape,
            "prod",
            vec![self.clone()],
            move |g, inputs, y| {
                let x = &inputs[0];
                if x.ndim() == 0 {
                    return Ok(vec![Some(g.clone())]);
                }
                let (xs, ys, gs) = (x.storage(), y.storage(), g.storage());
                let dx = with_slice!(&*xs, |xv: T| {
                    let (yv, gv) = (T::slice(&ys).expect("dtype"), T::slice(&gs).expect("dtype"));
                    let zeros = xv.contains(&T::zero());
                    let others = zeros.then(|| products_of_others(xv, shape));
                    let mut dx = vec![T::zero(); xv.len()];
                    let mut n = 0;
                    for_each_line(shape, |at| {
                        for &k in at {
                            dx[k] = match &others {
                                Some(p) => gv[n] * p[k],
                                None => gv[n] * (yv[n] / xv[k]),
                            };
                        }
                        n += 1;
                    });
                    T::into_storage(dx)
                });
                Ok(vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))])
            },
        )
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// prod (all elements and over a dim), cumsum and cumprod. Products get
    /// inputs away from 0: their zero branches are tie checks.
    pub(crate) fn scan_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[2, 3, 4];
        out.push(OpCheck::new(
            "prod",
            "all elements",
            vec![g.away(&[2, 3])],
            |t| Ok(t[0].prod()),
        ));
        for (dim, keepdim) in [(0, false), (1, true), (-1, false)] {
            out.push(OpCheck::new(
                "prod",
                format!("dim={dim}, keepdim={keepdim}"),
                vec![g.away(s)],
                move |t| t[0].prod_dim(dim, keepdim),
            ));
        }
        for dim in [0, 1, -1] {
            out.push(OpCheck::new(
                "cumsum",
                format!("dim={dim}"),
                vec![g.randn(s)],
                move |t| t[0].cumsum(dim),
            ));
            out.push(OpCheck::new(
                "cumprod",
                format!("dim={dim}"),
                vec![g.away(s)],
                move |t| t[0].cumprod(dim),
            ));
        }
    }
}
