//! The affine map of a fully connected layer, `y = x·Wᵀ + b`, as one op.
//!
//! `W` is stored as PyTorch stores it, `(out, in)`, so the forward needs its
//! transpose. Written with `matmul(t())` that transpose would be a copy of the
//! weight on every call, and the bias another op and buffer; here both are
//! folded into one kernel call by passing `W`'s strides swapped.
//!
//! With `x` flattened to rows `(n, in)` and `G = ∂L/∂y` of shape `(n, out)`:
//! - `∂L/∂x = G·W`         (n×out · out×in)
//! - `∂L/∂W = Gᵀ·x`        (out×n · n×in)
//! - `∂L/∂b = Σ_rows G`    (the bias was broadcast over the rows)

use super::record::{record, Fused, Operands, Scalar};
use crate::kernels::matmul::{worth_moving, MatMut, MatRef, Threads, Update};
use crate::kernels::simd;
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::ops::AddAssign;

/// Below this many flops per product the whole layer runs on the calling
/// thread: handing work to another thread costs more than it saves.
const PARALLEL_FLOPS: usize = 1 << 21;
/// Fewest rows worth a part of their own (a few microkernel row panels).
const MIN_PART_ROWS: usize = 32;

/// How many row parts to split a `rows × inp → out` layer into.
///
/// The rows (samples, or tokens) of a linear layer are independent, so the
/// layer is data-parallel: each thread takes a contiguous block of rows and
/// runs the forward, `dX` and a partial `dW` for it with single-threaded
/// products. That is one hand-off per layer instead of one (or, for the
/// shared packing of B, two) per product, every thread does the same amount
/// of work, and the only cost is a sum of the partial `dW`s, which are as
/// small as the weight. With one part (small layers, or too few rows to
/// share), the product kernel may still use threads on its own.
///
/// A part is worth a thread only when its arithmetic outweighs moving its
/// operands between cores (`matmul::worth_moving`): `mgp train mlp-mnist`
/// (784-128-64-10) ran its epoch in 0.085-0.091 s with its layers split
/// over two threads and in 0.063-0.067 s on one.
fn row_parts(rows: usize, inp: usize, out: usize) -> usize {
    let threads = rayon::current_num_threads();
    let flops = 2usize
        .saturating_mul(rows)
        .saturating_mul(inp)
        .saturating_mul(out);
    if threads <= 1 || flops < PARALLEL_FLOPS {
        return 1;
    }
    let parts = threads.min(rows / MIN_PART_ROWS).max(1);
    if worth_moving(rows.div_ceil(parts), inp, out) {
        parts
    } else {
        1
    }
}

/// `x·Wᵀ (+ b)` for `x` of `rows` rows of `inp` features.
fn forward<T: Element>(
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    (rows, inp, out): (usize, usize, usize),
) -> Vec<T> {
    if inp == 0 || out == 0 || rows == 0 {
        return b.map_or_else(|| vec![T::zero(); rows * out], |b| b.repeat(rows));
    }
    let parts = row_parts(rows, inp, out);
    let part_rows = rows.div_ceil(parts);
    let mut y = Vec::with_capacity(rows * out);
    y.spare_capacity_mut()[..rows * out]
        .par_chunks_mut(part_rows * out)
        .zip(x.par_chunks(part_rows * inp))
        .for_each(|(y, x)| {
            // y = x·Wᵀ (+ b) for this part's rows (W is stored `(out, in)`).
            // The kernel adds the bias as it stores y, which it writes once:
            // filling y with the bias first and adding the product onto it
            // cost the GPT step 2-3 ms (of 85) under AVX2.
            let r = x.len() / inp;
            T::gemm(
                MatMut::uninit(y, r, out),
                MatRef::row_major(x, r, inp),
                MatRef::row_major(w, out, inp).t(),
                b.map_or(Update::Overwrite, Update::Bias),
                Threads::shared_if(parts == 1),
            );
        });
    // SAFETY: the parts cover all `rows * out` elements and each part's
    // product stored all of its own.
    unsafe { y.set_len(rows * out) };
    y
}

/// The gradients `(dx, dW, db)`, each only when wanted.
#[allow(clippy::type_complexity)]
fn backward<T: Element + AddAssign>(
    g: &[T],
    x: &[T],
    w: &[T],
    (rows, inp, out): (usize, usize, usize),
    want: [bool; 3],
) -> (Option<Vec<T>>, Option<Vec<T>>, Option<Vec<T>>) {
    if rows == 0 || inp == 0 || out == 0 {
        // Nothing to multiply; the bias still collects Σ_rows G (with no
        // input features the output is the bias alone).
        let zeros = |n: usize, wanted: bool| wanted.then(|| vec![T::zero(); n]);
        let db = want[2].then(|| {
            let mut db = vec![T::zero(); out];
            for row in g.chunks_exact(out.max(1)).take(rows) {
                db.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
            }
            db
        });
        return (zeros(rows * inp, want[0]), zeros(out * inp, want[1]), db);
    }
    // Row parts as in the forward (see `row_parts`): part p owns its rows
    // of dX and returns its share of dW and db, which are then summed.
    let parts = row_parts(rows, inp, out);
    let part_rows = rows.div_ceil(parts);
    let mut dx = want[0].then(|| Vec::with_capacity(rows * inp));
    let dx_parts: Vec<Option<&mut [MaybeUninit<T>]>> = match dx.as_mut() {
        Some(dx) => dx.spare_capacity_mut()[..rows * inp]
            .chunks_mut(part_rows * inp)
            .map(Some)
            .collect(),
        None => (0..rows.div_ceil(part_rows)).map(|_| None).collect(),
    };
    let shares: Vec<_> = dx_parts
        .into_par_iter()
        .zip(g.par_chunks(part_rows * out))
        .zip(x.par_chunks(part_rows * inp))
        .map(|((dx, g), x)| {
            let r = g.len() / out;
            if let Some(dx) = dx {
                // ∂L/∂x = G·W for this part's rows, which the overwrite
                // initialises (no zeroing first).
                T::gemm(
                    MatMut::uninit(dx, r, inp),
                    MatRef::row_major(g, r, out),
                    MatRef::row_major(w, out, inp),
                    Update::Overwrite,
                    Threads::shared_if(parts == 1),
                );
            }
            let dw = want[1].then(|| {
                let mut dw = Vec::with_capacity(out * inp);
                // ∂L/∂W = Gᵀ·x over this part's rows.
                T::gemm(
                    MatMut::uninit(&mut dw.spare_capacity_mut()[..out * inp], out, inp),
                    MatRef::row_major(g, r, out).t(),
                    MatRef::row_major(x, r, inp),
                    Update::Overwrite,
                    Threads::shared_if(parts == 1),
                );
                // SAFETY: the overwrite stored all `out·inp` elements.
                unsafe { dw.set_len(out * inp) };
                dw
            });
            (dw, want[2].then(|| column_sums(g, out)))
        })
        .collect();
    if let Some(dx) = dx.as_mut() {
        // SAFETY: the parts cover all `rows * inp` elements and each
        // part's overwrite stored all of its own.
        unsafe { dx.set_len(rows * inp) };
    }
    // Summed in row order, so the result does not depend on which thread
    // finished first.
    let (dw, db) = shares.into_iter().fold((None, None), |a, b| {
        (add_parts(a.0, b.0), add_parts(a.1, b.1))
    });
    (dx, dw, db)
}

/// Σ over the rows of a row-major `(_, width)` matrix.
fn column_sums<T: Element + AddAssign>(g: &[T], width: usize) -> Vec<T> {
    let mut sums = vec![T::zero(); width];
    simd::wide(
        #[inline(always)]
        || {
            for row in g.chunks_exact(width) {
                for (acc, &v) in sums.iter_mut().zip(row) {
                    *acc += v;
                }
            }
        },
    );
    sums
}

/// The sum of two row parts' shares of a gradient (either may be absent).
fn add_parts<T: Element + AddAssign>(a: Option<Vec<T>>, b: Option<Vec<T>>) -> Option<Vec<T>> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            simd::wide(
                #[inline(always)]
                || a.iter_mut().zip(&b).for_each(|(a, &b)| *a += b),
            );
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

impl Tensor {
    /// `torch.nn.functional.linear`: `self·weightᵀ + bias` over the last
    /// dimension, for input of any rank `(..., in)`, weight `(out, in)` and
    /// optional bias `(out,)`; the result is `(..., out)`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f32, 2.0]]).unwrap().requires_grad(true);
    /// let w = Tensor::new([[1.0f32, 0.0], [1.0, 1.0], [0.0, 2.0]]).unwrap(); // 2 → 3
    /// let b = Tensor::new([0.5f32, 0.0, -1.0]).unwrap();
    /// let y = x.linear(&w, Some(&b)).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.5, 3.0, 3.0]);
    /// y.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![2.0, 3.0]); // column sums of W
    /// let err = x.linear(&Tensor::zeros(&[3, 5]), None).unwrap_err().to_string();
    /// assert_eq!(err, "linear: input [1, 2] has 2 features but weight [3, 5] expects 5");
    /// ```
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let (shape, wshape) = (self.shape(), weight.shape());
        if shape.is_empty() || wshape.len() != 2 {
            return Err(Error::shape(
                "linear",
                format!(
                    "expected input (..., in) and weight (out, in), got {shape:?} and {wshape:?}"
                ),
            ));
        }
        let (inp, out) = (wshape[1], wshape[0]);
        if shape[shape.len() - 1] != inp {
            return Err(Error::shape(
                "linear",
                format!(
                    "input {shape:?} has {} features but weight {wshape:?} expects {inp}",
                    shape[shape.len() - 1]
                ),
            ));
        }
        if let Some(b) = bias
            && b.shape() != [out]
        {
            return Err(Error::shape(
                "linear",
                format!(
                    "bias {:?} does not match weight {wshape:?}: expected [{out}]",
                    b.shape()
                ),
            ));
        }
        // Leading dims' product (not numel / in: `in` may be 0).
        let rows: usize = shape[..shape.len() - 1].iter().product();
        let mut out_shape = shape.to_vec();
        *out_shape.last_mut().expect("rank >= 1") = out;
        Ok(record(
            Linear((rows, inp, out)),
            [Some(self), Some(weight), bias],
            out_shape,
        ))
    }
}

/// The recorded op: `(rows, in, out)`.
struct Linear((usize, usize, usize));

impl Fused for Linear {
    type Saved<T: Scalar> = ();
    fn name(&self) -> &'static str {
        "linear"
    }
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, ()) {
        (forward(&x[0], &x[1], x.get(2), self.0), ())
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        _: &(),
        want: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let (dx, dw, db) = backward(g, &x[0], &x[1], self.0, [want[0], want[1], want[2]]);
        vec![dx, dw, db]
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// linear: x·Wᵀ + b with input, weight and bias all checked.
    pub(crate) fn linear_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let linear_cases: [(&[usize], &str); 3] = [
            (&[2, 3], "2-D input"),
            (&[2, 2, 3], "3-D input (sequence)"),
            (&[3], "1-D input"),
        ];
        for (sx, detail) in linear_cases {
            out.push(OpCheck::new(
                "linear",
                detail,
                vec![g.randn(sx), g.randn(&[4, 3]), g.randn(&[4])],
                |t| t[0].linear(&t[1], Some(&t[2])),
            ));
        }
        out.push(OpCheck::new(
            "linear",
            "no bias",
            vec![g.randn(&[5, 3]), g.randn(&[2, 3])],
            |t| t[0].linear(&t[1], None),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f64 / 1001.5 - 1.0)
            .collect()
    }

    /// `y = x·Wᵀ + b`, `dx = G·W`, `dW = Gᵀ·x`, `db = Σ_rows G` by plain loops.
    #[allow(clippy::type_complexity)]
    fn by_loops(
        x: &[f64],
        w: &[f64],
        b: &[f64],
        g: &[f64],
        (rows, inp, out): (usize, usize, usize),
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut y, mut dx) = (b.repeat(rows), vec![0.0; rows * inp]);
        let (mut dw, mut db) = (vec![0.0; out * inp], vec![0.0; out]);
        for r in 0..rows {
            for j in 0..out {
                let gj = g[r * out + j];
                db[j] += gj;
                for p in 0..inp {
                    y[r * out + j] += x[r * inp + p] * w[j * inp + p];
                    dx[r * inp + p] += gj * w[j * inp + p];
                    dw[j * inp + p] += gj * x[r * inp + p];
                }
            }
        }
        (y, dx, dw, db)
    }

    fn assert_close<T: Element>(got: &[T], want: &[f64], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let g = g.as_f64();
            assert!(
                (g - w).abs() <= tol * (1.0 + w.abs()),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// Large enough to be split into row parts (33 flops per byte a part
    /// moves), on three threads so that the parts are uneven (901 rows:
    /// 301 + 301 + 299), in f64 and through the f32 kernel: every gradient,
    /// wanted or not, matches the plain loops.
    #[test]
    fn row_parts_agree_with_plain_loops() {
        let sizes @ (rows, inp, out) = (901, 128, 256);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        pool.install(|| {
            assert_eq!(row_parts(rows, inp, out), 3);
            // The MNIST MLP's first layer at batch 64 stays in one part.
            assert_eq!(row_parts(64, 784, 128), 1);
        });
        let (x, w, b, g) = (
            values(rows * inp, 1),
            values(out * inp, 2),
            values(out, 3),
            values(rows * out, 4),
        );
        let (y, dx, dw, db) = by_loops(&x, &w, &b, &g, sizes);
        pool.install(|| {
            assert_close(&forward(&x, &w, Some(&b), sizes), &y, 1e-12, "y f64");
            let unbiased: Vec<f64> = y.iter().zip(b.iter().cycle()).map(|(y, b)| y - b).collect();
            assert_close(&forward(&x, &w, None, sizes), &unbiased, 1e-12, "y no bias");
            let (gx, gw, gb) = backward(&g, &x, &w, sizes, [true, true, true]);
            assert_close(&gx.expect("dx"), &dx, 1e-12, "dx f64");
            assert_close(&gw.expect("dW"), &dw, 1e-12, "dW f64");
            assert_close(&gb.expect("db"), &db, 1e-12, "db f64");
            let (gx, gw, gb) = backward(&g, &x, &w, sizes, [false, true, false]);
            assert!(gx.is_none() && gb.is_none());
            assert_close(&gw.expect("dW"), &dw, 1e-12, "dW alone");

            let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
            let (x, w, b, g) = (f32s(&x), f32s(&w), f32s(&b), f32s(&g));
            assert_close(&forward(&x, &w, Some(&b), sizes), &y, 1e-5, "y f32");
            let (gx, gw, gb) = backward(&g, &x, &w, sizes, [true, true, true]);
            assert_close(&gx.expect("dx"), &dx, 1e-5, "dx f32");
            assert_close(&gw.expect("dW"), &dw, 1e-5, "dW f32");
            assert_close(&gb.expect("db"), &db, 1e-5, "db f32");
        });
    }
}
