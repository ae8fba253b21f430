//! The AVX-512 microkernel: a `12 × 32` tile of C in 24 of the 32 ZMM
//! registers. The blocking, packing and threading around it are in
//! [`super::blocked`].

use std::arch::x86_64::*;

use super::blocked::{Microkernel, Onto, Tile, TileKernel, PREFETCH_STEPS};

/// 12 rows × 2 vectors = 24 accumulator registers, plus 2 for the B row
/// and 1 for a broadcast A value, out of the 32 ZMM registers. (14 rows,
/// 28 accumulators, needs fewer bytes per FMA but measured ~8% slower at
/// 1024³ on one core.)
pub(super) const MR: usize = 12;
/// Two 16-lane vectors.
pub(super) const NR: usize = 32;

/// The AVX-512F + FMA kernel.
pub(super) struct Avx512;

impl Microkernel<MR, NR> for Avx512 {
    /// Each tile of C is loaded and stored once per `KC` steps, and the
    /// panels (A `12 × KC`, 48 KiB; B `KC × 32`, 128 KiB) still stream from
    /// L2 at full speed on Zen 5. Measured at 1024³ on one core (GFLOP/s):
    /// KC = 256 → 175, 512 → 202, 1024 → 201; on two cores 512 → ~340,
    /// 1024 → ~355. (On a 2-core Xeon, two cores: 512 → 367-372, 1024 →
    /// 376-378.)
    const KC: usize = 1024;

    fn tile_kernel(rows: usize) -> TileKernel {
        // The row count is a compile-time constant inside the kernel so its
        // accumulators become registers; the ragged last panel picks a
        // smaller instance instead of computing padding rows.
        match rows {
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
/// Only `cols ≤ 32` columns of B are read and of C written, through
/// AVX-512 masks, so a ragged edge needs no padding.
///
/// # Safety
/// AVX-512F and FMA available, and the rest as [`Microkernel::tile_kernel`]
/// says for `R` rows.
#[inline]
#[target_feature(enable = "avx512f,fma")]
unsafe fn microkernel<const R: usize>(t: Tile) {
    let Tile {
        kc,
        a,
        a_lane,
        a_step,
        b,
        b_step,
        c,
        ldc,
        cols,
        onto,
        ..
    } = t;
    // Start fetching the C tile now: it is needed only after the k loop, and
    // its rows are a whole row of C apart (often in L3 or memory), so the
    // misses would otherwise stall the stores at the end.
    // (`ET0`: into L1, for writing. Prefetches never fault, so the second
    // line of a narrow tile may lie past the end of C.)
    for i in 0..R {
        // SAFETY: row i < R of the tile starts inside C (our contract).
        let row = unsafe { c.add(i * ldc) } as *const i8;
        _mm_prefetch::<_MM_HINT_ET0>(row);
        _mm_prefetch::<_MM_HINT_ET0>(row.wrapping_add(64));
    }
    // Write masks for the low and high 16 columns.
    let mask_lo: __mmask16 = if cols >= 16 {
        0xffff
    } else {
        (1u16 << cols) - 1
    };
    let mask_hi: __mmask16 = if cols >= 32 {
        0xffff
    } else if cols > 16 {
        (1u16 << (cols - 16)) - 1
    } else {
        0
    };
    let mut lo = [_mm512_setzero_ps(); R];
    let mut hi = [_mm512_setzero_ps(); R];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        // B's row `PREFETCH_STEPS` ahead, into L1 (see there; prefetches
        // never fault, so it may lie past the panel).
        let ahead = b.wrapping_add(PREFETCH_STEPS * b_step) as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(ahead);
        _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64));
        // Masked loads: a ragged panel read in place must not touch columns
        // past `cols` (masked-off lanes are not read at all).
        // SAFETY: the first `cols` floats of this step's B row are readable
        // (our contract) and the masks select exactly those.
        let (b0, b1) = unsafe {
            (
                _mm512_maskz_loadu_ps(mask_lo, b),
                _mm512_maskz_loadu_ps(mask_hi, b.wrapping_add(16)),
            )
        };
        for i in 0..R {
            // SAFETY: A value (i, p) for i < R, p < kc is readable (our
            // contract); `a` has advanced p steps.
            let ai = _mm512_set1_ps(unsafe { *a.add(i * a_lane) });
            lo[i] = _mm512_fmadd_ps(ai, b0, lo[i]);
            hi[i] = _mm512_fmadd_ps(ai, b1, hi[i]);
        }
        a = a.wrapping_add(a_step);
        b = b.wrapping_add(b_step);
    }

    // SAFETY (every load and store below): the first `cols` floats of a
    // bias row and of row i < R of the C tile are in bounds, C's writable
    // (our contract), and the masks select exactly those (`+ 16` only when
    // `cols > 16`); C is read only for `Onto::C` (otherwise it may be
    // uninitialised).
    let load = |p: *const f32| unsafe {
        (
            _mm512_maskz_loadu_ps(mask_lo, p),
            _mm512_maskz_loadu_ps(mask_hi, p.wrapping_add(16)),
        )
    };
    let bias = match onto {
        Onto::Row(row) => Some(load(row)),
        Onto::Nothing | Onto::C => None,
    };
    for i in 0..R {
        let row = unsafe { c.add(i * ldc) };
        let (mut x, mut y) = (lo[i], hi[i]);
        let addend = match onto {
            Onto::C => Some(load(row)),
            Onto::Row(_) => bias,
            Onto::Nothing => None,
        };
        if let Some((u, v)) = addend {
            x = _mm512_add_ps(x, u);
            y = _mm512_add_ps(y, v);
        }
        unsafe { _mm512_mask_storeu_ps(row, mask_lo, x) };
        if mask_hi != 0 {
            unsafe { _mm512_mask_storeu_ps(row.add(16), mask_hi, y) };
        }
    }
}
