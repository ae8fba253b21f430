//! The Python `Tensor`: the course's API over an engine [`Tensor`].
//!
//! What the course expects, and how it maps onto the engine:
//! - `.data` is a live NumPy view of the engine's buffer (no copy);
//!   assigning to it writes into that buffer and counts as an in-place
//!   modification (the engine's version counter), so a graph recorded before
//!   refuses to backpropagate instead of giving a wrong gradient.
//! - every tensor a user holds shows its gradient after backward: results of
//!   ops are marked `retain_grad`, and `.grad` reads zeros until a backward
//!   pass reaches the tensor.
//! - Python-defined ops join the graph through [`crate::custom_op`].

use crate::convert::{self, numpy_view, tensor_from_py, writable_numpy_view};
use crate::custom_op::{self, BackwardCell};
use crate::{default_dtype, to_py_err};
use micrograd_plus::{DType, Tensor};
use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PySet, PyTuple};
use pyo3::PyTraverseError;
use pyo3::{gc::PyVisit, pyclass::CompareOp};
use std::sync::{Arc, Mutex};

pub(crate) use crate::convert::Buffer;

/// A multi-dimensional array with automatic differentiation, computed by
/// the MicroGrad+ Rust engine.
///
/// Tensor(data, requires_grad=False, _children=(), _op='', dtype=None)
///
/// `data` is anything NumPy turns into numbers (lists, scalars, arrays);
/// it is copied and stored as float32 unless `dtype=np.float64` is given.
/// `.data` is a live NumPy view of the values; `.grad` is a NumPy array of
/// the gradient (None when `requires_grad` is False). `backward()` on a
/// scalar result fills `.grad` of every tensor it depends on.
// No `dict`: pyo3 allocates the instance dict after the object is tracked by
// the garbage collector but before its Rust fields are written, so a
// collection at that moment traversed garbage. Python subclasses still get
// a `__dict__` of their own.
#[pyclass(name = "Tensor", module = "micrograd_plus", subclass, weakref)]
pub struct PyTensor {
    pub(crate) inner: Tensor,
    /// The Python tensors this one was computed from (`_prev`): they stay
    /// alive, and inspectable, as long as this one.
    prev: Vec<Py<PyTensor>>,
    /// A label set from Python (`_op`); otherwise the engine op's name.
    op_label: Option<String>,
    /// `_backward` of a Python-defined op.
    backward_fn: BackwardCell,
}

thread_local! {
    /// Parents waiting to be released, and whether a release loop runs.
    static RELEASING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static TO_RELEASE: std::cell::RefCell<Vec<Py<PyTensor>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Releases `_prev` one tensor at a time: dropping the last handle to a long
/// chain would otherwise free it recursively, one stack frame per op, and
/// overflow the stack (Python's own containers do the same, "trashcan").
impl Drop for PyTensor {
    fn drop(&mut self) {
        if self.prev.is_empty() {
            return;
        }
        let prev = std::mem::take(&mut self.prev);
        TO_RELEASE.with(|q| q.borrow_mut().extend(prev));
        if RELEASING.with(|r| r.replace(true)) {
            return; // an outer drop is draining the queue
        }
        while let Some(next) = TO_RELEASE.with(|q| q.borrow_mut().pop()) {
            drop(next);
        }
        RELEASING.with(|r| r.set(false));
    }
}

/// An operand of a binary op: another tensor or a plain number.
enum Operand {
    Tensor(Tensor),
    Scalar(f64),
}

impl PyTensor {
    fn new_result(inner: Tensor, prev: Vec<Py<PyTensor>>) -> PyTensor {
        if inner.is_requires_grad() && !inner.is_leaf() {
            inner.retain_grad();
        }
        PyTensor {
            inner,
            prev,
            op_label: None,
            backward_fn: Arc::new(Mutex::new(None)),
        }
    }

    /// Wraps an op's result, with `parents` as its `_prev`.
    pub(crate) fn wrap(
        py: Python<'_>,
        result: micrograd_plus::Result<Tensor>,
        parents: &[&Bound<'_, PyTensor>],
    ) -> PyResult<Py<PyTensor>> {
        let inner = result.map_err(to_py_err)?;
        let prev = parents.iter().map(|p| (*p).clone().unbind()).collect();
        Py::new(py, PyTensor::new_result(inner, prev))
    }

    fn unary(
        slf: &Bound<'_, Self>,
        f: impl FnOnce(&Tensor) -> micrograd_plus::Result<Tensor>,
    ) -> PyResult<Py<PyTensor>> {
        let result = f(&slf.borrow().inner);
        Self::wrap(slf.py(), result, &[slf])
    }

    /// `other` as an engine operand: a tensor, a number, or array-like data
    /// (converted to this tensor's dtype, like the course's constants).
    fn operand<'py>(
        &self,
        other: &Bound<'py, PyAny>,
    ) -> PyResult<(Operand, Option<Bound<'py, PyTensor>>)> {
        if let Ok(t) = other.cast::<PyTensor>() {
            return Ok((Operand::Tensor(t.borrow().inner.clone()), Some(t.clone())));
        }
        if let Ok(x) = other.extract::<f64>()
            && (!other.hasattr("shape")? || other.getattr("shape")?.len()? == 0)
        {
            return Ok((Operand::Scalar(x), None));
        }
        let t = tensor_from_py(other, self.inner.dtype(), "Tensor")?;
        Ok((Operand::Tensor(t), None))
    }

    /// A binary op with `other` (a tensor, number or array-like), on the
    /// right unless `reflected`.
    fn binary(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        reflected: bool,
        on_tensors: fn(&Tensor, &Tensor) -> micrograd_plus::Result<Tensor>,
        on_scalar: fn(&Tensor, f64) -> micrograd_plus::Result<Tensor>,
    ) -> PyResult<Py<PyTensor>> {
        let me = slf.borrow();
        let (operand, other_py) = me.operand(other)?;
        let result = match operand {
            Operand::Scalar(s) => on_scalar(&me.inner, s),
            Operand::Tensor(t) => {
                // float32 with float64 is float64 here, 0-d or not (the
                // course's NumPy arrays; numerical_gradient relies on it),
                // where the engine keeps PyTorch's rule for 0-d operands.
                let (mine, theirs) = if t.dtype() != me.inner.dtype() {
                    (me.inner.to_dtype(DType::F64), t.to_dtype(DType::F64))
                } else {
                    (me.inner.clone(), t)
                };
                if reflected {
                    on_tensors(&theirs, &mine)
                } else {
                    on_tensors(&mine, &theirs)
                }
            }
        };
        drop(me);
        match &other_py {
            Some(o) if reflected => Self::wrap(slf.py(), result, &[o, slf]),
            Some(o) => Self::wrap(slf.py(), result, &[slf, o]),
            None => Self::wrap(slf.py(), result, &[slf]),
        }
    }

    /// `out` with `_op` reading `name`: for ops the engine computes as
    /// several steps (a 1-D matmul ends in a reshape), whose last step's
    /// name would mislead a picture of the graph.
    fn labelled(py: Python<'_>, out: Py<PyTensor>, name: &str) -> Py<PyTensor> {
        out.borrow_mut(py).op_label = Some(name.to_owned());
        out
    }

    /// A NumPy-style axis argument (None, an int, or a tuple of ints) as engine dims.
    fn axes(axis: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<isize>>> {
        match axis {
            None => Ok(None),
            Some(a) if a.is_none() => Ok(None),
            Some(a) => match a.extract::<isize>() {
                Ok(single) => Ok(Some(vec![single])),
                _ => {
                    let dims: Vec<isize> = a.extract().map_err(|_| {
                        PyTypeError::new_err(format!(
                            "axis must be an int or a tuple of ints, got {a}"
                        ))
                    })?;
                    Ok(Some(dims))
                }
            },
        }
    }

    /// A reduction over `axis` (all elements when None), keeping reduced
    /// dims as size 1 when `keepdims`.
    fn reduce(
        slf: &Bound<'_, Self>,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
        name: &str,
        all: fn(&Tensor) -> micrograd_plus::Result<Tensor>,
        dims: fn(&Tensor, &[isize], bool) -> micrograd_plus::Result<Tensor>,
    ) -> PyResult<Py<PyTensor>> {
        let axes = Self::axes(axis)?;
        let out = Self::unary(slf, |t| match axes {
            // NumPy's `axis=()` reduces nothing (the engine's empty list,
            // like PyTorch's, reduces everything): fold a size-1 axis instead.
            Some(d) if d.is_empty() => dims(&t.unsqueeze(0)?, &[0], false),
            Some(d) => dims(t, &d, keepdims),
            None if keepdims => {
                let all_dims: Vec<isize> = (0..t.ndim() as isize).collect();
                dims(t, &all_dims, true)
            }
            None => all(t),
        })?;
        Ok(Self::labelled(slf.py(), out, name))
    }

    /// The shape given as `reshape(2, 3)` or `reshape((2, 3))`.
    fn shape_args(args: &Bound<'_, PyTuple>) -> PyResult<Vec<isize>> {
        if args.len() == 1 {
            let first = args.get_item(0)?;
            if let Ok(one) = first.extract::<isize>() {
                return Ok(vec![one]);
            }
            return first.extract().map_err(|_| {
                PyTypeError::new_err(format!("expected ints or one tuple of ints, got {first}"))
            });
        }
        args.extract()
            .map_err(|_| PyTypeError::new_err(format!("expected ints, got {args}")))
    }

    fn custom_inputs(prev: &[Py<PyTensor>], py: Python<'_>) -> Vec<Tensor> {
        prev.iter().map(|p| p.borrow(py).inner.clone()).collect()
    }

    /// Makes this tensor the output of a Python-defined op with inputs `prev`.
    fn become_custom_op(&mut self, py: Python<'_>) -> PyResult<()> {
        let requires_grad = self.inner.is_requires_grad();
        let data = self.inner.storage().clone();
        let shape = self.inner.shape().to_vec();
        let name = self.op_label.clone().unwrap_or_default();
        let inputs = Self::custom_inputs(&self.prev, py);
        self.inner = if requires_grad {
            let t = custom_op::node(data, shape, &name, inputs, self.backward_fn.clone())
                .map_err(to_py_err)?;
            t.set_requires_grad(true);
            if !t.is_leaf() {
                t.retain_grad();
            }
            t
        } else {
            convert::tensor_from_storage(data, &shape)
        };
        Ok(())
    }

    /// An index that is an integer array, list or number picks rows (axis 0,
    /// as an embedding lookup does): the rows, wrapped and bounds-checked as
    /// NumPy does, and the result's shape. `None` for any other index, which
    /// goes through the general path (a grid of every element's position).
    fn row_index(
        slf: &Bound<'_, Self>,
        index: &Bound<'_, PyAny>,
    ) -> PyResult<Option<(Vec<usize>, Vec<isize>)>> {
        let shape = slf.borrow().inner.shape().to_vec();
        if shape.is_empty()
            || index.is_instance_of::<PyTuple>()
            || index.is_instance_of::<pyo3::types::PyBool>()
        {
            return Ok(None);
        }
        let np = convert::numpy(index.py())?;
        let Ok(picked) = np.call_method1("asarray", (index,)) else {
            return Ok(None);
        };
        let kind: String = picked.getattr("dtype")?.getattr("kind")?.extract()?;
        if kind != "i" && kind != "u" {
            return Ok(None);
        }
        let size = shape[0] as i64;
        let values: Vec<i64> = picked
            .call_method1("reshape", (-1,))?
            .call_method0("tolist")?
            .extract()?;
        let mut rows = Vec::with_capacity(values.len());
        for v in values {
            if v < -size || v >= size {
                return Err(PyIndexError::new_err(format!(
                    "Tensor index: index {v} is out of bounds for axis 0 with size {size} (tensor shape {shape:?})"
                )));
            }
            rows.push(if v < 0 { v + size } else { v } as usize);
        }
        let mut out_shape: Vec<isize> = picked.getattr("shape")?.extract()?;
        out_shape.extend(shape[1..].iter().map(|&d| d as isize));
        Ok(Some((rows, out_shape)))
    }

    fn tensors_from_iterable(value: &Bound<'_, PyAny>) -> PyResult<Vec<Py<PyTensor>>> {
        let mut out = Vec::new();
        for item in value.try_iter()? {
            let item = item?;
            let t = item.cast::<PyTensor>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "_prev/_children must hold Tensors, got {}",
                    item.get_type()
                ))
            })?;
            out.push(t.clone().unbind());
        }
        Ok(out)
    }

    /// The gradient slot's tensor, created as zeros when missing.
    pub(crate) fn grad_tensor(t: &Tensor) -> Tensor {
        match t.grad() {
            Some(g) => g,
            None => {
                let z = t.zeros_like();
                t.set_grad(Some(z.clone()));
                z
            }
        }
    }
}

#[pymethods]
impl PyTensor {
    #[new]
    #[pyo3(signature = (data, requires_grad=false, _children=None, _op="", dtype=None))]
    fn py_new(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        requires_grad: bool,
        _children: Option<&Bound<'_, PyAny>>,
        _op: &str,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let dtype = match dtype {
            Some(d) if !d.is_none() => convert::dtype_from_py(d)?,
            _ => default_dtype(),
        };
        let inner = match data.cast::<PyTensor>() {
            Ok(t) => t.borrow().inner.detach().to_dtype(dtype),
            Err(_) => tensor_from_py(data, dtype, "Tensor")?,
        };
        inner.set_requires_grad(requires_grad);
        let mut t = PyTensor {
            inner,
            prev: Vec::new(),
            op_label: (!_op.is_empty()).then(|| _op.to_owned()),
            backward_fn: Arc::new(Mutex::new(None)),
        };
        if let Some(children) = _children {
            t.prev = Self::tensors_from_iterable(children)?;
            if !t.prev.is_empty() {
                t.become_custom_op(py)?;
            }
        }
        Ok(t)
    }

    // ---- values -------------------------------------------------------

    /// The values: a live, writable NumPy view (no copy).
    #[getter]
    fn get_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // Writes through the view bypass the engine: it watches for them
        // while the view lives.
        writable_numpy_view(py, &self.inner)
    }

    /// Writes new values into the tensor (same shape; a leaf may change shape).
    #[setter]
    fn set_data(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(t) = value.cast::<PyTensor>() {
            let other = t.borrow().inner.clone();
            return self.set_data(&numpy_view(value.py(), &other)?);
        }
        if convert::data_address(value) == Some(convert::tensor_address(&self.inner)) {
            // `t.data -= x`: NumPy already wrote into our buffer; record the write.
            let view_shape: Vec<usize> = value.getattr("shape")?.extract()?;
            if view_shape == self.inner.shape() {
                self.inner.increment_version();
                return Ok(());
            }
        }
        let (storage, shape) = convert::storage_from_py(value, self.inner.dtype(), "Tensor.data")?;
        if shape == self.inner.shape() {
            convert::write_into(&self.inner, &storage);
            return Ok(());
        }
        if !self.inner.is_leaf() {
            return Err(PyValueError::new_err(format!(
                "Tensor.data: cannot give a computed tensor of shape {:?} values of shape {shape:?}",
                self.inner.shape()
            )));
        }
        let fresh = convert::tensor_from_storage(storage, &shape);
        fresh.set_requires_grad(self.inner.is_requires_grad());
        self.inner = fresh;
        Ok(())
    }

    /// The gradient as a NumPy array (a live view), or None when the tensor
    /// does not require a gradient. Zeros until a backward pass reaches it.
    #[getter]
    fn get_grad<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !self.inner.is_requires_grad() {
            return Ok(None);
        }
        numpy_view(py, &Self::grad_tensor(&self.inner)).map(Some)
    }

    #[setter]
    fn set_grad(&mut self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let Some(value) = value.filter(|v| !v.is_none()) else {
            self.inner.set_grad(None);
            return Ok(());
        };
        if let Some(current) = self.inner.grad()
            && convert::data_address(value) == Some(convert::tensor_address(&current))
        {
            return Ok(()); // `x.grad += g`: already written in place
        }
        let np = convert::numpy(value.py())?;
        let broadcast = np
            .call_method1(
                "broadcast_to",
                (value, PyTuple::new(value.py(), self.inner.shape())?),
            )
            .map_err(|_| {
                let shape = value
                    .getattr("shape")
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| "()".into());
                PyValueError::new_err(format!(
                    "Tensor.grad: a gradient of shape {shape} does not fit a tensor of shape {:?}",
                    self.inner.shape()
                ))
            })?;
        let g = tensor_from_py(&broadcast, self.inner.dtype(), "Tensor.grad")?;
        self.inner.set_grad(Some(g));
        Ok(())
    }

    #[getter]
    fn get_requires_grad(&self) -> bool {
        self.inner.is_requires_grad()
    }

    #[setter]
    fn set_requires_grad(&self, on: bool) {
        self.inner.set_requires_grad(on);
    }

    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }

    #[getter]
    fn size(&self) -> usize {
        self.inner.numel()
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ndim()
    }

    #[getter]
    fn dtype(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        convert::dtype_to_py(py, self.inner.dtype())
    }

    /// The tensor with its axes reversed (NumPy's `.T`).
    #[getter(T)]
    fn transposed(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| {
            let dims: Vec<isize> = (0..t.ndim() as isize).rev().collect();
            t.permute(&dims)
        })
    }

    fn __len__(&self) -> PyResult<usize> {
        self.inner
            .shape()
            .first()
            .copied()
            .ok_or_else(|| PyTypeError::new_err("len() of a 0-d tensor"))
    }

    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    fn item(&self) -> PyResult<f64> {
        self.inner.item().map_err(to_py_err)
    }

    /// A copy of the values as a NumPy array.
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        numpy_view(py, &self.inner)?.call_method0("copy")
    }

    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = copy; // always a copy: the caller cannot write back through it
        let values = self.numpy(py)?;
        match dtype {
            Some(d) if !d.is_none() => values.call_method1("astype", (d,)),
            _ => Ok(values),
        }
    }

    #[classattr]
    fn __array_ufunc__(py: Python<'_>) -> Py<PyAny> {
        // NumPy then hands `array * tensor` to Tensor.__rmul__ instead of
        // looping over the tensor as an object.
        py.None()
    }

    /// A new leaf with the same values and no history (a copy).
    fn detach(&self) -> PyTensor {
        PyTensor::new_result(self.inner.detach(), Vec::new())
    }

    /// A differentiable copy.
    fn clone(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.add_scalar(0.0)))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let data = numpy_view(py, &self.inner)?.repr()?.to_string();
        let body = data
            .strip_prefix("array(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(&data)
            .to_owned();
        let body = body.replace("\n      ", "\n       ");
        if self.inner.is_requires_grad() {
            Ok(format!("Tensor({body}, requires_grad=True)"))
        } else {
            Ok(format!("Tensor({body})"))
        }
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(numpy_view(py, &self.inner)?.str()?.to_string())
    }

    // ---- autograd -----------------------------------------------------

    /// Backpropagates from this tensor: a scalar, or any shape with a
    /// `gradient` of that shape. Does nothing when it needs no gradient.
    #[pyo3(signature = (gradient=None))]
    fn backward(&self, gradient: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        if !self.inner.is_requires_grad() {
            return Ok(());
        }
        if !self.inner.is_leaf() {
            // The course shows the root's gradient as the seed (ones), not a
            // sum over backward calls; leaves and the other tensors accumulate.
            self.inner.set_grad(None);
        }
        let result = match gradient.filter(|g| !g.is_none()) {
            None if self.inner.numel() != 1 => {
                return Err(PyRuntimeError::new_err(format!(
                "Gradient must be specified for non-scalar outputs (this tensor has shape {:?}); \
                     reduce it with .sum() or .mean(), or call backward(gradient)",
                self.inner.shape()
            )))
            }
            // The course's graphs stay usable: a second backward adds the
            // gradients again (PyTorch's retain_graph=True).
            None => self.inner.backward_retain_graph(None),
            Some(g) => {
                let g = match g.cast::<PyTensor>() {
                    Ok(t) => t.borrow().inner.clone(),
                    Err(_) => tensor_from_py(g, self.inner.dtype(), "backward")?,
                };
                self.inner.backward_retain_graph(Some(&g))
            }
        };
        result.map_err(to_py_err)
    }

    /// Sets the gradient to zeros: `.grad` reads zeros until the next
    /// backward, which then stores its gradient instead of adding it to a
    /// buffer of zeros (a training step writes the weights' gradients once
    /// instead of three times). An array taken from `.grad` before keeps its
    /// values, as in the course (which assigns a new zeros array) and in
    /// PyTorch (which sets `.grad` to None).
    fn zero_grad(&self) {
        self.inner.zero_grad();
    }

    /// The tensors this one was computed from.
    #[getter(_prev)]
    fn get_prev<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PySet>> {
        PySet::new(py, self.prev.iter().map(|p| p.bind(py)))
    }

    /// Makes this tensor the output of a Python-defined op on these inputs.
    #[setter(_prev)]
    fn set_prev(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let prev = Self::tensors_from_iterable(value)?;
        if prev.iter().any(|p| p.bind(slf.py()).is(slf)) {
            return Err(PyValueError::new_err(
                "_prev: a tensor cannot be one of its own inputs (that would make a cycle)",
            ));
        }
        let mut me = slf.borrow_mut();
        me.prev = prev;
        me.become_custom_op(slf.py())
    }

    #[getter(_op)]
    fn get_op(&self) -> String {
        match &self.op_label {
            Some(label) => label.clone(),
            None => self.inner.op_name().unwrap_or("").to_owned(),
        }
    }

    #[setter(_op)]
    fn set_op(&mut self, value: String) {
        self.op_label = Some(value);
    }

    /// The Python backward function of a Python-defined op (None otherwise).
    #[getter(_backward)]
    fn get_backward(&self, py: Python<'_>) -> Py<PyAny> {
        match &*self.backward_fn.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(f) => f.clone_ref(py),
            None => py.None(),
        }
    }

    #[setter(_backward)]
    fn set_backward(&self, value: Py<PyAny>) {
        *self.backward_fn.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for p in &self.prev {
            visit.call(p)?;
        }
        if let Ok(cell) = self.backward_fn.try_lock()
            && let Some(f) = &*cell
        {
            visit.call(f)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.prev.clear();
        if let Ok(mut cell) = self.backward_fn.lock() {
            *cell = None;
        }
    }

    // ---- arithmetic ---------------------------------------------------

    fn __add__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, false, Tensor::add, |t, s| Ok(t.add_scalar(s)))
    }
    fn __radd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, true, Tensor::add, |t, s| Ok(t.add_scalar(s)))
    }
    fn __sub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, false, Tensor::sub, |t, s| Ok(t.sub_scalar(s)))
    }
    fn __rsub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, true, Tensor::sub, |t, s| Ok(t.rsub_scalar(s)))
    }
    fn __mul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, false, Tensor::mul, |t, s| Ok(t.mul_scalar(s)))
    }
    fn __rmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, true, Tensor::mul, |t, s| Ok(t.mul_scalar(s)))
    }
    fn __truediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, false, Tensor::div, |t, s| Ok(t.div_scalar(s)))
    }
    fn __rtruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, true, Tensor::div, |t, s| Ok(t.rdiv_scalar(s)))
    }
    fn __matmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let out = Self::binary(slf, other, false, Tensor::matmul, not_a_matmul_operand)?;
        Ok(Self::labelled(slf.py(), out, "matmul"))
    }
    fn __rmatmul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let out = Self::binary(slf, other, true, Tensor::matmul, not_a_matmul_operand)?;
        Ok(Self::labelled(slf.py(), out, "matmul"))
    }
    fn __pow__(
        slf: &Bound<'_, Self>,
        exponent: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        if modulo.is_some_and(|m| !m.is_none()) {
            return Err(PyTypeError::new_err(
                "Tensor ** with a modulus is not supported",
            ));
        }
        Self::binary(
            slf,
            exponent,
            false,
            Tensor::pow,
            |t, e| Ok(t.pow_scalar(e)),
        )
    }
    fn __rpow__(
        slf: &Bound<'_, Self>,
        base: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        if modulo.is_some_and(|m| !m.is_none()) {
            return Err(PyTypeError::new_err(
                "Tensor ** with a modulus is not supported",
            ));
        }
        // s ** t = exp(t · ln s)
        Self::binary(slf, base, true, Tensor::pow, |t, s| {
            Ok(t.mul_scalar(s.ln()).exp())
        })
    }
    fn __neg__(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.neg()))
    }
    fn __pos__(slf: &Bound<'_, Self>) -> Py<PyTensor> {
        slf.clone().unbind()
    }

    /// Elementwise comparison: a NumPy bool array, like the course.
    fn __richcmp__<'py>(
        &self,
        other: &Bound<'py, PyAny>,
        op: CompareOp,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = other.py();
        let mine = numpy_view(py, &self.inner)?;
        let theirs = match other.cast::<PyTensor>() {
            Ok(t) => numpy_view(py, &t.borrow().inner)?,
            Err(_) => other.clone(),
        };
        let name = match op {
            CompareOp::Lt => "__lt__",
            CompareOp::Le => "__le__",
            CompareOp::Eq => "__eq__",
            CompareOp::Ne => "__ne__",
            CompareOp::Gt => "__gt__",
            CompareOp::Ge => "__ge__",
        };
        mine.call_method1(name, (theirs,))
    }

    // ---- reductions ---------------------------------------------------

    #[pyo3(signature = (axis=None, keepdims=false))]
    fn sum(
        slf: &Bound<'_, Self>,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
    ) -> PyResult<Py<PyTensor>> {
        Self::reduce(
            slf,
            axis,
            keepdims,
            "sum",
            |t| Ok(t.sum()),
            Tensor::sum_dims,
        )
    }
    #[pyo3(signature = (axis=None, keepdims=false))]
    fn mean(
        slf: &Bound<'_, Self>,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
    ) -> PyResult<Py<PyTensor>> {
        Self::reduce(
            slf,
            axis,
            keepdims,
            "mean",
            |t| Ok(t.mean()),
            Tensor::mean_dims,
        )
    }
    #[pyo3(signature = (axis=None, keepdims=false))]
    fn max(
        slf: &Bound<'_, Self>,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
    ) -> PyResult<Py<PyTensor>> {
        Self::reduce(slf, axis, keepdims, "max", Tensor::max, Tensor::max_dims)
    }
    #[pyo3(signature = (axis=None, keepdims=false))]
    fn min(
        slf: &Bound<'_, Self>,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
    ) -> PyResult<Py<PyTensor>> {
        Self::reduce(slf, axis, keepdims, "min", Tensor::min, Tensor::min_dims)
    }
    /// The biased variance (NumPy's default, ddof=0).
    #[pyo3(signature = (axis=None, keepdims=false))]
    fn var(
        slf: &Bound<'_, Self>,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
    ) -> PyResult<Py<PyTensor>> {
        Self::reduce(
            slf,
            axis,
            keepdims,
            "var",
            |t| Ok(t.var(0)),
            |t, d, k| t.var_dims(d, 0, k),
        )
    }

    // ---- shape --------------------------------------------------------

    #[pyo3(signature = (*shape))]
    fn reshape(slf: &Bound<'_, Self>, shape: &Bound<'_, PyTuple>) -> PyResult<Py<PyTensor>> {
        let shape = Self::shape_args(shape)?;
        Self::unary(slf, |t| t.reshape(&shape))
    }
    fn flatten(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| t.reshape(&[-1]))
    }
    #[pyo3(signature = (axis=None))]
    fn squeeze(slf: &Bound<'_, Self>, axis: Option<isize>) -> PyResult<Py<PyTensor>> {
        if let Some(a) = axis {
            let me = slf.borrow();
            let shape = me.inner.shape();
            let n = shape.len() as isize;
            let d = if a < 0 { a + n } else { a };
            if d < 0 || d >= n {
                return Err(PyValueError::new_err(format!(
                    "squeeze: axis {a} is out of bounds for a tensor of shape {shape:?}"
                )));
            }
            if shape[d as usize] != 1 {
                return Err(PyValueError::new_err(format!(
                    "squeeze: cannot select an axis to squeeze out which has size not equal to one \
                     (axis {a} of shape {shape:?})"
                )));
            }
        }
        Self::unary(slf, |t| t.squeeze(axis))
    }
    fn unsqueeze(slf: &Bound<'_, Self>, axis: isize) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| t.unsqueeze(axis))
    }
    /// NumPy's transpose: a permutation of the axes (reversed when none is given).
    #[pyo3(signature = (*axes))]
    fn transpose(slf: &Bound<'_, Self>, axes: &Bound<'_, PyTuple>) -> PyResult<Py<PyTensor>> {
        if axes.is_empty() {
            return Self::transposed(slf);
        }
        let dims = Self::shape_args(axes)?;
        Self::unary(slf, |t| t.permute(&dims))
    }

    // ---- elementwise --------------------------------------------------

    fn relu(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.relu()))
    }
    fn sigmoid(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.sigmoid()))
    }
    fn tanh(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.tanh()))
    }
    fn exp(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.exp()))
    }
    /// The natural logarithm (exact: the course adds 1e-8 first).
    fn log(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.log()))
    }
    fn sqrt(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.sqrt()))
    }
    fn abs(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.abs()))
    }
    #[pyo3(signature = (axis=-1))]
    fn softmax(slf: &Bound<'_, Self>, axis: isize) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| t.softmax(axis))
    }
    #[pyo3(signature = (axis=-1))]
    fn log_softmax(slf: &Bound<'_, Self>, axis: isize) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| t.log_softmax(axis))
    }
    /// Values limited to [min, max] (either may be None).
    #[pyo3(signature = (min=None, max=None))]
    fn clip(slf: &Bound<'_, Self>, min: Option<f64>, max: Option<f64>) -> PyResult<Py<PyTensor>> {
        Self::unary(slf, |t| Ok(t.clamp(min, max)))
    }
    /// Elementwise maximum with another tensor or a number.
    fn maximum(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        Self::binary(slf, other, false, Tensor::maximum, |t, s| {
            t.maximum(&Tensor::full_dtype(&[], s, t.dtype()))
        })
    }

    // ---- indexing -----------------------------------------------------

    /// NumPy indexing (ints, slices, lists/arrays of ints, boolean masks);
    /// the gradient adds up over repeated indices.
    fn __getitem__(slf: &Bound<'_, Self>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let py = slf.py();
        let index = match index.cast::<PyTensor>() {
            Ok(t) => {
                let values = numpy_view(py, &t.borrow().inner)?;
                values.call_method1("astype", ("int64",))?
            }
            Err(_) => index.clone(),
        };
        if let Some((rows, shape)) = Self::row_index(slf, &index)? {
            let out = Self::unary(slf, |t| t.index_select(0, &rows)?.reshape(&shape))?;
            return Ok(Self::labelled(py, out, "getitem"));
        }
        let (positions, shape) = {
            let me = slf.borrow();
            let np = convert::numpy(py)?;
            let numel = me.inner.numel();
            let grid = np
                .call_method1("arange", (numel,))?
                .call_method1("reshape", (PyTuple::new(py, me.inner.shape())?,))?;
            let picked = grid.get_item(&index).map_err(|e| {
                let msg = e.value(py).to_string();
                if e.is_instance_of::<PyIndexError>(py) {
                    PyIndexError::new_err(format!(
                        "Tensor index: {msg} (tensor shape {:?})",
                        me.inner.shape()
                    ))
                } else {
                    PyTypeError::new_err(format!("Tensor index: {msg}"))
                }
            })?;
            let picked = np.call_method1("asarray", (picked,))?;
            let shape: Vec<isize> = picked.getattr("shape")?.extract()?;
            let flat: Vec<usize> = picked
                .call_method1("reshape", (-1,))?
                .call_method0("tolist")?
                .extract()?;
            (flat, shape)
        };
        let out = Self::unary(slf, |t| {
            t.reshape(&[-1])?
                .index_select(0, &positions)?
                .reshape(&shape)
        })?;
        Ok(Self::labelled(py, out, "getitem"))
    }

    /// Writes values through a NumPy index (an in-place modification).
    fn __setitem__(&self, index: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = index.py();
        let value = match value.cast::<PyTensor>() {
            Ok(t) => numpy_view(py, &t.borrow().inner)?.call_method0("copy")?,
            Err(_) => value.clone(),
        };
        let view = numpy_view(py, &self.inner)?;
        view.set_item(index, value)?;
        self.inner.increment_version(); // the view's write, unseen by the engine
        Ok(())
    }
}

fn not_a_matmul_operand(t: &Tensor, s: f64) -> micrograd_plus::Result<Tensor> {
    Err(micrograd_plus::Error::argument(
        "matmul",
        format!(
            "a tensor of shape {:?} cannot be matrix-multiplied by the number {s}",
            t.shape()
        ),
    ))
}

impl PyTensor {
    /// The engine tensor of a Python tensor (for the optimizer and loss bindings).
    pub(crate) fn engine(t: &Bound<'_, PyTensor>) -> Tensor {
        t.borrow().inner.clone()
    }
}
