//! NumPy's global random generator, drawn from in Rust.
//!
//! The course draws its dropout masks as `np.random.rand(*x.shape) > p`
//! from NumPy's legacy global generator (`np.random.seed`'s), so a seeded
//! run is repeatable. NumPy makes each double through two indirect calls:
//! about 120 µs for one 64×256 mask, as long as the layer's matrix product.
//! Here the library's [`Mt19937`] draws the very same numbers from NumPy's
//! own state, in place, and leaves the state where NumPy would.

use crate::tensor::PyTensor;
use micrograd_plus::random::Mt19937;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Runs `f` on the state of NumPy's legacy global generator, under the lock
/// NumPy takes for it; `None` when that generator is not an MT19937 (a
/// program may swap it for another bit generator).
fn with_numpy_global_mt19937<R>(
    py: Python<'_>,
    f: impl FnOnce(&mut Mt19937) -> R,
) -> PyResult<Option<R>> {
    // Looked up once: the global RandomState and the MT19937 class stay
    // the same objects; only the RandomState's bit generator may be swapped.
    static GLOBAL_RANDOM_STATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static MT19937: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let bit_generator = GLOBAL_RANDOM_STATE
        .import(py, "numpy.random.mtrand", "_rand")?
        .getattr("_bit_generator")?;
    if !bit_generator
        .get_type()
        .is(MT19937.import(py, "numpy.random", "MT19937")?)
    {
        return Ok(None);
    }
    let address: usize = bit_generator
        .getattr("ctypes")?
        .getattr("state_address")?
        .extract()?;
    // Python's acquire lets go of the GIL while it waits, so a NumPy thread
    // filling an array without the GIL can finish and release the lock.
    let lock = bit_generator.getattr("lock")?;
    lock.call_method0("acquire")?;
    // SAFETY: `address` is the `mt19937_state` of the MT19937 object that
    // `bit_generator` keeps alive for this whole call; `Mt19937` has its
    // layout (`#[repr(C)]`: 624 `u32` words, then an `i32` position), and
    // while this thread holds the generator's lock and the GIL nothing else
    // reads or writes it.
    let state = unsafe { &mut *(address as *mut Mt19937) };
    let out = f(state);
    lock.call_method0("release")?;
    Ok(Some(out))
}

/// Dropout of `x` with the course's mask, `np.random.rand(*x.shape) > p`,
/// drawn from NumPy's global generator (the same numbers, and the generator
/// left in the same state); `None` when that generator is not an MT19937,
/// for the caller to draw with NumPy itself. (An element whose draw equals
/// `p` exactly, a chance of 2⁻⁵³ each, is kept here and dropped there.)
#[pyfunction]
fn dropout_numpy(x: &Bound<'_, PyTensor>, p: f64) -> PyResult<Option<Py<PyTensor>>> {
    let py = x.py();
    let engine = PyTensor::engine(x);
    let uniforms = with_numpy_global_mt19937(py, |mt| {
        let mut uniforms = vec![0.0; engine.numel()];
        mt.fill_f64(&mut uniforms);
        uniforms
    })?;
    match uniforms {
        Some(u) => PyTensor::wrap(py, engine.dropout_with_uniforms(p, &u), &[x]).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dropout_numpy, m)?)?;
    Ok(())
}
