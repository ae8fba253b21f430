//! `micrograd_plus._core`: the course's Python API on the Rust engine.
//!
//! A thin layer: every computation is a library call. What lives here is the
//! mapping between Python's view of a tensor and the engine's:
//! - `tensor`: the `Tensor` class (NumPy views of the engine's buffers,
//!   gradients on every tensor a user holds, operators, indexing);
//! - `custom_op`: ops written in Python (`_prev`, `_op`, `_backward`) as
//!   nodes of the engine's graph;
//! - `convert`: NumPy arrays and Python values to engine storage and back;
//! - `optim`, `loss`: the library's optimizers and losses, by name;
//! - `value`: micrograd's scalar `Value`;
//! - `numpy_random`: NumPy's global generator drawn from in Rust (dropout).
//!
//! Errors: the library's typed errors become Python exceptions (shape and
//! argument errors `ValueError`, index errors `IndexError`, autograd errors
//! `RuntimeError`), and a Python exception raised inside a Python-defined
//! backward comes back out of `backward()` unchanged.

mod convert;
mod custom_op;
mod loss;
mod numpy_random;
mod optim;
mod tensor;
mod value;

use micrograd_plus::{DType, Error};
use pyo3::exceptions::{PyIndexError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::cell::{Cell, RefCell};

thread_local! {
    /// The dtype of tensors made from Python data when none is asked for
    /// (`numerical_gradient` switches it to float64 while it evaluates f).
    static DEFAULT_DTYPE: Cell<DType> = const { Cell::new(DType::F32) };
    /// A Python exception raised inside a Python-defined backward, kept here
    /// while the engine unwinds its backward pass, then re-raised as is.
    static PENDING_PY_ERR: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

pub(crate) fn default_dtype() -> DType {
    DEFAULT_DTYPE.with(Cell::get)
}

/// The library's error as the Python exception a user expects.
pub(crate) fn to_py_err(e: Error) -> PyErr {
    if let Some(original) = PENDING_PY_ERR.with(|p| p.borrow_mut().take()) {
        return original;
    }
    let msg = e.to_string();
    match e {
        Error::Broadcast { .. } | Error::Shape { .. } | Error::Argument { .. } => {
            PyValueError::new_err(msg)
        }
        Error::Index { .. } => PyIndexError::new_err(msg),
        Error::Autograd(_) | Error::Training(_) => PyRuntimeError::new_err(msg),
        Error::File { .. } => PyOSError::new_err(msg),
    }
}

/// Keeps a Python exception for [`to_py_err`] to re-raise once the engine's
/// backward pass has returned its error.
pub(crate) fn stash_py_err(err: PyErr) {
    PENDING_PY_ERR.with(|p| *p.borrow_mut() = Some(err));
}

/// Makes tensors built from Python data float32 or float64 by default.
#[pyfunction]
fn set_default_dtype(dtype: &Bound<'_, PyAny>) -> PyResult<()> {
    let dtype = convert::dtype_from_py(dtype)?;
    DEFAULT_DTYPE.with(|d| d.set(dtype));
    Ok(())
}

/// The dtype tensors get when none is asked for, as a NumPy dtype.
#[pyfunction]
fn get_default_dtype(py: Python<'_>) -> PyResult<Py<PyAny>> {
    convert::dtype_to_py(py, default_dtype())
}

/// Whether ops record the graph on this thread.
#[pyfunction]
fn is_grad_enabled() -> bool {
    micrograd_plus::tensor::is_grad_enabled()
}

/// Turns graph recording on or off on this thread; returns the previous
/// setting (the Python `no_grad` context manager restores it).
#[pyfunction]
fn set_grad_enabled(on: bool) -> bool {
    micrograd_plus::tensor::set_grad_enabled(on)
}

/// Makes Python's main thread one of the engine's pool workers, when the
/// package is imported there (as in a script or a notebook): ops then run
/// their parallel parts on it instead of waking the pool and sleeping (see
/// `kernels::set_num_threads`). Imported on another thread, which may end
/// before the process does, the pool is left to its defaults.
fn share_the_importing_thread(py: Python<'_>) -> PyResult<()> {
    let threading = py.import("threading")?;
    let main = threading.call_method0("main_thread")?;
    if main.is(&threading.call_method0("current_thread")?) {
        // An error only says the pool exists already (built by another
        // extension linking the engine): it keeps working as it was built.
        let _ = micrograd_plus::kernels::set_num_threads(0);
    }
    Ok(())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // A training loop frees and reallocates the same activation buffers
    // every step; keep them instead of page-faulting them back in each time.
    micrograd_plus::kernels::allocator::keep_freed_buffers();
    share_the_importing_thread(m.py())?;
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<tensor::Buffer>()?;
    m.add_function(wrap_pyfunction!(set_default_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(get_default_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(is_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(set_grad_enabled, m)?)?;
    loss::register(m)?;
    numpy_random::register(m)?;
    optim::register(m)?;
    value::register(m)?;
    Ok(())
}
