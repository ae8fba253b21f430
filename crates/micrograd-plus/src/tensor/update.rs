//! In-place updates outside the graph: how optimizers, initialisers,
//! running statistics and state-dict loading write a tensor's buffer.
//!
//! Every write goes through a closure that sees the elements as a slice of
//! fixed length and dtype (a buffer is never resized or swapped, so NumPy
//! views of it stay valid) and counts as a new [`Tensor::version`], so a
//! graph that saved the tensor before the write refuses to backpropagate
//! instead of giving a wrong gradient. The write is not recorded: it is
//! PyTorch's `with torch.no_grad(): p.add_(...)`.

use super::{DType, Element, Storage, Tensor};
use crate::{Error, Result};
use std::sync::atomic::Ordering;

/// A tensor's elements opened for writing, by dtype (see [`Tensor::update_any`]).
#[derive(Debug)]
pub enum SliceMut<'a> {
    /// f32 elements.
    F32(&'a mut [f32]),
    /// f64 elements.
    F64(&'a mut [f64]),
}

/// A tensor's elements opened for writing beside another's opened for
/// reading, both of one dtype and length (see [`Tensor::update_any_with`]).
#[derive(Debug)]
pub enum SlicePair<'a> {
    /// f32 elements: (written, read).
    F32(&'a mut [f32], &'a [f32]),
    /// f64 elements: (written, read).
    F64(&'a mut [f64], &'a [f64]),
}

impl SlicePair<'_> {
    /// The element type of both slices.
    ///
    /// ```
    /// use micrograd_plus::{tensor::SlicePair, DType};
    /// assert_eq!(SlicePair::F32(&mut [1.0], &[2.0]).dtype(), DType::F32);
    /// ```
    pub fn dtype(&self) -> DType {
        match self {
            SlicePair::F32(..) => DType::F32,
            SlicePair::F64(..) => DType::F64,
        }
    }

    /// The length of both slices.
    ///
    /// ```
    /// use micrograd_plus::tensor::SlicePair;
    /// assert_eq!(SlicePair::F64(&mut [1.0, 2.0], &[3.0, 4.0]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            SlicePair::F32(w, _) => w.len(),
            SlicePair::F64(w, _) => w.len(),
        }
    }

    /// True when both slices are empty.
    ///
    /// ```
    /// use micrograd_plus::tensor::SlicePair;
    /// assert!(SlicePair::F64(&mut [], &[]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Tensor {
    /// Changes the elements in place through `f`, which sees them as a
    /// `&mut [T]`; `T` must be this tensor's dtype. The write counts as a new
    /// [`Tensor::version`] and is not recorded in any graph.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::new([1.0f32, 2.0]).unwrap();
    /// t.update(|v: &mut [f32]| v[0] = 5.0).unwrap();
    /// assert_eq!(t.to_vec::<f32>(), vec![5.0, 2.0]);
    /// let err = t.update(|v: &mut [f64]| v[0] = 5.0).unwrap_err();
    /// assert_eq!(err.to_string(), "update: the tensor holds float32 elements, the update writes float64");
    /// ```
    pub fn update<T: Element, R>(&self, f: impl FnOnce(&mut [T]) -> R) -> Result<R> {
        let mut storage = self.write();
        let dtype = storage.dtype();
        let v = T::slice_mut(&mut storage).ok_or_else(|| {
            Error::argument(
                "update",
                format!(
                    "the tensor holds {} elements, the update writes {}",
                    dtype.name(),
                    T::DTYPE.name()
                ),
            )
        })?;
        self.increment_version();
        Ok(f(v))
    }

    /// Changes the elements in place through `f`, reading `src`'s elements
    /// beside them, with no copy of either: the shape of a fused optimizer
    /// step (`p -= lr * g`). `src` must have this tensor's shape and both must
    /// hold `T`. Counts as a new [`Tensor::version`] of this tensor.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let p = Tensor::new([1.0f32, 2.0]).unwrap();
    /// let g = Tensor::new([10.0f32, 20.0]).unwrap();
    /// p.update_with(&g, |p: &mut [f32], g: &[f32]| {
    ///     p.iter_mut().zip(g).for_each(|(p, g)| *p -= 0.1 * g)
    /// })
    /// .unwrap();
    /// assert_eq!(p.to_vec::<f32>(), vec![0.0, 0.0]);
    /// let err = p.update_with(&p, |_: &mut [f32], _: &[f32]| ()).unwrap_err();
    /// assert_eq!(err.to_string(), "update_with: the source is the tensor being updated");
    /// ```
    pub fn update_with<T: Element, R>(
        &self,
        src: &Tensor,
        f: impl FnOnce(&mut [T], &[T]) -> R,
    ) -> Result<R> {
        let (mut dst, src) = self.write_beside("update_with", src)?;
        let dtypes = (dst.dtype(), src.dtype());
        match (T::slice_mut(&mut dst), T::slice(&src)) {
            (Some(d), Some(s)) => {
                self.increment_version();
                Ok(f(d, s))
            }
            _ => Err(Error::argument(
                "update_with",
                format!(
                    "the tensor is {}, the source {}, the update works on {}",
                    dtypes.0.name(),
                    dtypes.1.name(),
                    T::DTYPE.name()
                ),
            )),
        }
    }

    /// [`Tensor::update`] for code written for either dtype: `f` matches on
    /// the [`SliceMut`] it is given. Counts as a new [`Tensor::version`].
    ///
    /// ```
    /// use micrograd_plus::{tensor::SliceMut, Tensor};
    /// let t = Tensor::new([1.0f64, 2.0]).unwrap();
    /// t.update_any(|v| match v {
    ///     SliceMut::F32(v) => v.iter_mut().for_each(|x| *x *= 10.0),
    ///     SliceMut::F64(v) => v.iter_mut().for_each(|x| *x *= 10.0),
    /// });
    /// assert_eq!(t.to_vec::<f64>(), vec![10.0, 20.0]);
    /// ```
    pub fn update_any<R>(&self, f: impl FnOnce(SliceMut<'_>) -> R) -> R {
        let mut storage = self.write();
        self.increment_version();
        f(match &mut *storage {
            Storage::F32(v) => SliceMut::F32(v),
            Storage::F64(v) => SliceMut::F64(v),
        })
    }

    /// [`Tensor::update_with`] for code written for either dtype, as an
    /// optimizer's step over a parameter and its gradient: `f` matches on
    /// the [`SlicePair`]. `src` must have this tensor's shape and dtype.
    /// Counts as a new [`Tensor::version`] of this tensor.
    ///
    /// ```
    /// use micrograd_plus::{tensor::SlicePair, Tensor};
    /// let p = Tensor::new([1.0f64, 2.0]).unwrap();
    /// let g = Tensor::new([10.0f64, 20.0]).unwrap();
    /// p.update_any_with(&g, |pair| match pair {
    ///     SlicePair::F32(p, g) => p.iter_mut().zip(g).for_each(|(p, g)| *p += g),
    ///     SlicePair::F64(p, g) => p.iter_mut().zip(g).for_each(|(p, g)| *p += g),
    /// })
    /// .unwrap();
    /// assert_eq!(p.to_vec::<f64>(), vec![11.0, 22.0]);
    /// let err = p.update_any_with(&Tensor::zeros(&[2]), |_| ()).unwrap_err();
    /// assert_eq!(err.to_string(), "update_with: the tensor is float64, the source float32");
    /// ```
    pub fn update_any_with<R>(
        &self,
        src: &Tensor,
        f: impl FnOnce(SlicePair<'_>) -> R,
    ) -> Result<R> {
        let (mut dst, src) = self.write_beside("update_with", src)?;
        let pair = match (&mut *dst, &*src) {
            (Storage::F32(d), Storage::F32(s)) => SlicePair::F32(d, s),
            (Storage::F64(d), Storage::F64(s)) => SlicePair::F64(d, s),
            (d, s) => {
                return Err(Error::argument(
                    "update_with",
                    format!(
                        "the tensor is {}, the source {}",
                        d.dtype().name(),
                        s.dtype().name()
                    ),
                ));
            }
        };
        self.increment_version();
        Ok(f(pair))
    }

    /// Overwrites the elements with `src`'s, converted to this tensor's
    /// dtype, in place (PyTorch's `copy_` outside the graph): the buffer is
    /// kept, so views of it see the new values. The shapes must match.
    /// Counts as a new [`Tensor::version`].
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::zeros(&[2]);
    /// t.copy_from(&Tensor::new([1.5f64, 2.5]).unwrap()).unwrap();
    /// assert_eq!(t.to_vec::<f32>(), vec![1.5, 2.5]);
    /// let err = t.copy_from(&Tensor::zeros(&[3])).unwrap_err();
    /// assert_eq!(err.to_string(), "copy_from: the tensor has shape [2], the source [3]");
    /// ```
    pub fn copy_from(&self, src: &Tensor) -> Result<()> {
        if src.id() == self.id() {
            // Nothing to copy (and locking the buffer twice would deadlock),
            // but a write as PyTorch's `t.copy_(t)` is one.
            self.increment_version();
            return Ok(());
        }
        let (mut dst, src) = self.write_beside("copy_from", src)?;
        self.increment_version();
        match (&mut *dst, &*src) {
            (Storage::F32(d), Storage::F32(s)) => d.copy_from_slice(s),
            (Storage::F64(d), Storage::F64(s)) => d.copy_from_slice(s),
            (Storage::F32(d), Storage::F64(s)) => convert_into(d, s),
            (Storage::F64(d), Storage::F32(s)) => convert_into(d, s),
        }
        Ok(())
    }

    /// Converts the elements to `dtype` in place, for every handle of this
    /// tensor: how a module built in f32 is run in f64 (PyTorch's
    /// `module.double()`, which sets each `param.data`). Unlike the updates
    /// above it allocates a new buffer, so a raw view of the old one (a NumPy
    /// array over it) must not outlive the call. Counts as a new
    /// [`Tensor::version`] when the dtype changes.
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// let w = Tensor::new([0.5f32, 2.0]).unwrap().requires_grad(true);
    /// w.set_dtype(DType::F64);
    /// assert_eq!(w.dtype(), DType::F64);
    /// assert_eq!(w.to_vec::<f64>(), vec![0.5, 2.0]);
    /// ```
    pub fn set_dtype(&self, dtype: DType) {
        let mut storage = self.write();
        if storage.dtype() != dtype {
            *storage = storage.to_dtype(dtype);
            self.increment_version();
        }
    }

    /// Counts a write the engine could not see as a new [`Tensor::version`],
    /// so a graph that saved this tensor refuses to backpropagate. Only for
    /// writes through a raw pointer to the buffer (the Python binding's NumPy
    /// views); code that can should write through [`Tensor::update`] and its
    /// kin, which count the write themselves.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad(true);
    /// let y = (&w * &w).sum();
    /// w.increment_version();
    /// assert_eq!(w.version(), 1);
    /// assert!(y.backward().unwrap_err().to_string().contains("modified in place"));
    /// ```
    pub fn increment_version(&self) {
        self.0.version.fetch_add(1, Ordering::Relaxed);
    }

    /// The buffer, moved out without a copy when this handle is the only one
    /// to the tensor (no clone, graph or [`WeakTensor`](super::WeakTensor)
    /// holds it, so no one can see it change), else copied: how a data
    /// transform changes a fresh batch in place.
    ///
    /// ```
    /// use micrograd_plus::{tensor::Storage, Tensor};
    /// let t = Tensor::new([1.0f32, 2.0]).unwrap();
    /// let kept = t.clone();
    /// assert_eq!(t.into_storage(), Storage::F32(vec![1.0, 2.0])); // a copy: `kept` shares it
    /// assert_eq!(kept.into_storage(), Storage::F32(vec![1.0, 2.0])); // moved: the last handle
    /// ```
    pub fn into_storage(mut self) -> Storage {
        match std::sync::Arc::get_mut(&mut self.0) {
            Some(inner) => {
                let data = inner.data.get_mut().unwrap_or_else(|e| e.into_inner());
                std::mem::replace(data, Storage::F32(Vec::new()))
            }
            None => self.storage().clone(),
        }
    }

    /// Write-locks this tensor's buffer and read-locks `src`'s, after
    /// checking that `src` is another tensor (locking one buffer twice would
    /// deadlock) of the same shape.
    fn write_beside<'a>(
        &'a self,
        op: &'static str,
        src: &'a Tensor,
    ) -> Result<(
        std::sync::RwLockWriteGuard<'a, Storage>,
        std::sync::RwLockReadGuard<'a, Storage>,
    )> {
        if src.id() == self.id() {
            return Err(Error::argument(
                op,
                "the source is the tensor being updated",
            ));
        }
        self.check_same_shape(op, src)?;
        let src = src.storage();
        Ok((self.write(), src))
    }

    fn check_same_shape(&self, op: &'static str, src: &Tensor) -> Result<()> {
        if src.shape() == self.shape() {
            return Ok(());
        }
        Err(Error::shape(
            op,
            format!(
                "the tensor has shape {:?}, the source {:?}",
                self.shape(),
                src.shape()
            ),
        ))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Storage> {
        self.0.data.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// `dst[i] = src[i]` converted as [`Storage::to_dtype`] converts.
fn convert_into<D: Element, S: Element>(dst: &mut [D], src: &[S]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, &s)| *d = D::of(s.as_f64()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(w * w).sum()` recorded on `w`, then `write(w)`: backward must refuse,
    /// naming the op whose saved input changed.
    fn refuses_backward_after(write: impl FnOnce(&Tensor)) {
        let w = Tensor::new([1.0f32, 2.0]).unwrap().requires_grad(true);
        let loss = (&w * &w).sum();
        let before = w.version();
        write(&w);
        assert_eq!(w.version(), before + 1);
        let err = loss.backward().unwrap_err().to_string();
        assert!(
            err.contains("gradient of mul") && err.contains("modified in place"),
            "{err}"
        );
    }

    #[test]
    fn every_update_is_a_new_version_that_refuses_a_stale_backward() {
        let other = Tensor::new([3.0f32, 4.0]).unwrap();
        refuses_backward_after(|w| w.update(|v: &mut [f32]| v[0] = 0.0).unwrap());
        refuses_backward_after(|w| {
            w.update_with(&other, |v: &mut [f32], o: &[f32]| v.copy_from_slice(o))
                .unwrap()
        });
        refuses_backward_after(|w| w.update_any(|_| ()));
        refuses_backward_after(|w| w.update_any_with(&other, |_| ()).unwrap());
        refuses_backward_after(|w| w.copy_from(&other).unwrap());
        refuses_backward_after(|w| w.copy_from(w).unwrap());
        refuses_backward_after(|w| w.set_dtype(DType::F64));
        refuses_backward_after(Tensor::increment_version);
    }

    #[test]
    fn updates_see_the_elements_and_the_source_in_order() {
        let p = Tensor::new([[1.0f64, 2.0], [3.0, 4.0]]).unwrap();
        let g = Tensor::new([[10.0f64, 20.0], [30.0, 40.0]]).unwrap();
        let seen = p.update(|v: &mut [f64]| v.to_vec()).unwrap();
        assert_eq!(seen, [1.0, 2.0, 3.0, 4.0]);
        p.update_any_with(&g, |pair| {
            assert_eq!((pair.dtype(), pair.len()), (DType::F64, 4));
            match pair {
                SlicePair::F64(p, g) => p.iter_mut().zip(g).for_each(|(p, g)| *p -= g),
                SlicePair::F32(..) => panic!("an f64 pair was opened as f32"),
            }
        })
        .unwrap();
        assert_eq!(p.to_vec::<f64>(), [-9.0, -18.0, -27.0, -36.0]);
        assert_eq!(g.to_vec::<f64>(), [10.0, 20.0, 30.0, 40.0]);
        assert_eq!(p.shape(), &[2, 2]);
    }

    #[test]
    fn a_refused_update_is_a_clean_error_that_writes_nothing() {
        let f32s = Tensor::new([1.0f32, 2.0]).unwrap();
        let f64s = Tensor::new([3.0f64, 4.0]).unwrap();
        let long = Tensor::zeros(&[3]);
        let cases: Vec<(Result<()>, &str)> = vec![
            (
                f32s.update(|v: &mut [f64]| v[0] = 9.0),
                "update: the tensor holds float32 elements, the update writes float64",
            ),
            (
                f32s.update_with(&f64s, |v: &mut [f32], _: &[f32]| v[0] = 9.0),
                "update_with: the tensor is float32, the source float64, the update works on float32",
            ),
            (
                f32s.update_any_with(&f64s, |_| panic!("called on mixed dtypes")),
                "update_with: the tensor is float32, the source float64",
            ),
            (
                f32s.update_any_with(&long, |_| panic!("called on mixed shapes")),
                "update_with: the tensor has shape [2], the source [3]",
            ),
            (
                f32s.update_any_with(&f32s.clone(), |_| panic!("called on itself")),
                "update_with: the source is the tensor being updated",
            ),
            (
                f32s.copy_from(&long),
                "copy_from: the tensor has shape [2], the source [3]",
            ),
        ];
        for (result, message) in cases {
            assert_eq!(result.unwrap_err().to_string(), message);
        }
        assert_eq!(f32s.version(), 0);
        assert_eq!(f32s.to_vec::<f32>(), [1.0, 2.0]);
    }

    #[test]
    fn copy_from_converts_into_the_same_buffer() {
        let t = Tensor::new([0.0f32, 0.0]).unwrap();
        let buffer = match &*t.storage() {
            Storage::F32(v) => v.as_ptr(),
            Storage::F64(_) => unreachable!(),
        };
        let src = Tensor::new([0.1f64, 1e40]).unwrap();
        t.copy_from(&src).unwrap();
        // As `Storage::to_dtype` converts, overflow to inf included.
        assert_eq!(*t.storage(), src.storage().to_dtype(DType::F32));
        match &*t.storage() {
            Storage::F32(v) => assert_eq!(v.as_ptr(), buffer, "copy_from reallocated"),
            Storage::F64(_) => panic!("copy_from changed the dtype"),
        }
    }

    #[test]
    fn into_storage_moves_only_the_last_handle() {
        let t = Tensor::new([1.0f32, 2.0]).unwrap();
        let address = |s: &Storage| match s {
            Storage::F32(v) => v.as_ptr(),
            Storage::F64(_) => unreachable!(),
        };
        let buffer = address(&t.storage());
        let kept = t.clone();
        let copied = t.into_storage();
        assert_ne!(address(&copied), buffer);
        assert_eq!(copied, Storage::F32(vec![1.0, 2.0]));
        let moved = kept.into_storage();
        assert_eq!(address(&moved), buffer);
        assert_eq!(moved, Storage::F32(vec![1.0, 2.0]));
        // A weak handle could still be upgraded to see the buffer: copied.
        let watched = Tensor::new([3.0f64]).unwrap();
        let weak = watched.downgrade();
        let buffer = match &*watched.storage() {
            Storage::F64(v) => v.as_ptr(),
            Storage::F32(_) => unreachable!(),
        };
        match watched.into_storage() {
            Storage::F64(v) => assert_ne!(v.as_ptr(), buffer),
            Storage::F32(_) => panic!("into_storage changed the dtype"),
        }
        drop(weak);
    }
}
