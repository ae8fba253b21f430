//! Python values to engine storage and back: NumPy arrays, nested lists and
//! scalars in; live NumPy views of engine buffers out.

use micrograd_plus::tensor::{ExternalWriteWatch, SliceMut, Storage};
use micrograd_plus::{DType, Tensor};
use numpy::ndarray::{ArrayViewD, IxDyn};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

/// The `numpy` module, imported once.
pub(crate) fn numpy(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static NUMPY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    NUMPY
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("numpy")?.unbind()))
        .map(|m| m.bind(py))
}

/// `np.float32` / `np.float64` (or their dtype objects, or the strings) to a [`DType`].
pub(crate) fn dtype_from_py(dtype: &Bound<'_, PyAny>) -> PyResult<DType> {
    let np = numpy(dtype.py())?;
    let name: String = np
        .call_method1("dtype", (dtype,))
        .and_then(|d| d.getattr("name"))
        .and_then(|n| n.extract())
        .map_err(|_| PyTypeError::new_err(format!("Tensor: {dtype} is not a NumPy dtype")))?;
    match name.as_str() {
        "float32" => Ok(DType::F32),
        "float64" => Ok(DType::F64),
        other => Err(PyTypeError::new_err(format!(
            "Tensor: dtype {other} is not supported; use np.float32 or np.float64"
        ))),
    }
}

/// The NumPy dtype object for a [`DType`].
pub(crate) fn dtype_to_py(py: Python<'_>, dtype: DType) -> PyResult<Py<PyAny>> {
    let name = match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
    };
    Ok(numpy(py)?.call_method1("dtype", (name,))?.unbind())
}

/// Any array-like (nested lists, scalars, arrays of bool/int/float) as
/// `dtype` storage and a shape. Ragged lists, strings, objects and complex
/// numbers are refused with a `TypeError`/`ValueError`, never guessed.
pub(crate) fn storage_from_py(
    data: &Bound<'_, PyAny>,
    dtype: DType,
    op: &str,
) -> PyResult<(Storage, Vec<usize>)> {
    let py = data.py();
    let np = numpy(py)?;
    let array = np
        .call_method1("asarray", (data,))
        .map_err(|e| reword(py, e, op))?;
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "b" | "i" | "u" | "f") {
        let name: String = array.getattr("dtype")?.getattr("name")?.extract()?;
        return Err(PyTypeError::new_err(format!(
            "{op}: cannot make a tensor from data of NumPy dtype {name}; \
             give numbers (lists, scalars or numeric arrays)"
        )));
    }
    let name = match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
    };
    // asarray with order C, not ascontiguousarray: that one makes 0-d data 1-d.
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("dtype", name)?;
    kwargs.set_item("order", "C")?;
    let array = np.call_method("asarray", (array,), Some(&kwargs))?;
    Ok(match dtype {
        DType::F32 => {
            let a = array.cast_into::<PyArrayDyn<f32>>()?;
            let shape = a.shape().to_vec();
            let values = a.readonly().as_slice()?.to_vec();
            (Storage::F32(values), shape)
        }
        DType::F64 => {
            let a = array.cast_into::<PyArrayDyn<f64>>()?;
            let shape = a.shape().to_vec();
            let values = a.readonly().as_slice()?.to_vec();
            (Storage::F64(values), shape)
        }
    })
}

/// NumPy's own message for data it cannot convert (a ragged list), prefixed with the op.
fn reword(py: Python<'_>, e: PyErr, op: &str) -> PyErr {
    let msg = e.value(py).to_string();
    if e.is_instance_of::<PyTypeError>(py) {
        PyTypeError::new_err(format!("{op}: {msg}"))
    } else {
        PyValueError::new_err(format!("{op}: {msg}"))
    }
}

/// A tensor (no gradient) from any array-like, in `dtype`.
pub(crate) fn tensor_from_py(data: &Bound<'_, PyAny>, dtype: DType, op: &str) -> PyResult<Tensor> {
    let (storage, shape) = storage_from_py(data, dtype, op)?;
    Ok(tensor_from_storage(storage, &shape))
}

pub(crate) fn tensor_from_storage(storage: Storage, shape: &[usize]) -> Tensor {
    match storage {
        Storage::F32(v) => Tensor::from_vec(v, shape),
        Storage::F64(v) => Tensor::from_vec(v, shape),
    }
    .expect("storage_from_py returns a buffer that fills its shape")
}

/// Keeps a tensor (and so its buffer) alive while NumPy arrays view it, and,
/// for a view the user may write through, keeps the engine watching the
/// buffer for such writes ([`Tensor::watch_external_writes`]) until the last
/// array over it is gone.
#[pyclass(module = "micrograd_plus._core", frozen)]
pub struct Buffer {
    #[allow(dead_code)] // held only to keep the buffer alive
    tensor: Tensor,
    #[allow(dead_code)] // held only for its Drop
    watch: Option<ExternalWriteWatch>,
}

/// A NumPy array over `tensor`'s buffer, with no copy, for reading (or for
/// writes the caller records itself with `Tensor::increment_version`).
///
/// Safe because the engine never reallocates a tensor's buffer: in-place
/// updates (optimizers, `.data = …`, gradient accumulation) write into it,
/// and the [`Buffer`] base object keeps it alive for as long as the array.
pub(crate) fn numpy_view<'py>(py: Python<'py>, tensor: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    view_with_owner(py, tensor, None)
}

/// A NumPy array over `tensor`'s buffer that the user may write through:
/// the engine watches the buffer for as long as the array (or any array
/// derived from it) lives, so a graph that saved the old values refuses a
/// stale backward.
pub(crate) fn writable_numpy_view<'py>(
    py: Python<'py>,
    tensor: &Tensor,
) -> PyResult<Bound<'py, PyAny>> {
    view_with_owner(py, tensor, Some(tensor.watch_external_writes()))
}

fn view_with_owner<'py>(
    py: Python<'py>,
    tensor: &Tensor,
    watch: Option<ExternalWriteWatch>,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = IxDyn(tensor.shape());
    let owner = Bound::new(
        py,
        Buffer {
            tensor: tensor.clone(),
            watch,
        },
    )?
    .into_any();
    let storage = tensor.storage();
    // SAFETY: the pointer stays valid while `owner` holds the tensor (see above).
    let array = unsafe {
        match &*storage {
            Storage::F32(v) => {
                let view = ArrayViewD::from_shape_ptr(shape, v.as_ptr());
                PyArrayDyn::<f32>::borrow_from_array(&view, owner).into_any()
            }
            Storage::F64(v) => {
                let view = ArrayViewD::from_shape_ptr(shape, v.as_ptr());
                PyArrayDyn::<f64>::borrow_from_array(&view, owner).into_any()
            }
        }
    };
    Ok(array)
}

/// Overwrites `target`'s buffer with `values` (already converted to its
/// dtype, same number of elements) in place, never allocating a new buffer,
/// so NumPy views of `target` keep pointing at live memory.
pub(crate) fn write_into(target: &Tensor, values: &Storage) {
    target.update_any(|dst| match (dst, values) {
        (SliceMut::F32(dst), Storage::F32(src)) => dst.copy_from_slice(src),
        (SliceMut::F64(dst), Storage::F64(src)) => dst.copy_from_slice(src),
        _ => unreachable!("callers convert to the target's dtype"),
    });
}

/// The address of an array's first element, to tell whether an array is a
/// view of a tensor's own buffer.
pub(crate) fn data_address(values: &Bound<'_, PyAny>) -> Option<usize> {
    let interface = values.getattr("__array_interface__").ok()?;
    let data = interface.get_item("data").ok()?;
    data.get_item(0).ok()?.extract().ok()
}

/// The address of a tensor's first element.
pub(crate) fn tensor_address(tensor: &Tensor) -> usize {
    match &*tensor.storage() {
        Storage::F32(v) => v.as_ptr() as usize,
        Storage::F64(v) => v.as_ptr() as usize,
    }
}
