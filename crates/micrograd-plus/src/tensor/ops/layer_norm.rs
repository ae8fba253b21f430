//! Layer normalisation as one op (`F.layer_norm`): each row of `n`
//! features (the trailing `normalized_shape` dims) is normalised to mean 0
//! and variance 1, then scaled and shifted:
//!
//! `x̂ = (x − μ) · r` with `r = 1/√(σ² + eps)` (biased variance), `y = x̂·γ + β`.
//!
//! Composed from tensor ops it is nine ops and as many full-size buffers in
//! each direction; here one pass computes the row's statistics and output,
//! keeping only `μ` and `r` per row for backward:
//!
//! - `dγ = Σ_rows g·x̂`, `dβ = Σ_rows g`
//! - with `h = g·γ`: `dx = r · (h − mean(h) − x̂ · mean(h·x̂))`
//!   (the mean and the variance both depend on every `x` of the row).

use super::record::{promote, record, Fused, Operands, Scalar};
use crate::kernels::simd;
use crate::tensor::shape::{sum_slice, zip_sum};
use crate::tensor::{Element, Storage, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;

/// Rows per parallel task: small enough to share a (2048 × 128) batch out,
/// large enough that a task is worth a thread hand-off.
const ROWS_PER_TASK: usize = 64;

fn forward<T: Element>(
    x: &[T],
    w: Option<&[T]>,
    b: Option<&[T]>,
    n: usize,
    eps: f64,
) -> (Vec<T>, Vec<[T; 2]>) {
    let rows = x.len() / n;
    // Not zeroed first: each row is written whole below (a memset of the
    // output ran on the calling thread alone).
    let mut y = Vec::with_capacity(x.len());
    let mut stats = vec![[T::zero(); 2]; rows];
    let inv_n = T::one() / T::of(n as f64);
    y.spare_capacity_mut()[..x.len()]
        .par_chunks_mut(n * ROWS_PER_TASK)
        .zip(stats.par_chunks_mut(ROWS_PER_TASK))
        .zip(x.par_chunks(n * ROWS_PER_TASK))
        .for_each(|((y, stats), x)| {
            // Plain slice loops, compiled for the widest vectors.
            simd::wide(
                #[inline(always)]
                || {
                    for ((yr, st), xr) in y.chunks_exact_mut(n).zip(stats).zip(x.chunks_exact(n)) {
                        let mean = sum_slice(xr) * inv_n;
                        for (o, &v) in yr.iter_mut().zip(xr) {
                            o.write(v - mean);
                        }
                        // SAFETY: every element of the row was just written.
                        let yr = unsafe { yr.assume_init_mut() };
                        let var = zip_sum(yr, yr, |a, b| a * b) * inv_n;
                        let r = T::one() / (var + T::of(eps)).sqrt();
                        *st = [mean, r];
                        yr.iter_mut().for_each(|o| *o = *o * r);
                        if let Some(w) = w {
                            yr.iter_mut().zip(w).for_each(|(o, &w)| *o = *o * w);
                        }
                        if let Some(b) = b {
                            yr.iter_mut().zip(b).for_each(|(o, &b)| *o = *o + b);
                        }
                    }
                },
            )
        });
    // SAFETY: the tasks' rows cover all of `x.len()` (`n` divides it), and
    // each row was written.
    unsafe { y.set_len(x.len()) };
    (y, stats)
}

/// `(dx, dγ, dβ)`.
fn backward<T: Element>(
    g: &[T],
    x: &[T],
    w: Option<&[T]>,
    stats: &[[T; 2]],
    n: usize,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    // Not zeroed first: every element is written below.
    let mut dx = Vec::with_capacity(x.len());
    let inv_n = T::one() / T::of(n as f64);
    // Each task returns its partial sums of dγ and dβ, added at the end.
    let partials: Vec<(Vec<T>, Vec<T>)> = dx.spare_capacity_mut()[..x.len()]
        .par_chunks_mut(n * ROWS_PER_TASK)
        .zip(g.par_chunks(n * ROWS_PER_TASK))
        .zip(x.par_chunks(n * ROWS_PER_TASK))
        .zip(stats.par_chunks(ROWS_PER_TASK))
        .map(|(((dx, g), x), stats)| {
            let (mut dw, mut db) = (vec![T::zero(); n], vec![T::zero(); n]);
            let (mut xh, mut h) = (vec![T::zero(); n], vec![T::zero(); n]);
            simd::wide(
                #[inline(always)]
                || {
                    for (((dxr, gr), xr), &[mean, r]) in dx
                        .chunks_exact_mut(n)
                        .zip(g.chunks_exact(n))
                        .zip(x.chunks_exact(n))
                        .zip(stats)
                    {
                        for (xh, &v) in xh.iter_mut().zip(xr) {
                            *xh = (v - mean) * r;
                        }
                        for ((dw, db), (&g, &xh)) in
                            dw.iter_mut().zip(&mut db).zip(gr.iter().zip(&xh))
                        {
                            *dw = *dw + g * xh;
                            *db = *db + g;
                        }
                        match w {
                            Some(w) => h
                                .iter_mut()
                                .zip(gr.iter().zip(w))
                                .for_each(|(h, (&g, &w))| *h = g * w),
                            None => h.copy_from_slice(gr),
                        }
                        let mean_h = sum_slice(&h) * inv_n;
                        let mean_hx = zip_sum(&h, &xh, |a, b| a * b) * inv_n;
                        for (d, (&h, &xh)) in dxr.iter_mut().zip(h.iter().zip(&xh)) {
                            d.write(r * (h - mean_h - xh * mean_hx));
                        }
                    }
                },
            );
            (dw, db)
        })
        .collect();
    // SAFETY: the tasks' rows cover all of `x.len()`, each element written.
    unsafe { dx.set_len(x.len()) };
    let (mut dw, mut db) = (vec![T::zero(); n], vec![T::zero(); n]);
    for (pw, pb) in partials {
        for j in 0..n {
            dw[j] = dw[j] + pw[j];
            db[j] = db[j] + pb[j];
        }
    }
    (dx, dw, db)
}

impl Tensor {
    /// `F.layer_norm(x, normalized_shape, weight, bias, eps)`: normalises
    /// over the trailing `normalized_shape` dims; `weight` and `bias`, if
    /// given, have shape `normalized_shape`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f64, 2.0, 3.0, 4.0]]).unwrap();
    /// let y = x.layer_norm(&[4], None, None, 0.0).unwrap().to_vec::<f64>();
    /// let want = [-1.3416407864998738, -0.4472135954999579, 0.4472135954999579, 1.3416407864998738];
    /// for (a, b) in y.iter().zip(want) { assert!((a - b).abs() < 1e-12); }
    /// let err = x.layer_norm(&[3], None, None, 1e-5).unwrap_err().to_string();
    /// assert_eq!(err, "layer_norm: input [1, 4] does not end with normalized_shape [3]");
    /// ```
    pub fn layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<Tensor> {
        let shape = self.shape();
        let k = normalized_shape.len();
        if shape.len() < k || shape[shape.len() - k..] != *normalized_shape {
            return Err(Error::shape(
                "layer_norm",
                format!("input {shape:?} does not end with normalized_shape {normalized_shape:?}"),
            ));
        }
        for (what, t) in [("weight", weight), ("bias", bias)] {
            if let Some(t) = t
                && t.shape() != normalized_shape
            {
                return Err(Error::shape(
                    "layer_norm",
                    format!(
                        "{what} {:?} must have normalized_shape {normalized_shape:?}",
                        t.shape()
                    ),
                ));
            }
        }
        let n: usize = normalized_shape.iter().product();
        if self.numel() == 0 {
            // Nothing to normalise, but still an op of the graph: weight and
            // bias get (zero) gradients, as in PyTorch.
            let inputs: Vec<Tensor> = promote([Some(self), weight, bias])
                .into_iter()
                .flatten()
                .collect();
            return Ok(Tensor::record(
                Storage::filled(inputs[0].dtype(), 0, 0.0),
                shape.to_vec(),
                "layer_norm",
                inputs,
                |_, inputs, _| Ok(inputs.iter().map(|t| Some(t.zeros_like())).collect()),
            ));
        }
        Ok(record(
            LayerNorm { n, eps },
            [Some(self), weight, bias],
            shape.to_vec(),
        ))
    }
}

/// The recorded op: `n` normalised elements per row, and eps.
struct LayerNorm {
    n: usize,
    eps: f64,
}

impl Fused for LayerNorm {
    /// Each row's `[mean, 1/σ]`.
    type Saved<T: Scalar> = Vec<[T; 2]>;
    fn name(&self) -> &'static str {
        "layer_norm"
    }
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, Vec<[T; 2]>) {
        forward(&x[0], x.get(1), x.get(2), self.n, self.eps)
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        stats: &Vec<[T; 2]>,
        _: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let (dx, dw, db) = backward(g, &x[0], x.get(1), stats, self.n);
        vec![Some(dx), Some(dw), Some(db)]
    }
}
