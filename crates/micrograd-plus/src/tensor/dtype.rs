//! Element types. f32 is the default; f64 exists so that gradients can be
//! checked against finite differences to 1e-7.

use super::storage::Storage;
use super::Tensor;
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
    fn erfc(self) -> Self;
    /// `e^x`; f32's is the branch-free [`crate::kernels::math::exp_f32`]
    /// (within 2 ulp), so loops over it vectorise; f64's is the standard one.
    fn exp_fast(self) -> Self;
    /// Borrows the buffer if the storage holds this type.
    fn slice(s: &Storage) -> Option<&[Self]>;
    /// Mutably borrows the buffer if the storage holds this type.
    fn slice_mut(s: &mut Storage) -> Option<&mut [Self]>;
    /// `C (m×n) = A·B` (or `C += A·B`) with strided A and B; see
    /// [`crate::kernels::matmul`]. The product may use threads when `threaded`
    /// and runs on the calling thread only otherwise, for callers that share
    /// work out themselves (a convolution by image, a linear layer by rows).
    /// (f64's product never uses threads.)
    #[allow(clippy::too_many_arguments)]
    fn gemm_on(
        threaded: bool,
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        a_rs: usize,
        a_cs: usize,
        b: &[Self],
        b_rs: usize,
        b_cs: usize,
        c: &mut [Self],
        accumulate: bool,
    );
    /// [`Element::gemm_on`] allowed to use threads.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        a_rs: usize,
        a_cs: usize,
        b: &[Self],
        b_rs: usize,
        b_cs: usize,
        c: &mut [Self],
        accumulate: bool,
    ) {
        Self::gemm_on(true, m, k, n, a, a_rs, a_cs, b, b_rs, b_cs, c, accumulate)
    }
}

/// Both impls are the same but for the type, its tag and its gemm kernel.
macro_rules! impl_element {
    ($T:ty, $Variant:ident, $gemm:path, $gemm_serial:path, $erfc:path, $exp:path) => {
        impl Element for $T {
            const DTYPE: DType = DType::$Variant;
            fn of(v: f64) -> Self {
                v as $T
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn erfc(self) -> Self {
                $erfc(self)
            }
            #[inline(always)]
            fn exp_fast(self) -> Self {
                $exp(self)
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
            fn gemm_on(
                threaded: bool,
                m: usize,
                k: usize,
                n: usize,
                a: &[Self],
                a_rs: usize,
                a_cs: usize,
                b: &[Self],
                b_rs: usize,
                b_cs: usize,
                c: &mut [Self],
                accumulate: bool,
            ) {
                let gemm = if threaded { $gemm } else { $gemm_serial };
                gemm(m, k, n, a, a_rs, a_cs, b, b_rs, b_cs, c, accumulate)
            }
        }
    };
}
impl_element!(
    f32,
    F32,
    crate::kernels::matmul::sgemm,
    crate::kernels::matmul::sgemm_serial,
    crate::kernels::math::erfc_f32,
    crate::kernels::math::exp_f32
);
impl_element!(
    f64,
    F64,
    crate::kernels::matmul::dgemm,
    crate::kernels::matmul::dgemm,
    libm::erfc,
    f64::exp
);
