//! Making tensors: from data, constants, ranges and seeded random numbers.
//! Constructors without an element type make f32, PyTorch's default.

use super::shape::{self, numel};
use super::{DType, Element, Storage, Tensor};
use crate::{Error, Result};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::StandardNormal;

/// Nested arrays, vectors and scalars that [`Tensor::new`] accepts:
/// `1.0`, `[1.0, 2.0]`, `[[1.0], [2.0]]`, `vec![vec![1.0f64]]`, ...
///
/// ```
/// use micrograd_plus::Tensor;
/// let t = Tensor::new(vec![vec![1.0f64, 2.0], vec![3.0, 4.0]]).unwrap();
/// assert_eq!(t.shape(), &[2, 2]);
/// assert!(Tensor::new(vec![vec![1.0f64], vec![]]).is_err()); // ragged
/// ```
pub trait NestedData {
    /// The element type at the bottom of the nesting.
    type Elem: Element;
    /// Appends this level's shape (checked against siblings by `flatten`).
    fn shape_into(&self, shape: &mut Vec<usize>);
    /// Appends the elements, row-major, checking every row has `shape`.
    fn flatten_into(&self, shape: &[usize], out: &mut Vec<Self::Elem>) -> Result<()>;
}

macro_rules! scalar_nested {
    ($T:ty) => {
        impl NestedData for $T {
            type Elem = $T;
            fn shape_into(&self, _: &mut Vec<usize>) {}
            fn flatten_into(&self, _: &[usize], out: &mut Vec<$T>) -> Result<()> {
                out.push(*self);
                Ok(())
            }
        }
    };
}
scalar_nested!(f32);
scalar_nested!(f64);

fn flatten_rows<N: NestedData>(rows: &[N], shape: &[usize], out: &mut Vec<N::Elem>) -> Result<()> {
    if shape.first() != Some(&rows.len()) {
        return Err(Error::shape(
            "tensor",
            format!(
                "ragged nested data: expected {} rows, found {}",
                shape.first().copied().unwrap_or(0),
                rows.len()
            ),
        ));
    }
    rows.iter()
        .try_for_each(|r| r.flatten_into(&shape[1..], out))
}

impl<N: NestedData, const L: usize> NestedData for [N; L] {
    type Elem = N::Elem;
    fn shape_into(&self, shape: &mut Vec<usize>) {
        shape.push(L);
        if let Some(first) = self.first() {
            first.shape_into(shape);
        }
    }
    fn flatten_into(&self, shape: &[usize], out: &mut Vec<N::Elem>) -> Result<()> {
        flatten_rows(self, shape, out)
    }
}

impl<N: NestedData> NestedData for Vec<N> {
    type Elem = N::Elem;
    fn shape_into(&self, shape: &mut Vec<usize>) {
        shape.push(self.len());
        if let Some(first) = self.first() {
            first.shape_into(shape);
        }
    }
    fn flatten_into(&self, shape: &[usize], out: &mut Vec<N::Elem>) -> Result<()> {
        flatten_rows(self, shape, out)
    }
}

impl Tensor {
    /// A tensor from nested arrays or vectors (PyTorch's `torch.tensor`);
    /// the element type (f32 or f64) comes from the data.
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// let t = Tensor::new([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]).unwrap();
    /// assert_eq!((t.shape(), t.dtype()), (&[2, 3][..], DType::F64));
    /// ```
    pub fn new<N: NestedData>(data: N) -> Result<Tensor> {
        let mut shape = Vec::new();
        data.shape_into(&mut shape);
        let mut flat = Vec::with_capacity(numel(&shape));
        data.flatten_into(&shape, &mut flat)?;
        Tensor::from_vec(flat, &shape)
    }

    /// A tensor from a flat row-major vector and a shape.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(t.shape(), &[2, 2]);
    /// let err = Tensor::from_vec(vec![1.0f32; 3], &[2, 2]).unwrap_err();
    /// assert_eq!(err.to_string(), "from_vec: 3 elements cannot fill shape [2, 2] (4 elements)");
    /// assert!(Tensor::from_vec(vec![1.0f32; 6], &[2, (1 << 63) + 3]).is_err());
    /// ```
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        // A product that overflows (a shape from a file, say) is no shape at all.
        let Some(n) = shape::checked_numel(shape) else {
            return Err(Error::shape(
                "from_vec",
                format!("shape {shape:?} has more elements than memory can address"),
            ));
        };
        if data.len() != n {
            return Err(Error::shape(
                "from_vec",
                format!(
                    "{} elements cannot fill shape {shape:?} ({n} elements)",
                    data.len()
                ),
            ));
        }
        Ok(Tensor::from_storage(T::into_storage(data), shape.to_vec()))
    }

    /// A 0-dimensional tensor holding `value`.
    ///
    /// ```
    /// let s = micrograd_plus::Tensor::scalar(2.5f64);
    /// assert_eq!((s.ndim(), s.item().unwrap()), (0, 2.5));
    /// ```
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor::from_storage(T::into_storage(vec![value]), vec![])
    }

    /// A tensor of `shape` filled with `value`, of the given dtype.
    ///
    /// # Panics
    /// When no tensor of `shape` can exist (its element count overflows, or
    /// the memory cannot be reserved), with a message naming the shape,
    /// instead of the process abort of a failed allocation. Use
    /// [`Tensor::try_full_dtype`] for a shape that comes from a user.
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// let t = Tensor::full_dtype(&[2], 7.0, DType::F64);
    /// assert_eq!(t.to_vec::<f64>(), vec![7.0, 7.0]);
    /// ```
    pub fn full_dtype(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        Tensor::try_full_dtype(shape, value, dtype).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Tensor::full_dtype`], or an error when the tensor cannot be
    /// allocated.
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// let err = Tensor::try_full_dtype(&[1 << 40, 1 << 20], 0.0, DType::F32).unwrap_err();
    /// assert!(err.to_string().contains("too large to allocate"), "{err}");
    /// ```
    pub fn try_full_dtype(shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        shape::ensure_allocatable("full", shape)?;
        Ok(Tensor::from_storage(
            Storage::filled(dtype, numel(shape), value),
            shape.to_vec(),
        ))
    }

    /// An f32 tensor of `shape` filled with `value`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::full(&[2], 3.0).to_vec::<f32>(), vec![3.0, 3.0]);
    /// ```
    pub fn full(shape: &[usize], value: f64) -> Tensor {
        Tensor::full_dtype(shape, value, DType::F32)
    }

    /// An f32 tensor of zeros.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[2]).to_vec::<f32>(), vec![0.0, 0.0]);
    /// ```
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// An f32 tensor of ones.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::ones(&[2]).to_vec::<f32>(), vec![1.0, 1.0]);
    /// ```
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// Zeros with this tensor's shape and dtype.
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// let z = Tensor::ones(&[3]).to_dtype(DType::F64).zeros_like();
    /// assert_eq!((z.shape(), z.dtype()), (&[3][..], DType::F64));
    /// ```
    pub fn zeros_like(&self) -> Tensor {
        Tensor::full_dtype(self.shape(), 0.0, self.dtype())
    }

    /// Ones with this tensor's shape and dtype.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[2]).ones_like().to_vec::<f32>(), vec![1.0, 1.0]);
    /// ```
    pub fn ones_like(&self) -> Tensor {
        Tensor::full_dtype(self.shape(), 1.0, self.dtype())
    }

    /// `value` with this tensor's shape and dtype.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[1]).full_like(4.0).to_vec::<f32>(), vec![4.0]);
    /// ```
    pub fn full_like(&self, value: f64) -> Tensor {
        Tensor::full_dtype(self.shape(), value, self.dtype())
    }

    /// `start, start + step, ...` up to but excluding `end` (f32).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::arange(0.0, 1.0, 0.25);
    /// assert_eq!(t.to_vec::<f32>(), vec![0.0, 0.25, 0.5, 0.75]);
    /// ```
    pub fn arange(start: f64, end: f64, step: f64) -> Tensor {
        let n = if step == 0.0 {
            0
        } else {
            ((end - start) / step).ceil().max(0.0) as usize
        };
        creatable("arange", &[n]);
        let v: Vec<f32> = (0..n).map(|i| (start + i as f64 * step) as f32).collect();
        Tensor::from_storage(Storage::F32(v), vec![n])
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive (f32).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::linspace(0.0, 1.0, 5);
    /// assert_eq!(t.to_vec::<f32>(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// ```
    pub fn linspace(start: f64, end: f64, steps: usize) -> Tensor {
        creatable("linspace", &[steps]);
        let step = if steps > 1 {
            (end - start) / (steps - 1) as f64
        } else {
            0.0
        };
        let v: Vec<f32> = (0..steps)
            .map(|i| if i + 1 == steps && steps > 1 { end } else { start + i as f64 * step } as f32)
            .collect();
        Tensor::from_storage(Storage::F32(v), vec![steps])
    }

    /// The `n × n` identity matrix (f32).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::eye(2);
    /// assert_eq!(t.to_vec::<f32>(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn eye(n: usize) -> Tensor {
        creatable("eye", &[n, n]);
        let mut v = vec![0.0f32; n * n];
        for i in 0..n {
            v[i * n + i] = 1.0;
        }
        Tensor::from_storage(Storage::F32(v), vec![n, n])
    }

    /// Uniform samples in `[0, 1)` from a seeded generator (f32).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let (a, b) = (Tensor::rand(&[3], 7), Tensor::rand(&[3], 7));
    /// assert_eq!(a.to_vec::<f32>(), b.to_vec::<f32>()); // same seed, same numbers
    /// ```
    pub fn rand(shape: &[usize], seed: u64) -> Tensor {
        creatable("rand", shape);
        let mut rng = StdRng::seed_from_u64(seed);
        let v: Vec<f32> = (0..numel(shape)).map(|_| rng.r#gen::<f32>()).collect();
        Tensor::from_storage(Storage::F32(v), shape.to_vec())
    }

    /// Standard normal samples from a seeded generator (f32).
    ///
    /// # Panics
    /// As [`Tensor::full_dtype`]; [`Tensor::try_randn`] returns the error.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::randn(&[1000], 0);
    /// let mean = t.mean().item().unwrap();
    /// assert!(mean.abs() < 0.1);
    /// ```
    pub fn randn(shape: &[usize], seed: u64) -> Tensor {
        Tensor::try_randn(shape, seed).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Tensor::randn`], or an error when the tensor cannot be allocated.
    ///
    /// ```
    /// assert!(micrograd_plus::Tensor::try_randn(&[usize::MAX, 2], 0).is_err());
    /// ```
    pub fn try_randn(shape: &[usize], seed: u64) -> Result<Tensor> {
        shape::ensure_allocatable("randn", shape)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let v: Vec<f32> = (0..numel(shape))
            .map(|_| rng.sample(StandardNormal))
            .collect();
        Ok(Tensor::from_storage(Storage::F32(v), shape.to_vec()))
    }

    /// Uniform samples with this tensor's shape and dtype.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[2, 2]).rand_like(1).shape(), &[2, 2]);
    /// ```
    pub fn rand_like(&self, seed: u64) -> Tensor {
        Tensor::rand(self.shape(), seed).to_dtype(self.dtype())
    }

    /// Normal samples with this tensor's shape and dtype.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[2, 2]).randn_like(1).shape(), &[2, 2]);
    /// ```
    pub fn randn_like(&self, seed: u64) -> Tensor {
        Tensor::randn(self.shape(), seed).to_dtype(self.dtype())
    }
}

/// Panics, naming `op` and the shape, when no tensor of `shape` can be
/// allocated: the infallible constructors' check, so that they never reach
/// the process abort of a failed allocation.
fn creatable(op: &'static str, shape: &[usize]) {
    if let Err(e) = shape::ensure_allocatable(op, shape) {
        panic!("{e}");
    }
}
