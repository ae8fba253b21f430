//! The library's optimizers for the Python `optimizers` module. Each updates
//! its parameters' buffers in place (so NumPy views of them stay live) with
//! PyTorch's update rules; `step(lr)` takes the learning rate every time, so
//! a Python scheduler or user code may change `optimizer.lr` between steps.

use crate::tensor::PyTensor;
use crate::to_py_err;
use micrograd_plus::optim::{
    Adam as RsAdam, AdamConfig, AdamW as RsAdamW, AdamWConfig, Optimizer, RMSprop as RsRMSprop,
    RMSpropConfig, SGDConfig, SGD as RsSGD,
};
use micrograd_plus::Tensor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

fn engine_params(params: &Bound<'_, PyAny>) -> PyResult<Vec<Tensor>> {
    let mut out = Vec::new();
    for p in params.try_iter()? {
        let p = p?;
        let t = p.cast::<PyTensor>().map_err(|_| {
            PyValueError::new_err(format!(
                "optimizer: parameters must be Tensors, got {}",
                p.get_type()
            ))
        })?;
        out.push(PyTensor::engine(t));
    }
    Ok(out)
}

fn checked_lr(lr: f64) -> PyResult<f64> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(lr)
    } else {
        Err(PyValueError::new_err(format!(
            "optimizer: the learning rate must be a finite number >= 0, got {lr}"
        )))
    }
}

/// Runs one step of `opt` at learning rate `lr`.
fn step(opt: &mut dyn Optimizer, lr: f64) -> PyResult<()> {
    // A parameter's gradient reads zeros after zero_grad (the engine's slot
    // is empty until a backward fills it): the update uses those zeros, as
    // the course's does (momentum still moves the parameter), where the
    // engine alone would skip a parameter without a gradient, as PyTorch does.
    for p in opt.params().iter().filter(|p| p.is_requires_grad()) {
        PyTensor::grad_tensor(p);
    }
    opt.set_lr(checked_lr(lr)?);
    opt.step().map_err(to_py_err)
}

/// SGD with momentum, weight decay and Nesterov (PyTorch's rule).
#[pyclass(name = "SGD", module = "micrograd_plus._core")]
struct PySGD(RsSGD);

#[pymethods]
impl PySGD {
    #[new]
    #[pyo3(signature = (params, lr, momentum=0.0, weight_decay=0.0, nesterov=false))]
    fn new(
        params: &Bound<'_, PyAny>,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
        nesterov: bool,
    ) -> PyResult<Self> {
        let config = SGDConfig {
            lr: checked_lr(lr)?,
            momentum,
            weight_decay,
            nesterov,
            ..Default::default()
        };
        RsSGD::new(engine_params(params)?, config)
            .map(PySGD)
            .map_err(to_py_err)
    }
    fn step(&mut self, lr: f64) -> PyResult<()> {
        step(&mut self.0, lr)
    }
}

/// Adam and AdamW take the same arguments; only their weight decay differs.
macro_rules! adam_class {
    ($(#[$doc:meta])* $Py:ident, $name:literal, $Rs:ty, $Config:ident, $default_wd:literal) => {
        $(#[$doc])*
        #[pyclass(name = $name, module = "micrograd_plus._core")]
        struct $Py($Rs);

        #[pymethods]
        impl $Py {
            #[new]
            #[pyo3(signature = (params, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=$default_wd))]
            fn new(
                params: &Bound<'_, PyAny>,
                lr: f64,
                beta1: f64,
                beta2: f64,
                eps: f64,
                weight_decay: f64,
            ) -> PyResult<Self> {
                let config = $Config {
                    lr: checked_lr(lr)?,
                    betas: (beta1, beta2),
                    eps,
                    weight_decay,
                    ..Default::default()
                };
                <$Rs>::new(engine_params(params)?, config)
                    .map($Py)
                    .map_err(to_py_err)
            }
            fn step(&mut self, lr: f64) -> PyResult<()> {
                step(&mut self.0, lr)
            }
        }
    };
}

adam_class!(
    /// Adam with L2 weight decay (PyTorch's `Adam`).
    PyAdam, "Adam", RsAdam, AdamConfig, 0.0
);
adam_class!(
    /// Adam with decoupled weight decay (PyTorch's `AdamW`).
    PyAdamW, "AdamW", RsAdamW, AdamWConfig, 0.01
);

/// RMSprop (PyTorch's rule).
#[pyclass(name = "RMSprop", module = "micrograd_plus._core")]
struct PyRMSprop(RsRMSprop);

#[pymethods]
impl PyRMSprop {
    #[new]
    #[pyo3(signature = (params, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0))]
    fn new(
        params: &Bound<'_, PyAny>,
        lr: f64,
        alpha: f64,
        eps: f64,
        weight_decay: f64,
        momentum: f64,
    ) -> PyResult<Self> {
        let config = RMSpropConfig {
            lr: checked_lr(lr)?,
            alpha,
            eps,
            weight_decay,
            momentum,
            ..Default::default()
        };
        RsRMSprop::new(engine_params(params)?, config)
            .map(PyRMSprop)
            .map_err(to_py_err)
    }
    fn step(&mut self, lr: f64) -> PyResult<()> {
        step(&mut self.0, lr)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySGD>()?;
    m.add_class::<PyAdam>()?;
    m.add_class::<PyAdamW>()?;
    m.add_class::<PyRMSprop>()?;
    Ok(())
}
