//! Packing: copying blocks of A and B into the exact order the microkernel
//! reads them.
//!
//! The microkernel walks `k` and, at every step, needs `MR` values of A (one
//! per output row) and `NR` values of B (one per output column). Packing lays
//! those values out contiguously, step after step, so the microkernel reads two
//! straight streams no matter how the caller's matrices are strided
//! (row-major, transposed, or anything else). It also pads the ragged last
//! panel with zeros so the microkernel never needs a bounds check.
//!
//! Packing costs O(m·k + k·n) copies against O(m·n·k) multiply-adds, so it
//! pays for itself as soon as each packed value is reused a few times.
//!
//! Everything here is safe Rust: bounds-checked indexing on slices, with fast
//! paths for the common unit strides so the copies vectorise.

/// Packs the `mc × kc` block of A starting at row `i0`, column `p0` into
/// `ceil(mc / mr)` panels. Panel `r` holds rows `r*mr .. r*mr + mr`, stored
/// `k`-step by `k`-step: `dst[r*mr*kc + p*mr + i] = A[i0 + r*mr + i, p0 + p]`.
/// Rows past `mc` are zero.
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_a<const MR: usize>(
    dst: &mut [f32],
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
) {
    for (r, panel) in dst[..mc.div_ceil(MR) * MR * kc]
        .chunks_exact_mut(MR * kc)
        .enumerate()
    {
        let row0 = i0 + r * MR;
        let rows = MR.min(i0 + mc - row0);
        if rows < MR {
            // Only the last panel is ragged; zero it once, then fill.
            panel.fill(0.0);
        }
        if a_cs == 1 {
            // Row-major A: each row is contiguous in p. Read it as a slice
            // (one bounds check) and scatter it down the panel.
            for i in 0..rows {
                let start = (row0 + i) * a_rs + p0;
                let row = &a[start..start + kc];
                for (step, &v) in panel.chunks_exact_mut(MR).zip(row) {
                    step[i] = v;
                }
            }
        } else if a_rs == 1 {
            // Column-major (transposed) A: the `rows` values of one k-step are
            // contiguous, a plain copy.
            for (p, step) in panel.chunks_exact_mut(MR).enumerate() {
                let start = (p0 + p) * a_cs + row0;
                step[..rows].copy_from_slice(&a[start..start + rows]);
            }
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
/// `ceil(nc / nr)` panels. Panel `q` holds columns `q*nr .. q*nr + nr`, stored
/// `k`-step by `k`-step: `dst[q*nr*kc + p*nr + j] = B[p0 + p, j0 + q*nr + j]`.
/// Columns past `nc` are zero.
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_b<const NR: usize>(
    dst: &mut [f32],
    b: &[f32],
    b_rs: usize,
    b_cs: usize,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
) {
    for (q, panel) in dst[..nc.div_ceil(NR) * NR * kc]
        .chunks_exact_mut(NR * kc)
        .enumerate()
    {
        pack_b_panel::<NR>(panel, b, b_rs, b_cs, p0, kc, j0 + q * NR, NR.min(j0 + nc - (j0 + q * NR)));
    }
}

/// Packs one `kc × NR` panel of B (columns `col0 .. col0 + cols`), see
/// [`pack_b`]. Split out so the threaded driver can pack panels in parallel.
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_b_panel<const NR: usize>(
    panel: &mut [f32],
    b: &[f32],
    b_rs: usize,
    b_cs: usize,
    p0: usize,
    kc: usize,
    col0: usize,
    cols: usize,
) {
    if cols < NR {
        panel.fill(0.0);
    }
    if b_cs == 1 {
        // Row-major B: a k-step of the panel is a contiguous piece of a row.
        for (p, step) in panel.chunks_exact_mut(NR).enumerate() {
            let start = (p0 + p) * b_rs + col0;
            step[..cols].copy_from_slice(&b[start..start + cols]);
        }
    } else if b_rs == 1 {
        // Column-major (transposed) B: each column is contiguous in p.
        for j in 0..cols {
            let start = (col0 + j) * b_cs + p0;
            let col = &b[start..start + kc];
            for (step, &v) in panel.chunks_exact_mut(NR).zip(col) {
                step[j] = v;
            }
        }
    } else {
        for (p, step) in panel.chunks_exact_mut(NR).enumerate() {
            for (j, d) in step[..cols].iter_mut().enumerate() {
                *d = b[(p0 + p) * b_rs + (col0 + j) * b_cs];
            }
        }
    }
}
