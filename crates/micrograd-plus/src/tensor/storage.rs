//! A tensor's flat, row-major buffer, tagged with its element type.

use super::dtype::{DType, Element};

/// The elements of a tensor, contiguous and row-major.
///
/// ```
/// use micrograd_plus::tensor::Storage;
/// let s = Storage::F32(vec![1.0, 2.0]);
/// assert_eq!(s.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
}

/// Runs `$body` with `$v` bound to the storage's typed slice and `$T` to its
/// element type, so a kernel is written once for both dtypes.
macro_rules! with_slice {
    ($storage:expr, |$v:ident : $T:ident| $body:expr) => {
        match $storage {
            $crate::tensor::Storage::F32($v) => {
                #[allow(dead_code)]
                type $T = f32;
                #[allow(unused_imports)]
                use {
                    num_traits::{Float as _, One as _, Zero as _},
                    $crate::tensor::Element as _,
                };
                let $v: &[f32] = $v;
                $body
            }
            $crate::tensor::Storage::F64($v) => {
                #[allow(dead_code)]
                type $T = f64;
                #[allow(unused_imports)]
                use {
                    num_traits::{Float as _, One as _, Zero as _},
                    $crate::tensor::Element as _,
                };
                let $v: &[f64] = $v;
                $body
            }
        }
    };
}
pub(crate) use with_slice;

impl Storage {
    /// Number of elements.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::tensor::Storage::F64(vec![]).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        with_slice!(self, |v: T| v.len())
    }
    /// True when there are no elements.
    ///
    /// ```
    /// assert!(micrograd_plus::tensor::Storage::F64(vec![]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The element type.
    ///
    /// ```
    /// use micrograd_plus::{tensor::Storage, DType};
    /// assert_eq!(Storage::F64(vec![]).dtype(), DType::F64);
    /// ```
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
        }
    }
    /// The elements converted to `T`.
    ///
    /// ```
    /// use micrograd_plus::tensor::Storage;
    /// assert_eq!(Storage::F32(vec![1.5]).to_vec::<f64>(), vec![1.5]);
    /// ```
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        if let Some(v) = T::slice(self) {
            return v.to_vec(); // same type: a plain copy
        }
        with_slice!(self, |v: S| v.iter().map(|&x| T::of(x.as_f64())).collect())
    }
    /// A copy converted to `dtype`.
    ///
    /// ```
    /// use micrograd_plus::{tensor::Storage, DType};
    /// assert_eq!(Storage::F32(vec![2.0]).to_dtype(DType::F64), Storage::F64(vec![2.0]));
    /// ```
    pub fn to_dtype(&self, dtype: DType) -> Storage {
        match dtype {
            DType::F32 => Storage::F32(self.to_vec()),
            DType::F64 => Storage::F64(self.to_vec()),
        }
    }
    /// A buffer of `n` copies of `value`.
    ///
    /// ```
    /// use micrograd_plus::{tensor::Storage, DType};
    /// assert_eq!(Storage::filled(DType::F32, 2, 1.0), Storage::F32(vec![1.0, 1.0]));
    /// ```
    pub fn filled(dtype: DType, n: usize, value: f64) -> Storage {
        match dtype {
            DType::F32 => Storage::F32(vec![value as f32; n]),
            DType::F64 => Storage::F64(vec![value; n]),
        }
    }

    /// Adds `other` into this buffer elementwise, converted to this dtype
    /// first if it differs: how gradients that reach one tensor by several
    /// paths are summed. The lengths must match.
    ///
    /// ```
    /// use micrograd_plus::tensor::Storage;
    /// let mut acc = Storage::F32(vec![1.0, 2.0]);
    /// acc.add_assign(&Storage::F64(vec![0.5, 0.25]));
    /// assert_eq!(acc, Storage::F32(vec![1.5, 2.25]));
    /// ```
    pub fn add_assign(&mut self, other: &Storage) {
        assert_eq!(
            self.len(),
            other.len(),
            "Storage::add_assign: lengths differ"
        );
        let converted;
        let other = if other.dtype() == self.dtype() {
            other
        } else {
            converted = other.to_dtype(self.dtype());
            &converted
        };
        match (self, other) {
            (Storage::F32(acc), Storage::F32(add)) => {
                acc.iter_mut().zip(add).for_each(|(a, b)| *a += b)
            }
            (Storage::F64(acc), Storage::F64(add)) => {
                acc.iter_mut().zip(add).for_each(|(a, b)| *a += b)
            }
            _ => unreachable!("converted to one dtype above"),
        }
    }
}
