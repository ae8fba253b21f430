//! The AVX-512 single-precision GEMM: blocking loops, threading and the
//! register-tile microkernel.
//!
//! Only [`sgemm`] is called from outside, and only after the caller has
//! checked at run time that the CPU has AVX-512F and FMA, and that every
//! index the strides can produce lies inside the slices.

use std::arch::x86_64::*;
use std::cell::Cell;

use rayon::prelude::*;

use super::pack::{pack_a, pack_b, pack_b_panel};

/// Rows of C computed by one microkernel call: 12 rows × 2 vectors = 24
/// accumulator registers, plus 2 for the B row and 1 for a broadcast A value,
/// out of the 32 ZMM registers.
pub(super) const MR: usize = 12;
/// Columns of C computed by one microkernel call: two 16-lane vectors.
pub(super) const NR: usize = 32;
/// Depth of one packed block. A `KC × NR` panel of B (32 KiB) stays in the
/// 48 KiB L1 cache while all the A panels of a block stream past it.
pub(super) const KC: usize = 256;
/// Rows of one packed A block: `MC × KC` floats (≈140 KiB) stay in the 1 MiB
/// L2 cache while the microkernel sweeps every B panel.
pub(super) const MC: usize = 132;
/// Columns of one packed B block: `KC × NC` floats (4 MiB) live in L3.
pub(super) const NC: usize = 4096;

thread_local! {
    // Reusable packing buffers, one pair per thread. Allocating (and zeroing)
    // fresh buffers on every call would cost more than the whole product at
    // small sizes. They are taken out of the cell while in use, so a nested
    // call (a rayon worker stealing another sgemm) simply allocates its own.
    static A_BUF: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    static B_BUF: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on a 64-byte-aligned scratch slice of `len` floats taken from
/// the thread-local `key`, growing it when needed.
fn with_buffer<R>(
    key: &'static std::thread::LocalKey<Cell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    // 16 spare floats so the slice can start on a cache-line boundary.
    let needed = len + 16;
    let mut buf = key.with(Cell::take);
    if buf.len() < needed {
        buf = vec![0.0; needed];
    }
    let offset = buf.as_ptr().align_offset(64).min(16);
    let result = f(&mut buf[offset..offset + len]);
    key.with(|cell| cell.set(buf));
    result
}

/// Problems below this many flops (2·m·n·k) run on one thread: waking a
/// second core costs a few microseconds, which is more than a 64³ product.
pub(super) const PARALLEL_FLOPS: usize = 2 * 96 * 96 * 96;

/// How many threads are worth using for an `m × k × n` product.
pub(super) fn threads_for(m: usize, k: usize, n: usize) -> usize {
    let flops = 2usize.saturating_mul(m).saturating_mul(n).saturating_mul(k);
    // Threads split the rows of C, so each one needs a few row panels.
    if flops < PARALLEL_FLOPS || m < 2 * MR {
        1
    } else {
        rayon::current_num_threads().max(1)
    }
}

/// C = A·B (or C += A·B) with packing, cache blocking and, when `threads > 1`,
/// the row blocks of C shared out among rayon's workers.
///
/// # Safety
/// The CPU must support AVX-512F and FMA; `m, k, n ≥ 1`; every element
/// `a[i*a_rs + p*a_cs]`, `b[p*b_rs + j*b_cs]` for `i < m, p < k, j < n`
/// must be in bounds; `c.len() ≥ m*n`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    b: &[f32],
    b_rs: usize,
    b_cs: usize,
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) {
    let c = &mut c[..m * n];
    let parallel = threads > 1;

    // Row-block height: MC, but when threading make sure there are at least
    // as many blocks as threads (and a multiple of them, to balance the load).
    let mut blocks = m.div_ceil(MC);
    if parallel {
        blocks = blocks.max(threads).next_multiple_of(threads);
    }
    let mc_block = m.div_ceil(blocks).next_multiple_of(MR);

    let b_len = KC.min(k) * NC.min(n).next_multiple_of(NR);
    with_buffer(&B_BUF, b_len, |b_buf| {
        // Loop 5: column blocks of C (and B).
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            // Loop 4: the shared dimension, one KC-deep slice at a time.
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                // The first slice overwrites C unless we accumulate; every
                // later slice adds to what the previous ones left.
                let load_c = accumulate || pc > 0;

                let b_pack = &mut b_buf[..kc * nc.next_multiple_of(NR)];
                if parallel {
                    b_pack
                        .par_chunks_mut(NR * kc)
                        .enumerate()
                        .for_each(|(q, panel)| {
                            let col0 = jc + q * NR;
                            let cols = NR.min(jc + nc - col0);
                            pack_b_panel::<NR>(panel, b, b_rs, b_cs, pc, kc, col0, cols);
                        });
                } else {
                    pack_b::<NR>(b_pack, b, b_rs, b_cs, pc, kc, jc, nc);
                }
                let b_pack = &*b_pack;

                // Loop 3: row blocks of C (and A), the unit of parallel work.
                let row_block = |block: usize, c_rows: &mut [f32]| {
                    let ic = block * mc_block;
                    let mc = mc_block.min(m - ic);
                    with_buffer(&A_BUF, mc.next_multiple_of(MR) * kc, |a_pack| {
                        pack_a::<MR>(a_pack, a, a_rs, a_cs, ic, mc, pc, kc);
                        // SAFETY: AVX-512F/FMA checked by our caller; the
                        // packed buffers have exactly the sizes the macro
                        // kernel expects, and it checks `c_rows` itself.
                        unsafe { macro_kernel(mc, nc, kc, a_pack, b_pack, c_rows, n, jc, load_c) };
                    });
                };
                if parallel {
                    c.par_chunks_mut(mc_block * n)
                        .enumerate()
                        .for_each(|(block, c_rows)| row_block(block, c_rows));
                } else {
                    c.chunks_mut(mc_block * n)
                        .enumerate()
                        .for_each(|(block, c_rows)| row_block(block, c_rows));
                }
            }
        }
    });
}

/// Loops 2 and 1: sweeps the packed `mc × kc` block of A against the packed
/// `kc × nc` block of B, one `MR × NR` tile of C at a time. `c` holds rows
/// `ic .. ic + mc` of C (row stride `ldc`) and the tile columns start at `jc`.
///
/// # Safety
/// AVX-512F and FMA must be available. (The slice lengths are asserted.)
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,fma")]
unsafe fn macro_kernel(
    mc: usize,
    nc: usize,
    kc: usize,
    a_pack: &[f32],
    b_pack: &[f32],
    c: &mut [f32],
    ldc: usize,
    jc: usize,
    load_c: bool,
) {
    // These three checks make every pointer below provably in bounds.
    assert!(a_pack.len() >= mc.next_multiple_of(MR) * kc);
    assert!(b_pack.len() >= nc.next_multiple_of(NR) * kc);
    assert!(mc >= 1 && nc >= 1 && c.len() >= (mc - 1) * ldc + jc + nc);

    // B panel outside, A panels inside: the B panel (KC × NR, 32 KiB) stays
    // in L1 while the A panels of the block stream from L2.
    for jr in (0..nc).step_by(NR) {
        let cols = NR.min(nc - jr);
        let b_panel = b_pack.as_ptr().add(jr * kc);
        for ir in (0..mc).step_by(MR) {
            let rows = MR.min(mc - ir);
            let a_panel = a_pack.as_ptr().add(ir * kc);
            let c_tile = c.as_mut_ptr().add(ir * ldc + jc + jr);
            // The row count is a compile-time constant inside the kernel so
            // its accumulators become registers; the ragged last panel picks
            // a smaller instance instead of computing padding rows.
            let f = match rows {
                12 => microkernel::<12>,
                11 => microkernel::<11>,
                10 => microkernel::<10>,
                9 => microkernel::<9>,
                8 => microkernel::<8>,
                7 => microkernel::<7>,
                6 => microkernel::<6>,
                5 => microkernel::<5>,
                4 => microkernel::<4>,
                3 => microkernel::<3>,
                2 => microkernel::<2>,
                _ => microkernel::<1>,
            };
            f(kc, a_panel, b_panel, c_tile, ldc, cols, load_c);
        }
    }
}

/// The heart of GEMM: a `R × 32` tile of C held in `2R` ZMM registers while
/// `kc` rank-1 updates stream through them.
///
/// Each step loads one 32-float row of the B panel (two vectors), broadcasts
/// each of the `R` A values of that step and issues `2R` fused multiply-adds.
/// With `R = 12` that is 24 independent FMAs per step: enough to keep Zen 5's
/// two 512-bit FMA pipes busy through the 4-cycle FMA latency, while only
/// 14 loads per step leave the load ports slack.
///
/// `cols ≤ 32` columns are stored, through AVX-512 write masks; the packed B
/// panel is zero-padded, so the extra lanes compute harmless zeros.
///
/// # Safety
/// AVX-512F and FMA available; `a` points at `kc × MR` readable floats, `b`
/// at `kc × NR`; `c` at `R` rows of `cols` writable floats, `ldc` apart.
#[inline]
#[target_feature(enable = "avx512f,fma")]
unsafe fn microkernel<const R: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    cols: usize,
    load_c: bool,
) {
    let mut lo = [_mm512_setzero_ps(); R];
    let mut hi = [_mm512_setzero_ps(); R];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let b0 = _mm512_loadu_ps(b);
        let b1 = _mm512_loadu_ps(b.add(16));
        for i in 0..R {
            let ai = _mm512_set1_ps(*a.add(i));
            lo[i] = _mm512_fmadd_ps(ai, b0, lo[i]);
            hi[i] = _mm512_fmadd_ps(ai, b1, hi[i]);
        }
        a = a.add(MR);
        b = b.add(NR);
    }

    // Write masks for the low and high 16 columns.
    let mask_lo: __mmask16 = if cols >= 16 { 0xffff } else { (1u16 << cols) - 1 };
    let mask_hi: __mmask16 = if cols >= 32 {
        0xffff
    } else if cols > 16 {
        (1u16 << (cols - 16)) - 1
    } else {
        0
    };
    for i in 0..R {
        let row = c.add(i * ldc);
        let (mut x, mut y) = (lo[i], hi[i]);
        if load_c {
            x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask_lo, row));
        }
        _mm512_mask_storeu_ps(row, mask_lo, x);
        if mask_hi != 0 {
            let row_hi = row.add(16);
            if load_c {
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask_hi, row_hi));
            }
            _mm512_mask_storeu_ps(row_hi, mask_hi, y);
        }
    }
}
