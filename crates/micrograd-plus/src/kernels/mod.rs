//! Kernels
//!
//! Plain functions on slices, with no autograd: the fast paths (SIMD,
//! threads) of the engine live here.
//!
//! - [`matmul`]: dense matrix products (`sgemm`, `dgemm`) with strided
//!   operands; a packed, cache-blocked AVX-512 kernel for f32 where the CPU
//!   has it, `matrixmultiply` elsewhere.
//! - [`im2col`]: im2col and col2im, which turn a 2-D convolution into a
//!   matrix product and back.

pub mod im2col;
pub mod matmul;
