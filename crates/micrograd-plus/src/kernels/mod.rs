//! kernels
pub mod matmul;
