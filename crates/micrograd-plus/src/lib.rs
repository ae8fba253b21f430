//! # MicroGrad+
pub mod bench;
pub mod data;
pub mod error;
pub mod gradcheck;
pub mod kernels;
pub mod tensor;
pub mod train;
pub mod value;

pub use error::{Error, Result};
pub use tensor::{no_grad, DType, Tensor};
