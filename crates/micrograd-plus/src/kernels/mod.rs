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
//! - [`set_num_threads`]: the size of the thread pool they share, the
//!   calling thread being one of its workers.

pub mod allocator;
pub mod im2col;
pub mod isa;
pub mod math;
pub mod matmul;
pub mod simd;

/// Builds the thread pool the parallel kernels share, with `threads`
/// workers (like `torch.set_num_threads`; 0: `RAYON_NUM_THREADS`, else one
/// per CPU), the calling thread being one of them.
///
/// The calling thread works: a parallel kernel called on it does its share
/// and the other workers the rest. In a pool without it, the kernel would
/// hand every piece to the pool and sleep until they are done: two context
/// switches per parallel op, and one thread more than there are cores (a
/// Python training loop of the MNIST MLP switched 134,000 times in 628
/// steps that way, 3,400 times this way, and ran 10% faster; `mgp bench`
/// cifar10 and conv about 5%).
///
/// Call it once, early, from a thread that lives as long as the process
/// (the main thread): the pool counts on that thread for its share of the
/// work started on it. A pool of one thread is built without the calling
/// thread, so that work sent from another thread always has a worker of its
/// own. Only the first build of the pool takes effect (without one, the
/// first parallel op builds the default pool, without the calling
/// thread); later calls return an error.
///
/// ```
/// // At the start of main: micrograd_plus::kernels::set_num_threads(0).unwrap();
/// # let _ = micrograd_plus::kernels::set_num_threads;
/// ```
pub fn set_num_threads(threads: usize) -> crate::Result<()> {
    // rayon's own default: RAYON_NUM_THREADS, else one per CPU.
    let threads = if threads > 0 {
        threads
    } else {
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(Into::into))
            .unwrap_or(1)
    };
    let builder = rayon::ThreadPoolBuilder::new().num_threads(threads);
    let builder = if threads > 1 {
        builder.use_current_thread()
    } else {
        builder
    };
    builder
        .build_global()
        .map_err(|e| crate::Error::argument("set_num_threads", e.to_string()))
}
