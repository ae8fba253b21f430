//! Kernels
//!
//! Plain functions on slices, with no autograd: the fast paths (SIMD,
//! threads) of the engine live here.
//!
//! - [`matmul`]: dense matrix products (`sgemm`, `dgemm`) over strided
//!   matrix views; a packed, cache-blocked AVX-512 kernel for f32 where the CPU
//!   has it, `matrixmultiply` elsewhere.
//! - [`im2col`]: im2col and col2im, which turn a 2-D convolution into a
//!   matrix product and back.
//! - [`simd`]: plain loops compiled for AVX-512 where the CPU has it.
//! - [`isa`]: which instruction set those paths use (the CPU's, capped by
//!   the `MGP_ISA` environment variable).
//! - [`math`]: `exp` and `erfc` for f32 without branches, so that loops
//!   over them vectorise.
//! - [`set_num_threads`]: the size of the thread pool they share.

pub mod allocator;
pub mod im2col;
pub mod isa;
pub mod math;
pub mod matmul;
pub mod simd;

/// Sets how many threads the parallel kernels use (like
/// `torch.set_num_threads`). Only the first call in a process takes effect,
/// and it must come before any parallel work; later calls return an error.
///
/// ```
/// // In a fresh process: micrograd_plus::kernels::set_num_threads(2).unwrap();
/// # let _ = micrograd_plus::kernels::set_num_threads;
/// ```
pub fn set_num_threads(threads: usize) -> crate::Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| crate::Error::argument("set_num_threads", e.to_string()))
}
