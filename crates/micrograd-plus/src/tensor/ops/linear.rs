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

use crate::kernels::simd;
use crate::tensor::{with_slice, DType, Element, Storage, Tensor};
use crate::{Error, Result};
use std::ops::AddAssign;

/// `x·Wᵀ (+ b)` for `x` of `rows` rows of `inp` features.
fn forward<T: Element>(x: &[T], w: &[T], b: Option<&[T]>, rows: usize, inp: usize) -> Vec<T> {
    let out = w.len() / inp.max(1);
    // The bias goes in first (no zero fill) and the product adds onto it.
    let mut y = match b {
        Some(b) => b.repeat(rows),
        None => vec![T::zero(); rows * out],
    };
    if inp > 0 && !y.is_empty() {
        // Wᵀ(p, j) = w[j·inp + p]: row stride 1, column stride inp.
        T::gemm(rows, inp, out, x, inp, 1, w, 1, inp, &mut y, b.is_some());
    }
    y
}

/// The gradients `(dx, dW, db)`, each only when wanted.
#[allow(clippy::type_complexity)]
fn backward<T: Element + AddAssign>(
    g: &[T],
    x: &[T],
    w: &[T],
    rows: usize,
    inp: usize,
    want: [bool; 3],
) -> (Option<Vec<T>>, Option<Vec<T>>, Option<Vec<T>>) {
    let out = w.len() / inp.max(1);
    // dX and dW are two independent products of equal size (2·rows·out·inp
    // flops each). With both wanted and two threads or more, they run side
    // by side, one per thread, instead of one after the other each split
    // across the threads: no thread waits inside a product for the other.
    // (Below ~2 Mflop each, handing one to another thread costs more.)
    const SIDE_BY_SIDE_FLOPS: usize = 1 << 21;
    let side_by_side = want[0]
        && want[1]
        && 2 * rows * out * inp >= SIDE_BY_SIDE_FLOPS
        && rayon::current_num_threads() > 1;
    let dx = |threaded: bool| {
        want[0].then(|| {
            let mut dx = vec![T::zero(); rows * inp];
            T::gemm_on(
                threaded, rows, out, inp, g, out, 1, w, inp, 1, &mut dx, false,
            );
            dx
        })
    };
    let dw = |threaded: bool| {
        want[1].then(|| {
            let mut dw = vec![T::zero(); out * inp];
            // Gᵀ(j, r) = g[r·out + j]: row stride 1, column stride out.
            T::gemm_on(
                threaded, out, rows, inp, g, 1, out, x, inp, 1, &mut dw, false,
            );
            dw
        })
    };
    let (dx, dw) = if side_by_side {
        rayon::join(|| dx(false), || dw(false))
    } else {
        (dx(true), dw(true))
    };
    let db = want[2].then(|| {
        let mut db = vec![T::zero(); out];
        simd::wide(
            #[inline(always)]
            || {
                for row in g.chunks_exact(out) {
                    for (acc, &v) in db.iter_mut().zip(row) {
                        *acc += v;
                    }
                }
            },
        );
        db
    });
    (dx, dw, db)
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
        let dtypes = [
            Some(self.dtype()),
            Some(weight.dtype()),
            bias.map(Tensor::dtype),
        ];
        if dtypes.iter().flatten().any(|&d| d != self.dtype()) {
            let up = |t: &Tensor| t.to_dtype(DType::F64);
            return up(self).linear(&up(weight), bias.map(up).as_ref());
        }
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
        if let Some(b) = bias {
            if b.shape() != [out] {
                return Err(Error::shape(
                    "linear",
                    format!(
                        "bias {:?} does not match weight {wshape:?}: expected [{out}]",
                        b.shape()
                    ),
                ));
            }
        }
        let rows = self.numel() / inp.max(1);
        let mut out_shape = shape.to_vec();
        *out_shape.last_mut().expect("rank >= 1") = out;
        let y = {
            let (sx, sw) = (self.storage(), weight.storage());
            let sb = bias.map(|b| b.storage());
            with_slice!(&*sx, |xv: T| T::into_storage(forward(
                xv,
                T::slice(&sw).expect("dtype"),
                sb.as_ref().map(|s| T::slice(s).expect("dtype")),
                rows,
                inp,
            )))
        };
        let mut inputs = vec![self.clone(), weight.clone()];
        inputs.extend(bias.cloned());
        Ok(Tensor::record(
            y,
            out_shape,
            "linear",
            inputs,
            move |g, inputs, _| {
                let (x, w) = (&inputs[0], &inputs[1]);
                let want = [
                    x.is_requires_grad(),
                    w.is_requires_grad(),
                    inputs.get(2).is_some_and(Tensor::is_requires_grad),
                ];
                let (sg, sx, sw) = (g.storage(), x.storage(), w.storage());
                let grads: [Option<Storage>; 3] = with_slice!(&*sg, |gv: T| {
                    let (dx, dw, db) = backward(
                        gv,
                        T::slice(&sx).expect("dtype"),
                        T::slice(&sw).expect("dtype"),
                        rows,
                        inp,
                        want,
                    );
                    [dx, dw, db].map(|d| d.map(T::into_storage))
                });
                let [dx, dw, db] = grads;
                let mut out = vec![
                    dx.map(|s| Tensor::from_storage(s, x.shape().to_vec())),
                    dw.map(|s| Tensor::from_storage(s, w.shape().to_vec())),
                ];
                if inputs.len() == 3 {
                    out.push(db.map(|s| Tensor::from_storage(s, vec![w.shape()[0]])));
                }
                Ok(out)
            },
        ))
    }
}
