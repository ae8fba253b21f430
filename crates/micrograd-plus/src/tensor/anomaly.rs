//! Anomaly mode (PyTorch's `torch.autograd.detect_anomaly`): while it is on,
//! every op's output and every backward rule's gradients are checked for
//! inf and NaN, and the first op that makes one is named, with its input
//! shapes and whether its forward or its backward made it.
//!
//! - Forward: the first op whose output holds an inf or a NaN is kept
//!   (ops cannot fail, so it is not an error); [`take_anomaly`] hands it
//!   over. Later ops, which only pass the value on, are not.
//! - Backward: a backward rule that returns a gradient holding an inf or a
//!   NaN stops the backward pass with an error naming the op, as PyTorch's
//!   "Function 'LogBackward0' returned nan values in its 0th output" does.
//!
//! Off, it costs nothing more than the profiler's off state: both read the
//! same thread-local flags once per op (`tensor::hooks`). On, every output
//! and gradient is scanned once, so switch it on to find a NaN, not for
//! every run (`mgp train --anomaly`, and the doctor's strict mode).
//!
//! ```
//! use micrograd_plus::tensor::anomaly::{detect_anomaly, take_anomaly, Pass};
//! use micrograd_plus::Tensor;
//! let x = Tensor::new([0.0f32, 1.0]).unwrap().requires_grad(true);
//! let _anomaly = detect_anomaly();
//! let y = (&x.log() * 0.0).sum(); // log(0) = -inf, then -inf * 0 = NaN
//! let first = take_anomaly().unwrap();
//! assert_eq!((first.op, first.pass), ("log", Pass::Forward));
//! // d/dx log(x) = 1/x at 0, times 0 from the product: NaN.
//! let err = y.backward().unwrap_err().to_string();
//! assert!(err.contains("the backward of log"), "{err}");
//! ```

use super::{hooks, Storage, Tensor};
use crate::{Error, Result};
use std::cell::RefCell;

/// Which half of an op made the non-finite value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The op computing its output.
    Forward,
    /// The op's backward rule computing its inputs' gradients.
    Backward,
}

impl Pass {
    /// `"forward"` or `"backward"`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::tensor::anomaly::Pass::Backward.name(), "backward");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::Backward => "backward",
        }
    }
}

/// The first op that made an inf or a NaN (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// The op's name (`"log"`, `"exp"`, `"div"`).
    pub op: &'static str,
    /// Whether its forward or its backward made the value.
    pub pass: Pass,
    /// The shapes of the op's inputs.
    pub input_shapes: Vec<Vec<usize>>,
    /// The shape of the op's output.
    pub output_shape: Vec<usize>,
    /// The first non-finite value: in the output (forward) or in the
    /// gradient (backward).
    pub value: f64,
    /// Backward: the input whose gradient holds it (0-based).
    pub input: Option<usize>,
    /// Whether what the op was given was finite: its inputs (forward) or
    /// the gradient of its output (backward). When false, the op only
    /// passed on a value that was already inf or NaN.
    pub given_finite: bool,
}

impl Anomaly {
    /// What usually makes this op give an inf or a NaN, when there is a
    /// usual reason.
    ///
    /// ```
    /// use micrograd_plus::tensor::anomaly::{Anomaly, Pass};
    /// let a = Anomaly { op: "exp", pass: Pass::Forward, input_shapes: vec![vec![2]],
    ///     output_shape: vec![2], value: f64::INFINITY, input: None, given_finite: true };
    /// assert!(a.likely_cause().unwrap().contains("overflow"));
    /// ```
    pub fn likely_cause(&self) -> Option<&'static str> {
        Some(match (self.op, self.pass) {
            ("exp" | "expm1" | "pow" | "pow_scalar", _) => {
                "an exp overflowed (e^x is inf above x = 88.7 in f32, 709.8 in f64)"
            }
            ("log" | "log2" | "log1p", Pass::Forward) => "a log was given 0 or a negative number",
            ("log" | "log2" | "log1p", Pass::Backward) => "a log's gradient 1/x was taken at x = 0",
            ("div" | "div_scalar" | "reciprocal" | "rsqrt", _) => "a division by zero",
            ("sqrt", Pass::Backward) => "sqrt's gradient 1/(2√x) was taken at x = 0",
            ("sqrt", Pass::Forward) => "a sqrt was given a negative number",
            _ => return None,
        })
    }
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let given = match (self.pass, self.given_finite) {
            (Pass::Forward, true) => "from finite inputs",
            (Pass::Forward, false) => "from inputs that already held inf or NaN",
            (Pass::Backward, true) => "from a finite gradient of its output",
            (Pass::Backward, false) => "from a gradient of its output that already held inf or NaN",
        };
        write!(
            f,
            "the {} of {} (inputs of shapes {:?}, output {:?}) made {}",
            self.pass.name(),
            self.op,
            self.input_shapes,
            self.output_shape,
            self.value
        )?;
        match self.input {
            Some(i) => write!(f, " in the gradient of its input {i}")?,
            None => write!(f, " in its output")?,
        }
        write!(f, " {given}")
    }
}

thread_local! {
    /// The first anomaly seen since anomaly mode was switched on or the
    /// last [`take_anomaly`].
    static FIRST: RefCell<Option<Anomaly>> = const { RefCell::new(None) };
}

/// Switches anomaly mode on or off for this thread and returns whether it
/// was on (PyTorch's `torch.autograd.set_detect_anomaly`). Switching it on
/// forgets an anomaly left from before.
///
/// ```
/// use micrograd_plus::tensor::anomaly::{is_anomaly_enabled, set_detect_anomaly};
/// assert!(!set_detect_anomaly(true));
/// assert!(is_anomaly_enabled());
/// set_detect_anomaly(false);
/// ```
pub fn set_detect_anomaly(on: bool) -> bool {
    let was_on = hooks::set(hooks::ANOMALY, on);
    if on && !was_on {
        FIRST.with_borrow_mut(|f| *f = None);
    }
    was_on
}

/// Whether anomaly mode is on for this thread (PyTorch's
/// `torch.is_anomaly_enabled`).
///
/// ```
/// assert!(!micrograd_plus::tensor::anomaly::is_anomaly_enabled());
/// ```
pub fn is_anomaly_enabled() -> bool {
    hooks::active() & hooks::ANOMALY != 0
}

/// Anomaly mode on until the returned guard drops (PyTorch's
/// `with torch.autograd.detect_anomaly():`).
///
/// ```
/// use micrograd_plus::tensor::anomaly::{detect_anomaly, is_anomaly_enabled};
/// {
///     let _anomaly = detect_anomaly();
///     assert!(is_anomaly_enabled());
/// }
/// assert!(!is_anomaly_enabled());
/// ```
pub fn detect_anomaly() -> AnomalyMode {
    AnomalyMode {
        was_on: set_detect_anomaly(true),
        _not_send: std::marker::PhantomData,
    }
}

/// Anomaly mode while it lives (see [`detect_anomaly`]).
pub struct AnomalyMode {
    was_on: bool,
    /// The mode is per thread: the guard stays on the thread it began on.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for AnomalyMode {
    fn drop(&mut self) {
        hooks::set(hooks::ANOMALY, self.was_on);
    }
}

/// The first op that made an inf or a NaN since anomaly mode was switched
/// on or since the last call, or `None`; the next anomaly will be the
/// first again.
///
/// ```
/// use micrograd_plus::tensor::anomaly::{detect_anomaly, take_anomaly};
/// use micrograd_plus::Tensor;
/// let _anomaly = detect_anomaly();
/// let _healthy = Tensor::new([1.0f32, 2.0]).unwrap().log_softmax(0).unwrap();
/// assert!(take_anomaly().is_none());
/// ```
pub fn take_anomaly() -> Option<Anomaly> {
    FIRST.with_borrow_mut(Option::take)
}

/// The first inf or NaN of a buffer.
// The cast widens f32 and is the identity on f64: one body for both.
#[allow(clippy::unnecessary_cast)]
fn first_non_finite(storage: &Storage) -> Option<f64> {
    super::with_slice!(storage, |v: T| v
        .iter()
        .find(|x| !x.is_finite())
        .map(|&x| x as f64))
}

fn all_finite(tensors: &[Tensor]) -> bool {
    tensors
        .iter()
        .all(|t| first_non_finite(&t.storage()).is_none())
}

fn keep_first(anomaly: &Anomaly) {
    FIRST.with_borrow_mut(|f| {
        f.get_or_insert_with(|| anomaly.clone());
    });
}

/// Checks an op's output as it is recorded (only while anomaly mode is on).
pub(crate) fn check_forward(op: &'static str, inputs: &[Tensor], data: &Storage, shape: &[usize]) {
    // Only the first is kept: once one is waiting, later ops need no scan.
    if FIRST.with_borrow(Option::is_some) {
        return;
    }
    let Some(value) = first_non_finite(data) else {
        return;
    };
    keep_first(&Anomaly {
        op,
        pass: Pass::Forward,
        input_shapes: inputs.iter().map(|t| t.shape().to_vec()).collect(),
        output_shape: shape.to_vec(),
        value,
        input: None,
        given_finite: all_finite(inputs),
    });
}

/// Checks the gradients a backward rule returned: the first that holds an
/// inf or a NaN stops the backward pass.
pub(crate) fn check_backward(
    op: &'static str,
    inputs: &[Tensor],
    output: &Tensor,
    upstream: &Tensor,
    grads: &[Option<Tensor>],
) -> Result<()> {
    for (i, grad) in grads.iter().enumerate() {
        let Some(value) = grad.as_ref().and_then(|g| first_non_finite(&g.storage())) else {
            continue;
        };
        let anomaly = Anomaly {
            op,
            pass: Pass::Backward,
            input_shapes: inputs.iter().map(|t| t.shape().to_vec()).collect(),
            output_shape: output.shape().to_vec(),
            value,
            input: Some(i),
            given_finite: first_non_finite(&upstream.storage()).is_none(),
        };
        let earlier = FIRST.with_borrow(|f| {
            f.as_ref()
                .map(|first| format!("; before it, {first}"))
                .unwrap_or_default()
        });
        keep_first(&anomaly);
        return Err(Error::Autograd(format!("anomaly mode: {anomaly}{earlier}")));
    }
    Ok(())
}

/// Keeps the ops that backward rules run from being checked as forward
/// ops while a backward pass runs (their gradients are checked instead).
pub(crate) struct ForwardChecksPaused;

impl ForwardChecksPaused {
    pub(crate) fn new() -> ForwardChecksPaused {
        hooks::set(hooks::ANOMALY, false);
        ForwardChecksPaused
    }
}

impl Drop for ForwardChecksPaused {
    fn drop(&mut self) {
        hooks::set(hooks::ANOMALY, true);
    }
}
