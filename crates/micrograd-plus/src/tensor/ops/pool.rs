//! 2-D pooling over the last two dims of an `(N, C, H, W)` or `(C, H, W)`
//! tensor, as in `torch.nn.functional`: `max_pool2d`, `avg_pool2d` and
//! `adaptive_avg_pool2d`.
//!
//! Every output element reduces one window of its input plane. Windows are
//! described per axis (a row range for each output row, a column range for
//! each output column), already clipped to the input: padding takes no part
//! in a maximum (PyTorch pads with −∞) and adds only zeros to a sum.
//!
//! Backward rules, with `g` the upstream gradient of one output:
//! - max: all of `g` goes to the window's maximum (the first one in
//!   row-major order on ties, as PyTorch; a NaN counts as the maximum),
//!   whose position the forward remembers;
//! - average: `g / divisor` goes to every input of the window, the divisor
//!   being the window's size including padding (`count_include_pad`) or
//!   the number of real inputs in it.

use crate::kernels::simd;
use crate::tensor::{with_slice, Element, Storage, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;
use std::sync::Arc;

/// Below this many input elements a pooling op runs on the calling thread:
/// handing work to rayon costs more than it saves.
const PARALLEL_MIN: usize = 1 << 15;

/// The windows along one axis: output `i` reads inputs `lo[i]..hi[i]` and
/// contributes a factor `div[i]` to the averaging divisor.
#[derive(Debug, Clone)]
struct Axis {
    lo: Vec<usize>,
    hi: Vec<usize>,
    div: Vec<usize>,
}

impl Axis {
    /// Sliding windows of `k` inputs every `s`, with `p` padding each side.
    fn sliding(len: usize, k: usize, s: usize, p: usize, out: usize, include_pad: bool) -> Axis {
        let mut a = Axis {
            lo: Vec::with_capacity(out),
            hi: Vec::with_capacity(out),
            div: Vec::with_capacity(out),
        };
        for i in 0..out {
            // Window [i·s − p, i·s − p + k) in input coordinates.
            let start = i * s;
            let end_padded = (start + k).min(len + 2 * p);
            let lo = start.saturating_sub(p).min(len);
            let hi = (start + k).saturating_sub(p).min(len);
            a.lo.push(lo);
            a.hi.push(hi.max(lo));
            a.div.push(if include_pad {
                end_padded - start
            } else {
                hi.max(lo) - lo
            });
        }
        a
    }

    /// PyTorch's adaptive bins: `floor(i·len/out) .. ceil((i+1)·len/out)`.
    fn adaptive(len: usize, out: usize) -> Axis {
        let lo: Vec<usize> = (0..out).map(|i| i * len / out).collect();
        let hi: Vec<usize> = (0..out).map(|i| ((i + 1) * len).div_ceil(out)).collect();
        let div = lo.iter().zip(&hi).map(|(l, h)| h - l).collect();
        Axis { lo, hi, div }
    }

    fn len(&self) -> usize {
        self.lo.len()
    }
}

/// The planes of one pooling op and its windows.
#[derive(Debug, Clone)]
struct Pool {
    out_shape: Vec<usize>,
    planes: usize,
    h: usize,
    w: usize,
    rows: Axis,
    cols: Axis,
}

impl Pool {
    fn in_plane(&self) -> usize {
        self.h * self.w
    }
    fn out_plane(&self) -> usize {
        self.rows.len() * self.cols.len()
    }
    /// Whether every window is `[2i, 2i + 2)` along both axes: the usual
    /// `MaxPool2d(2)` with no padding, which has a branch-free fast path.
    fn is_2x2_stride_2(&self) -> bool {
        let pairs = |a: &Axis| (0..a.len()).all(|i| a.lo[i] == 2 * i && a.hi[i] == 2 * i + 2);
        pairs(&self.rows) && pairs(&self.cols)
    }
    fn parallel(&self) -> bool {
        self.planes * self.in_plane() >= PARALLEL_MIN && rayon::current_num_threads() > 1
    }
}

/// The input's shape checked for pooling: `(lead dims, H, W)`.
fn planes_of(op: &'static str, shape: &[usize]) -> Result<(Vec<usize>, usize, usize)> {
    if !(shape.len() == 3 || shape.len() == 4) || shape.contains(&0) {
        return Err(Error::shape(
            op,
            format!(
                "expected a non-empty 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {shape:?}"
            ),
        ));
    }
    let r = shape.len();
    if shape[r - 2] * shape[r - 1] > u32::MAX as usize {
        return Err(Error::shape(
            op,
            format!("input planes of {shape:?} are too large"),
        ));
    }
    Ok((shape[..r - 2].to_vec(), shape[r - 2], shape[r - 1]))
}

/// Checks kernel, stride and padding and builds the sliding windows.
fn sliding(
    op: &'static str,
    shape: &[usize],
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    include_pad: bool,
) -> Result<Pool> {
    let (lead, h, w) = planes_of(op, shape)?;
    if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
        return Err(Error::argument(
            op,
            format!("kernel_size {kernel:?} and stride {stride:?} must be positive"),
        ));
    }
    if 2 * padding.0 > kernel.0 || 2 * padding.1 > kernel.1 {
        return Err(Error::argument(
            op,
            format!("pad should be at most half of kernel size, but got pad={padding:?} and kernel_size={kernel:?}"),
        ));
    }
    let (hp, wp) = (h + 2 * padding.0, w + 2 * padding.1);
    if kernel.0 > hp || kernel.1 > wp {
        return Err(Error::shape(
            op,
            format!("input of shape {shape:?} (padded to {hp}x{wp}) is smaller than kernel_size {kernel:?}: output size is too small"),
        ));
    }
    let (oh, ow) = (
        (hp - kernel.0) / stride.0 + 1,
        (wp - kernel.1) / stride.1 + 1,
    );
    let mut out_shape = lead.clone();
    out_shape.extend([oh, ow]);
    Ok(Pool {
        out_shape,
        planes: lead.iter().product(),
        h,
        w,
        rows: Axis::sliding(h, kernel.0, stride.0, padding.0, oh, include_pad),
        cols: Axis::sliding(w, kernel.1, stride.1, padding.1, ow, include_pad),
    })
}

/// Runs `f(plane, chunk)` on each `chunk`-sized piece of `data`, in parallel
/// when `parallel`.
fn each_plane<T: Send>(
    data: &mut [T],
    chunk: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if chunk == 0 {
        return;
    }
    if parallel {
        data.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        data.chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// Maximum of every window and its position in the plane.
fn max_forward<T: Element>(x: &[T], pl: &Pool) -> (Vec<T>, Vec<u32>) {
    let (ip, op) = (pl.in_plane(), pl.out_plane());
    let mut vals = vec![T::zero(); pl.planes * op];
    let mut args = vec![0u32; pl.planes * op];
    let pairs = pl.is_2x2_stride_2();
    let one = |n: usize, vals: &mut [T], args: &mut [u32]| {
        let plane = &x[n * ip..][..ip];
        if pairs {
            simd::wide(
                #[inline(always)]
                || max_2x2(plane, pl.w, vals, args),
            );
            return;
        }
        max_windows(plane, pl, vals, args);
    };
    if op > 0 {
        if pl.parallel() {
            vals.par_chunks_mut(op)
                .zip(args.par_chunks_mut(op))
                .enumerate()
                .for_each(|(n, (v, a))| one(n, v, a));
        } else {
            vals.chunks_mut(op)
                .zip(args.chunks_mut(op))
                .enumerate()
                .for_each(|(n, (v, a))| one(n, v, a));
        }
    }
    (vals, args)
}

/// The rule by which max pooling scans a window, shared by both loops
/// below: a candidate (value, position) replaces the best so far when it is
/// larger or NaN, so the first maximum in row-major order wins, and a NaN
/// (the last one) wins over everything, as in PyTorch. Written as a select,
/// so the 2×2 loop vectorises.
#[inline(always)]
fn pick<T: Element>(best: (T, u32), cand: (T, u32)) -> (T, u32) {
    if cand.0 > best.0 || cand.0.is_nan() {
        cand
    } else {
        best
    }
}

/// [`max_forward`] of one plane, any windows: the maximum of each window
/// and its position (the first maximum in row-major order, or the last NaN).
fn max_windows<T: Element>(plane: &[T], pl: &Pool, vals: &mut [T], args: &mut [u32]) {
    let ow = pl.cols.len();
    for (oy, (vrow, arow)) in vals
        .chunks_exact_mut(ow)
        .zip(args.chunks_exact_mut(ow))
        .enumerate()
    {
        let (ylo, yhi) = (pl.rows.lo[oy], pl.rows.hi[oy]);
        for (ox, (v_out, a_out)) in vrow.iter_mut().zip(arow.iter_mut()).enumerate() {
            let (xlo, xhi) = (pl.cols.lo[ox], pl.cols.hi[ox]);
            let mut best = (T::neg_infinity(), (ylo * pl.w + xlo) as u32);
            for y in ylo..yhi {
                let base = y * pl.w + xlo;
                for (xi, &v) in plane[base..y * pl.w + xhi].iter().enumerate() {
                    best = pick(best, (v, (base + xi) as u32));
                }
            }
            (*v_out, *a_out) = best;
        }
    }
}

/// [`max_forward`] of one plane of width `w` for 2×2 windows with stride 2:
/// selects instead of branches, so it vectorises. Same picks as the general
/// loop [`max_windows`] (and PyTorch).
#[inline(always)]
fn max_2x2<T: Element>(plane: &[T], w: usize, vals: &mut [T], args: &mut [u32]) {
    let ow = w / 2;
    if ow == 0 {
        return;
    }
    for (oy, (vrow, arow)) in vals
        .chunks_exact_mut(ow)
        .zip(args.chunks_exact_mut(ow))
        .enumerate()
    {
        let (top, bottom) = (2 * oy * w, (2 * oy + 1) * w);
        let (r0, r1) = (&plane[top..][..2 * ow], &plane[bottom..][..2 * ow]);
        for (ox, (v, a)) in vrow.iter_mut().zip(arow.iter_mut()).enumerate() {
            let x = 2 * ox;
            let mut best = (r0[x], (top + x) as u32);
            best = pick(best, (r0[x + 1], (top + x + 1) as u32));
            best = pick(best, (r1[x], (bottom + x) as u32));
            best = pick(best, (r1[x + 1], (bottom + x + 1) as u32));
            (*v, *a) = best;
        }
    }
}

/// Sends each output gradient to its window's maximum.
fn max_backward<T: Element>(g: &[T], arg: &[u32], pl: &Pool) -> Vec<T> {
    let (ip, op) = (pl.in_plane(), pl.out_plane());
    let mut dx = vec![T::zero(); pl.planes * ip];
    each_plane(&mut dx, ip, pl.parallel(), |n, d| {
        for (&gv, &a) in g[n * op..][..op].iter().zip(&arg[n * op..][..op]) {
            d[a as usize] = d[a as usize] + gv;
        }
    });
    dx
}

/// Window sums divided by their divisors.
fn avg_forward<T: Element>(x: &[T], pl: &Pool) -> Vec<T> {
    let (ip, op) = (pl.in_plane(), pl.out_plane());
    let ow = pl.cols.len();
    let mut out = vec![T::zero(); pl.planes * op];
    each_plane(&mut out, op, pl.parallel(), |n, out| {
        let plane = &x[n * ip..][..ip];
        for (oy, row) in out.chunks_exact_mut(ow).enumerate() {
            let (ylo, yhi, dy) = (pl.rows.lo[oy], pl.rows.hi[oy], pl.rows.div[oy]);
            for (ox, o) in row.iter_mut().enumerate() {
                let (xlo, xhi, dxx) = (pl.cols.lo[ox], pl.cols.hi[ox], pl.cols.div[ox]);
                let mut s = T::zero();
                for y in ylo..yhi {
                    s = s + plane[y * pl.w + xlo..y * pl.w + xhi]
                        .iter()
                        .copied()
                        .sum::<T>();
                }
                *o = s / T::of((dy * dxx) as f64);
            }
        }
    });
    out
}

/// Spreads each output gradient evenly (by its divisor) over its window.
fn avg_backward<T: Element>(g: &[T], pl: &Pool) -> Vec<T> {
    let (ip, op) = (pl.in_plane(), pl.out_plane());
    let ow = pl.cols.len();
    let mut dx = vec![T::zero(); pl.planes * ip];
    each_plane(&mut dx, ip, pl.parallel(), |n, d| {
        for (oy, grow) in g[n * op..][..op].chunks_exact(ow).enumerate() {
            let (ylo, yhi, dy) = (pl.rows.lo[oy], pl.rows.hi[oy], pl.rows.div[oy]);
            for (ox, &gv) in grow.iter().enumerate() {
                let (xlo, xhi, dxx) = (pl.cols.lo[ox], pl.cols.hi[ox], pl.cols.div[ox]);
                let share = gv / T::of((dy * dxx) as f64);
                for y in ylo..yhi {
                    for v in &mut d[y * pl.w + xlo..y * pl.w + xhi] {
                        *v = *v + share;
                    }
                }
            }
        }
    });
    dx
}

impl Tensor {
    /// Maximum over `kernel`-sized windows every `stride`, on an
    /// `(N, C, H, W)` or `(C, H, W)` tensor, like
    /// `torch.nn.functional.max_pool2d` (no dilation, floor mode). `padding`
    /// (at most half the kernel) pads with −∞. The gradient goes to each
    /// window's maximum, the first one on ties.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]).unwrap().requires_grad(true);
    /// let y = x.max_pool2d((2, 2), (2, 2), (0, 0)).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![5.0, 7.0, 13.0, 15.0]);
    /// y.sum().backward().unwrap();
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()[5], 1.0);
    /// let err = x.max_pool2d((2, 2), (2, 2), (2, 2)).unwrap_err().to_string();
    /// assert!(err.starts_with("max_pool2d: pad should be at most half of kernel size"));
    /// ```
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        let pl = sliding("max_pool2d", self.shape(), kernel, stride, padding, false)?;
        let (out, arg) = with_slice!(&*self.storage(), |xv: T| {
            let (v, a) = max_forward(xv, &pl);
            (T::into_storage(v), a)
        });
        let arg = Arc::new(arg);
        let shape = pl.out_shape.clone();
        Ok(Tensor::record(
            out,
            shape,
            "max_pool2d",
            vec![self.clone()],
            move |g, inputs, _| {
                let dx = with_slice!(&*g.storage(), |gv: T| T::into_storage(max_backward(
                    gv, &arg, &pl
                )));
                Ok(vec![Some(Tensor::from_storage(
                    dx,
                    inputs[0].shape().to_vec(),
                ))])
            },
        ))
    }

    /// Mean over `kernel`-sized windows every `stride`, like
    /// `torch.nn.functional.avg_pool2d` (floor mode). Zero `padding` (at
    /// most half the kernel) counts towards the divisor when
    /// `count_include_pad` (PyTorch's default), else only real inputs do.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::ones(&[1, 3, 3]);
    /// let y = x.avg_pool2d((2, 2), (2, 2), (1, 1), true).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.25, 0.5, 0.5, 1.0]);
    /// let y = x.avg_pool2d((2, 2), (2, 2), (1, 1), false).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0; 4]);
    /// ```
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        count_include_pad: bool,
    ) -> Result<Tensor> {
        let pl = sliding(
            "avg_pool2d",
            self.shape(),
            kernel,
            stride,
            padding,
            count_include_pad,
        )?;
        Ok(self.record_avg("avg_pool2d", pl))
    }

    /// Mean over `output_size` bins that tile each plane, like
    /// `torch.nn.functional.adaptive_avg_pool2d`: output row `i` averages
    /// input rows `floor(i·H/oh) .. ceil((i+1)·H/oh)` (bins may overlap),
    /// and likewise for columns.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::arange(0.0, 5.0, 1.0).reshape(&[1, 1, 5]).unwrap();
    /// let y = x.adaptive_avg_pool2d((1, 3)).unwrap(); // bins 0..2, 1..4, 3..5
    /// assert_eq!(y.to_vec::<f32>(), vec![0.5, 2.0, 3.5]);
    /// ```
    pub fn adaptive_avg_pool2d(&self, output_size: (usize, usize)) -> Result<Tensor> {
        let op = "adaptive_avg_pool2d";
        let (lead, h, w) = planes_of(op, self.shape())?;
        if output_size.0 == 0 || output_size.1 == 0 {
            return Err(Error::argument(
                op,
                format!("output_size must be positive, got {output_size:?}"),
            ));
        }
        let mut out_shape = lead.clone();
        out_shape.extend([output_size.0, output_size.1]);
        let pl = Pool {
            out_shape,
            planes: lead.iter().product(),
            h,
            w,
            rows: Axis::adaptive(h, output_size.0),
            cols: Axis::adaptive(w, output_size.1),
        };
        Ok(self.record_avg(op, pl))
    }

    fn record_avg(&self, op: &'static str, pl: Pool) -> Tensor {
        let out: Storage = with_slice!(&*self.storage(), |xv: T| T::into_storage(avg_forward(
            xv, &pl
        )));
        let shape = pl.out_shape.clone();
        Tensor::record(out, shape, op, vec![self.clone()], move |g, inputs, _| {
            let dx = with_slice!(&*g.storage(), |gv: T| T::into_storage(avg_backward(
                gv, &pl
            )));
            Ok(vec![Some(Tensor::from_storage(
                dx,
                inputs[0].shape().to_vec(),
            ))])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2×2 fast path picks the same values and positions as the general
    /// loop, with many ties (values from {0, 1, 2}), NaNs, −∞ and an odd
    /// width (the last column is outside every window).
    #[test]
    fn max_2x2_matches_the_general_windows() {
        let (h, w) = (6, 9);
        let plane: Vec<f32> = (0..h * w)
            .map(|i| match (i * 7919) % 23 {
                0 => f32::NAN,
                1 => f32::NEG_INFINITY,
                r => (r % 3) as f32,
            })
            .collect();
        let pl = sliding("max_pool2d", &[1, h, w], (2, 2), (2, 2), (0, 0), false).unwrap();
        assert!(pl.is_2x2_stride_2());
        let n = pl.out_plane();
        let (mut v1, mut a1) = (vec![0.0; n], vec![0; n]);
        let (mut v2, mut a2) = (vec![0.0; n], vec![0; n]);
        max_2x2(&plane, w, &mut v1, &mut a1);
        max_windows(&plane, &pl, &mut v2, &mut a2);
        assert_eq!(a1, a2);
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        assert!(
            v1.iter().zip(&v2).all(|(&a, &b)| same(a, b)),
            "{v1:?} vs {v2:?}"
        );
        assert!(v1.iter().any(|v| v.is_nan()));
        // Padding or a stride of 1 is not the fast path.
        let padded = sliding("max_pool2d", &[1, h, w], (2, 2), (2, 2), (1, 1), false).unwrap();
        let overlapping = sliding("max_pool2d", &[1, h, w], (2, 2), (1, 1), (0, 0), false).unwrap();
        assert!(!padded.is_2x2_stride_2() && !overlapping.is_2x2_stride_2());
    }
}
