//! A tensor's flat, row-major buffer ([`Storage`]), tagged with its element
//! type ([`DType`]), and the [`Element`] trait the kernels are generic over.
//! f32 is the default; f64 exists so that gradients can be checked against
//! finite differences to 1e-7. (One file: the buffer names its element types
//! and each element type names its buffer variant.)

use super::Tensor;
use crate::kernels::matmul::{MatMut, MatRef, Threads, Update};
use std::fmt::Debug;

/// The element type of a tensor.
///
/// ```
/// use micrograd_plus::{DType, Tensor};
/// let x = Tensor::ones(&[2]);
/// assert_eq!(x.dtype(), DType::F32);
/// assert_eq!(x.to_dtype(DType::F64).dtype(), DType::F64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float, the default.
    F32,
    /// 64-bit float, for gradient checking.
    F64,
}

impl DType {
    /// Short name as PyTorch prints it (`float32`, `float64`).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::DType::F64.name(), "float64");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Bytes per element (PyTorch's `dtype.itemsize`).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::DType::F32.itemsize(), 4);
    /// ```
    pub fn itemsize(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// The dtype of an op's result over mixed `operands`, by PyTorch's rule
    /// (`torch.result_type`): the widest dtype among the operands that have
    /// dims; 0-d tensors count only when no operand has any. So a 0-d f64
    /// (say, a scalar a user built in f64) does not turn an f32 batch into
    /// f64, just as a Python float does not.
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// let batch = Tensor::ones(&[4]);
    /// let scalar = Tensor::scalar(2.0f64);
    /// assert_eq!(DType::result_type(&[&batch, &scalar]), DType::F32);
    /// assert_eq!(DType::result_type(&[&scalar, &Tensor::scalar(1.0f32)]), DType::F64);
    /// assert_eq!(DType::result_type(&[&batch, &batch.to_dtype(DType::F64)]), DType::F64);
    /// ```
    pub fn result_type(operands: &[&Tensor]) -> DType {
        let has_dims = operands.iter().any(|t| t.ndim() > 0);
        let counted = operands.iter().filter(|t| !has_dims || t.ndim() > 0);
        if counted.into_iter().any(|t| t.dtype() == DType::F64) {
            DType::F64
        } else {
            DType::F32
        }
    }
}

/// A floating-point type a tensor can hold. Kernels are written once,
/// generically over `Element`, and instantiated for f32 and f64.
///
/// ```
/// use micrograd_plus::tensor::Element;
/// assert_eq!(<f32 as Element>::of(0.5), 0.5f32);
/// ```
pub trait Element:
    num_traits::Float + Default + Debug + Send + Sync + std::iter::Sum + 'static
{
    /// The runtime tag of this type.
    const DTYPE: DType;
    /// Converts an f64 (a scalar argument, a constant) to this type.
    fn of(v: f64) -> Self;
    /// Widens to f64.
    fn as_f64(self) -> f64;
    /// Wraps a buffer of this type into a [`Storage`].
    fn into_storage(v: Vec<Self>) -> Storage;
    /// The complementary error function `1 − erf(x)`, accurate in the tail.
    /// f32's is the branch-free [`crate::kernels::math::erfc_f32`], so loops
    /// over it vectorise; f64's is libm's, exact for gradient checks.
    #[inline(always)]
    fn erfc(self) -> Self {
        self.erfc_with(false)
    }
    /// [`Element::erfc`], with fused multiply-adds when `fused` (the flag
    /// [`crate::kernels::simd::wide_fused`] hands a loop; f64 ignores it).
    fn erfc_with(self, fused: bool) -> Self;
    /// `e^x`; f32's is the branch-free [`crate::kernels::math::exp_f32`]
    /// (within 2 ulp), so loops over it vectorise; f64's is the standard one.
    #[inline(always)]
    fn exp_fast(self) -> Self {
        self.exp_fast_with(false)
    }
    /// [`Element::exp_fast`], with fused multiply-adds when `fused`.
    fn exp_fast_with(self, fused: bool) -> Self;
    /// Borrows the buffer if the storage holds this type.
    fn slice(s: &Storage) -> Option<&[Self]>;
    /// Mutably borrows the buffer if the storage holds this type.
    fn slice_mut(s: &mut Storage) -> Option<&mut [Self]>;
    /// `C = A·B` (or `C += A·B`) over matrix views; see
    /// [`crate::kernels::matmul`]. With [`Threads::Serial`] the product runs
    /// on the calling thread only, for callers that share work out
    /// themselves (a convolution by image, a linear layer by rows). (f64's
    /// product never uses threads.)
    fn gemm(
        c: MatMut<Self>,
        a: MatRef<Self>,
        b: MatRef<Self>,
        update: Update<Self>,
        threads: Threads,
    );
}

/// Both impls are the same but for the type, its tag and its gemm kernel.
macro_rules! impl_element {
    ($T:ty, $Variant:ident, $gemm:path, $erfc:expr, $exp:expr) => {
        impl Element for $T {
            const DTYPE: DType = DType::$Variant;
            fn of(v: f64) -> Self {
                v as $T
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn erfc_with(self, fused: bool) -> Self {
                ($erfc)(self, fused)
            }
            #[inline(always)]
            fn exp_fast_with(self, fused: bool) -> Self {
                ($exp)(self, fused)
            }
            fn into_storage(v: Vec<Self>) -> Storage {
                Storage::$Variant(v)
            }
            fn slice(s: &Storage) -> Option<&[Self]> {
                match s {
                    Storage::$Variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(s: &mut Storage) -> Option<&mut [Self]> {
                match s {
                    Storage::$Variant(v) => Some(v),
                    _ => None,
                }
            }
            fn gemm(
                c: MatMut<Self>,
                a: MatRef<Self>,
                b: MatRef<Self>,
                update: Update<Self>,
                threads: Threads,
            ) {
                $gemm(c, a, b, update, threads)
            }
        }
    };
}
impl_element!(
    f32,
    F32,
    crate::kernels::matmul::sgemm,
    crate::kernels::math::erfc_f32_with,
    crate::kernels::math::exp_f32_with
);
impl_element!(
    f64,
    F64,
    crate::kernels::matmul::dgemm,
    |x: f64, _fused: bool| libm::erfc(x),
    |x: f64, _fused: bool| x.exp()
);

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
