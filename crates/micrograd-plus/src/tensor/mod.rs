//! The N-D [`Tensor`] and its reverse-mode autograd.
//!
//! A `Tensor` is a cheap, shareable handle (`Arc`) to a row-major buffer, a
//! shape and, when it was produced by a recorded op, the [`autograd`] node
//! that knows how to send gradients back to the op's inputs. Every op lives in
//! [`ops`], one family per file, with its backward rule beside its forward.

pub mod anomaly;
pub mod autograd;
mod creation;
pub(crate) mod hooks;
pub mod ops;
pub(crate) mod shape;
mod storage;
mod update;

pub use autograd::{is_grad_enabled, no_grad, set_grad_enabled, NoGradGuard};
pub use creation::NestedData;
pub use ops::layout::ReshapeDims;
pub(crate) use storage::with_slice;
pub use storage::Storage;
pub use storage::{DType, Element};
pub use update::{SliceMut, SlicePair};

use crate::{Error, Result};
use autograd::Node;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, Weak};

/// An N-dimensional array of f32 or f64 with reverse-mode autograd.
///
/// Cloning is cheap: clones share the same data, gradient and graph node.
///
/// ```
/// use micrograd_plus::Tensor;
/// let a = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap().requires_grad(true);
/// let b = Tensor::new([10.0f32, 20.0]).unwrap();
/// let y = (&a * &b).sum(); // b broadcasts over a's rows
/// y.backward().unwrap();
/// assert_eq!(y.item().unwrap(), 10.0 + 40.0 + 30.0 + 80.0);
/// assert_eq!(a.grad().unwrap().to_vec::<f32>(), vec![10.0, 20.0, 10.0, 20.0]);
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorImpl>);

pub(crate) struct TensorImpl {
    /// Creation order: an op's output always has a larger id than its inputs,
    /// so sorting by descending id is a topological order of the graph.
    pub(crate) id: u64,
    pub(crate) data: RwLock<Storage>,
    pub(crate) shape: Vec<usize>,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) grad: Mutex<Option<Tensor>>,
    /// Whether backward stores this non-leaf's gradient (PyTorch's `retain_grad`).
    pub(crate) retains_grad: AtomicBool,
    /// Counts in-place writes ([`Tensor::update`] and its kin; PyTorch's version
    /// counter): backward refuses a graph whose inputs changed since recording.
    pub(crate) version: AtomicU64,
    /// Whether the buffer may have been written from outside the engine
    /// since it was last compared with its hash (a copy of
    /// `external.check_content`, read without locking on every op).
    pub(crate) check_content: AtomicBool,
    pub(crate) external: Mutex<ExternalWrites>,
    /// How this tensor was computed; `None` for leaves and untracked results.
    pub(crate) node: Option<Node>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl Tensor {
    /// Wraps a buffer and shape (checked by callers) into an untracked tensor.
    pub(crate) fn from_storage(data: Storage, shape: Vec<usize>) -> Tensor {
        debug_assert_eq!(
            data.len(),
            shape::numel(&shape),
            "storage does not fill shape {shape:?}"
        );
        Tensor::build(data, shape, None)
    }

    pub(crate) fn build(data: Storage, shape: Vec<usize>, node: Option<Node>) -> Tensor {
        Tensor(Arc::new(TensorImpl {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            data: RwLock::new(data),
            shape,
            requires_grad: AtomicBool::new(node.is_some()),
            grad: Mutex::new(None),
            retains_grad: AtomicBool::new(false),
            version: AtomicU64::new(0),
            check_content: AtomicBool::new(false),
            external: Mutex::new(ExternalWrites::default()),
            node,
        }))
    }

    /// A unique id, in creation order.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let (a, b) = (Tensor::zeros(&[1]), Tensor::zeros(&[1]));
    /// assert!(a.id() < b.id());
    /// ```
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The dimensions.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[2, 3]).shape(), &[2, 3]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// Number of dimensions.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[2, 3]).ndim(), 2);
    /// ```
    pub fn ndim(&self) -> usize {
        self.0.shape.len()
    }

    /// Number of elements.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::zeros(&[2, 3]).numel(), 6);
    /// ```
    pub fn numel(&self) -> usize {
        shape::numel(&self.0.shape)
    }

    /// The element type.
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// assert_eq!(Tensor::zeros(&[1]).dtype(), DType::F32);
    /// ```
    pub fn dtype(&self) -> DType {
        self.storage().dtype()
    }

    /// Read access to the buffer.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[3]);
    /// assert_eq!(t.storage().len(), 3);
    /// ```
    pub fn storage(&self) -> RwLockReadGuard<'_, Storage> {
        self.0.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// How many times the buffer was written in place ([`Tensor::update`] and
    /// its kin). A recorded op whose inputs changed version refuses to
    /// backpropagate.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let w = Tensor::ones(&[2]).requires_grad(true);
    /// let y = (&w * &w).sum();
    /// assert_eq!(w.version(), 0);
    /// w.update(|v: &mut [f32]| v[0] -= 0.1).unwrap(); // e.g. an optimizer step
    /// assert_eq!(w.version(), 1);
    /// let err = y.backward().unwrap_err().to_string();
    /// assert!(err.contains("modified in place"), "{err}");
    /// ```
    pub fn version(&self) -> u64 {
        self.0.version.load(Ordering::Relaxed)
    }

    /// Declares that this tensor's buffer may be written through a raw view
    /// (a NumPy array over it) without [`Tensor::update`], for as long as
    /// the returned guard lives. Meanwhile, and once more after the last guard
    /// is dropped, the engine notices such writes by the buffer's content (a
    /// hash, taken when an op records this tensor and when backward needs it)
    /// and counts each as a new [`Tensor::version`], so a graph recorded
    /// before the write refuses to backpropagate instead of giving a wrong
    /// gradient. Without a live guard the hashing (about 0.4 ns per element)
    /// stops.
    ///
    /// ```
    /// use micrograd_plus::{tensor::Storage, Tensor};
    /// let w = Tensor::new([1.0f32, 2.0]).unwrap().requires_grad(true);
    /// let view = w.watch_external_writes();
    /// let y = (&w * &w).sum();
    /// // a write the engine is not told about, as through a NumPy view
    /// let ptr = match &*w.storage() { Storage::F32(v) => v.as_ptr() as *mut f32, _ => unreachable!() };
    /// unsafe { *ptr = 5.0 };
    /// drop(view);
    /// assert!(y.backward().unwrap_err().to_string().contains("modified in place"));
    /// ```
    pub fn watch_external_writes(&self) -> ExternalWriteWatch {
        let mut external = self.lock_external();
        external.writers += 1;
        // A previous view's writes may still be uncompared: then keep the
        // old hash, so that they count.
        if !external.check_content {
            external.hash = content_hash(&self.storage());
            external.check_content = true;
            self.0.check_content.store(true, Ordering::Release);
        }
        ExternalWriteWatch(self.clone())
    }

    /// Counts a write made through a raw view since the engine last looked
    /// as a new version (see [`Tensor::watch_external_writes`]).
    pub(crate) fn sync_external_writes(&self) {
        if !self.0.check_content.load(Ordering::Acquire) {
            return;
        }
        let mut external = self.lock_external();
        let h = content_hash(&self.storage());
        if std::mem::replace(&mut external.hash, h) != h {
            self.0.version.fetch_add(1, Ordering::Relaxed);
        }
        if external.writers == 0 {
            // No view is left to write through: nothing to compare until the next.
            external.check_content = false;
            self.0.check_content.store(false, Ordering::Release);
        }
    }

    fn lock_external(&self) -> std::sync::MutexGuard<'_, ExternalWrites> {
        self.0.external.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps this tensor's gradient after backward even though it is not a
    /// leaf (PyTorch's `retain_grad`); it accumulates like a leaf's.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([1.0f32, 2.0]).unwrap().requires_grad(true);
    /// let h = &x * 3.0;
    /// h.retain_grad();
    /// (&h * &h).sum().backward().unwrap();
    /// assert_eq!(h.grad().unwrap().to_vec::<f32>(), vec![6.0, 12.0]);
    /// ```
    pub fn retain_grad(&self) {
        self.0.retains_grad.store(true, Ordering::Relaxed);
    }

    /// The elements, row-major, converted to `T`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::arange(0.0, 3.0, 1.0);
    /// assert_eq!(t.to_vec::<f64>(), vec![0.0, 1.0, 2.0]);
    /// ```
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        self.storage().to_vec()
    }

    /// The single element as f64.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// assert_eq!(Tensor::scalar(3.0f32).item().unwrap(), 3.0);
    /// let err = Tensor::zeros(&[2]).item().unwrap_err();
    /// assert_eq!(err.to_string(), "item: Can only convert tensors with 1 element to scalar, got 2");
    /// ```
    pub fn item(&self) -> Result<f64> {
        let n = self.numel();
        if n != 1 {
            return Err(Error::shape(
                "item",
                format!("Can only convert tensors with 1 element to scalar, got {n}"),
            ));
        }
        Ok(with_slice!(&*self.storage(), |v: T| v[0].as_f64()))
    }

    /// Whether gradients flow to this tensor.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[1]);
    /// assert!(!t.is_requires_grad());
    /// ```
    pub fn is_requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// Marks this tensor as needing gradients (builder style); like PyTorch's
    /// `requires_grad_`, it changes every clone of the handle.
    ///
    /// ```
    /// let w = micrograd_plus::Tensor::ones(&[2]).requires_grad(true);
    /// assert!(w.is_requires_grad());
    /// ```
    pub fn requires_grad(self, on: bool) -> Tensor {
        self.set_requires_grad(on);
        self
    }

    /// In-place form of [`Tensor::requires_grad`].
    ///
    /// ```
    /// let w = micrograd_plus::Tensor::ones(&[2]);
    /// w.set_requires_grad(true);
    /// assert!(w.is_requires_grad());
    /// ```
    pub fn set_requires_grad(&self, on: bool) {
        self.0.requires_grad.store(on, Ordering::Relaxed);
    }

    /// True when this tensor was not produced by a recorded op.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[1]).requires_grad(true);
    /// assert!(x.is_leaf());
    /// assert!(!x.exp().is_leaf());
    /// ```
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }

    /// The name of the op that produced this tensor, if it was recorded.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[1]).requires_grad(true);
    /// assert_eq!(x.exp().op_name(), Some("exp"));
    /// ```
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| n.op)
    }

    /// The tensors the recorded op that produced this one read (PyTorch's
    /// `grad_fn.next_functions`, as tensors); empty for a leaf or an
    /// untracked result.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let (a, b) = (Tensor::ones(&[1]).requires_grad(true), Tensor::ones(&[1]));
    /// let y = &a * &b;
    /// let ids: Vec<u64> = y.inputs().iter().map(Tensor::id).collect();
    /// assert_eq!(ids, [a.id(), b.id()]);
    /// assert!(a.inputs().is_empty());
    /// ```
    pub fn inputs(&self) -> &[Tensor] {
        self.0.node.as_ref().map_or(&[], |n| &n.inputs)
    }

    /// The accumulated gradient: `None` until a backward pass reaches this
    /// (leaf) tensor. Gradients accumulate until [`Tensor::zero_grad`].
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[2]).requires_grad(true);
    /// assert!(x.grad().is_none());
    /// x.sum().backward().unwrap();
    /// x.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![2.0, 2.0]);
    /// ```
    pub fn grad(&self) -> Option<Tensor> {
        self.0
            .grad
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the stored gradient (used by optimizers and clipping).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[2]);
    /// x.set_grad(Some(Tensor::zeros(&[2])));
    /// assert!(x.grad().is_some());
    /// ```
    pub fn set_grad(&self, grad: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = grad;
    }

    /// Clears the gradient (PyTorch's `zero_grad(set_to_none=True)`).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[2]).requires_grad(true);
    /// x.sum().backward().unwrap();
    /// x.zero_grad();
    /// assert!(x.grad().is_none());
    /// ```
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// A new leaf sharing nothing with the graph: same values, no history.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[2]).requires_grad(true);
    /// let d = (&x * 2.0).detach();
    /// assert!(d.is_leaf() && !d.is_requires_grad());
    /// ```
    pub fn detach(&self) -> Tensor {
        Tensor::from_storage(self.storage().clone(), self.0.shape.clone())
    }

    /// A copy converted to `dtype` (differentiable: the gradient is converted back).
    ///
    /// ```
    /// use micrograd_plus::{DType, Tensor};
    /// let x = Tensor::ones(&[2]).to_dtype(DType::F64);
    /// assert_eq!(x.dtype(), DType::F64);
    /// ```
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        let from = self.dtype();
        if from == dtype {
            return self.clone();
        }
        let out = self.storage().to_dtype(dtype);
        Tensor::record(
            out,
            self.0.shape.clone(),
            "to_dtype",
            vec![self.clone()],
            move |g, _, _| Ok(vec![Some(g.to_dtype(from))]),
        )
    }
}

/// Keeps [`Tensor::watch_external_writes`] in force while it lives (hold it
/// for as long as the raw view over the buffer exists).
pub struct ExternalWriteWatch(Tensor);

impl Drop for ExternalWriteWatch {
    fn drop(&mut self) {
        // `check_content` stays set: the next look compares the last writes.
        self.0.lock_external().writers -= 1;
    }
}

/// The bookkeeping behind [`Tensor::watch_external_writes`].
#[derive(Default)]
pub(crate) struct ExternalWrites {
    /// Live [`ExternalWriteWatch`]es.
    writers: usize,
    /// Whether the buffer may have changed since `hash` was taken (a writer
    /// is alive, or was when the buffer was last compared).
    check_content: bool,
    hash: u64,
}

/// A 64-bit fingerprint of a buffer's bits (four interleaved multiply-xor
/// lanes, so it runs near memory speed): equal buffers hash equal, and a
/// changed element changes the hash except with negligible probability.
fn content_hash(storage: &Storage) -> u64 {
    fn lanes(bits: impl Iterator<Item = u64>) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut h = [1u64, 2, 3, 4];
        for (i, b) in bits.enumerate() {
            let lane = &mut h[i & 3];
            *lane = (*lane ^ b).wrapping_mul(K).rotate_left(29);
        }
        h.iter().fold(0u64, |acc, &x| (acc ^ x).wrapping_mul(K))
    }
    match storage {
        // Two f32 per 64-bit word: half the multiplies.
        Storage::F32(v) => {
            let pairs = v.chunks_exact(2);
            let odd = pairs.remainder().iter().map(|x| x.to_bits() as u64);
            lanes(
                pairs
                    .map(|p| p[0].to_bits() as u64 | (p[1].to_bits() as u64) << 32)
                    .chain(odd),
            )
        }
        Storage::F64(v) => lanes(v.iter().map(|x| x.to_bits())),
    }
}

/// A handle that does not keep its tensor alive, like [`std::sync::Weak`]:
/// it observes whether a tensor (and so its data and graph node) has been
/// freed, which is how tests check that a graph's intermediate tensors go away
/// once the last handle to the loss is dropped. Costs nothing when unused.
///
/// ```
/// use micrograd_plus::Tensor;
/// let x = Tensor::ones(&[2]).requires_grad(true);
/// let hidden = x.exp();
/// let weak = hidden.downgrade();
/// let loss = hidden.sum();
/// drop(hidden);
/// assert!(weak.is_alive()); // still referenced by loss's graph
/// drop(loss);
/// assert!(!weak.is_alive() && weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakTensor(Weak<TensorImpl>);

impl WeakTensor {
    /// The tensor, if some [`Tensor`] handle still keeps it alive.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[1]);
    /// assert_eq!(t.downgrade().upgrade().unwrap().id(), t.id());
    /// ```
    pub fn upgrade(&self) -> Option<Tensor> {
        self.0.upgrade().map(Tensor)
    }

    /// Whether the tensor still exists.
    ///
    /// ```
    /// let weak = micrograd_plus::Tensor::ones(&[1]).downgrade(); // temporary dropped here
    /// assert!(!weak.is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

impl Tensor {
    /// A [`WeakTensor`] pointing at this tensor without keeping it alive.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[1]);
    /// assert!(t.downgrade().is_alive());
    /// ```
    pub fn downgrade(&self) -> WeakTensor {
        WeakTensor(Arc::downgrade(&self.0))
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tensor({:?}, shape={:?}, dtype={}",
            self.to_vec::<f64>(),
            self.shape(),
            self.dtype().name()
        )?;
        if let Some(op) = self.op_name() {
            write!(f, ", grad_fn={op}")?;
        } else if self.is_requires_grad() {
            write!(f, ", requires_grad=True")?;
        }
        write!(f, ")")
    }
}

impl std::fmt::Display for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn write_dim(
            f: &mut std::fmt::Formatter<'_>,
            v: &[f64],
            shape: &[usize],
            depth: usize,
        ) -> std::fmt::Result {
            if shape.is_empty() {
                return write!(f, "{:.4}", v[0]);
            }
            write!(f, "[")?;
            let step = v.len() / shape[0].max(1);
            for i in 0..shape[0] {
                if i > 0 {
                    write!(f, ",")?;
                    if shape.len() > 1 {
                        write!(f, "\n{}", " ".repeat(depth + 8))?;
                    } else {
                        write!(f, " ")?;
                    }
                }
                write_dim(f, &v[i * step..(i + 1) * step], &shape[1..], depth + 1)?;
            }
            write!(f, "]")
        }
        write!(f, "tensor(")?;
        write_dim(f, &self.to_vec::<f64>(), self.shape(), 0)?;
        write!(f, ")")
    }
}

/// The dtype conversion's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;
    use crate::tensor::DType;

    /// to_dtype round trips, and the promotion of f32 and f64 operands by
    /// mul, matmul, cat and where_.
    pub(crate) fn dtype_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        // Through f32 the finite differences are exact only for f32-representable
        // points: inputs on a 1/64 grid, step 2⁻¹⁰, functions linear in each input.
        // The analytic gradient passes through f32 too, so it is off by at most
        // 2⁻²⁴ relative (6e-8).
        let eps = 1.0 / 1024.0;
        out.push(
            OpCheck::new(
                "to_dtype",
                "f64 → f32 → f64",
                vec![g.quantized(&[2, 3])],
                |t| Ok(t[0].to_dtype(DType::F32).to_dtype(DType::F64)),
            )
            .with_eps(eps),
        );
        out.push(
            OpCheck::new(
                "to_dtype",
                "f32 · f64 promotes (mul)",
                vec![g.quantized(&[2, 3]), g.quantized(&[3])],
                |t| t[0].to_dtype(DType::F32).mul(&t[1]),
            )
            .with_eps(eps),
        );
        out.push(
            OpCheck::new(
                "to_dtype",
                "f32 · f64 promotes (matmul)",
                vec![g.quantized(&[2, 3]), g.quantized(&[3, 2])],
                |t| t[0].matmul(&t[1].to_dtype(DType::F32)),
            )
            .with_eps(eps),
        );
        out.push(
            OpCheck::new(
                "to_dtype",
                "f32 and f64 promote (cat)",
                vec![g.quantized(&[2, 3]), g.quantized(&[1, 3])],
                |t| Tensor::cat(&[t[0].to_dtype(DType::F32), t[1].clone()], 0),
            )
            .with_eps(eps),
        );
        let mask = f64_tensor(vec![1.0, 0.0, 1.0], &[3]);
        out.push(
            OpCheck::new(
                "to_dtype",
                "f32 and f64 promote (where)",
                vec![g.quantized(&[2, 3]), g.quantized(&[3])],
                move |t| Tensor::where_(&mask, &t[0].to_dtype(DType::F32), &t[1]),
            )
            .with_eps(eps),
        );
    }
}
