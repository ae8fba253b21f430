//! micrograd's scalar `Value`, on the library's scalar engine: the first
//! thing a learner reads, with the same names as micrograd (`data`, `grad`,
//! `_prev`, `_op`, `backward`) and a Graphviz picture of its graph.

use micrograd_plus::value::dot::graph;
use micrograd_plus::value::Value;
use micrograd_plus::viz::Direction;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PySet;

/// A scalar with a gradient: micrograd's `Value`.
///
/// Value(data, label='')
#[pyclass(name = "Value", module = "micrograd_plus", unsendable)]
pub struct PyValue {
    inner: Value,
    /// The Python values this one was computed from (`_prev`).
    prev: Vec<Py<PyValue>>,
    /// A name shown in pictures (micrograd's `label`).
    #[pyo3(get, set)]
    label: String,
}

impl PyValue {
    fn result(inner: Value, prev: Vec<Py<PyValue>>) -> PyValue {
        PyValue {
            inner,
            prev,
            label: String::new(),
        }
    }

    /// `other` as a Value: a number becomes a new leaf (as in micrograd,
    /// where it then shows in `_prev` and in pictures).
    fn operand(py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<(Value, Py<PyValue>)> {
        if let Ok(v) = other.cast::<PyValue>() {
            return Ok((v.borrow().inner.clone(), v.clone().unbind()));
        }
        let x: f64 = other.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "Value: cannot combine a Value with {}",
                other.get_type()
            ))
        })?;
        let leaf = PyValue::new(x, String::new());
        let v = leaf.inner.clone();
        Ok((v, Py::new(py, leaf)?))
    }

    /// `f(self, other)`, or `f(other, self)` when `reflected` (`2 * v`).
    fn binary(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        reflected: bool,
        f: fn(&Value, &Value) -> Value,
    ) -> PyResult<PyValue> {
        let me = slf.borrow().inner.clone();
        let mine = slf.clone().unbind();
        let (v, py_v) = Self::operand(slf.py(), other)?;
        Ok(if reflected {
            Self::result(f(&v, &me), vec![py_v, mine])
        } else {
            Self::result(f(&me, &v), vec![mine, py_v])
        })
    }

    fn unary(slf: &Bound<'_, Self>, f: fn(&Value) -> Value) -> PyValue {
        let v = f(&slf.borrow().inner);
        Self::result(v, vec![slf.clone().unbind()])
    }
}

#[pymethods]
impl PyValue {
    #[new]
    #[pyo3(signature = (data, label=String::new()))]
    fn new(data: f64, label: String) -> PyValue {
        PyValue {
            inner: Value::new(data),
            prev: Vec::new(),
            label,
        }
    }

    #[getter]
    fn get_data(&self) -> f64 {
        self.inner.data()
    }
    #[setter]
    fn set_data(&self, data: f64) {
        self.inner.set_data(data);
    }
    #[getter]
    fn get_grad(&self) -> f64 {
        self.inner.grad()
    }
    #[setter]
    fn set_grad(&self, grad: f64) {
        self.inner.set_grad(grad);
    }
    #[getter(_prev)]
    fn prev<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PySet>> {
        PySet::new(py, self.prev.iter().map(|p| p.bind(py)))
    }
    #[getter(_op)]
    fn op(&self) -> String {
        self.inner.op().label()
    }

    /// Fills `.grad` of every value this one depends on (d self / d value).
    fn backward(&self) {
        self.inner.backward();
    }
    fn zero_grad(&self) {
        self.inner.zero_grad();
    }

    fn __add__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, false, |a, b| a + b)
    }
    fn __radd__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, true, |a, b| a + b)
    }
    fn __sub__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, false, |a, b| a - b)
    }
    fn __rsub__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, true, |a, b| a - b)
    }
    fn __mul__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, false, |a, b| a * b)
    }
    fn __rmul__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, true, |a, b| a * b)
    }
    fn __truediv__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, false, |a, b| a / b)
    }
    fn __rtruediv__(slf: &Bound<'_, Self>, o: &Bound<'_, PyAny>) -> PyResult<PyValue> {
        Self::binary(slf, o, true, |a, b| a / b)
    }
    fn __pow__(
        slf: &Bound<'_, Self>,
        k: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyValue> {
        let k: f64 = k
            .extract()
            .map_err(|_| PyTypeError::new_err("Value ** supports int/float powers only"))?;
        if modulo.is_some_and(|m| !m.is_none()) {
            return Err(PyTypeError::new_err(
                "Value ** with a modulus is not supported",
            ));
        }
        let v = slf.borrow().inner.pow(k);
        Ok(Self::result(v, vec![slf.clone().unbind()]))
    }
    fn __neg__(slf: &Bound<'_, Self>) -> PyValue {
        Self::unary(slf, |a| -a.clone())
    }
    fn relu(slf: &Bound<'_, Self>) -> PyValue {
        Self::unary(slf, Value::relu)
    }
    fn tanh(slf: &Bound<'_, Self>) -> PyValue {
        Self::unary(slf, Value::tanh)
    }
    fn exp(slf: &Bound<'_, Self>) -> PyValue {
        Self::unary(slf, Value::exp)
    }
    fn log(slf: &Bound<'_, Self>) -> PyValue {
        Self::unary(slf, Value::ln)
    }
    fn sigmoid(slf: &Bound<'_, Self>) -> PyValue {
        Self::unary(slf, Value::sigmoid)
    }
    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }
    fn __repr__(&self) -> String {
        format!(
            "Value(data={:?}, grad={:?})",
            self.inner.data(),
            self.inner.grad()
        )
    }
}

/// The DOT text of `root`'s graph (the library's `value::dot`), with the
/// `label` of every Python value in it; `rankdir` is "LR" or "TB".
#[pyfunction]
fn value_dot(root: &Bound<'_, PyValue>, rankdir: &str) -> PyResult<String> {
    let direction = match rankdir {
        "LR" => Direction::LeftToRight,
        "TB" => Direction::TopToBottom,
        _ => {
            return Err(PyValueError::new_err(format!(
                "draw_dot: rankdir must be 'LR' or 'TB', got {rankdir:?}"
            )));
        }
    };
    // The labels live on the Python objects: walk `_prev` (iteratively, a
    // long chain would overflow the stack) to collect them.
    let py = root.py();
    let mut labelled: Vec<(Value, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![root.clone()];
    while let Some(v) = stack.pop() {
        let v = v.borrow();
        if !seen.insert(v.inner.id()) {
            continue;
        }
        if !v.label.is_empty() {
            labelled.push((v.inner.clone(), v.label.clone()));
        }
        stack.extend(v.prev.iter().map(|p| p.bind(py).clone()));
    }
    let labels: Vec<(&Value, &str)> = labelled.iter().map(|(v, s)| (v, s.as_str())).collect();
    Ok(graph(&root.borrow().inner, &labels).to_dot_towards(direction))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyValue>()?;
    m.add_function(wrap_pyfunction!(value_dot, m)?)?;
    Ok(())
}
