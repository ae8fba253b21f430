//! The AVX2 microkernel: a `6 × 16` tile of C in 12 of the 16 YMM
//! registers, for the many CPUs without AVX-512 (Intel's consumer cores
//! since the 12th generation, AMD before Zen 4). The blocking, packing and
//! threading around it are in [`super::blocked`].

use std::arch::x86_64::*;

use super::blocked::{Microkernel, Onto, Tile, TileKernel};

/// 6 rows × 2 vectors = 12 accumulator registers, plus 2 for the B row
/// and 1 for a broadcast A value: 15 of the 16 YMM registers. That is
/// 12 independent FMAs per k-step, enough to cover two FMA pipes' 4-5
/// cycle latency.
pub(super) const MR: usize = 6;
/// Two 8-lane vectors.
pub(super) const NR: usize = 16;

/// The AVX2 + FMA kernel.
pub(super) struct Avx2;

impl Microkernel<MR, NR> for Avx2 {
    /// Shallower than AVX-512's 1024: a 16-column B panel `KC` deep is
    /// read once per A panel from L1. At 256 the two panels (16 + 6 KiB)
    /// fit the 32 KiB L1 of most AVX2 CPUs (Zen 2 and 3, Skylake); 384's
    /// 33 KiB fit only the 48 KiB of newer Intel cores. 1024³ under
    /// `MGP_ISA=avx2` on a 48 KiB Xeon (GFLOP/s, one core / two):
    /// KC = 1024 → 102-106 / 194-199, 512 → 108-113 / 202-206,
    /// 384 → 108-115 / 210-212, 256 → 108-112 / 203-210; side by side
    /// after the k-loop change below, two cores: 384 → 217-220, 256 →
    /// 215-216, and the same on the GPT's layer shapes.
    const KC: usize = 256;

    fn tile_kernel(rows: usize) -> TileKernel {
        // A compile-time row count keeps the accumulators in registers.
        match rows {
            6 => microkernel::<6>,
            5 => microkernel::<5>,
            4 => microkernel::<4>,
            3 => microkernel::<3>,
            2 => microkernel::<2>,
            _ => microkernel::<1>,
        }
    }
}

/// Lane masks selecting the first `cols` of 16 columns: low and high vector.
/// (AVX2 has no mask registers; `maskload`/`maskstore` take the sign bit of
/// each 32-bit lane, and never touch a masked-off lane's memory.)
#[inline]
#[target_feature(enable = "avx2")]
fn column_masks(cols: usize) -> (__m256i, __m256i) {
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // cols ≤ 16, so these fit in i32.
    let lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols as i32), lanes);
    let hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols as i32 - 8), lanes);
    (lo, hi)
}

/// A `R × 16` tile of C held in `2R` YMM registers while `kc` rank-1
/// updates stream through them: per k-step, one 16-float row of B (two
/// vectors), `R` broadcast A values, `2R` fused multiply-adds.
///
/// A full-width tile uses plain loads and stores; a ragged one (the last
/// columns of C) uses masked ones, which cost more (a masked store is slow
/// on AMD's Zen 2 and 3) and are needed only there.
///
/// # Safety
/// AVX2 and FMA available, and the rest as [`Microkernel::tile_kernel`]
/// says for `R` rows.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn microkernel<const R: usize>(t: Tile) {
    let Tile {
        c, ldc, cols, onto, ..
    } = t;
    // Start fetching the C tile now: it is needed only after the k loop and
    // its rows are a whole row of C apart. (Prefetches never fault.)
    for i in 0..R {
        // SAFETY: row i < R of the tile starts inside C (our contract).
        let row = unsafe { c.add(i * ldc) } as *const i8;
        _mm_prefetch::<_MM_HINT_ET0>(row);
        _mm_prefetch::<_MM_HINT_ET0>(row.wrapping_add(63));
    }
    let full = cols == 16;
    let masks = column_masks(cols);
    // SAFETY: as for this function.
    let (lo, hi) = unsafe {
        match (t.a_lane == 1, full) {
            (true, true) => rank1_updates::<R, true, true>(t, masks),
            (false, true) => rank1_updates::<R, false, true>(t, masks),
            (_, false) => rank1_updates::<R, false, false>(t, masks),
        }
    };

    // SAFETY (every load and store below): the first `cols` floats of a
    // bias row and of row i < R of the C tile are in bounds, C's writable
    // (our contract); all 16 are read or written when `full`, else the
    // masks select them. C is read only for `Onto::C` (otherwise it may be
    // uninitialised).
    let bias = match onto {
        Onto::Row(row) => Some(unsafe { load_cols(row, full, masks) }),
        Onto::Nothing | Onto::C => None,
    };
    for i in 0..R {
        let row = unsafe { c.add(i * ldc) };
        let (mut x, mut y) = (lo[i], hi[i]);
        let addend = match onto {
            Onto::C => Some(unsafe { load_cols(row, full, masks) }),
            Onto::Row(_) => bias,
            Onto::Nothing => None,
        };
        if let Some((u, v)) = addend {
            x = _mm256_add_ps(x, u);
            y = _mm256_add_ps(y, v);
        }
        let row_hi = row.wrapping_add(8);
        unsafe {
            if full {
                _mm256_storeu_ps(row, x);
                _mm256_storeu_ps(row_hi, y);
            } else {
                _mm256_maskstore_ps(row, masks.0, x);
                _mm256_maskstore_ps(row_hi, masks.1, y);
            }
        }
    }
}

/// The first `cols` of 16 floats from `p`, as a low and a high vector:
/// plain loads when `full`, else masked ones (the masks select `cols`).
///
/// # Safety
/// AVX2 available; the floats the masks select (all 16 when `full`) are
/// readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_cols(p: *const f32, full: bool, (lo, hi): (__m256i, __m256i)) -> (__m256, __m256) {
    let p_hi = p.wrapping_add(8);
    // SAFETY: our contract.
    unsafe {
        if full {
            (_mm256_loadu_ps(p), _mm256_loadu_ps(p_hi))
        } else {
            (_mm256_maskload_ps(p, lo), _mm256_maskload_ps(p_hi, hi))
        }
    }
}

/// The k loop of [`microkernel`]: `kc` rank-1 updates of a `R × 16` tile
/// held in registers, returned as its low and high vectors per row.
///
/// Two cases get their own instances, because LLVM does not separate them
/// from the general loop by itself:
/// - `UNIT_LANE` (a packed A, `t.a_lane == 1`): the `R` A values of a step
///   are constant offsets from one pointer. With a variable lane LLVM
///   addresses row i as row i-1 plus `a_lane`, a chain of `R` dependent adds
///   per step as long as the step's 12 FMAs take (1024³ on one core:
///   103 → 109 GFLOP/s).
/// - `FULL` (all 16 columns, `t.cols == 16`): plain loads of B. The masked
///   loop needs the two masks in registers besides 12 accumulators, the B
///   row and a broadcast (17 of 16), so an accumulator spills to memory.
///
/// # Safety
/// As [`microkernel`], for the tile's A and B; the masks select the tile's
/// first `cols` columns; `UNIT_LANE` only if `t.a_lane == 1` and `FULL`
/// only if `t.cols == 16`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn rank1_updates<const R: usize, const UNIT_LANE: bool, const FULL: bool>(
    t: Tile,
    (mask_lo, mask_hi): (__m256i, __m256i),
) -> ([__m256; R], [__m256; R]) {
    let Tile {
        kc,
        a,
        a_step,
        b,
        b_step,
        ..
    } = t;
    let a_lane = if UNIT_LANE { 1 } else { t.a_lane };
    let mut lo = [_mm256_setzero_ps(); R];
    let mut hi = [_mm256_setzero_ps(); R];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        // SAFETY: the first `cols` floats of this step's B row are readable
        // (our contract): all 16 when `FULL`, else the masks select them.
        let (b0, b1) = unsafe {
            if FULL {
                (_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8)))
            } else {
                // A ragged panel read in place must not touch columns past `cols`.
                (
                    _mm256_maskload_ps(b, mask_lo),
                    _mm256_maskload_ps(b.wrapping_add(8), mask_hi),
                )
            }
        };
        for i in 0..R {
            // SAFETY: A value (i, p) for i < R, p < kc is readable (our
            // contract); `a` has advanced p steps.
            let ai = _mm256_broadcast_ss(unsafe { &*a.add(i * a_lane) });
            lo[i] = _mm256_fmadd_ps(ai, b0, lo[i]);
            hi[i] = _mm256_fmadd_ps(ai, b1, hi[i]);
        }
        a = a.wrapping_add(a_step);
        b = b.wrapping_add(b_step);
    }

    (lo, hi)
}
