//! Masks and selection: comparisons make masks (1.0 where true, 0.0 where
//! false, in the operands' dtype; not differentiable), `where_` picks between
//! two tensors by a mask, `masked_fill` overwrites where a mask is set, and
//! `one_hot` turns class indices into rows of a identity matrix.

use super::binary::binary;
use super::BinaryFn;
use crate::tensor::shape::{
    broadcast_shapes, broadcast_strides, ensure_allocatable, for_each_offset, numel, sum_to_shape,
};
use crate::tensor::{no_grad, with_slice, DType, Element, Storage, Tensor};
use crate::{Error, Result};

macro_rules! comparison {
    ($Op:ident, $name:literal, $method:ident, $scalar:ident, |$a:ident, $b:ident| $test:expr, $doc:literal) => {
        #[doc = concat!("The `", $name, "` comparison (its derivatives are zero: masks are constants).")]
        #[derive(Clone, Copy)]
        pub struct $Op;
        impl BinaryFn for $Op {
            const NAME: &'static str = $name;
            fn f<T: Element>(&self, $a: T, $b: T) -> T {
                if $test {
                    T::one()
                } else {
                    T::zero()
                }
            }
            fn da<T: Element>(&self, _: T, _: T, _: T) -> T {
                T::zero()
            }
            fn db<T: Element>(&self, _: T, _: T, _: T) -> T {
                T::zero()
            }
        }
        impl Tensor {
            #[doc = concat!("Mask of `self ", $doc, " other` (broadcasting).")]
            ///
            /// ```
            /// use micrograd_plus::Tensor;
            /// let m = Tensor::new([1.0f32, 2.0, 3.0]).unwrap().lt(&Tensor::scalar(2.0f32)).unwrap();
            /// assert_eq!(m.shape(), &[3]);
            /// ```
            pub fn $method(&self, other: &Tensor) -> Result<Tensor> {
                no_grad(|| binary(self, other, $Op))
            }
            #[doc = concat!("Mask of `self ", $doc, " value`.")]
            ///
            /// ```
            /// let m = micrograd_plus::Tensor::new([1.0f32, 3.0]).unwrap().gt_scalar(2.0);
            /// assert_eq!(m.to_vec::<f32>(), vec![0.0, 1.0]);
            /// ```
            pub fn $scalar(&self, value: f64) -> Tensor {
                let s = Tensor::full_dtype(&[], value, self.dtype());
                no_grad(|| binary(self, &s, $Op)).unwrap_or_else(|e| panic!("{e}"))
            }
        }
    };
}
comparison!(Eq, "eq", eq, eq_scalar, |a, b| a == b, "==");
comparison!(Ne, "ne", ne, ne_scalar, |a, b| a != b, "!=");
comparison!(Lt, "lt", lt, lt_scalar, |a, b| a < b, "<");
comparison!(Le, "le", le, le_scalar, |a, b| a <= b, "<=");
comparison!(Gt, "gt", gt, gt_scalar, |a, b| a > b, ">");
comparison!(Ge, "ge", ge, ge_scalar, |a, b| a >= b, ">=");

impl Tensor {
    /// `a` where `mask` is non-zero, else `b`; all three broadcast. The
    /// gradient of `a` flows where the mask is set, that of `b` elsewhere.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let mask = Tensor::new([1.0f32, 0.0, 1.0]).unwrap();
    /// let y = Tensor::where_(&mask, &Tensor::ones(&[3]), &Tensor::zeros(&[1])).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, 0.0, 1.0]);
    /// ```
    pub fn where_(mask: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if a.dtype() != b.dtype() {
            let to = DType::result_type(&[a, b]);
            return Tensor::where_(mask, &a.to_dtype(to), &b.to_dtype(to));
        }
        let shape = broadcast_shapes(
            "where",
            &broadcast_shapes("where", mask.shape(), a.shape())?,
            b.shape(),
        )?;
        let set: Vec<bool> = {
            let m = mask.to_vec::<f64>();
            let strides = broadcast_strides(mask.shape(), &shape);
            let mut set = Vec::with_capacity(numel(&shape));
            for_each_offset(&shape, [&strides], |[i]| set.push(m[i] != 0.0));
            set
        };
        let (sa, sb) = (
            broadcast_strides(a.shape(), &shape),
            broadcast_strides(b.shape(), &shape),
        );
        let out = {
            let (ga, gb) = (a.storage(), b.storage());
            with_slice!(&*ga, |av: T| {
                let bv = T::slice(&gb).expect("dtype");
                let mut out = Vec::with_capacity(set.len());
                let mut n = 0;
                for_each_offset(&shape, [&sa, &sb], |[i, j]| {
                    out.push(if set[n] { av[i] } else { bv[j] });
                    n += 1;
                });
                T::into_storage(out)
            })
        };
        let out_shape = shape.clone();
        Ok(Tensor::record(
            out,
            out_shape,
            "where",
            vec![a.clone(), b.clone()],
            move |g, inputs, _| {
                let pick = |keep: bool, target: &Tensor| -> Tensor {
                    let dx: Storage = with_slice!(&*g.storage(), |gv: T| {
                        let full: Vec<T> = gv
                            .iter()
                            .zip(&set)
                            .map(|(&g, &s)| if s == keep { g } else { T::zero() })
                            .collect();
                        T::into_storage(sum_to_shape(&full, &shape, target.shape()))
                    });
                    Tensor::from_storage(dx, target.shape().to_vec())
                };
                Ok(vec![
                    Some(pick(true, &inputs[0])),
                    Some(pick(false, &inputs[1])),
                ])
            },
        ))
    }

    /// Replaces elements where `mask` (broadcast to this shape) is non-zero with `value`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::new([1.0f32, 2.0, 3.0]).unwrap();
    /// let y = t.masked_fill(&t.gt_scalar(1.5), -1.0).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, -1.0, -1.0]);
    /// let err = t.masked_fill(&Tensor::zeros(&[2, 3]), 0.0).unwrap_err();
    /// assert_eq!(err.to_string(), "masked_fill: mask of shape [2, 3] does not broadcast to the input's shape [3]");
    /// ```
    pub fn masked_fill(&self, mask: &Tensor, value: f64) -> Result<Tensor> {
        // The mask must broadcast *to the input's shape* (the result has it).
        let fits = broadcast_shapes("masked_fill", mask.shape(), self.shape())
            .is_ok_and(|target| target == self.shape());
        if !fits {
            return Err(Error::shape(
                "masked_fill",
                format!(
                    "mask of shape {:?} does not broadcast to the input's shape {:?}",
                    mask.shape(),
                    self.shape()
                ),
            ));
        }
        Tensor::where_(mask, &Tensor::full_dtype(&[], value, self.dtype()), self)
    }

    /// One-hot rows (f32) for integer class indices: shape `indices.shape() + [num_classes]`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::one_hot(&Tensor::new([2.0f32, 0.0]).unwrap(), 3).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// assert!(Tensor::one_hot(&Tensor::new([3.0f32]).unwrap(), 3).is_err());
    /// ```
    pub fn one_hot(indices: &Tensor, num_classes: usize) -> Result<Tensor> {
        let idx = indices.to_indices("one_hot", num_classes, "one_hot with num_classes")?;
        ensure_allocatable("one_hot", &[idx.len(), num_classes])?;
        let mut out = vec![0.0f32; idx.len() * num_classes];
        for (row, &c) in idx.iter().enumerate() {
            out[row * num_classes + c] = 1.0;
        }
        let mut shape = indices.shape().to_vec();
        shape.push(num_classes);
        Tensor::from_vec(out, &shape)
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn select_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let mask = f64_tensor(vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0], &[2, 3, 1]);
        out.push(OpCheck::new(
            "where",
            "mask (2,3,1) broadcast with a and b",
            vec![g.randn(&[3, 4]), g.randn(&[1, 4])],
            move |t| Tensor::where_(&mask, &t[0], &t[1]),
        ));
        let mask = f64_tensor(vec![0.0, 1.0, 1.0], &[3]);
        out.push(OpCheck::new(
            "where",
            "mask (3,), 0-d b",
            vec![g.randn(&[2, 3]), g.randn(&[])],
            move |t| Tensor::where_(&mask, &t[0], &t[1]),
        ));
        let mask = f64_tensor(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0], &[2, 3]);
        out.push(OpCheck::new(
            "where",
            "mask (2,3), same shapes",
            vec![g.randn(&[2, 3]), g.randn(&[2, 3])],
            move |t| Tensor::where_(&mask, &t[0], &t[1]),
        ));
        let mask = f64_tensor(vec![1.0, 0.0, 1.0], &[3, 1]);
        out.push(OpCheck::new(
            "masked_fill",
            "mask (3,1), value -2",
            vec![g.randn(&[2, 3, 4])],
            move |t| t[0].masked_fill(&mask, -2.0),
        ));
        let mask = f64_tensor(vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0], &[2, 3]);
        out.push(OpCheck::new(
            "masked_fill",
            "mask (2,3), value 0",
            vec![g.randn(&[2, 3])],
            move |t| t[0].masked_fill(&mask, 0.0),
        ));
    }
}
