//! The library's losses by name, for the Python `losses` module: PyTorch's
//! numerics and correct gradients (the course's Huber and BCE-with-logits
//! gradients are wrong, course-api.md §5).

use crate::tensor::PyTensor;
use micrograd_plus::nn::loss::{
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, NLLLoss, Reduction,
    SmoothL1Loss,
};
use micrograd_plus::Tensor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn reduction(name: &str) -> PyResult<Reduction> {
    match name {
        "mean" => Ok(Reduction::Mean),
        "sum" => Ok(Reduction::Sum),
        "none" => Ok(Reduction::None),
        other => Err(PyValueError::new_err(format!(
            "reduction must be 'mean', 'sum' or 'none', got '{other}'"
        ))),
    }
}

/// A target given as a Tensor, array or list, in the input's dtype.
fn target_tensor(input: &Tensor, target: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    match target.cast::<PyTensor>() {
        Ok(t) => Ok(PyTensor::engine(t).to_dtype(input.dtype())),
        Err(_) => crate::convert::tensor_from_py(target, input.dtype(), "loss target"),
    }
}

/// `kind` in 'cross_entropy', 'nll', 'l1', 'huber', 'smooth_l1', 'bce',
/// 'bce_with_logits': the loss of `input` against `target`.
#[pyfunction]
#[pyo3(signature = (kind, input, target, reduction="mean", delta=1.0))]
fn loss(
    kind: &str,
    input: &Bound<'_, PyTensor>,
    target: &Bound<'_, PyAny>,
    reduction: &str,
    delta: f64,
) -> PyResult<Py<PyTensor>> {
    let r = self::reduction(reduction)?;
    let x = PyTensor::engine(input);
    let y = target_tensor(&x, target)?;
    let result = match kind {
        "cross_entropy" => CrossEntropyLoss::new().reduction(r).forward(&x, &y),
        "nll" => NLLLoss::new().reduction(r).forward(&x, &y),
        "l1" => L1Loss::new().reduction(r).forward(&x, &y),
        "huber" => HuberLoss::new().delta(delta).reduction(r).forward(&x, &y),
        "smooth_l1" => SmoothL1Loss::new().beta(delta).reduction(r).forward(&x, &y),
        "bce" => BCELoss::new().reduction(r).forward(&x, &y),
        "bce_with_logits" => BCEWithLogitsLoss::new().reduction(r).forward(&x, &y),
        other => {
            return Err(PyValueError::new_err(format!("unknown loss '{other}'")));
        }
    };
    let parents: Vec<&Bound<'_, PyTensor>> = match target.cast::<PyTensor>() {
        Ok(t) => vec![input, t],
        Err(_) => vec![input],
    };
    PyTensor::wrap(input.py(), result, &parents)
}

/// Cross-entropy of logits (N, C) against class indices (N,).
#[pyfunction]
#[pyo3(signature = (logits, targets, reduction="mean"))]
fn cross_entropy(
    logits: &Bound<'_, PyTensor>,
    targets: &Bound<'_, PyAny>,
    reduction: &str,
) -> PyResult<Py<PyTensor>> {
    loss("cross_entropy", logits, targets, reduction, 1.0)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(loss, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy, m)?)?;
    Ok(())
}
