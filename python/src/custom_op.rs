//! Ops written in Python, as nodes of the engine's graph.
//!
//! The course builds an op by hand: `out = Tensor(data, _children=(x,),
//! _op='dropout')` (or by assigning `out._prev = {x}` afterwards), then
//! `out._backward = fn`, where `fn()` reads `out.grad` and adds into
//! `x.grad`. Here such a tensor gets an engine node whose backward rule calls
//! `fn` with the gradient slots arranged the way the course expects:
//! `out.grad` holds the gradient flowing in this pass, each input's `.grad`
//! starts at zeros, and whatever `fn` leaves there is that input's share.
//! The engine then sums the shares like any other op's, so a Python op runs
//! in the middle of a chain of engine ops and a second backward counts once.

use micrograd_plus::tensor::Storage;
use micrograd_plus::{Error, Tensor};
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// The Python function assigned to `_backward`, shared between the Python
/// tensor (which sets it, possibly after the node exists) and the node.
pub(crate) type BackwardCell = Arc<Mutex<Option<Py<PyAny>>>>;

/// An engine tensor holding `data` whose backward calls the function in `cell`.
pub(crate) fn node(
    data: Storage,
    shape: Vec<usize>,
    name: &str,
    inputs: Vec<Tensor>,
    cell: BackwardCell,
) -> Result<Tensor, Error> {
    let label = name.to_owned();
    Tensor::custom_op(data, shape, name, inputs, move |grad, inputs, output| {
        Python::attach(|py| run_python_backward(py, &label, &cell, grad, inputs, output))
    })
}

fn run_python_backward(
    py: Python<'_>,
    name: &str,
    cell: &BackwardCell,
    grad: &Tensor,
    inputs: &[Tensor],
    output: &Tensor,
) -> Result<Vec<Option<Tensor>>, Error> {
    let function = cell
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|f| f.clone_ref(py));
    // No `_backward` assigned: like the course's default, no gradient flows.
    let Some(function) = function else {
        return Ok(vec![None; inputs.len()]);
    };
    let saved_output = output.grad();
    let saved_inputs: Vec<Option<Tensor>> = inputs.iter().map(Tensor::grad).collect();
    // The function may edit `out.grad` in place: give it its own copy.
    output.set_grad(Some(grad.detach()));
    for input in inputs {
        input.set_grad(input.is_requires_grad().then(|| input.zeros_like()));
    }
    let outcome = function.call0(py);
    let shares: Vec<Option<Tensor>> = inputs
        .iter()
        .map(|i| i.grad().filter(|_| i.is_requires_grad()))
        .collect();
    output.set_grad(saved_output);
    for (input, saved) in inputs.iter().zip(saved_inputs) {
        input.set_grad(saved);
    }
    match outcome {
        Ok(_) => Ok(shares),
        Err(err) => {
            let message = format!("the backward function of '{name}' raised {err}");
            crate::stash_py_err(err);
            Err(Error::Autograd(message))
        }
    }
}
