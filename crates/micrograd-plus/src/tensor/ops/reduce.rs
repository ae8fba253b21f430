//! Reductions over all elements or over chosen dims, with `keepdim`.
//!
//! `sum` and `max`/`min` are primitives with their own backward rules; `mean`,
//! `var`, `std` and `logsumexp` are built from differentiable ops, so their
//! gradients follow from the chain rule with no extra code.

use crate::tensor::shape::{broadcast_copy, normalize_dim, normalize_dims, reduce, reduced_shape};
use crate::tensor::{no_grad, with_slice, Tensor};
use crate::{Error, Result};

/// The shape after reduction, without the reduced dims unless `keepdim`.
pub(crate) fn output_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
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

/// The dims a reduction folds: `dims` normalised, and every dim when the list
/// is empty (PyTorch's `dim=[]`, which is not "reduce nothing").
pub(crate) fn reduction_dims(op: &'static str, dims: &[isize], ndim: usize) -> Result<Vec<usize>> {
    normalize_dims(op, (!dims.is_empty()).then_some(dims), ndim)
}

/// How many elements fold into each output element.
fn reduced_count(shape: &[usize], dims: &[usize]) -> usize {
    dims.iter().map(|&d| shape[d]).product()
}

/// Which extreme [`Tensor::extreme`] takes.
#[derive(Clone, Copy)]
enum Extreme {
    Max,
    Min,
}

/// How the gradient of a max/min reaches the input, as PyTorch 2.15 does it.
#[derive(Clone, Copy, PartialEq)]
enum Ties {
    /// `amax`/`amin`: `grad / count · [x == m]`, a multiplication by the
    /// mask, so a non-finite upstream gradient gives NaN beside the extreme.
    Mask,
    /// `max()`/`min()` of the whole tensor: the share is written at the
    /// extremes and every other element gets exactly 0.
    Select,
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
        let dims = reduction_dims("sum", dims, self.ndim())?;
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
        let d = reduction_dims("mean", dims, self.ndim())?;
        Ok(self
            .sum_impl(&d, keepdim)
            .div_scalar(reduced_count(self.shape(), &d) as f64))
    }

    /// Largest element. Ties share the gradient evenly. An empty tensor has
    /// none: an error, as in PyTorch.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// assert_eq!(Tensor::new([1.0f32, 5.0, 2.0]).unwrap().max().unwrap().item().unwrap(), 5.0);
    /// assert!(Tensor::zeros(&[0]).max().is_err());
    /// ```
    pub fn max(&self) -> Result<Tensor> {
        let all: Vec<usize> = (0..self.ndim()).collect();
        self.check_nonempty("max", &all)?;
        Ok(self.extreme("max", &all, false, Extreme::Max, Ties::Select))
    }

    /// Largest value over `dims` (PyTorch's `amax`); ties share the gradient evenly.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 7.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.max_dims(&[0], false).unwrap().to_vec::<f32>(), vec![3.0, 7.0]);
    /// ```
    pub fn max_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let d = reduction_dims("max", dims, self.ndim())?;
        self.check_nonempty("max", &d)?;
        Ok(self.extreme("max", &d, keepdim, Extreme::Max, Ties::Mask))
    }

    /// Smallest element. Ties share the gradient evenly. An empty tensor has
    /// none: an error, as in PyTorch.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// assert_eq!(Tensor::new([1.0f32, 5.0, 2.0]).unwrap().min().unwrap().item().unwrap(), 1.0);
    /// ```
    pub fn min(&self) -> Result<Tensor> {
        let all: Vec<usize> = (0..self.ndim()).collect();
        self.check_nonempty("min", &all)?;
        Ok(self.extreme("min", &all, false, Extreme::Min, Ties::Select))
    }

    /// Smallest value over `dims` (PyTorch's `amin`); ties share the gradient evenly.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 7.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.min_dims(&[1], false).unwrap().to_vec::<f32>(), vec![1.0, 3.0]);
    /// ```
    pub fn min_dims(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let d = reduction_dims("min", dims, self.ndim())?;
        self.check_nonempty("min", &d)?;
        Ok(self.extreme("min", &d, keepdim, Extreme::Min, Ties::Mask))
    }

    /// A max or min over a zero-size dim has no value (PyTorch raises too);
    /// zero-size dims that are kept just give an empty result.
    fn check_nonempty(&self, op: &'static str, dims: &[usize]) -> Result<()> {
        if let Some(&d) = dims.iter().find(|&&d| self.shape()[d] == 0) {
            return Err(Error::shape(
                op,
                format!(
                    "cannot reduce dim {d} of size 0 (shape {:?}): it has no {op}imum",
                    self.shape()
                ),
            ));
        }
        Ok(())
    }

    fn extreme(
        &self,
        op: &'static str,
        dims: &[usize],
        keepdim: bool,
        which: Extreme,
        ties: Ties,
    ) -> Tensor {
        let is_max = matches!(which, Extreme::Max);
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
                // evenly among ties: grad / count(x == m) at each of them.
                let x = &inputs[0];
                let (xs, ys, gs) = (x.storage(), y.storage(), g.storage());
                let dx = with_slice!(&*xs, |xv: T| {
                    let (yv, gv) = (T::slice(&ys).expect("dtype"), T::slice(&gs).expect("dtype"));
                    let m = broadcast_copy(yv, &kept, x.shape());
                    let hits: Vec<T> = xv
                        .iter()
                        .zip(&m)
                        .map(|(&a, &b)| {
                            // A NaN extreme came from the NaN elements.
                            let hit = a == b || (ties == Ties::Select && a.is_nan() && b.is_nan());
                            if hit {
                                T::one()
                            } else {
                                T::zero()
                            }
                        })
                        .collect();
                    let count = broadcast_copy(
                        &reduce(&hits, x.shape(), &dims, T::zero(), |a, b| a + b),
                        &kept,
                        x.shape(),
                    );
                    let g = broadcast_copy(gv, &kept, x.shape());
                    T::into_storage(
                        (0..hits.len())
                            .map(|i| match ties {
                                Ties::Mask => g[i] / count[i] * hits[i],
                                Ties::Select if hits[i] == T::one() => g[i] / count[i],
                                Ties::Select => T::zero(),
                            })
                            .collect(),
                    )
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
        self.var_dims(&[], correction, false)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Variance over `dims`: `Σ(x − mean)² / max(0, N − correction)`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f64, 3.0], [2.0, 2.0]]).unwrap();
    /// assert_eq!(t.var_dims(&[1], 0, false).unwrap().to_vec::<f64>(), vec![1.0, 0.0]);
    /// ```
    pub fn var_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Result<Tensor> {
        let d = reduction_dims("var", dims, self.ndim())?;
        let n = reduced_count(self.shape(), &d);
        let centred = no_grad(|| self.sub(&self.mean_dims(dims, true)?))?;
        // PyTorch divides by max(0, N - correction): a correction of N or
        // more gives inf (or NaN for a zero sum), never a negative variance.
        let divisor = n.saturating_sub(correction) as f64;
        let value = no_grad(|| {
            Ok::<_, Error>(
                centred
                    .mul(&centred)?
                    .sum_impl(&d, true)
                    .div_scalar(divisor),
            )
        })?;
        let out = value.storage().clone();
        let kept = value.shape().to_vec();
        Ok(Tensor::record(
            out,
            output_shape(self.shape(), &d, keepdim),
            "var",
            vec![self.clone()],
            move |g, _, _| {
                // dx = 2 (x - mean) / (N - correction) · g: the mean's own
                // gradient sums to zero, so it is left out (as PyTorch does,
                // which also keeps N - correction signed here).
                let scale = 2.0 / (n as f64 - correction as f64);
                let g = g.reshape(&kept.iter().map(|&k| k as isize).collect::<Vec<_>>())?;
                Ok(vec![Some(centred.mul(&g)?.mul_scalar(scale))])
            },
        ))
    }

    /// Standard deviation of all elements (`sqrt(var)`).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([1.0f64, 3.0]).unwrap();
    /// assert_eq!(t.std(0).item().unwrap(), 1.0);
    /// ```
    pub fn std(&self, correction: usize) -> Tensor {
        self.std_dims(&[], correction, false)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Standard deviation over `dims`. Where it is 0 (a constant row) its
    /// gradient is 0, as in PyTorch, not the NaN of `sqrt`'s chain rule
    /// (`0 · 1/0`): a constant row must not poison training.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::new([[1.0f64, 3.0], [2.0, 2.0]]).unwrap().requires_grad(true);
    /// let s = t.std_dims(&[1], 0, false).unwrap();
    /// assert_eq!(s.to_vec::<f64>(), vec![1.0, 0.0]);
    /// s.sum().backward().unwrap();
    /// assert_eq!(t.grad().unwrap().to_vec::<f64>(), vec![-0.5, 0.5, 0.0, 0.0]);
    /// ```
    pub fn std_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Result<Tensor> {
        let var = self.var_dims(dims, correction, keepdim)?;
        let out = with_slice!(&*var.storage(), |v: T| T::into_storage(
            v.iter().map(|x| x.sqrt()).collect()
        ));
        Ok(Tensor::record(
            out,
            var.shape().to_vec(),
            "std",
            vec![var],
            |g, _, y| {
                // d sqrt(v) / dv = 1 / (2 sqrt(v)), taken as 0 where sqrt(v) = 0.
                let (gs, ys) = (g.storage(), y.storage());
                let dv = with_slice!(&*ys, |yv: T| {
                    let gv = T::slice(&gs).expect("dtype");
                    T::into_storage(
                        yv.iter()
                            .zip(gv)
                            .map(|(&y, &g)| {
                                if y == T::zero() {
                                    T::zero()
                                } else {
                                    g / (y + y)
                                }
                            })
                            .collect(),
                    )
                });
                Ok(vec![Some(Tensor::from_storage(dv, y.shape().to_vec()))])
            },
        ))
    }

    /// `log(Σ exp(x))` over all elements, without overflow.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([1e4f64, 1e4]).unwrap();
    /// assert!((t.logsumexp().item().unwrap() - (1e4 + 2f64.ln())).abs() < 1e-9);
    /// ```
    pub fn logsumexp(&self) -> Tensor {
        self.logsumexp_dims(&[], false)
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
        let d = reduction_dims("logsumexp", dims, self.ndim())?;
        // Over a zero-size dim the sum is empty: log 0 = -inf, as in PyTorch.
        // The shift is a constant: its gradient contributions cancel exactly.
        let m = no_grad(|| {
            let m = self.extreme("max", &d, true, Extreme::Max, Ties::Mask);
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

    /// Largest value along `dim` and its index (PyTorch's `max(dim)`): the
    /// first index wins ties and a NaN (the first) wins over numbers. The
    /// gradient goes to that one element. The indices are whole numbers in
    /// this tensor's dtype, as for [`Tensor::argmax`].
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f32, 3.0, 3.0], [2.0, 0.0, 1.0]]).unwrap();
    /// let (values, indices) = x.max_dim(1, false).unwrap();
    /// assert_eq!(values.to_vec::<f32>(), vec![3.0, 2.0]);
    /// assert_eq!(indices.to_vec::<f32>(), vec![1.0, 0.0]);
    /// assert!(Tensor::zeros(&[2, 0]).max_dim(1, false).is_err());
    /// ```
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.extreme_dim("max", dim, keepdim, true)
    }

    /// Smallest value along `dim` and its index (PyTorch's `min(dim)`); see
    /// [`Tensor::max_dim`].
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f32, 3.0, 1.0]]).unwrap();
    /// let (values, indices) = x.min_dim(-1, true).unwrap();
    /// assert_eq!((values.to_vec::<f32>(), indices.to_vec::<f32>()), (vec![1.0], vec![0.0]));
    /// ```
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.extreme_dim("min", dim, keepdim, false)
    }

    /// The values at [`Tensor::arg_extreme`]'s indices, picked by `gather`
    /// (whose backward puts the gradient at the picked element only).
    fn extreme_dim(
        &self,
        op: &'static str,
        dim: isize,
        keepdim: bool,
        is_max: bool,
    ) -> Result<(Tensor, Tensor)> {
        let d = normalize_dim(op, dim, self.ndim())?;
        let out_shape = output_shape(self.shape(), &[d], keepdim);
        let x = self.at_least_1d();
        let indices = x.arg_extreme(op, Some(d as isize), true, is_max)?;
        let values = x.gather(d as isize, &indices)?;
        Ok((
            values.reshape_unchecked(out_shape.clone()),
            indices.reshape_unchecked(out_shape),
        ))
    }

    fn arg_extreme(
        &self,
        op: &'static str,
        dim: Option<isize>,
        keepdim: bool,
        is_max: bool,
    ) -> Result<Tensor> {
        // Nothing to pick from: the whole (flattened) tensor, or the dim, is
        // empty. Other zero-size dims just give an empty result.
        let empty = match dim {
            None => self.numel() == 0,
            Some(d) => self.ndim() > 0 && self.shape()[normalize_dim(op, d, self.ndim())?] == 0,
        };
        if empty {
            return Err(Error::shape(
                op,
                format!(
                    "cannot take the index of an extreme over zero elements (shape {:?}, dim {dim:?})",
                    self.shape()
                ),
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

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn reduction_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        struct Reduction {
            op: &'static str,
            param: &'static str,
            all: ReduceAll,
            dims: ReduceDims,
            separated: bool,
        }
        let reductions = [
            Reduction {
                op: "sum",
                param: "",
                all: |x| x.sum(),
                dims: |x, d, k| x.sum_dims(d, k),
                separated: false,
            },
            Reduction {
                op: "mean",
                param: "",
                all: |x| x.mean(),
                dims: |x, d, k| x.mean_dims(d, k),
                separated: false,
            },
            Reduction {
                op: "max",
                param: "",
                all: |x| x.max().expect("a non-empty tensor"),
                dims: |x, d, k| x.max_dims(d, k),
                separated: true,
            },
            Reduction {
                op: "min",
                param: "",
                all: |x| x.min().expect("a non-empty tensor"),
                dims: |x, d, k| x.min_dims(d, k),
                separated: true,
            },
            Reduction {
                op: "var",
                param: "correction=0, ",
                all: |x| x.var(0),
                dims: |x, d, k| x.var_dims(d, 0, k),
                separated: false,
            },
            Reduction {
                op: "var",
                param: "correction=1, ",
                all: |x| x.var(1),
                dims: |x, d, k| x.var_dims(d, 1, k),
                separated: false,
            },
            Reduction {
                op: "std",
                param: "correction=0, ",
                all: |x| x.std(0),
                dims: |x, d, k| x.std_dims(d, 0, k),
                separated: false,
            },
            Reduction {
                op: "std",
                param: "correction=1, ",
                all: |x| x.std(1),
                dims: |x, d, k| x.std_dims(d, 1, k),
                separated: false,
            },
            Reduction {
                op: "logsumexp",
                param: "",
                all: |x| x.logsumexp(),
                dims: |x, d, k| x.logsumexp_dims(d, k),
                separated: false,
            },
        ];
        let dim_cases: [(&'static [isize], bool); 10] = [
            (&[0], false),
            (&[0], true),
            (&[1], false),
            (&[1], true),
            (&[2], false),
            (&[2], true),
            (&[0, 2], false),
            (&[-1, 0], true),
            (&[0, 1, 2], true),
            (&[1, 2], false),
        ];
        let s = &[2, 3, 4];
        for r in &reductions {
            let input = |g: &mut Gen| {
                if r.separated {
                    g.spread(&[s]).remove(0)
                } else {
                    g.randn(s)
                }
            };
            let all = r.all;
            out.push(OpCheck::new(
                r.op,
                format!("{}all elements", r.param),
                vec![input(g)],
                move |t| Ok(all(&t[0])),
            ));
            for (dims, keepdim) in dim_cases {
                let f = r.dims;
                out.push(OpCheck::new(
                    r.op,
                    format!("{}dims={dims:?}, keepdim={keepdim}", r.param),
                    vec![input(g)],
                    move |t| f(&t[0], dims, keepdim),
                ));
            }
        }
        // Degenerate shapes: a 0-d input and a vector.
        out.push(OpCheck::new("sum", "0-d input", vec![g.randn(&[])], |t| {
            Ok(t[0].sum())
        }));
        out.push(OpCheck::new("max", "0-d input", vec![g.randn(&[])], |t| {
            t[0].max()
        }));
        out.push(OpCheck::new(
            "min",
            "dims=[0], keepdim=false",
            vec![g.spread(&[&[5]]).remove(0)],
            |t| t[0].min_dims(&[0], false),
        ));
        out.push(OpCheck::new(
            "logsumexp",
            "large inputs (1000 + x)",
            vec![g.randn(&[2, 3])],
            |t| t[0].add_scalar(1000.0).logsumexp_dims(&[1], false),
        ));
    }

    /// max/min over a dim with indices, on distinct, separated values.
    pub(crate) fn max_min_dim_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[2, 3, 4];
        for (op, largest) in [("max_dim", true), ("min_dim", false)] {
            for (dim, keepdim) in [(1, false), (-1, true)] {
                let x = g.spread(&[s]).remove(0);
                out.push(OpCheck::new(
                    op,
                    format!("dim={dim}, keepdim={keepdim}"),
                    vec![x],
                    move |t| {
                        let (values, _) = if largest {
                            t[0].max_dim(dim, keepdim)?
                        } else {
                            t[0].min_dim(dim, keepdim)?
                        };
                        Ok(values)
                    },
                ));
            }
        }
    }
}
