//! Scaled dot-product attention as one op (PyTorch's
//! `F.scaled_dot_product_attention`, math backend):
//!
//! ```text
//! S = Q·Kᵀ · scale        (Tq × Tk per batch entry, scale = 1/√d unless given)
//! P = softmax(S)          (masked scores get probability 0)
//! O = P·V
//! ```
//!
//! Written with `matmul`, `transpose`, `masked_fill` and `softmax` it is
//! six ops, two transposed copies and three (B, H, T, T) buffers per call;
//! here the transposes are strides passed to the matrix kernel, the mask is
//! applied while the row is normalised, and the batch entries (every batch
//! and head) are shared out across threads. Only P is kept for backward.
//!
//! Backward, per batch entry, with `G = ∂L/∂O`:
//! - `dV = Pᵀ·G`
//! - `dP = G·Vᵀ`, then through the softmax `dS = P ⊙ (dP − rowsum(dP ⊙ P))`
//! - `dQ = dS·K · scale` and `dK = dSᵀ·Q · scale`
//!
//! The packed form ([`Tensor::qkv_packed_attention`]) runs the same
//! per-entry math on one `(B, T, 3·H·d)` buffer, reading each head's Q, K
//! and V where they lie (the matrix views' row stride), so a multi-head
//! layer needs no split or merged copies of its heads. Its block of
//! `MultiHeadAttention` (d_model 128, 4 heads, 32 × 64 tokens, AVX2):
//! forward 2.69-3.14 → 2.30-2.36 ms, backward 4.60-5.01 → 3.97-4.07 ms,
//! against three projections, split heads and merged output.

use super::record::{record, Fused, Operands, Scalar};
use super::softmax::softmax_row_in_place;
use crate::kernels::matmul::{MatMut, MatRef, Threads, Update};
use crate::kernels::simd;
use crate::tensor::shape::for_each_offset;
use crate::tensor::shape::{broadcast_strides, ensure_allocatable, zip_sum};
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Sizes of one call: `batch` entries of `Q (tq×d)`, `K (tk×d)`, `V (tk×dv)`.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    tq: usize,
    tk: usize,
    d: usize,
    dv: usize,
}

/// Query rows per block under the causal rule. A block's queries see only
/// the keys up to its last query's limit, so every product of an entry
/// skips the keys no query of the block sees: blocks of 16 compute 5/8 of
/// the `T × T` square at T = 64, 53% at T = 256. The op on (8, 4, 256, 32)
/// under AVX2, two cores: forward 2.32-2.34 → 2.06-2.11 ms, backward
/// 3.37-3.54 → 2.63 (packed: 2.44-2.46 → 2.12-2.18 and 3.89-3.93 →
/// 2.81-2.88). At T = 64 the smaller products cost about what they save
/// (blocks of 8, 24 and 32 were no faster there).
const CAUSAL_BLOCK: usize = 16;

/// Which scores may be attended: an optional explicit mask (one flag per
/// score, true = attend) and the causal rule.
struct Mask {
    allowed: Option<Vec<bool>>,
    causal: bool,
}

impl Mask {
    /// The flags of `attn_mask` broadcast to the scores' shape (an error
    /// naming `op` when it does not broadcast), and the causal rule.
    fn new(
        op: &'static str,
        attn_mask: Option<&Tensor>,
        score_shape: &[usize],
        causal: bool,
    ) -> Result<Mask> {
        let allowed = match attn_mask {
            None => None,
            Some(m) => {
                let target = crate::tensor::shape::broadcast_shapes(op, m.shape(), score_shape)?;
                if target != score_shape {
                    return Err(Error::shape(
                        op,
                        format!("attn_mask {:?} does not broadcast to the scores' shape {score_shape:?}", m.shape()),
                    ));
                }
                let values = m.to_vec::<f64>();
                let strides = broadcast_strides(m.shape(), score_shape);
                let mut flags = Vec::with_capacity(score_shape.iter().product());
                for_each_offset(score_shape, [&strides], |[i]| flags.push(values[i] != 0.0));
                Some(flags)
            }
        };
        Ok(Mask { allowed, causal })
    }

    /// The entry's query blocks `(first row, end row, keys seen)`: blocks of
    /// [`CAUSAL_BLOCK`] rows under the causal rule, one block of all rows
    /// otherwise (which sees every key).
    fn row_blocks(&self, dims: &Dims) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let step = if self.causal {
            CAUSAL_BLOCK
        } else {
            dims.tq.max(1)
        };
        let dims = *dims;
        (0..dims.tq).step_by(step).map(move |r0| {
            let r1 = (r0 + step).min(dims.tq);
            (r0, r1, self.visible(&dims, r1 - 1))
        })
    }

    /// How many leading keys query `i` may see under the causal rule, which
    /// is aligned to the bottom right: the last query sees every key, so
    /// queries appended to a key/value cache see the whole past.
    #[inline]
    fn visible(&self, dims: &Dims, i: usize) -> usize {
        if self.causal {
            (i + 1 + dims.tk - dims.tq).min(dims.tk)
        } else {
            dims.tk
        }
    }

    /// Turns row `i` of batch entry `b`'s scores into probabilities: keys
    /// past the causal limit get 0, explicitly masked ones −∞ before the
    /// softmax (so 0 after it). `fused`: see [`softmax_row_in_place`].
    #[inline(always)]
    fn softmax_row<T: Element>(
        &self,
        dims: &Dims,
        b: usize,
        i: usize,
        row: &mut [T],
        scale: T,
        fused: bool,
    ) {
        let (seen, hidden) = row.split_at_mut(self.visible(dims, i));
        hidden.fill(T::zero());
        if let Some(m) = &self.allowed {
            let flags = &m[(b * dims.tq + i) * dims.tk..][..seen.len()];
            for (s, &ok) in seen.iter_mut().zip(flags) {
                if !ok {
                    *s = T::neg_infinity();
                }
            }
        }
        softmax_row_in_place(seen, scale, fused);
    }
}

/// Batch entry `e`'s forward, block of queries by block: `S = Q·Kᵀ` into
/// `p` (`tq × tk`, zero past the keys a block sees), turned into
/// probabilities row by row, then `O = P·V` into `o` (`tq × dv`). Both
/// outputs are stored in full.
fn entry_forward<T: Element>(
    (q, k, v): (MatRef<T>, MatRef<T>, MatRef<T>),
    p: &mut [MaybeUninit<T>],
    o: &mut [MaybeUninit<T>],
    e: usize,
    dims: &Dims,
    mask: &Mask,
    scale: T,
) {
    let (tk, dv) = (dims.tk, dims.dv);
    let mut block = Vec::new();
    for (r0, r1, seen) in mask.row_blocks(dims) {
        let rows = r1 - r0;
        let p_rows = &mut p[r0 * tk..r1 * tk];
        // S = Q·Kᵀ for the keys seen (the scale is applied in the softmax;
        // with d = 0 the overwrite stores zeros): straight into P when the
        // block sees every key, else into a scratch block copied row by
        // row, the unseen keys' part zeroed.
        let qk = (q.rows_in(r0..r1), k.rows_in(0..seen).t());
        if seen == tk {
            T::gemm(
                MatMut::uninit(p_rows, rows, tk),
                qk.0,
                qk.1,
                Update::Overwrite,
                Threads::Shared,
            );
        } else {
            let store = |b: &mut [MaybeUninit<T>]| {
                let b = MatMut::uninit(b, rows, seen);
                T::gemm(b, qk.0, qk.1, Update::Overwrite, Threads::Shared);
            };
            // SAFETY: the overwrite stores all `rows·seen` elements.
            unsafe { refill(&mut block, rows * seen, store) };
            for (row, s) in p_rows.chunks_exact_mut(tk).zip(block.chunks_exact(seen)) {
                let (left, right) = row.split_at_mut(seen);
                left.write_copy_of_slice(s);
                right.fill(MaybeUninit::new(T::zero()));
            }
        }
        // SAFETY: every element of the block's rows was stored just above.
        let p_rows = unsafe { p_rows.assume_init_mut() };
        simd::wide_fused(
            #[inline(always)]
            |fused| {
                for (i, row) in p_rows.chunks_exact_mut(tk).enumerate() {
                    mask.softmax_row(dims, e, r0 + i, row, scale, fused);
                }
            },
        );
        // O = P·V over the keys seen.
        T::gemm(
            MatMut::uninit(&mut o[r0 * dv..r1 * dv], rows, dv),
            MatRef::strided(p_rows, rows, seen, tk, 1),
            v.rows_in(0..seen),
            Update::Overwrite,
            Threads::Shared,
        );
    }
}

/// Batch entry's backward from `G = ∂L/∂O` and its probabilities `p`, by
/// the forward's blocks of queries: `dV += Pᵀ·G`, `dP = G·Vᵀ`, through the
/// softmax to `dS`, then `dQ = dS·K·scale` and `dK += dSᵀ·Q·scale` (the
/// scale folded into `dS`), each over the keys the block sees. `dK` and
/// `dV` come in zeroed.
fn entry_backward<T: Element>(
    g: MatRef<T>,
    (q, k, v): (MatRef<T>, MatRef<T>, MatRef<T>),
    (p, dims, mask): (&[T], &Dims, &Mask),
    scale: T,
    (dq, dk, dv): (&mut [MaybeUninit<T>], &mut [T], &mut [T]),
) {
    let (tk, d, dvn) = (dims.tk, dims.d, dims.dv);
    let mut ds = Vec::new();
    for (r0, r1, seen) in mask.row_blocks(dims) {
        let rows = r1 - r0;
        let (g_rows, q_rows) = (g.rows_in(r0..r1), q.rows_in(r0..r1));
        let p_rows = MatRef::strided(&p[r0 * tk..r1 * tk], rows, seen, tk, 1);
        let (k_seen, v_seen) = (k.rows_in(0..seen), v.rows_in(0..seen));
        // dV += Pᵀ·G (nothing to store when dv = 0).
        let dv_seen = MatMut::row_major(&mut dv[..seen * dvn], seen, dvn);
        T::gemm(
            dv_seen,
            p_rows.t(),
            g_rows,
            Update::Accumulate,
            Threads::Shared,
        );
        // dP = G·Vᵀ (zeros when dv = 0).
        let store = |dp: &mut [MaybeUninit<T>]| {
            let dp = MatMut::uninit(dp, rows, seen);
            T::gemm(dp, g_rows, v_seen.t(), Update::Overwrite, Threads::Shared);
        };
        // SAFETY: the overwrite stores all `rows·seen` elements.
        unsafe { refill(&mut ds, rows * seen, store) };
        // Through the softmax (and the scale, folded in here once); a
        // row's probabilities past the keys seen are 0.
        for (dsr, pr) in ds.chunks_exact_mut(seen).zip(p[r0 * tk..].chunks_exact(tk)) {
            let pr = &pr[..seen];
            let dot = zip_sum(dsr, pr, |a, b| a * b);
            for (s, &p) in dsr.iter_mut().zip(pr) {
                *s = p * (*s - dot) * scale;
            }
        }
        let dsm = MatRef::row_major(&ds, rows, seen);
        // dQ = dS·K and dK += dSᵀ·Q (nothing to store when d = 0).
        let dq_rows = MatMut::uninit(&mut dq[r0 * d..r1 * d], rows, d);
        T::gemm(dq_rows, dsm, k_seen, Update::Overwrite, Threads::Shared);
        let dk_seen = MatMut::row_major(&mut dk[..seen * d], seen, d);
        T::gemm(
            dk_seen,
            dsm.t(),
            q_rows,
            Update::Accumulate,
            Threads::Shared,
        );
    }
}

/// `(O, P)` for every batch entry, in parallel.
fn forward<T: Element>(
    q: &[T],
    k: &[T],
    v: &[T],
    dims: Dims,
    mask: &Mask,
    scale: T,
) -> (Vec<T>, Vec<T>) {
    let Dims { tq, tk, d, dv, .. } = dims;
    let (out_len, probs_len) = (dims.batch * tq * dv, dims.batch * tq * tk);
    if tq == 0 || tk == 0 || dv == 0 {
        // (With dv = 0 there is no output to weigh; P stays zero.)
        return (vec![T::zero(); out_len], vec![T::zero(); probs_len]);
    }
    let fill = |e, o: &mut [MaybeUninit<T>], p: &mut [MaybeUninit<T>]| {
        let operands = (
            MatRef::row_major(&q[e * tq * d..], tq, d),
            MatRef::row_major(&k[e * tk * d..], tk, d),
            MatRef::row_major(&v[e * tk * dv..], tk, dv),
        );
        entry_forward(operands, p, o, e, &dims, mask, scale);
    };
    // SAFETY: each batch entry's `entry_forward` stores all of its O and P.
    unsafe { in_parallel_pieces((out_len, tq * dv), (probs_len, tq * tk), fill) }
}

/// `(O, P)` of `out_len` and `probs_len` values, not zeroed first, cut
/// into pieces of `out_piece` and `probs_piece` (both ≥ 1) that `fill`
/// (given the piece's index) stores, in parallel.
///
/// # Safety
/// `fill` initialises every element of both pieces it is given.
unsafe fn in_parallel_pieces<T: Element>(
    (out_len, out_piece): (usize, usize),
    (probs_len, probs_piece): (usize, usize),
    fill: impl Fn(usize, &mut [MaybeUninit<T>], &mut [MaybeUninit<T>]) + Sync,
) -> (Vec<T>, Vec<T>) {
    let (mut out, mut probs) = (Vec::with_capacity(out_len), Vec::with_capacity(probs_len));
    out.spare_capacity_mut()[..out_len]
        .par_chunks_mut(out_piece)
        .zip(probs.spare_capacity_mut()[..probs_len].par_chunks_mut(probs_piece))
        .enumerate()
        .for_each(|(i, (o, p))| fill(i, o, p));
    // SAFETY: `fill` stored every piece in full (our caller's contract).
    unsafe {
        out.set_len(out_len);
        probs.set_len(probs_len);
    }
    (out, probs)
}

/// `buf` refilled with the `len` values `store` writes, without zeroing
/// them first (scratch for a product's overwrite).
///
/// # Safety
/// `store` initialises every element of the slice it is given.
unsafe fn refill<T>(buf: &mut Vec<T>, len: usize, store: impl FnOnce(&mut [MaybeUninit<T>])) {
    buf.clear();
    buf.reserve(len);
    store(&mut buf.spare_capacity_mut()[..len]);
    // SAFETY: our caller's contract.
    unsafe { buf.set_len(len) };
}

/// `(dQ, dK, dV)` for every batch entry, in parallel.
fn backward<T: Element>(
    g: &[T],
    (q, k, v): (&[T], &[T], &[T]),
    probs: &[T],
    dims: Dims,
    mask: &Mask,
    scale: T,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let Dims {
        batch,
        tq,
        tk,
        d,
        dv,
    } = dims;
    if tq == 0 || tk == 0 {
        let zeros = |n: usize| vec![T::zero(); n];
        return (zeros(q.len()), zeros(k.len()), zeros(v.len()));
    }
    // Not zeroed first: each task zeroes its entry's dK and dV (sums over
    // the query blocks) in its own core's cache, and stores its dQ in full,
    // block by block (an empty piece when d or dv is 0).
    let (mut dq, mut dk, mut dvv) = (
        Vec::with_capacity(q.len()),
        Vec::with_capacity(k.len()),
        Vec::with_capacity(v.len()),
    );
    per_batch(&mut dq.spare_capacity_mut()[..q.len()], batch, tq * d)
        .into_par_iter()
        .zip(per_batch(
            &mut dk.spare_capacity_mut()[..k.len()],
            batch,
            tk * d,
        ))
        .zip(per_batch(
            &mut dvv.spare_capacity_mut()[..v.len()],
            batch,
            tk * dv,
        ))
        .enumerate()
        .for_each(|(e, ((dqe, dke), dve))| {
            let [dke, dve] = [dke, dve].map(|piece| {
                piece.fill(MaybeUninit::new(T::zero()));
                // SAFETY: just initialised.
                unsafe { piece.assume_init_mut() }
            });
            let operands = (
                MatRef::row_major(&q[e * tq * d..], tq, d),
                MatRef::row_major(&k[e * tk * d..], tk, d),
                MatRef::row_major(&v[e * tk * dv..], tk, dv),
            );
            let ge = MatRef::row_major(&g[e * tq * dv..], tq, dv);
            let pe = &probs[e * tq * tk..][..tq * tk];
            entry_backward(ge, operands, (pe, &dims, mask), scale, (dqe, dke, dve));
        });
    // SAFETY: `per_batch` cut each into `batch` pieces of one entry's
    // gradient (q, k and v hold `batch` entries), and every piece was
    // zeroed or stored in full above.
    unsafe {
        dq.set_len(q.len());
        dk.set_len(k.len());
        dvv.set_len(v.len());
    }
    (dq, dk, dvv)
}

/// The packed layout of [`Tensor::qkv_packed_attention`]: `groups` rows of
/// `t` tokens, each token's features `[q | k | v]` with `heads` heads of
/// `d` in each part, and an output of `[o]` per token.
#[derive(Clone, Copy)]
struct Packed {
    heads: usize,
    t: usize,
    d: usize,
}

impl Packed {
    /// The layout of a packed op's operand with `dims` (`tq = tk = t`,
    /// `d = dv`).
    fn new(heads: usize, dims: &Dims) -> Packed {
        Packed {
            heads,
            t: dims.tq,
            d: dims.d,
        }
    }

    /// Features per token in each part: `C = H·d`.
    fn c(&self) -> usize {
        self.heads * self.d
    }

    /// Head `h`'s query (`part` 0), key (1) or value (2) within one group's
    /// `t × 3C` tokens: `t × d`, a row apart per token.
    fn head<'a, T: Copy>(&self, tokens: &'a [T], part: usize, h: usize) -> MatRef<'a, T> {
        let c = self.c();
        MatRef::strided(&tokens[part * c + h * self.d..], self.t, self.d, 3 * c, 1)
    }
}

/// Copies the rows of `src` (`cols` wide) into `dst`, the first at `at` and
/// each next one `stride` further.
fn scatter_rows<T: Copy>(
    dst: &mut [MaybeUninit<T>],
    at: usize,
    stride: usize,
    src: &[T],
    cols: usize,
) {
    for (i, row) in src.chunks_exact(cols).enumerate() {
        dst[at + i * stride..][..cols].write_copy_of_slice(row);
    }
}

/// `(O, P)` of the packed layout, one group (all its heads) per task. Each
/// head's output is computed into a `t × d` scratch and copied into its
/// columns of the group's `t × C` output while still in cache.
fn forward_packed<T: Element>(
    qkv: &[T],
    layout: Packed,
    dims: Dims,
    mask: &Mask,
    scale: T,
) -> (Vec<T>, Vec<T>) {
    let Packed { heads, t, d } = layout;
    let c = layout.c();
    let (out_len, probs_len) = (dims.batch * t * d, dims.batch * t * t);
    if t == 0 || d == 0 {
        return (vec![T::zero(); out_len], vec![T::zero(); probs_len]);
    }
    let fill = |group, o: &mut [MaybeUninit<T>], p: &mut [MaybeUninit<T>]| {
        let tokens = &qkv[group * t * 3 * c..][..t * 3 * c];
        let mut head_out = Vec::with_capacity(t * d);
        for (h, p) in p.chunks_mut(t * t).enumerate() {
            let operands = (
                layout.head(tokens, 0, h),
                layout.head(tokens, 1, h),
                layout.head(tokens, 2, h),
            );
            let e = group * heads + h;
            let store = |oh: &mut [MaybeUninit<T>]| {
                entry_forward(operands, p, oh, e, &dims, mask, scale);
            };
            // SAFETY: `entry_forward` stores all `t·d` elements of O.
            unsafe { refill(&mut head_out, t * d, store) };
            scatter_rows(o, h * d, c, &head_out, d);
        }
    };
    // SAFETY: in each group every head's `entry_forward` stores its `t·t`
    // probabilities and its copy its `d` columns of all `t` output rows:
    // the `H` heads cover `t·C`.
    unsafe { in_parallel_pieces((out_len, t * c), (probs_len, heads * t * t), fill) }
}

/// The gradient of the packed `qkv` from the output's `g`, one group per
/// task: each head's `dQ`, `dK` and `dV` go through scratch into their
/// columns of the group's `t × 3C` gradient.
fn backward_packed<T: Element>(
    g: &[T],
    qkv: &[T],
    probs: &[T],
    (layout, dims, mask): (Packed, Dims, &Mask),
    scale: T,
) -> Vec<T> {
    let Packed { heads, t, d } = layout;
    let c = layout.c();
    if t == 0 || d == 0 {
        return vec![T::zero(); qkv.len()];
    }
    let mut dqkv = Vec::with_capacity(qkv.len());
    dqkv.spare_capacity_mut()[..qkv.len()]
        .par_chunks_mut(t * 3 * c)
        .enumerate()
        .for_each(|(group, dx)| {
            let tokens = &qkv[group * t * 3 * c..][..t * 3 * c];
            let gg = &g[group * t * c..][..t * c];
            let mut dq = Vec::with_capacity(t * d);
            let (mut dk, mut dv) = (Vec::with_capacity(t * d), Vec::with_capacity(t * d));
            for h in 0..heads {
                let operands = (
                    layout.head(tokens, 0, h),
                    layout.head(tokens, 1, h),
                    layout.head(tokens, 2, h),
                );
                let gh = MatRef::strided(&gg[h * d..], t, d, c, 1);
                let ph = &probs[(group * heads + h) * t * t..][..t * t];
                // Sums over the query blocks: zeroed for each head.
                for sum in [&mut dk, &mut dv] {
                    sum.clear();
                    sum.resize(t * d, T::zero());
                }
                let store = |dq: &mut [MaybeUninit<T>]| {
                    let gradients = (dq, &mut dk[..], &mut dv[..]);
                    entry_backward(gh, operands, (ph, &dims, mask), scale, gradients);
                };
                // SAFETY: `entry_backward` stores all `t·d` elements of dQ.
                unsafe { refill(&mut dq, t * d, store) };
                for (part, grad) in [&dq, &dk, &dv].into_iter().enumerate() {
                    scatter_rows(dx, part * c + h * d, 3 * c, grad, d);
                }
            }
        });
    // SAFETY: cut into whole groups (t, d ≥ 1), in each of which the heads'
    // copies stored `d` columns of each part for all `t` rows: `t·3C`.
    unsafe { dqkv.set_len(qkv.len()) };
    dqkv
}

/// `buf` cut into `batch` pieces of `len`, also when `len` is 0 (a head size
/// of 0): then every batch still gets its (empty) piece, where chunking
/// would give none and skip the batch's other gradients.
fn per_batch<T>(buf: &mut [T], batch: usize, len: usize) -> Vec<&mut [T]> {
    if len == 0 {
        return (0..batch).map(|_| &mut [][..]).collect();
    }
    buf.chunks_mut(len).collect()
}

impl Tensor {
    /// PyTorch's `F.scaled_dot_product_attention(q, k, v, attn_mask,
    /// is_causal=..., scale=...)`: `softmax(q·kᵀ·scale) · v` for `q (..., Tq, d)`,
    /// `k (..., Tk, d)` and `v (..., Tk, dv)` with equal leading dims
    /// (typically `(batch, heads)`), giving `(..., Tq, dv)`.
    ///
    /// - `attn_mask`, broadcastable to `(..., Tq, Tk)`: non-zero where a query
    ///   may attend to a key (PyTorch's boolean mask). A query that may attend
    ///   to no key gets a zero output (PyTorch gives NaN).
    /// - `is_causal`: query `i` sees keys `j ≤ i + (Tk − Tq)`, i.e. the causal
    ///   mask aligned to the bottom right (identical to PyTorch's for `Tq = Tk`;
    ///   for `Tq < Tk` the queries are the last ones, as with a key/value cache).
    /// - `scale`: the factor of the scores; `None` is PyTorch's default
    ///   `1/√d`. Any value is taken, as in PyTorch (0 gives uniform
    ///   attention, a negative one prefers the least similar keys).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let q = Tensor::new([[[1.0f32, 0.0], [0.0, 1.0]]]).unwrap(); // (1, 2, 2)
    /// let v = Tensor::new([[[1.0f32, 2.0], [3.0, 4.0]]]).unwrap();
    /// let causal = Tensor::scaled_dot_product_attention(&q, &q, &v, None, true, None).unwrap();
    /// let y = causal.to_vec::<f32>();
    /// assert_eq!(&y[..2], &[1.0, 2.0]); // the first query sees only the first key
    /// let uniform = Tensor::scaled_dot_product_attention(&q, &q, &v, None, false, Some(0.0)).unwrap();
    /// assert_eq!(uniform.to_vec::<f32>(), vec![2.0, 3.0, 2.0, 3.0]); // every key weighs ½
    /// let err = Tensor::scaled_dot_product_attention(&q, &q, &Tensor::zeros(&[1, 3, 2]), None, false, None).unwrap_err();
    /// assert_eq!(err.to_string(), "scaled_dot_product_attention: key [1, 2, 2] and value [1, 3, 2] must have the same \
    ///     leading dims and length");
    /// ```
    pub fn scaled_dot_product_attention(
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        attn_mask: Option<&Tensor>,
        is_causal: bool,
        scale: Option<f64>,
    ) -> Result<Tensor> {
        const OP: &str = "scaled_dot_product_attention";
        let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
        if qs.len() < 2 || ks.len() != qs.len() || vs.len() != qs.len() {
            return Err(Error::shape(
                OP,
                format!("query, key and value need the same rank (at least 2): got {qs:?}, {ks:?} and {vs:?}"),
            ));
        }
        let r = qs.len();
        if ks[..r - 2] != qs[..r - 2] || ks[r - 1] != qs[r - 1] {
            return Err(Error::shape(
                OP,
                format!(
                    "query {qs:?} and key {ks:?} must have the same leading dims and feature size"
                ),
            ));
        }
        if vs[..r - 1] != ks[..r - 1] {
            return Err(Error::shape(
                OP,
                format!("key {ks:?} and value {vs:?} must have the same leading dims and length"),
            ));
        }
        let dims = Dims {
            batch: qs[..r - 2].iter().product(),
            tq: qs[r - 2],
            tk: ks[r - 2],
            d: qs[r - 1],
            dv: vs[r - 1],
        };
        if is_causal && dims.tq > dims.tk {
            return Err(Error::argument(
                OP,
                format!(
                    "is_causal needs at most as many queries as keys, got {} queries and {} keys",
                    dims.tq, dims.tk
                ),
            ));
        }
        let mut score_shape = qs[..r - 1].to_vec();
        score_shape.push(dims.tk);
        let mut out_shape = qs[..r - 1].to_vec();
        out_shape.push(dims.dv);
        let op = Attention::new(OP, dims, &score_shape, (attn_mask, is_causal, scale), None)?;
        Ok(record(op, [Some(q), Some(k), Some(v)], out_shape))
    }
}

/// The recorded op: sizes, mask and the scores' factor, and for
/// [`Tensor::qkv_packed_attention`] the packed layout of its one operand
/// (otherwise q, k and v are three contiguous operands).
struct Attention {
    dims: Dims,
    mask: Mask,
    scale: f64,
    /// The heads of the packed operand (its layout follows from `dims`).
    packed_heads: Option<usize>,
}

impl Attention {
    /// The op for scores of `score_shape`, which must be allocatable (they
    /// outgrow the operands: long sequences ask for T²), with the caller's
    /// `(attn_mask, is_causal, scale)`; `scale` defaults to `1/√d`.
    fn new(
        op: &'static str,
        dims: Dims,
        score_shape: &[usize],
        (attn_mask, causal, scale): (Option<&Tensor>, bool, Option<f64>),
        packed_heads: Option<usize>,
    ) -> Result<Attention> {
        ensure_allocatable(op, score_shape)?;
        Ok(Attention {
            dims,
            mask: Mask::new(op, attn_mask, score_shape, causal)?,
            scale: scale.unwrap_or(1.0 / (dims.d.max(1) as f64).sqrt()),
            packed_heads,
        })
    }
}

impl Fused for Attention {
    /// The attention weights `softmax(q·kᵀ·scale)`.
    type Saved<T: Scalar> = Vec<T>;
    fn name(&self) -> &'static str {
        match self.packed_heads {
            Some(_) => "qkv_packed_attention",
            None => "scaled_dot_product_attention",
        }
    }
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, Vec<T>) {
        let (dims, mask, scale) = (self.dims, &self.mask, T::of(self.scale));
        match self.packed_heads {
            Some(heads) => forward_packed(&x[0], Packed::new(heads, &dims), dims, mask, scale),
            None => forward(&x[0], &x[1], &x[2], dims, mask, scale),
        }
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        probs: &Vec<T>,
        _: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let scale = T::of(self.scale);
        match self.packed_heads {
            Some(heads) => {
                let plan = (Packed::new(heads, &self.dims), self.dims, &self.mask);
                vec![Some(backward_packed(g, &x[0], probs, plan, scale))]
            }
            None => {
                let operands = (&x[0], &x[1], &x[2]);
                let (dq, dk, dv) = backward(g, operands, probs, self.dims, &self.mask, scale);
                vec![Some(dq), Some(dk), Some(dv)]
            }
        }
    }
}

impl Tensor {
    /// Self-attention over a packed `qkv (..., T, 3·C)`, as a multi-head
    /// attention layer computes it from one `C → 3C` projection: each
    /// token's features are its query, key and value (`C` each), each of
    /// them `heads` heads of `d = C/heads` (the `(..., T, 3, H, d)` layout
    /// of flash-attn's `qkvpacked` functions). Gives `(..., T, C)`, the
    /// heads' outputs side by side.
    ///
    /// The same numbers as splitting the heads out, calling
    /// [`Tensor::scaled_dot_product_attention`] and merging them back, but
    /// each head's query, key and value are read where they lie and its
    /// output is written into its columns: no split or merged copy goes
    /// through memory, forward or backward. `attn_mask` broadcasts to
    /// `(..., H, T, T)`; `is_causal` and `scale` are as there.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let (heads, c) = (2, 4);
    /// let qkv = Tensor::randn(&[3, 5, 3 * c], 0);
    /// let packed = Tensor::qkv_packed_attention(&qkv, heads, None, true, None).unwrap();
    /// let part = |i| qkv.narrow(2, i * c, c).unwrap().split_heads(heads).unwrap();
    /// let split = Tensor::scaled_dot_product_attention(&part(0), &part(1), &part(2), None, true, None)
    ///     .unwrap()
    ///     .merge_heads()
    ///     .unwrap();
    /// assert_eq!(packed.shape(), &[3, 5, c]);
    /// let (a, b) = (packed.to_vec::<f32>(), split.to_vec::<f32>());
    /// assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6));
    /// let err = Tensor::qkv_packed_attention(&qkv, 3, None, true, None).unwrap_err();
    /// assert_eq!(err.to_string(), "qkv_packed_attention: 12 features of [3, 5, 12] do not split into \
    ///     query, key and value of 3 heads each");
    /// ```
    pub fn qkv_packed_attention(
        qkv: &Tensor,
        heads: usize,
        attn_mask: Option<&Tensor>,
        is_causal: bool,
        scale: Option<f64>,
    ) -> Result<Tensor> {
        const OP: &str = "qkv_packed_attention";
        let s = qkv.shape();
        if s.len() < 2 {
            return Err(Error::shape(
                OP,
                format!("qkv must be (..., time, 3·features), got {s:?}"),
            ));
        }
        let (t, width) = (s[s.len() - 2], s[s.len() - 1]);
        let parts = heads.checked_mul(3).filter(|&p| p > 0);
        if !parts.is_some_and(|p| width.is_multiple_of(p)) {
            return Err(Error::shape(
                OP,
                format!("{width} features of {s:?} do not split into query, key and value of {heads} heads each"),
            ));
        }
        let d = width / (3 * heads); // 3·heads did not overflow (checked above)
        let lead = &s[..s.len() - 2];
        let dims = Dims {
            batch: lead.iter().product::<usize>() * heads,
            tq: t,
            tk: t,
            d,
            dv: d,
        };
        let score_shape = [lead, &[heads, t, t]].concat();
        let out_shape = [lead, &[t, heads * d]].concat();
        let settings = (attn_mask, is_causal, scale);
        let op = Attention::new(OP, dims, &score_shape, settings, Some(heads))?;
        Ok(record(op, [Some(qkv)], out_shape))
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// scaled_dot_product_attention and its packed form with a given
    /// scale, causal or not.
    pub(crate) fn scale_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (scale, causal) in [(0.3, false), (-0.7, true)] {
            out.push(OpCheck::new(
                "scaled_dot_product_attention",
                format!("scale={scale}, causal={causal}"),
                vec![
                    g.randn(&[2, 3, 4]),
                    g.randn(&[2, 3, 4]),
                    g.randn(&[2, 3, 2]),
                ],
                move |t| {
                    Tensor::scaled_dot_product_attention(
                        &t[0],
                        &t[1],
                        &t[2],
                        None,
                        causal,
                        Some(scale),
                    )
                },
            ));
            // The same attention with q, k and v packed: 2 heads of 2.
            out.push(OpCheck::new(
                "qkv_packed_attention",
                format!("heads=2, scale={scale}, causal={causal}"),
                vec![g.randn(&[2, 3, 12])],
                move |t| Tensor::qkv_packed_attention(&t[0], 2, None, causal, Some(scale)),
            ));
        }
    }
}
