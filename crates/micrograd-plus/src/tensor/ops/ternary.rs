//! Elementwise ops of three broadcasting tensors: `clamp` with tensor
//! bounds and `lerp`. Each is a [`TernaryFn`], its value and its three
//! partial derivatives side by side; one forward (all three operands
//! broadcast to the output's shape) and one backward (`grad · ∂y/∂v`
//! summed back to each operand's shape) serve both.

use super::{chain, zip_fill};
use crate::tensor::shape::{broadcast_copy, broadcast_shapes, sum_to_shape};
use crate::tensor::{with_slice, DType, Element, Tensor};
use crate::{Error, Result};

/// A scalar function of three variables with its partial derivatives.
pub trait TernaryFn: Copy + Send + Sync + 'static {
    /// Op name, used in the graph and in error messages.
    const NAME: &'static str;
    /// y = f(a, b, c).
    fn f<T: Element>(&self, v: [T; 3]) -> T;
    /// (∂y/∂a, ∂y/∂b, ∂y/∂c) at `v`, given y.
    fn d<T: Element>(&self, v: [T; 3], y: T) -> [T; 3];
    /// Whether a 0 partial blocks the gradient by selection (see
    /// [`super::UnaryFn::gate`]).
    fn gate(&self) -> bool {
        false
    }
}

/// Forward of every ternary op, and its recorded backward. The operands
/// must share a dtype (callers promote or refuse first).
fn ternary<F: TernaryFn>(v: [&Tensor; 3], op: F) -> Result<Tensor> {
    let shape = broadcast_shapes(
        F::NAME,
        &broadcast_shapes(F::NAME, v[0].shape(), v[1].shape())?,
        v[2].shape(),
    )?;
    let out = {
        let (s0, s1, s2) = (v[0].storage(), v[1].storage(), v[2].storage());
        with_slice!(&*s0, |a: T| {
            let full = |x: &[T], from: &[usize]| broadcast_copy(x, from, &shape);
            let (b, c) = (T::slice(&s1).expect("dtype"), T::slice(&s2).expect("dtype"));
            let (a, b, c) = (
                full(a, v[0].shape()),
                full(b, v[1].shape()),
                full(c, v[2].shape()),
            );
            T::into_storage(zip_fill([&a, &b, &c], move |x| op.f(x)))
        })
    };
    let out_shape = shape.clone();
    Ok(Tensor::record(
        out,
        out_shape,
        F::NAME,
        v.map(Tensor::clone).to_vec(),
        move |g, inputs, y| {
            let (gs, ys) = (g.storage(), y.storage());
            let st: Vec<_> = inputs.iter().map(|t| t.storage()).collect();
            let grads = with_slice!(&*gs, |gv: T| {
                let yv = T::slice(&ys).expect("dtype");
                let full: Vec<Vec<T>> = inputs
                    .iter()
                    .zip(&st)
                    .map(|(t, s)| broadcast_copy(T::slice(s).expect("dtype"), t.shape(), &shape))
                    .collect();
                let gate = op.gate();
                (0..3)
                    .map(|k| {
                        let t = &inputs[k];
                        t.is_requires_grad().then(|| {
                            let d: Vec<T> = (0..gv.len())
                                .map(|i| {
                                    let x = [full[0][i], full[1][i], full[2][i]];
                                    chain(gv[i], op.d(x, yv[i])[k], gate)
                                })
                                .collect();
                            let d = sum_to_shape(&d, &shape, t.shape());
                            Tensor::from_storage(T::into_storage(d), t.shape().to_vec())
                        })
                    })
                    .collect()
            });
            Ok(grads)
        },
    ))
}

/// `clamp(x, min, max)` with both bounds tensors, by PyTorch 2.15's rules:
/// NaN anywhere gives NaN; `min > max` gives `max`; where `x` ties a bound
/// that lies strictly below the other, the gradient is split evenly between
/// `x` and that bound; where the result is NaN, `x` gets the whole gradient.
#[derive(Clone, Copy)]
struct ClampTensor;
impl TernaryFn for ClampTensor {
    const NAME: &'static str = "clamp";
    fn gate(&self) -> bool {
        true
    }
    fn f<T: Element>(&self, [x, lo, hi]: [T; 3]) -> T {
        if x.is_nan() || lo.is_nan() || hi.is_nan() {
            T::nan()
        } else {
            x.max(lo).min(hi)
        }
    }
    fn d<T: Element>(&self, [x, lo, hi]: [T; 3], y: T) -> [T; 3] {
        // Each bound's share: all of it where it wins outright, half where
        // x ties it (and the bounds are in order), none otherwise.
        let share = |wins: bool, tie: bool| {
            if wins {
                T::one()
            } else if tie {
                T::of(0.5)
            } else {
                T::zero()
            }
        };
        let d_lo = share(x < lo && lo <= hi, x == lo && lo < hi);
        let d_hi = share(x > hi || hi < lo, x == hi && lo < hi);
        let d_x = if y.is_nan() {
            T::one()
        } else {
            T::one() - d_lo - d_hi
        };
        [d_x, d_lo, d_hi]
    }
}

/// `a + w·(b − a)`, computed as PyTorch does (`b − (b − a)·(1 − w)` where
/// `|w| >= 0.5`, which is exact at `w = 1`). Partials: `1 − w`, `w`, `b − a`.
#[derive(Clone, Copy)]
struct Lerp;
impl TernaryFn for Lerp {
    const NAME: &'static str = "lerp";
    fn f<T: Element>(&self, [a, b, w]: [T; 3]) -> T {
        let diff = b - a;
        if w.abs() < T::of(0.5) {
            a + w * diff
        } else {
            b - diff * (T::one() - w)
        }
    }
    fn d<T: Element>(&self, [a, b, w]: [T; 3], _: T) -> [T; 3] {
        [T::one() - w, w, b - a]
    }
}

impl Tensor {
    /// Clamps into `[min, max]` with tensor bounds that broadcast with the
    /// input (either may be `None`, not both; one bound alone is
    /// [`Tensor::maximum`] or [`Tensor::minimum`], as in PyTorch). The
    /// result's dtype is the operands' common dtype. Gradients reach the
    /// bounds where they win.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([-2.0f32, 0.5, 3.0]).unwrap();
    /// let lo = Tensor::new([-1.0f32, 1.0, 0.0]).unwrap();
    /// let y = x.clamp_tensor(Some(&lo), Some(&Tensor::scalar(2.0f32))).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![-1.0, 1.0, 2.0]);
    /// assert!(x.clamp_tensor(None, None).is_err());
    /// ```
    pub fn clamp_tensor(&self, min: Option<&Tensor>, max: Option<&Tensor>) -> Result<Tensor> {
        // One bound is PyTorch's maximum (or minimum), ties and NaN included.
        let (lo, hi) = match (min, max) {
            (Some(lo), Some(hi)) => (lo, hi),
            (Some(lo), None) => return self.maximum(lo),
            (None, Some(hi)) => return self.minimum(hi),
            (None, None) => {
                return Err(Error::argument(
                    "clamp",
                    format!(
                        "At least one of 'min' or 'max' must not be None (input shape {:?})",
                        self.shape()
                    ),
                ))
            }
        };
        let dtype = DType::result_type(&[self, lo, hi]);
        ternary(
            [
                &self.to_dtype(dtype),
                &lo.to_dtype(dtype),
                &hi.to_dtype(dtype),
            ],
            ClampTensor,
        )
    }

    /// Linear interpolation `self + weight · (end − self)`, all three
    /// broadcasting; like PyTorch, the three must share a dtype.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let a = Tensor::new([0.0f32, 10.0]).unwrap();
    /// let b = Tensor::new([1.0f32, 20.0]).unwrap();
    /// let y = a.lerp(&b, &Tensor::scalar(0.25f32)).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.25, 12.5]);
    /// assert!(a.lerp(&b.to_dtype(micrograd_plus::DType::F64), &Tensor::scalar(0.5f32)).is_err());
    /// ```
    pub fn lerp(&self, end: &Tensor, weight: &Tensor) -> Result<Tensor> {
        for (what, t) in [("end", end), ("weight", weight)] {
            if t.dtype() != self.dtype() {
                return Err(Error::argument(
                    "lerp",
                    format!(
                        "expected dtype {} for `{what}` but got dtype {} (shapes {:?} and {:?})",
                        self.dtype().name(),
                        t.dtype().name(),
                        self.shape(),
                        t.shape()
                    ),
                ));
            }
        }
        ternary([self, end, weight], Lerp)
    }

    /// [`Tensor::lerp`] with a scalar weight.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::zeros(&[2]).lerp_scalar(&Tensor::ones(&[2]), 0.5).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.5, 0.5]);
    /// ```
    pub fn lerp_scalar(&self, end: &Tensor, weight: f64) -> Result<Tensor> {
        self.lerp(end, &Tensor::full_dtype(&[], weight, self.dtype()))
    }
}
