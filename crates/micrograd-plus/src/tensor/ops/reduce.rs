//! Reductions over all elements or over chosen dims, with `keepdim`.
//!
//! `sum` and `max`/`min` are primitives with their own backward rules; `mean`,
//! `var`, `std` and `logsumexp` are built from differentiable ops, so their
//! gradients follow from the chain rule with no extra code.

use crate::tensor::shape::{broadcast_copy, normalize_dim, normalize_dims, reduce, reduced_shape};
use crate::tensor::{no_grad, with_slice, Tensor};
use crate::{Error, Result};

/// The shape after reduction, without the reduced dims unless `keepdim`.
fn output_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    if keepdim {
        return reduced_shape(shape, dims);
    }
    shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !dims.contains(i))
        .map(|(_, &d)| d)
        .collect()
}

/// How many elements fold into each output element.
fn reduced_count(shape: &[usize], dims: &[usize]) -> usize {
    dims.iter().map(|&d| shape[d]).product()
}

impl Tensor {
    /// Sum of all elements, as a 0-d tensor.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.sum().item().unwrap(), 10.0);
    /// ```
    pub fn sum(&self) -> Tensor {
        self.sum_impl(&(0..self.ndim()).collect::<Vec<_>>(), false)
    }

    /// Sum over `dims` (negative dims count from the end).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.sum_dims(&[0], false).unwrap().to_vec::<f32>(), vec![4.0, 6.0]);
    /// assert_eq!(t.sum_dims(&[-1], true).unwrap().shape(), &[2, 1]);
    /// ```
    pub fn sum_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let dims = normalize_dims("sum", Some(dims), self.ndim())?;
        Ok(self.sum_impl(&dims, keepdim))
    }

    fn sum_impl(&self, dims: &[usize], keepdim: bool) -> Tensor {
        let out = with_slice!(&*self.storage(), |v: T| {
            T::into_storage(reduce(v, self.shape(), dims, T::zero(), |a, b| a + b))
        });
        let kept = reduced_shape(self.shape(), dims);
        let dims = dims.to_vec();
        Tensor::record(
            out,
            output_shape(self.shape(), &dims, keepdim),
            "sum",
            vec![self.clone()],
            move |g, inputs, _| {
                // Every input element contributed once: copy the gradient back out.
                let x = &inputs[0];
                let dx = with_slice!(&*g.storage(), |g: T| T::into_storage(broadcast_copy(
                    g,
                    &kept,
                    x.shape()
                )));
                Ok(vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))])
            },
        )
    }

    /// Mean of all elements.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([1.0f32, 2.0, 6.0]).unwrap().mean().item().unwrap(), 3.0);
    /// ```
    pub fn mean(&self) -> Tensor {
        self.sum().div_scalar(self.numel() as f64)
    }

    /// Mean over `dims`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.mean_dims(&[1], false).unwrap().to_vec::<f32>(), vec![1.5, 3.5]);
    /// ```
    pub fn mean_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let d = normalize_dims("mean", Some(dims), self.ndim())?;
        Ok(self
            .sum_impl(&d, keepdim)
            .div_scalar(reduced_count(self.shape(), &d) as f64))
    }

    /// Largest element. Ties share the gradient evenly.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([1.0f32, 5.0, 2.0]).unwrap().max().item().unwrap(), 5.0);
    /// ```
    pub fn max(&self) -> Tensor {
        self.extreme("max", &(0..self.ndim()).collect::<Vec<_>>(), false, true)
    }

    /// Largest value over `dims` (PyTorch's `amax`); ties share the gradient evenly.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 7.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.max_dims(&[0], false).unwrap().to_vec::<f32>(), vec![3.0, 7.0]);
    /// ```
    pub fn max_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let d = normalize_dims("max", Some(dims), self.ndim())?;
        self.check_nonempty("max", &d)?;
        Ok(self.extreme("max", &d, keepdim, true))
    }

    /// Smallest element. Ties share the gradient evenly.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([1.0f32, 5.0, 2.0]).unwrap().min().item().unwrap(), 1.0);
    /// ```
    pub fn min(&self) -> Tensor {
        self.extreme("min", &(0..self.ndim()).collect::<Vec<_>>(), false, false)
    }

    /// Smallest value over `dims` (PyTorch's `amin`); ties share the gradient evenly.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 7.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.min_dims(&[1], false).unwrap().to_vec::<f32>(), vec![1.0, 3.0]);
    /// ```
    pub fn min_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let d = normalize_dims("min", Some(dims), self.ndim())?;
        self.check_nonempty("min", &d)?;
        Ok(self.extreme("min", &d, keepdim, false))
    }

    fn check_nonempty(&self, op: &'static str, dims: &[usize]) -> Result<()> {
        if self.numel() == 0 || dims.iter().any(|&d| self.shape()[d] == 0) {
            return Err(Error::shape(
                op,
                format!(
                    "cannot reduce an empty dimension of shape {:?}",
                    self.shape()
                ),
            ));
        }
        Ok(())
    }

    fn extreme(&self, op: &'static str, dims: &[usize], keepdim: bool, is_max: bool) -> Tensor {
        let out = with_slice!(&*self.storage(), |v: T| {
            let init = if is_max {
                T::neg_infinity()
            } else {
                T::infinity()
            };
            let pick = |a: T, b: T| {
                if a.is_nan() || b.is_nan() {
                    T::nan()
                } else if (b > a) == is_max && b != a {
                    b
                } else {
                    a
                }
            };
            T::into_storage(reduce(v, self.shape(), dims, init, pick))
        });
        let kept = reduced_shape(self.shape(), dims);
        let dims = dims.to_vec();
        Tensor::record(
            out,
            output_shape(self.shape(), &dims, keepdim),
            op,
            vec![self.clone()],
            move |g, inputs, y| {
                // The gradient goes to the elements equal to the extreme, split
                // evenly among ties: grad · [x == m] / count(x == m).
                let x = &inputs[0];
                let (xs, ys, gs) = (x.storage(), y.storage(), g.storage());
                let dx = with_slice!(&*xs, |xv: T| {
                    let (yv, gv) = (T::slice(&ys).expect("dtype"), T::slice(&gs).expect("dtype"));
                    let m = broadcast_copy(yv, &kept, x.shape());
                    let hits: Vec<T> = xv
                        .iter()
                        .zip(&m)
                        .map(|(&a, &b)| if a == b { T::one() } else { T::zero() })
                        .collect();
                    let count = broadcast_copy(
                        &reduce(&hits, x.shape(), &dims, T::zero(), |a, b| a + b),
                        &kept,
                        x.shape(),
                    );
                    let g = broadcast_copy(gv, &kept, x.shape());
                    T::into_storage((0..hits.len()).map(|i| hits[i] * g[i] / count[i]).collect())
                });
                Ok(vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))])
            },
        )
    }

    /// Variance of all elements with Bessel's `correction` (1 = unbiased,
    /// PyTorch's default; 0 = biased).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([1.0f64, 2.0, 3.0, 4.0]).unwrap();
    /// assert_eq!(t.var(1).item().unwrap(), 5.0 / 3.0);
    /// assert_eq!(t.var(0).item().unwrap(), 1.25);
    /// ```
    pub fn var(&self, correction: usize) -> Tensor {
        let all: Vec<isize> = (0..self.ndim() as isize).collect();
        self.var_dims(&all, correction, false)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Variance over `dims`: `Σ(x − mean)² / (N − correction)`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f64, 3.0], [2.0, 2.0]]).unwrap();
    /// assert_eq!(t.var_dims(&[1], 0, false).unwrap().to_vec::<f64>(), vec![1.0, 0.0]);
    /// ```
    pub fn var_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Result<Tensor> {
        let d = normalize_dims("var", Some(dims), self.ndim())?;
        let n = reduced_count(self.shape(), &d);
        let centred = self.sub(&self.mean_dims(dims, true)?)?;
        let sq = centred.mul(&centred)?;
        // N <= correction divides by zero or less: PyTorch answers inf/nan too.
        Ok(sq
            .sum_impl(&d, keepdim)
            .div_scalar(n as f64 - correction as f64))
    }

    /// Standard deviation of all elements (`sqrt(var)`).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([1.0f64, 3.0]).unwrap();
    /// assert_eq!(t.std(0).item().unwrap(), 1.0);
    /// ```
    pub fn std(&self, correction: usize) -> Tensor {
        self.var(correction).sqrt()
    }

    /// Standard deviation over `dims`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f64, 3.0]]).unwrap();
    /// assert_eq!(t.std_dims(&[1], 0, true).unwrap().to_vec::<f64>(), vec![1.0]);
    /// ```
    pub fn std_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Result<Tensor> {
        Ok(self.var_dims(dims, correction, keepdim)?.sqrt())
    }

    /// `log(Σ exp(x))` over all elements, without overflow.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([1e4f64, 1e4]).unwrap();
    /// assert!((t.logsumexp().item().unwrap() - (1e4 + 2f64.ln())).abs() < 1e-9);
    /// ```
    pub fn logsumexp(&self) -> Tensor {
        let all: Vec<isize> = (0..self.ndim() as isize).collect();
        self.logsumexp_dims(&all, false)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `log(Σ exp(x))` over `dims`, computed as `m + log(Σ exp(x − m))` with
    /// `m` the (constant) maximum, so large inputs do not overflow.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[0.0f64, 0.0], [1e4, 1e4]]).unwrap();
    /// let y = t.logsumexp_dims(&[1], false).unwrap().to_vec::<f64>();
    /// assert!((y[1] - (1e4 + 2f64.ln())).abs() < 1e-9);
    /// ```
    pub fn logsumexp_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let d = normalize_dims("logsumexp", Some(dims), self.ndim())?;
        self.check_nonempty("logsumexp", &d)?;
        // The shift is a constant: its gradient contributions cancel exactly.
        let m = no_grad(|| {
            let m = self.extreme("max", &d, true, true);
            let finite = with_slice!(&*m.storage(), |v: T| {
                T::into_storage(
                    v.iter()
                        .map(|&x| if x.is_finite() { x } else { T::zero() })
                        .collect(),
                )
            });
            Tensor::from_storage(finite, m.shape().to_vec())
        });
        let lse = self.sub(&m)?.exp().sum_impl(&d, true).log().add(&m)?;
        if keepdim {
            Ok(lse)
        } else {
            lse.reshape(
                &output_shape(self.shape(), &d, false)
                    .iter()
                    .map(|&v| v as isize)
                    .collect::<Vec<_>>(),
            )
        }
    }

    /// Index of the largest element along `dim` (of the flattened tensor when
    /// `None`), as a tensor of integer values in this tensor's dtype. Not
    /// differentiable. The first index wins on ties.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 9.0, 3.0], [7.0, 2.0, 7.0]]).unwrap();
    /// assert_eq!(t.argmax(Some(1), false).unwrap().to_vec::<f32>(), vec![1.0, 0.0]);
    /// assert_eq!(t.argmax(None, false).unwrap().item().unwrap(), 1.0);
    /// ```
    pub fn argmax(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme("argmax", dim, keepdim, true)
    }

    /// Index of the smallest element along `dim` (flattened when `None`).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 9.0, 3.0], [7.0, 2.0, 7.0]]).unwrap();
    /// assert_eq!(t.argmin(Some(1), false).unwrap().to_vec::<f32>(), vec![0.0, 1.0]);
    /// ```
    pub fn argmin(&self, dim: Option<isize>, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme("argmin", dim, keepdim, false)
    }

    fn arg_extreme(
        &self,
        op: &'static str,
        dim: Option<isize>,
        keepdim: bool,
        is_max: bool,
    ) -> Result<Tensor> {
        if self.numel() == 0 {
            return Err(Error::shape(
                op,
                "cannot take the index of an extreme of an empty tensor",
            ));
        }
        let (outer, len, inner, out_shape) = match dim {
            None => (
                1,
                self.numel(),
                1,
                if keepdim {
                    vec![1; self.ndim()]
                } else {
                    vec![]
                },
            ),
            Some(d) => {
                let d = normalize_dim(op, d, self.ndim())?;
                let shape = self.shape();
                if shape.is_empty() {
                    (1, 1, 1, vec![])
                } else {
                    let outer = shape[..d].iter().product();
                    let inner = shape[d + 1..].iter().product();
                    (outer, shape[d], inner, output_shape(shape, &[d], keepdim))
                }
            }
        };
        let out = with_slice!(&*self.storage(), |v: T| {
            let mut idx = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                for i in 0..inner {
                    let at = |j: usize| v[(o * len + j) * inner + i];
                    let mut best = 0;
                    for j in 1..len {
                        let (b, c) = (at(best), at(j));
                        if !b.is_nan() && (c.is_nan() || if is_max { c > b } else { c < b }) {
                            best = j;
                        }
                    }
                    idx.push(T::of(best as f64));
                }
            }
            T::into_storage(idx)
        });
        Ok(Tensor::from_storage(out, out_shape))
    }
}
