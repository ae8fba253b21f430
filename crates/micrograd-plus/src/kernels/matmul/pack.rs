//! Packing: copying blocks of A and B into the exact order the microkernel
//! reads them.
//!
//! The microkernel walks `k` and, at every step, needs `MR` values of A (one
//! per output row) and `NR` values of B (one per output column). Packing lays
//! those values out contiguously, step after step, so the microkernel reads two
//! straight streams no matter how the caller's matrices are strided
//! (row-major, transposed, or anything else). It also pads the ragged last
//! panel with zeros so the microkernel never needs a bounds check, and it
//! removes cache-set conflicts: rows of a 1024-wide matrix are 4 KiB apart and
//! all land in the same L1 set, packed panels are contiguous.
//!
//! Packing costs O(m·k + k·n) copies against O(m·n·k) multiply-adds, but at
//! 64³ or with a row-major A it is a visible share of the time, so the two
//! common layouts have fast paths:
//! - when a panel's values for one `k`-step are contiguous in the source
//!   (row-major B, column-major A) it is a plain copy;
//! - when each row (A) or column (B) of the panel is contiguous along `k`
//!   (row-major A, column-major B) it is a transpose, done 4 lines × 8 steps
//!   at a time with AVX shuffles ([`transpose_4x8`]).

use super::MatRef;
use std::arch::x86_64::*;

/// Packs the `mc × kc` block of A starting at row `i0`, column `p0` into
/// `ceil(mc / MR)` panels. Panel `r` holds rows `r*MR .. r*MR + MR`, stored
/// `k`-step by `k`-step: `dst[r*MR*kc + p*MR + i] = A[i0 + r*MR + i, p0 + p]`.
/// Rows past `mc` are zero.
///
/// # Safety
/// The CPU must support AVX. (All indexing is bounds-checked.)
#[target_feature(enable = "avx")]
pub(super) unsafe fn pack_a<const MR: usize>(
    dst: &mut [f32],
    a: MatRef<f32>,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
) {
    let (a, a_rs, a_cs) = (a.data, a.rs, a.cs);
    let dst = &mut dst[..mc.div_ceil(MR) * MR * kc];
    if !mc.is_multiple_of(MR) {
        // Zero the ragged last panel's padding rows (all of it, simply).
        let last = dst.len() - MR * kc;
        dst[last..].fill(0.0);
    }
    if a_rs == 1 {
        // Column-major (transposed) A: the `mc` values of one k-step are
        // contiguous; cut them into the panels. Eight steps at a time,
        // panel by panel, as for a row-major B (see `pack_b`): panel by
        // panel over all steps would read one cache line per step, each a
        // column apart (for 1024 rows: 4 KiB, a page), 3× slower.
        for p_start in (0..kc).step_by(8) {
            for (r, panel) in dst.chunks_exact_mut(MR * kc).enumerate() {
                let row0 = i0 + r * MR;
                let rows = MR.min(i0 + mc - row0);
                for p in p_start..kc.min(p_start + 8) {
                    let start = (p0 + p) * a_cs + row0;
                    let step = &mut panel[p * MR..p * MR + MR];
                    if rows == MR {
                        step.copy_from_slice(&a[start..start + MR]); // fixed size: no memcpy call
                    } else {
                        step[..rows].copy_from_slice(&a[start..start + rows]);
                    }
                }
            }
        }
        return;
    }
    for (r, panel) in dst.chunks_exact_mut(MR * kc).enumerate() {
        let row0 = i0 + r * MR;
        let rows = MR.min(i0 + mc - row0);
        if a_cs == 1 {
            // Row-major A: each row is contiguous along k; interleave them.
            let mut lines: [&[f32]; MR] = [&[]; MR];
            for (i, line) in lines[..rows].iter_mut().enumerate() {
                let start = (row0 + i) * a_rs + p0;
                *line = &a[start..start + kc];
            }
            interleave::<MR>(panel, &lines[..rows], kc);
        } else {
            for (p, step) in panel.chunks_exact_mut(MR).enumerate() {
                for (i, d) in step[..rows].iter_mut().enumerate() {
                    *d = a[(row0 + i) * a_rs + (p0 + p) * a_cs];
                }
            }
        }
    }
}

/// Packs the `kc × nc` block of B starting at row `p0`, column `j0` into
/// `ceil(nc / NR)` panels. Panel `q` holds columns `j0 + q*NR ..`, stored
/// `k`-step by `k`-step: `dst[q*NR*kc + p*NR + j] = B[p0 + p, j0 + q*NR + j]`.
/// Columns past `nc` are zero. The threaded driver calls it on disjoint
/// runs of panels.
///
/// # Safety
/// The CPU must support AVX. (All indexing is bounds-checked.)
#[target_feature(enable = "avx")]
pub(super) unsafe fn pack_b<const NR: usize>(
    dst: &mut [f32],
    b: MatRef<f32>,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
) {
    let (b, b_rs, b_cs) = (b.data, b.rs, b.cs);
    let dst = &mut dst[..nc.div_ceil(NR) * NR * kc];
    if !nc.is_multiple_of(NR) {
        // Zero the ragged last panel's padding columns (all of it, simply).
        let last = dst.len() - NR * kc;
        dst[last..].fill(0.0);
    }
    if b_cs == 1 {
        // Row-major B: each k-step of a panel is a contiguous NR-wide piece
        // of a row. Go 8 rows at a time, panel by panel: 8 sequential read
        // streams and one sequential write stream. (Row by row, the writes
        // would go to every panel at once, `NR·kc` floats apart: a power of
        // two that maps them all onto the same few cache sets.)
        for p_start in (0..kc).step_by(8) {
            let p_end = kc.min(p_start + 8);
            for (q, panel) in dst.chunks_exact_mut(NR * kc).enumerate() {
                let col0 = j0 + q * NR;
                let cols = NR.min(j0 + nc - col0);
                for p in p_start..p_end {
                    let start = (p0 + p) * b_rs + col0;
                    let step = &mut panel[p * NR..p * NR + NR];
                    if cols == NR {
                        // A fixed-size copy compiles to a few vector moves; a
                        // variable-length one would call memcpy for 128 bytes.
                        step.copy_from_slice(&b[start..start + NR]);
                    } else {
                        step[..cols].copy_from_slice(&b[start..start + cols]);
                    }
                }
            }
        }
        return;
    }
    for (q, panel) in dst.chunks_exact_mut(NR * kc).enumerate() {
        let col0 = j0 + q * NR;
        let cols = NR.min(j0 + nc - col0);
        if b_rs == 1 {
            // Column-major (transposed) B: each column is contiguous along
            // k; interleave them.
            let mut lines: [&[f32]; NR] = [&[]; NR];
            for (j, line) in lines[..cols].iter_mut().enumerate() {
                let start = (col0 + j) * b_cs + p0;
                *line = &b[start..start + kc];
            }
            interleave::<NR>(panel, &lines[..cols], kc);
        } else {
            for (p, step) in panel.chunks_exact_mut(NR).enumerate() {
                for (j, d) in step[..cols].iter_mut().enumerate() {
                    *d = b[(p0 + p) * b_rs + (col0 + j) * b_cs];
                }
            }
        }
    }
}

/// `panel[p*W + i] = lines[i][p]` for every line `i` and step `p < kc`:
/// a transpose of `lines.len() ≤ W` contiguous lines into a `W`-wide panel.
/// (Safe to call where AVX is enabled: every index is checked.)
#[target_feature(enable = "avx")]
fn interleave<const W: usize>(panel: &mut [f32], lines: &[&[f32]], kc: usize) {
    assert!(panel.len() >= W * kc && lines.len() <= W);
    assert!(lines.iter().all(|line| line.len() >= kc));
    // Groups of four whole lines, eight steps at a time, in registers. At
    // most three groups are in flight: lines a power of two apart (rows of a
    // 1024-wide matrix: 4 KiB) all map to the same L1 cache set, which holds
    // only 12 lines, so reading 32 of them side by side would thrash it
    // (a 1024×1024 column-major B packs over 2× faster this way).
    let groups = lines.len() / 4;
    let steps = kc - kc % 8;
    for first in (0..groups).step_by(3) {
        for p in (0..steps).step_by(8) {
            for g in first..groups.min(first + 3) {
                // SAFETY: AVX is enabled here; lines have `kc ≥ p + 8`
                // values; the last store ends at (p+7)*W + 4g + 4 ≤
                // (p+8)*W ≤ panel.len() since 4g + 4 ≤ lines.len() ≤ W.
                unsafe {
                    transpose_4x8(
                        [
                            lines[4 * g].as_ptr().add(p),
                            lines[4 * g + 1].as_ptr().add(p),
                            lines[4 * g + 2].as_ptr().add(p),
                            lines[4 * g + 3].as_ptr().add(p),
                        ],
                        panel.as_mut_ptr().add(p * W + 4 * g),
                        W,
                    )
                };
            }
        }
    }
    // The leftover steps, then the leftover (fewer than four) lines.
    for (i, line) in lines.iter().enumerate() {
        let from = if i < 4 * groups { steps } else { 0 };
        for (q, &v) in line[..kc].iter().enumerate().skip(from) {
            panel[q * W + i] = v;
        }
    }
}

/// Reads 8 consecutive floats from each of 4 sources and writes them
/// transposed: step `u` (0..8) goes to `dst[u*stride .. u*stride + 4]`.
///
/// # Safety
/// AVX available; each `src[r]` readable for 8 floats; `dst` writable at
/// `u*stride .. u*stride + 4` for `u < 8`.
#[inline]
#[target_feature(enable = "avx")]
unsafe fn transpose_4x8(src: [*const f32; 4], dst: *mut f32, stride: usize) {
    // SAFETY: each source is readable for 8 floats (our contract).
    let (r0, r1, r2, r3) = unsafe {
        (
            _mm256_loadu_ps(src[0]),
            _mm256_loadu_ps(src[1]),
            _mm256_loadu_ps(src[2]),
            _mm256_loadu_ps(src[3]),
        )
    };
    // Within each 128-bit half, the classic 4×4 transpose in two rounds.
    let t0 = _mm256_unpacklo_ps(r0, r1); // r0[0] r1[0] r0[1] r1[1] | steps 4,5
    let t1 = _mm256_unpackhi_ps(r0, r1); // r0[2] r1[2] r0[3] r1[3] | steps 6,7
    let t2 = _mm256_unpacklo_ps(r2, r3);
    let t3 = _mm256_unpackhi_ps(r2, r3);
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2); // step 0 | step 4
    let s1 = _mm256_shuffle_ps::<0xee>(t0, t2); // step 1 | step 5
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3); // step 2 | step 6
    let s3 = _mm256_shuffle_ps::<0xee>(t1, t3); // step 3 | step 7
    for (u, s) in [s0, s1, s2, s3].into_iter().enumerate() {
        // SAFETY: `dst` is writable at `u*stride .. u*stride + 4` for every
        // u < 8 (our contract).
        unsafe {
            _mm_storeu_ps(dst.add(u * stride), _mm256_castps256_ps128(s));
            _mm_storeu_ps(dst.add((u + 4) * stride), _mm256_extractf128_ps::<1>(s));
        }
    }
}
