//! Dense matrix products: `C = A·B`, `C += A·B` and `C = A·B + bias` for f32 and f64.
//!
//! [`sgemm`] and [`dgemm`] take A and B as [`MatRef`] views with any sizes
//! and any strides (so a transposed operand, [`MatRef::t`], is just swapped
//! strides) and write a contiguous row-major C, a [`MatMut`]. Every tensor matmul, linear layer and convolution (through
//! im2col) in the engine ends up here, so this is the one kernel where speed
//! is worth real code.
//!
//! # How a fast GEMM works
//!
//! A naive triple loop does 2 flops per 2 loads and runs at memory speed.
//! The GotoBLAS/BLIS design reorganises the same arithmetic so that almost
//! every operand comes from registers or L1:
//!
//! 1. **Register tile (microkernel).** A `MR × NR = 12 × 32` tile of C lives
//!    in 24 of the 32 AVX-512 registers for a whole slice of `k`. Each `k`
//!    step loads 32 floats of B (two vectors), broadcasts 12 floats of A, and
//!    issues 24 fused multiply-adds: 768 flops for 14 loads. 24 independent
//!    accumulators cover the FMA latency (4 cycles × 2 pipes on Zen 5).
//! 2. **Packing.** Before the microkernel runs, a `KC`-deep block of B is
//!    copied into `NR`-column panels and a block of A into `MR`-row panels,
//!    each laid out k-step by k-step: the microkernel then reads two
//!    contiguous streams whatever the caller's strides, and ragged edges are
//!    zero-padded (see `matmul/pack.rs`).
//! 3. **Cache blocking.** Five loops around the microkernel decide which
//!    data is reused from which cache level: columns of C in blocks of
//!    `NC = 1024`; `k` in slices of `KC = 1024` (256 for AVX2; the packed B block,
//!    `KC × NC`, sits in the shared L3); rows of C in blocks of `MC ≤ 132`
//!    (the packed A block, ≤ 528 KiB, sits in the core's 1 MiB L2); then
//!    each `NR`-wide B panel (128 KiB) against every `MR`-row A panel of the
//!    block, both streamed from L2 fast enough for the microkernel. A deep
//!    `KC` matters most: each tile of C is loaded and stored once per `KC`
//!    steps, and C rows are far apart in memory (so the tile is also
//!    prefetched while its `k` loop runs). At 1024³ on one core, KC = 256
//!    gave 175 GFLOP/s and KC = 512 or 1024 gave 202.
//! 4. **Small operands in place.** When `m, n, k ≤ 256`, A (any strides)
//!    and a row-major B are read where they are, through the same
//!    microkernel: at 64³ packing would cost a fifth of the time, and such
//!    operands stay in L1/L2 anyway (64³ on one core: 162 → 203 GFLOP/s).
//!    Larger ones are packed: rows 4 KiB apart, as in a 1024-wide matrix,
//!    all map to the same cache sets. The exception is an A whose rows (or,
//!    transposed, columns) are at most 512 floats long, as in a layer of
//!    128 or 512 features: its lines spread over enough cache sets, and
//!    packing would be a large share of a narrow product.
//! 5. **Threads.** From `2·m·n·k ≥ 2·100³` flops (and `m ≥ 24`), the
//!    packing of B and the row blocks of C are shared out: the calling
//!    thread starts at once and rayon's workers join in, each claiming the
//!    next block when done (and packing its own A block into a thread-local
//!    buffer). Row blocks shrink as the work runs out (from `MC` rows down
//!    to one `MR` panel), so the threads finish together, and a helper
//!    whose core is busy with other work costs little: the caller takes
//!    over its blocks. Below the threshold, waking a worker (~13 µs here)
//!    costs more than it saves. [`Threads::Serial`] never uses threads,
//!    for callers that parallelise over a batch themselves.
//!
//! The microkernel is chosen at run time ([`super::isa`], no
//! `-C target-cpu` needed): the AVX-512 one above, or on CPUs with AVX2 and
//! FMA only a `6 × 16` tile in 12 of the 16 YMM registers; the blocking,
//! packing and threading around either are the same code
//! (`matmul/blocked.rs`). Other CPUs use the `matrixmultiply` crate, which
//! is also what [`dgemm`] uses everywhere.
//!
//! # Why a hand-written kernel
//!
//! f32 `C = A·B` with square row-major operands, GFLOP/s = 2n³ / time, on
//! the 2-core AMD EPYC (Zen 5, AVX-512) development machine. Peak is
//! 2 FMA pipes × 16 lanes × 2 flops × ~3.68 GHz ≈ 236 GFLOP/s per core, 471
//! for both. The machine is shared with other builds, so every library was
//! timed side by side in six rounds (each a median of 15 timings of ≥ 50 ms
//! loops): the table gives the median over rounds and, in parentheses,
//! the best round.
//!
//! | n    | `sgemm`   | `sgemm`, `Serial` | matrixmultiply, 2 threads | matrixmultiply, 1 thread | NumPy (OpenBLAS, Haswell kernel) | NumPy (OpenBLAS, SkylakeX kernel) | PyTorch 2.15 |
//! |------|-----------|-----------|-----------|-----------|-----------|-----------|-----------|
//! | 64   | 213 (219) | 216 (218) | 131 (132) | 130 (131) | 85 (87)   | 161 (164) | 85 (88)   |
//! | 256  | 376 (413) | 224 (225) | 250 (296) | 178 (180) | 204 (209) | 364 (376) | 181 (185) |
//! | 1024 | 393 (408) | 199 (205) | 292 (338) | 178 (180) | 212 (216) | 399 (406) | 185 (190) |
//!
//! So at 64³ (one thread: below the threading threshold) the kernel is
//! ~1.6× `matrixmultiply`, ~1.3× OpenBLAS's AVX-512 kernel and ~2.5×
//! PyTorch; at 256³ ~1.5× `matrixmultiply` and a little ahead of OpenBLAS's
//! AVX-512 kernel; at 1024³ level with it (both ~84% of the machine's peak)
//! and ~1.35× `matrixmultiply`. Under heavier background load all threaded
//! numbers drop (earlier rounds: `sgemm` 352 at 1024³, OpenBLAS 364);
//! `sgemm` then degrades to about its one-thread speed rather than below
//! it, because the caller does the blocks a busy helper cannot. NumPy here
//! defaults to the Haswell kernel because the environment sets
//! `OPENBLAS_CORETYPE=Haswell`. Transposed operands cost little: at 1024³
//! Aᵀ·B, A·Bᵀ and Aᵀ·Bᵀ run within ~5% of A·B; at 64³ a transposed B, which
//! must be packed, costs ~15%. Reproduce with
//! `cargo bench -p micrograd-plus --bench matmul`, `bench/numpy_matmul.py`
//! (with `OPENBLAS_CORETYPE=SkylakeX` for the AVX-512 kernel) and
//! `bench/pytorch_matmul.py`.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod blocked;
#[cfg(target_arch = "x86_64")]
mod pack;
mod view;

use std::mem::MaybeUninit;

pub use view::{MatMut, MatRef};

/// Whether sharing a product out by rows pays (see
/// `blocked::MIN_FLOPS_PER_BYTE`); the linear layer's own row split asks it
/// too.
pub(crate) use blocked::worth_moving;

/// What a product is added to as it is stored: nothing, what C holds, or a
/// bias row.
///
/// ```
/// use micrograd_plus::kernels::matmul::Update;
/// assert_eq!(Update::<f32>::accumulate_if(true), Update::Accumulate);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Update<'a, T> {
    /// `C = A·B`: what C held is ignored.
    Overwrite,
    /// `C += A·B`: onto values already in C, such as a gradient summed over
    /// a batch.
    Accumulate,
    /// `C = A·B + 1·biasᵀ`: `bias` (one value per column of C) is added to
    /// every row, as a linear layer's bias is. What C held is ignored. The
    /// kernel adds the bias as it first stores each tile, so C is written
    /// once instead of filled with the bias and then read back.
    Bias(&'a [T]),
}

impl<T> Update<'_, T> {
    /// [`Update::Accumulate`] when `accumulate`, else [`Update::Overwrite`].
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::Update;
    /// assert_eq!(Update::<f64>::accumulate_if(false), Update::Overwrite);
    /// ```
    pub fn accumulate_if(accumulate: bool) -> Self {
        if accumulate {
            Update::Accumulate
        } else {
            Update::Overwrite
        }
    }

    /// Whether the product reads what C holds (only then must C be
    /// initialised).
    fn reads_c(&self) -> bool {
        matches!(self, Update::Accumulate)
    }
}

/// Writes into an `rows × bias.len()` row-major C what the product is to be
/// added to, and returns whether the product must then be added to C (β = 1)
/// or may replace it (β = 0): the bias repeated down the rows, C's own
/// values, or nothing. (For the paths with no bias epilogue in the kernel.)
fn write_start<T: Copy>(c: &mut [MaybeUninit<T>], update: Update<'_, T>) -> bool {
    match update {
        Update::Overwrite => false,
        Update::Accumulate => true,
        Update::Bias(row) => {
            for c_row in c.chunks_exact_mut(row.len().max(1)) {
                c_row.write_copy_of_slice(row);
            }
            true
        }
    }
}

/// Whether a product may be split across rayon's threads.
///
/// ```
/// use micrograd_plus::kernels::matmul::Threads;
/// assert_eq!(Threads::shared_if(false), Threads::Serial);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// Large products are shared out among rayon's workers (see the module
    /// docs for the threshold); small ones stay on the calling thread.
    Shared,
    /// The calling thread only: for callers that already run many products
    /// in parallel (a batch split across rayon's workers), where threading
    /// inside each product would only add overhead.
    Serial,
}

impl Threads {
    /// [`Threads::Shared`] when `shared`, else [`Threads::Serial`].
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::Threads;
    /// assert_eq!(Threads::shared_if(true), Threads::Shared);
    /// ```
    pub fn shared_if(shared: bool) -> Self {
        if shared {
            Threads::Shared
        } else {
            Threads::Serial
        }
    }
}

/// Panics unless `C (m×n) = A (m×k) · B (k×n)` has agreeing dims and an
/// uninitialised C is only overwritten. (Each view checked when it was made
/// that its strides stay inside its slice.)
fn check_dims<T>(op: &str, c: &MatMut<T>, a: &MatRef<T>, b: &MatRef<T>, update: Update<T>) {
    assert!(
        a.cols == b.rows && c.rows == a.rows && c.cols == b.cols,
        "{op}: C ({}x{}) = A ({}x{}) · B ({}x{}): dims do not agree",
        c.rows,
        c.cols,
        a.rows,
        a.cols,
        b.rows,
        b.cols
    );
    assert!(
        c.init || !update.reads_c(),
        "{op}: C ({}x{}) is uninitialised and can only be overwritten, not accumulated into",
        c.rows,
        c.cols
    );
    if let Update::Bias(row) = update {
        assert!(
            row.len() == c.cols,
            "{op}: C ({}x{}) = A·B + bias: the bias has {} values, not one per column",
            c.rows,
            c.cols,
            row.len()
        );
    }
}

/// The blocked GEMM with microkernel `K`, threaded when allowed and worth it.
///
/// # Safety
/// The CPU has `K`'s instruction set; the operands as [`blocked::sgemm`].
#[cfg(target_arch = "x86_64")]
unsafe fn blocked_sgemm<K: blocked::Microkernel<MR, NR>, const MR: usize, const NR: usize>(
    a: MatRef<f32>,
    b: MatRef<f32>,
    c: &mut [MaybeUninit<f32>],
    update: Update<f32>,
    allow_threads: bool,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let threads_for = |m, k, n| {
        if allow_threads {
            blocked::threads_for::<MR>(m, k, n)
        } else {
            1
        }
    };
    // Few rows times a column-major B (a small batch's input gradient,
    // G·Wᵀ): as Cᵀ = Bᵀ·Aᵀ, Bᵀ is row-major with short lines and is read in
    // place, only the small Aᵀ is packed, and C is transposed out of a
    // scratch buffer. Packing the transposed B (k×n values, interleaved)
    // costs more than moving C's m×n: the backward pass of the course's
    // MNIST MLP (whose first layer's dX is 64×256·256×784) took 494-520 µs
    // per step instead of 520-528.
    if b.rs == 1 && b.cs <= blocked::A_IN_PLACE_LINE && m * (n + k) < k * n {
        let mut ct: Vec<f32> = Vec::with_capacity(n * m);
        // SAFETY: our caller's contract, for the transposed views (the same
        // slices); the scratch holds exactly n*m values and is overwritten.
        unsafe {
            blocked::sgemm::<K, MR, NR>(
                b.t(),
                a.t(),
                &mut ct.spare_capacity_mut()[..n * m],
                Update::Overwrite,
                threads_for(n, k, m),
            );
            ct.set_len(n * m);
        }
        // A bias goes into C first (this path serves gradients, which have
        // none).
        let accumulate = write_start(c, update);
        // SAFETY: C is initialised when accumulating (`check_dims`, or the
        // bias just written).
        unsafe { blocked::transpose_into(c, &ct, n, m, accumulate) };
        return;
    }
    // SAFETY: our caller's contract is `blocked::sgemm`'s.
    unsafe { blocked::sgemm::<K, MR, NR>(a, b, c, update, threads_for(m, k, n)) }
}

/// Converts a stride for `matrixmultiply`, which takes `isize`.
fn istride(s: usize) -> isize {
    isize::try_from(s).expect("matmul: stride does not fit in isize")
}

/// `C = A·B`, `C += A·B` with [`Update::Accumulate`], or `C = A·B + 1·biasᵀ`
/// with [`Update::Bias`], in f32.
///
/// A and B may have any strides (a transposed operand is [`MatRef::t`],
/// no copy); C is row-major. Any sizes are allowed, including 0; with an
/// inner dim of 0 the product is zero, so C is zeroed (or left unchanged
/// when accumulating, or set to the bias). An overwrite or a bias stores
/// every element of C, so C may be uninitialised memory
/// ([`MatMut::uninit`]). With [`Threads::Shared`], large products are split
/// across rayon's threads; see the module docs for the threshold. (On CPUs
/// without AVX2 the product is `matrixmultiply`'s, whose own threading is
/// set process-wide by the `MATMUL_NUM_THREADS` environment variable.)
///
/// # Panics
/// If the dims do not agree: A is `m×k`, B `k×n` and C `m×n`.
///
/// # Example
/// ```
/// use micrograd_plus::kernels::matmul::{sgemm, MatMut, MatRef, Threads, Update};
/// // A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]], both row-major.
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [5.0, 6.0, 7.0, 8.0];
/// let (a, b) = (MatRef::row_major(&a, 2, 2), MatRef::row_major(&b, 2, 2));
/// let mut c = [0.0f32; 4];
/// sgemm(MatMut::row_major(&mut c, 2, 2), a, b, Update::Overwrite, Threads::Shared);
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// // Aᵀ·B without copying, added to what C holds, on this thread only.
/// sgemm(MatMut::row_major(&mut c, 2, 2), a.t(), b, Update::Accumulate, Threads::Serial);
/// assert_eq!(c, [19.0 + 26.0, 22.0 + 30.0, 43.0 + 38.0, 50.0 + 44.0]);
/// // A·B plus a bias of 0.5 and -1 on the two columns.
/// sgemm(MatMut::row_major(&mut c, 2, 2), a, b, Update::Bias(&[0.5, -1.0]), Threads::Shared);
/// assert_eq!(c, [19.5, 21.0, 43.5, 49.0]);
/// ```
pub fn sgemm(
    c: MatMut<f32>,
    a: MatRef<f32>,
    b: MatRef<f32>,
    update: Update<f32>,
    threads: Threads,
) {
    check_dims("sgemm", &c, &a, &b, update);
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: A·B is the zero matrix (C written in full, as it
        // may be uninitialised).
        if !write_start(c.data, update) {
            c.data.fill(MaybeUninit::new(0.0));
        }
        return;
    }
    let allow_threads = threads == Threads::Shared;
    #[cfg(target_arch = "x86_64")]
    {
        use super::isa::{isa, Isa};
        // SAFETY (both): `isa` never exceeds the CPU's detected features,
        // the views' constructors proved every strided index in bounds and
        // C's slice is exactly m*n long, and m, k, n are all at least 1. C
        // may be uninitialised only when not accumulated into: the first
        // k-block then stores every element without reading it (see
        // `blocked::sgemm`).
        match isa() {
            Isa::Avx512 => {
                return unsafe {
                    blocked_sgemm::<avx512::Avx512, { avx512::MR }, { avx512::NR }>(
                        a,
                        b,
                        c.data,
                        update,
                        allow_threads,
                    )
                }
            }
            Isa::Avx2 => {
                return unsafe {
                    blocked_sgemm::<avx2::Avx2, { avx2::MR }, { avx2::NR }>(
                        a,
                        b,
                        c.data,
                        update,
                        allow_threads,
                    )
                }
            }
            Isa::Portable => {}
        }
    }
    let _ = allow_threads;
    sgemm_fallback(c, a, b, update);
}

/// The portable path: `matrixmultiply`, itself a packed, blocked GEMM with
/// AVX2/SSE kernels and its own threading (a bias is written into C first).
fn sgemm_fallback(c: MatMut<f32>, a: MatRef<f32>, b: MatRef<f32>, update: Update<f32>) {
    let beta = if write_start(c.data, update) {
        1.0
    } else {
        0.0
    };
    // SAFETY: the views' constructors proved every strided index in bounds
    // and C's slice is m*n long (row-major with row stride n). With β = 0
    // (an overwrite, the only use of an uninitialised C) `matrixmultiply`
    // does not read C and stores all of it ("If β is zero, then C does not
    // need to be initialized", its docs); k ≥ 1 and m, n ≥ 1 here.
    unsafe {
        matrixmultiply::sgemm(
            a.rows,
            a.cols,
            b.cols,
            1.0,
            a.data.as_ptr(),
            istride(a.rs),
            istride(a.cs),
            b.data.as_ptr(),
            istride(b.rs),
            istride(b.cs),
            beta,
            c.data.as_mut_ptr().cast::<f32>(),
            istride(c.cols),
            1,
        );
    }
}

/// Double-precision [`sgemm`]: `C = A·B`, `C += A·B` or `C = A·B + 1·biasᵀ`,
/// with the same views. Always `matrixmultiply`'s product, whose threading is set
/// process-wide (`MATMUL_NUM_THREADS`), so `threads` changes nothing here:
/// f64 exists for gradient checks, not speed.
///
/// # Panics
/// If the dims do not agree: A is `m×k`, B `k×n` and C `m×n`.
///
/// # Example
/// ```
/// use micrograd_plus::kernels::matmul::{dgemm, MatMut, MatRef, Threads, Update};
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [5.0, 6.0, 7.0, 8.0];
/// let mut c = [0.0f64; 4];
/// dgemm(
///     MatMut::row_major(&mut c, 2, 2),
///     MatRef::row_major(&a, 2, 2),
///     MatRef::row_major(&b, 2, 2),
///     Update::Overwrite,
///     Threads::Shared,
/// );
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// ```
pub fn dgemm(
    c: MatMut<f64>,
    a: MatRef<f64>,
    b: MatRef<f64>,
    update: Update<f64>,
    threads: Threads,
) {
    check_dims("dgemm", &c, &a, &b, update);
    let _ = threads;
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    let beta = if write_start(c.data, update) {
        1.0
    } else {
        0.0
    };
    if k == 0 {
        if beta == 0.0 {
            c.data.fill(MaybeUninit::new(0.0));
        }
        return;
    }
    // SAFETY: as in `sgemm_fallback` (β = 0 for an uninitialised C).
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            istride(a.rs),
            istride(a.cs),
            b.data.as_ptr(),
            istride(b.rs),
            istride(b.cs),
            beta,
            c.data.as_mut_ptr().cast::<f64>(),
            istride(n),
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The portable fallback must agree with the dispatching entry point
    /// (which takes the AVX-512 or AVX2 kernel on CPUs that have them),
    /// including for transposed operands, accumulation and a bias.
    #[test]
    fn fallback_agrees_with_dispatch() {
        for (m, k, n) in [(1, 1, 1), (7, 13, 5), (65, 33, 129), (40, 300, 70)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
                .collect();
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.25 - 3.0).collect();
            for update in [Update::Overwrite, Update::Accumulate, Update::Bias(&bias)] {
                let mut c1: Vec<f32> = (0..m * n).map(|i| i as f32).collect();
                let mut c2 = c1.clone();
                // A read transposed (column-major), B row-major.
                let at = MatRef::row_major(&a, k, m).t();
                let b = MatRef::row_major(&b, k, n);
                sgemm(
                    MatMut::row_major(&mut c1, m, n),
                    at,
                    b,
                    update,
                    Threads::Shared,
                );
                sgemm_fallback(MatMut::row_major(&mut c2, m, n), at, b, update);
                for (x, y) in c1.iter().zip(&c2) {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                        "{m}x{k}x{n} {update:?}: {x} vs {y}"
                    );
                }
            }
        }
    }
}
