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

use super::record::{record, Fused, Operands, Scalar};
use super::softmax::softmax_row_in_place;
use crate::kernels::matmul::{MatMut, MatRef, Threads, Update};
use crate::kernels::simd;
use crate::tensor::shape::for_each_offset;
use crate::tensor::shape::{broadcast_strides, zip_sum};
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;

/// Sizes of one call: `batch` entries of `Q (tq×d)`, `K (tk×d)`, `V (tk×dv)`.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    tq: usize,
    tk: usize,
    d: usize,
    dv: usize,
}

/// Which scores may be attended: an optional explicit mask (one flag per
/// score, true = attend) and the causal rule.
struct Mask {
    allowed: Option<Vec<bool>>,
    causal: bool,
}

impl Mask {
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
    // Not zeroed first: each batch entry's overwrites store all of its O
    // and P.
    let (mut out, mut probs) = (Vec::with_capacity(out_len), Vec::with_capacity(probs_len));
    out.spare_capacity_mut()[..out_len]
        .par_chunks_mut(tq * dv)
        .zip(probs.spare_capacity_mut()[..probs_len].par_chunks_mut(tq * tk))
        .enumerate()
        .for_each(|(b, (o, p))| {
            let (qb, kb, vb) = (
                &q[b * tq * d..][..tq * d],
                &k[b * tk * d..][..tk * d],
                &v[b * tk * dv..][..tk * dv],
            );
            // S = Q·Kᵀ (the scale is applied in the softmax; with d = 0
            // the overwrite stores zeros).
            T::gemm(
                MatMut::uninit(p, tq, tk),
                MatRef::row_major(qb, tq, d),
                MatRef::row_major(kb, tk, d).t(),
                Update::Overwrite,
                Threads::Shared,
            );
            // SAFETY: the overwrite stored all `tq·tk` elements of `p`.
            let p = unsafe { p.assume_init_mut() };
            simd::wide_fused(
                #[inline(always)]
                |fused| {
                    for (i, row) in p.chunks_exact_mut(tk).enumerate() {
                        mask.softmax_row(&dims, b, i, row, scale, fused);
                    }
                },
            );
            // O = P·V.
            T::gemm(
                MatMut::uninit(o, tq, dv),
                MatRef::row_major(p, tq, tk),
                MatRef::row_major(vb, tk, dv),
                Update::Overwrite,
                Threads::Shared,
            );
        });
    // SAFETY: both are cut into `batch` pieces (tq, tk, dv ≥ 1), every one
    // of which an overwrite above stored in full.
    unsafe {
        out.set_len(out_len);
        probs.set_len(probs_len);
    }
    (out, probs)
}

/// `(dQ, dK, dV)` for every batch entry, in parallel.
fn backward<T: Element>(
    g: &[T],
    q: &[T],
    k: &[T],
    v: &[T],
    probs: &[T],
    dims: Dims,
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
    // Not zeroed first: each batch entry's overwrites store all of its
    // pieces (an empty one when d or dv is 0).
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
        .for_each(|(b, ((dqb, dkb), dvb))| {
            let (qb, kb, vb) = (
                &q[b * tq * d..][..tq * d],
                &k[b * tk * d..][..tk * d],
                &v[b * tk * dv..][..tk * dv],
            );
            let (gb, pb) = (
                &g[b * tq * dv..][..tq * dv],
                &probs[b * tq * tk..][..tq * tk],
            );
            let gm = MatRef::row_major(gb, tq, dv);
            // dV = Pᵀ·G (nothing to store when dv = 0).
            T::gemm(
                MatMut::uninit(dvb, tk, dv),
                MatRef::row_major(pb, tq, tk).t(),
                gm,
                Update::Overwrite,
                Threads::Shared,
            );
            // dP = G·Vᵀ (zeros when dv = 0).
            let mut ds = Vec::with_capacity(tq * tk);
            T::gemm(
                MatMut::uninit(&mut ds.spare_capacity_mut()[..tq * tk], tq, tk),
                gm,
                MatRef::row_major(vb, tk, dv).t(),
                Update::Overwrite,
                Threads::Shared,
            );
            // SAFETY: the overwrite stored all `tq·tk` elements.
            unsafe { ds.set_len(tq * tk) };
            // Through the softmax (and the scale, folded in here once).
            for (dsr, pr) in ds.chunks_exact_mut(tk).zip(pb.chunks_exact(tk)) {
                let dot = zip_sum(dsr, pr, |a, b| a * b);
                for (s, &p) in dsr.iter_mut().zip(pr) {
                    *s = p * (*s - dot) * scale;
                }
            }
            let dsm = MatRef::row_major(&ds, tq, tk);
            // dQ = dS·K (nothing to store when d = 0).
            T::gemm(
                MatMut::uninit(dqb, tq, d),
                dsm,
                MatRef::row_major(kb, tk, d),
                Update::Overwrite,
                Threads::Shared,
            );
            // dK = dSᵀ·Q.
            T::gemm(
                MatMut::uninit(dkb, tk, d),
                dsm.t(),
                MatRef::row_major(qb, tq, d),
                Update::Overwrite,
                Threads::Shared,
            );
        });
    // SAFETY: `per_batch` cut each into `batch` pieces of one entry's
    // gradient (q, k and v hold `batch` entries), and every piece was
    // stored in full by its overwrite above.
    unsafe {
        dq.set_len(q.len());
        dk.set_len(k.len());
        dvv.set_len(v.len());
    }
    (dq, dk, dvv)
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
        let allowed = match attn_mask {
            None => None,
            Some(m) => {
                let target = crate::tensor::shape::broadcast_shapes(OP, m.shape(), &score_shape)?;
                if target != score_shape {
                    return Err(Error::shape(
                        OP,
                        format!("attn_mask {:?} does not broadcast to the scores' shape {score_shape:?}", m.shape()),
                    ));
                }
                let values = m.to_vec::<f64>();
                let strides = broadcast_strides(m.shape(), &score_shape);
                let mut flags = Vec::with_capacity(dims.batch * dims.tq * dims.tk);
                for_each_offset(&score_shape, [&strides], |[i]| flags.push(values[i] != 0.0));
                Some(flags)
            }
        };
        let mask = Mask {
            allowed,
            causal: is_causal,
        };
        let scale = scale.unwrap_or(1.0 / (dims.d.max(1) as f64).sqrt());
        let mut out_shape = qs[..r - 1].to_vec();
        out_shape.push(dims.dv);
        Ok(record(
            Attention { dims, mask, scale },
            [Some(q), Some(k), Some(v)],
            out_shape,
        ))
    }
}

/// The recorded op: sizes, mask and the scores' factor.
struct Attention {
    dims: Dims,
    mask: Mask,
    scale: f64,
}

impl Fused for Attention {
    /// The attention weights `softmax(q·kᵀ·scale)`.
    type Saved<T: Scalar> = Vec<T>;
    fn name(&self) -> &'static str {
        "scaled_dot_product_attention"
    }
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, Vec<T>) {
        forward(
            &x[0],
            &x[1],
            &x[2],
            self.dims,
            &self.mask,
            T::of(self.scale),
        )
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        probs: &Vec<T>,
        _: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let (dq, dk, dv) = backward(g, &x[0], &x[1], &x[2], probs, self.dims, T::of(self.scale));
        vec![Some(dq), Some(dk), Some(dv)]
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// scaled_dot_product_attention with a given scale, causal or not.
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
        }
    }
}
