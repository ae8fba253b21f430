//! # MicroGrad+
pub mod data;
pub mod error;
pub mod kernels;
pub mod train;
pub mod value;

pub use error::{Error, Result};
