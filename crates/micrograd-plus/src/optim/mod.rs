//! Optimizers, learning-rate schedules and gradient clipping, with PyTorch's
//! exact update rules.
//!
//! An optimizer holds the parameters (cheap [`Tensor`] handles sharing their
//! storage with the model) and updates them **in place**, outside the autograd
//! graph, with plain loops over the parameter, gradient and state slices: no
//! tensor ops and no allocation per step beyond the state created on a
//! parameter's first step. Each optimizer lives in its own file:
//! [`SGD`], [`Adam`], [`AdamW`], [`RMSprop`], [`Adagrad`]. Schedules are in
//! [`scheduler`], clipping in [`clip`].
//!
//! ```
//! use micrograd_plus::optim::{Adam, AdamConfig, Optimizer};
//! use micrograd_plus::Tensor;
//! // Minimise (w - 3)^2 from w = 0.
//! let w = Tensor::zeros(&[1]).requires_grad(true);
//! let mut opt = Adam::new(vec![w.clone()], AdamConfig { lr: 0.1, ..Default::default() }).unwrap();
//! for _ in 0..300 {
//!     opt.zero_grad();
//!     let loss = (&w - 3.0).pow_scalar(2.0).sum();
//!     loss.backward().unwrap();
//!     opt.step().unwrap();
//! }
//! assert!((w.item().unwrap() - 3.0).abs() < 1e-2);
//! ```

pub mod adagrad;
pub mod adam;
pub mod adamw;
pub mod clip;
pub mod rmsprop;
pub mod scheduler;
pub mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::{RMSprop, RMSpropConfig};
pub use scheduler::LrScheduler;
pub use sgd::{SGDConfig, SGD};

use crate::tensor::{DType, Element, SlicePair, Storage};
use crate::{Error, Result, Tensor};
use std::collections::HashSet;

/// What every optimizer does: update its parameters from their gradients.
///
/// State save/restore ([`Optimizer::state_dict`], [`Optimizer::load_state_dict`])
/// gives an exact resume: loading the state saved after step `k` into a fresh
/// optimizer over the same parameters and continuing produces bit-identical
/// parameters to an uninterrupted run. Entries are named like PyTorch's
/// flattened state: `"lr"`, `"step"` (number of `step` calls), and per
/// parameter `"state.<i>.<buffer>"` (`state.0.exp_avg`, `state.0.step`, ...);
/// scalars are 0-d f64 tensors, buffers have the parameter's shape and dtype.
/// A parameter that has not been updated yet has no `state.<i>.*` entries.
///
/// ```
/// use micrograd_plus::optim::{Optimizer, SGD, SGDConfig};
/// use micrograd_plus::Tensor;
/// let w = Tensor::new([1.0f32, 2.0]).unwrap().requires_grad(true);
/// let mut opt = SGD::new(vec![w.clone()], SGDConfig { lr: 0.5, ..Default::default() }).unwrap();
/// w.set_grad(Some(Tensor::new([1.0f32, -1.0]).unwrap()));
/// opt.step().unwrap();
/// assert_eq!(w.to_vec::<f32>(), vec![0.5, 2.5]);
/// opt.zero_grad();
/// assert!(w.grad().is_none());
/// ```
pub trait Optimizer: Send {
    /// One update of every parameter that requires a gradient and has one;
    /// the others are skipped (their state, if any, is left as it was).
    fn step(&mut self) -> Result<()>;

    /// Sets every parameter's gradient to `None` (PyTorch's
    /// `zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.params() {
            p.zero_grad();
        }
    }

    /// The current learning rate.
    fn lr(&self) -> f64;

    /// Replaces the learning rate (what schedulers call).
    fn set_lr(&mut self, lr: f64);

    /// The parameters, in the order given at construction.
    fn params(&self) -> &[Tensor];

    /// The state needed to resume exactly: `lr`, `step` and every
    /// parameter's buffers (see the trait docs for the names).
    fn state_dict(&self) -> Vec<(String, Tensor)>;

    /// Restores a [`Optimizer::state_dict`]. A missing, unexpected or
    /// duplicated entry, or one of the wrong shape or dtype, is an error
    /// naming it, and leaves the optimizer unchanged.
    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

// ---------------------------------------------------------------------------
// Argument checks shared by the optimizers (PyTorch's wording, plus the why).
// ---------------------------------------------------------------------------

/// `"{op}: invalid {setting} {value}: {why}"` as an [`Error::Argument`].
pub(crate) fn invalid(op: &'static str, setting: &str, value: f64, why: &str) -> Error {
    Error::argument(op, format!("invalid {setting} {value}: {why}"))
}

/// `value` must be finite and `>= 0` (learning rates, weight decay, momentum).
pub(crate) fn check_non_negative(op: &'static str, setting: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(op, setting, value, "must be a finite number >= 0"))
    }
}

/// `value` must be finite and `> 0` (eps).
pub(crate) fn check_positive(op: &'static str, setting: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(op, setting, value, "must be a finite number > 0"))
    }
}

/// `value` must lie in `[0, 1)` (Adam's betas).
pub(crate) fn check_unit_open(op: &'static str, setting: &str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(invalid(op, setting, value, "must be in [0, 1)"))
    }
}

/// Rejects a parameter list that names the same tensor twice: it would be
/// updated twice per step.
pub(crate) fn check_params(op: &'static str, params: &[Tensor]) -> Result<()> {
    let mut seen = HashSet::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        if !seen.insert(p.id()) {
            let first = params.iter().position(|q| q.id() == p.id()).unwrap_or(0);
            return Err(Error::argument(
                op,
                format!("parameter {i} is the same tensor as parameter {first}"),
            ));
        }
    }
    Ok(())
}

/// `x`, or 0 when it is subnormal (below `T::min_positive_value()`, about
/// 1.2e-38 in f32), for optimizer state that decays geometrically.
///
/// A moment with no new gradient shrinks by its beta every step (the
/// weights of MNIST's always-blank border pixels: Adam's `m` goes below
/// f32's normal range after about 800 steps), and x86 CPUs run arithmetic on
/// subnormal numbers in microcode, tens of times slower: the course's MNIST
/// epochs in Python took 0.17 s for four epochs, then 0.23 s from the fifth
/// on. Stored as 0 instead, the state stays on the fast path. What is lost
/// is a contribution below 1e-30 of an update; PyTorch keeps the subnormal.
#[inline(always)]
pub(crate) fn flush_subnormal<T: Element>(x: T) -> T {
    if x.abs() < T::min_positive_value() {
        T::zero()
    } else {
        x
    }
}

/// Calls `f(i, param and grad)` with the elements of every parameter that
/// requires a gradient and has one, after checking that the gradient matches
/// the parameter's shape and dtype. The parameter is write-locked, the
/// gradient read-locked, only for the duration of the call.
pub(crate) fn for_each_with_grad(
    op: &'static str,
    params: &[Tensor],
    mut f: impl FnMut(usize, SlicePair<'_>) -> Result<()>,
) -> Result<()> {
    for (i, p) in params.iter().enumerate() {
        if !p.is_requires_grad() {
            continue;
        }
        let Some(g) = p.grad() else { continue };
        if g.id() == p.id() {
            // Reading and writing the same buffer would deadlock.
            return Err(Error::argument(
                op,
                format!("the gradient of parameter {i} is the parameter itself"),
            ));
        }
        if g.shape() != p.shape() {
            return Err(Error::shape(
                op,
                format!(
                    "parameter {i} has shape {:?} but its gradient has shape {:?}",
                    p.shape(),
                    g.shape()
                ),
            ));
        }
        match p.update_any_with(&g, |pair| f(i, pair)) {
            Ok(stepped) => stepped?,
            // Same tensor and shape were checked above: the dtypes differ.
            // Told here, on the error path, so a step takes no extra lock.
            Err(_) if g.dtype() != p.dtype() => {
                return Err(Error::argument(
                    op,
                    format!(
                        "parameter {i} is {} but its gradient is {}",
                        p.dtype().name(),
                        g.dtype().name()
                    ),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A state buffer as a slice of the parameter's element type and length.
/// Buffers are made or loaded to match their parameter, so this fails only
/// if the parameter's storage was swapped for another dtype or size.
pub(crate) fn state_mut<'s, T: Element>(
    op: &'static str,
    i: usize,
    len: usize,
    s: &'s mut Storage,
) -> Result<&'s mut [T]> {
    let dtype = s.dtype();
    match T::slice_mut(s) {
        Some(v) if v.len() == len => Ok(v),
        _ => Err(Error::argument(
            op,
            format!(
                "the state of parameter {i} ({}) no longer matches the parameter ({}, {len} elements)",
                dtype.name(),
                T::DTYPE.name()
            ),
        )),
    }
}

/// A zero-filled state buffer of `param`'s dtype and length.
pub(crate) fn zeros_like(param: &SlicePair<'_>) -> Storage {
    Storage::filled(param.dtype(), param.len(), 0.0)
}

// ---------------------------------------------------------------------------
// State dicts: writing and reading named entries.
// ---------------------------------------------------------------------------

/// A `(name, 0-d f64 tensor)` entry.
pub(crate) fn scalar_entry(name: impl Into<String>, value: f64) -> (String, Tensor) {
    (name.into(), Tensor::scalar(value))
}

/// A `(name, tensor)` entry holding a copy of a state buffer.
pub(crate) fn buffer_entry(
    name: impl Into<String>,
    buffer: &Storage,
    shape: &[usize],
) -> (String, Tensor) {
    (
        name.into(),
        Tensor::from_storage(buffer.clone(), shape.to_vec()),
    )
}

/// Reads a state dict entry by entry, remembering which were used so that
/// [`StateReader::finish`] can reject the ones nobody asked for.
pub(crate) struct StateReader<'a> {
    op: &'static str,
    entries: &'a [(String, Tensor)],
    used: Vec<bool>,
}

impl<'a> StateReader<'a> {
    /// Checks for duplicated names up front.
    pub(crate) fn new(op: &'static str, entries: &'a [(String, Tensor)]) -> Result<Self> {
        let mut names = HashSet::with_capacity(entries.len());
        for (name, _) in entries {
            if !names.insert(name.as_str()) {
                return Err(Error::argument(
                    op,
                    format!("state dict has entry {name:?} twice"),
                ));
            }
        }
        Ok(StateReader {
            op,
            entries,
            used: vec![false; entries.len()],
        })
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n == name)
    }

    /// Whether an entry of that name exists.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    fn take(&mut self, name: &str) -> Result<&'a Tensor> {
        let i = self.find(name).ok_or_else(|| {
            Error::argument(self.op, format!("state dict is missing entry {name:?}"))
        })?;
        self.used[i] = true;
        Ok(&self.entries[i].1)
    }

    /// A scalar entry (one element, any dtype), as f64.
    pub(crate) fn scalar(&mut self, name: &str) -> Result<f64> {
        let op = self.op;
        let t = self.take(name)?;
        if t.numel() != 1 {
            return Err(Error::shape(
                op,
                format!(
                    "state dict entry {name:?} should be a scalar but has shape {:?}",
                    t.shape()
                ),
            ));
        }
        t.item()
    }

    /// A non-negative whole-number scalar entry (step counts).
    pub(crate) fn count(&mut self, name: &str) -> Result<u64> {
        let v = self.scalar(name)?;
        if v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64 {
            Ok(v as u64)
        } else {
            Err(Error::argument(
                self.op,
                format!("state dict entry {name:?} should be a whole number >= 0, got {v}"),
            ))
        }
    }

    /// A buffer entry that must have `shape` and `dtype` (the parameter's).
    pub(crate) fn buffer(&mut self, name: &str, shape: &[usize], dtype: DType) -> Result<Storage> {
        let op = self.op;
        let t = self.take(name)?;
        if t.shape() != shape {
            return Err(Error::shape(
                op,
                format!(
                    "state dict entry {name:?} has shape {:?} but the parameter has shape {shape:?}",
                    t.shape()
                ),
            ));
        }
        let s = t.storage();
        if s.dtype() != dtype {
            return Err(Error::argument(
                op,
                format!(
                    "state dict entry {name:?} is {} but the parameter is {}",
                    s.dtype().name(),
                    dtype.name()
                ),
            ));
        }
        Ok(s.clone())
    }

    /// Fails on the first entry that was never read.
    pub(crate) fn finish(self) -> Result<()> {
        match self.used.iter().position(|u| !u) {
            None => Ok(()),
            Some(i) => Err(Error::argument(
                self.op,
                format!("state dict has unexpected entry {:?}", self.entries[i].0),
            )),
        }
    }
}
