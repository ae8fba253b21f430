//! # MicroGrad+
//!
//! A deep-learning engine you can read end to end: a scalar autograd engine
//! ([`value`]) for learning the chain rule, and an N-D [`Tensor`] engine with
//! broadcasting and reverse-mode autograd for training real models.
//!
//! The layers, bottom to top (arrows point down only):
//! - [`kernels`]: plain functions on slices (matrix product); no autograd.
//! - [`tensor`]: the `Tensor` handle, dtypes, shapes, every differentiable op
//!   with its backward rule beside it, and the backward pass.
//! - [`value`]: micrograd's scalar engine and its tiny `nn`.
//! - [`nn`]: modules (layers, activations, containers), initialisers.
//! - [`models`]: complete models (a GPT) built from `nn` layers.
//! - [`io`]: safetensors files for models and checkpoints, written atomically.
//! - [`random`]: the default generator ([`manual_seed`]).
//! - [`profiler`]: where the time goes, op by op: a table and a Chrome trace.
//! - [`gradcheck`]: finite-difference gradient checking and the op catalogue.
//! - [`optim`]: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad), learning-rate
//!   schedules and gradient clipping, with PyTorch's update rules.
//! - [`data`]: datasets, the background data loader, MNIST/CIFAR-10 readers,
//!   transforms, synthetic sets.
//! - [`train`]: the training loop, metrics, charts, checkpoints, recipes.
//! - [`export`]: a checkpoint's model for PyTorch (state dict and `model.py`) and ONNX.
//! - [`viz`]: pictures of computation graphs (DOT, and SVG without Graphviz).
//! - [`bench`](mod@bench): the named workloads behind `mgp bench`.
//!
//! ```
//! use micrograd_plus::Tensor;
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap().requires_grad(true);
//! let y = (&x * &x).sum();
//! y.backward().unwrap();
//! assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![2.0, 4.0, 6.0]);
//! ```
#![warn(missing_docs)]

// `#[derive(Module)]` names the crate `::micrograd_plus`; inside the crate too.
extern crate self as micrograd_plus;

pub mod bench;
mod canvas;
pub mod data;
pub mod error;
pub mod export;
pub mod gradcheck;
pub mod io;
pub mod kernels;
pub mod models;
pub mod nn;
pub mod optim;
pub mod profiler;
pub mod random;
pub mod tensor;
pub mod train;
pub mod value;
pub mod viz;

pub use error::{Error, Result};
pub use random::manual_seed;
pub use tensor::{no_grad, DType, Tensor};
