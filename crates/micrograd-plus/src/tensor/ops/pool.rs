//! 2-D pooling over the last two dims of an `(N, C, H, W)` or `(C, H, W)`
//! tensor, as in `torch.nn.functional`: `max_pool2d` (with dilation, ceil
//! mode and indices), `avg_pool2d` (with ceil mode), `adaptive_avg_pool2d`
//! and `adaptive_max_pool2d`; and their 1-d forms `max_pool1d` and
//! `avg_pool1d`, which pool `(N, C, L)` input as planes of height 1.
//!
//! Every output element reduces one window of its input plane. Windows are
//! described per axis (a row range for each output row, a column range for
//! each output column), already clipped to the input: padding takes no part
//! in a maximum (PyTorch pads with −∞) and adds only zeros to a sum. A
//! dilated window reads every `d`-th input of its range.
//!
//! Backward rules, with `g` the upstream gradient of one output:
//! - max: all of `g` goes to the window's maximum (the first one in
//!   row-major order on ties, as PyTorch; a NaN counts as the maximum),
//!   whose position the forward remembers;
//! - average: `g / divisor` goes to every input of the window, the divisor
//!   being the window's size including padding (`count_include_pad`) or
//!   the number of real inputs in it.

use super::filled;
use crate::kernels::simd;
use crate::tensor::{with_slice, DType, Element, Storage, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;
use std::sync::Arc;

/// Below this many input elements a pooling op runs on the calling thread:
/// handing work to rayon costs more than it saves.
const PARALLEL_MIN: usize = 1 << 15;

/// The windows along one axis: output `i` reads inputs `lo[i]..hi[i]`
/// every `step` (the dilation) and contributes a factor `div[i]` to the
/// averaging divisor.
#[derive(Debug, Clone)]
struct Axis {
    lo: Vec<usize>,
    hi: Vec<usize>,
    step: usize,
    div: Vec<usize>,
}

impl Axis {
    /// Sliding windows of `k` taps `d` apart every `s`, with `p` padding
    /// each side; with `d = 1` the averaging divisor counts the padding
    /// inside the window when `include_pad` (and never the part of a
    /// ceil-mode window past the padding, as PyTorch).
    fn sliding(
        len: usize,
        (k, s, p, d): (usize, usize, usize, usize),
        out: usize,
        include_pad: bool,
    ) -> Axis {
        let mut a = Axis {
            lo: Vec::with_capacity(out),
            hi: Vec::with_capacity(out),
            step: d,
            div: Vec::with_capacity(out),
        };
        for i in 0..out {
            // Tap j (< k) sits at start + j·d in padded coordinates; the
            // taps inside the input are those from `first` to `last`.
            let start = i * s;
            let first = p.saturating_sub(start).div_ceil(d);
            let last = (len + p).checked_sub(start + 1).map(|r| (r / d).min(k - 1));
            let count = match last {
                Some(last) if last >= first && first < k => last - first + 1,
                _ => 0,
            };
            let lo = (start + first * d).saturating_sub(p).min(len);
            let hi = if count == 0 {
                lo
            } else {
                lo + (count - 1) * d + 1
            };
            let end_padded = (start + (k - 1) * d + 1).min(len + 2 * p);
            a.lo.push(lo);
            a.hi.push(hi);
            a.div.push(if include_pad {
                end_padded - start
            } else {
                count
            });
        }
        a
    }

    /// PyTorch's adaptive bins: `floor(i·len/out) .. ceil((i+1)·len/out)`.
    fn adaptive(len: usize, out: usize) -> Axis {
        let lo: Vec<usize> = (0..out).map(|i| i * len / out).collect();
        let hi: Vec<usize> = (0..out).map(|i| ((i + 1) * len).div_ceil(out)).collect();
        let div = lo.iter().zip(&hi).map(|(l, h)| h - l).collect();
        Axis {
            lo,
            hi,
            step: 1,
            div,
        }
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
        let pairs = |a: &Axis| {
            a.step == 1 && (0..a.len()).all(|i| a.lo[i] == 2 * i && a.hi[i] == 2 * i + 2)
        };
        pairs(&self.rows) && pairs(&self.cols)
    }
    fn parallel(&self) -> bool {
        self.planes * self.in_plane() >= PARALLEL_MIN && rayon::current_num_threads() > 1
    }
}

/// The input's shape checked for pooling: `(lead dims, H, W)`.
fn planes_of(op: &'static str, shape: &[usize]) -> Result<(Vec<usize>, usize, usize)> {
    // Only a batch (the first of four dims) may be empty, as in PyTorch.
    let planes = &shape[shape.len().saturating_sub(3)..];
    if !(shape.len() == 3 || shape.len() == 4) || planes.contains(&0) {
        return Err(Error::shape(
            op,
            format!(
                "expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, empty only in N, got shape {shape:?}"
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

/// A sliding pool's settings, `(along H, along W)` pairs.
#[derive(Debug, Clone, Copy)]
struct Sliding {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    /// Output sizes rounded up (a last window may start in the padding or
    /// overhang the input), as long as each window starts inside the
    /// input or the left padding.
    ceil_mode: bool,
    /// Padding zeros count towards an average's divisor.
    include_pad: bool,
}

impl Sliding {
    /// A 1-d pool's settings, for planes of height 1.
    /// A max pool's 2-d windows (no padding counts: a max ignores it).
    fn new(
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        ceil_mode: bool,
    ) -> Sliding {
        Sliding {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
            include_pad: false,
        }
    }

    fn along_length(k: usize, s: usize, p: usize, d: usize, ceil: bool, pad: bool) -> Sliding {
        Sliding {
            kernel: (1, k),
            stride: (1, s),
            padding: (0, p),
            dilation: (1, d),
            ceil_mode: ceil,
            include_pad: pad,
        }
    }
}

/// PyTorch's `pooling_output_shape`: `(len + 2p − d·(k − 1) − 1) / s + 1`
/// rounded down, or up in ceil mode unless that window would start past the
/// input and the left padding; `None` when the input is too small.
fn pooled_len(len: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Option<usize> {
    let span = (len + 2 * p).checked_sub(d * (k - 1) + 1)?;
    let mut out = if ceil { span.div_ceil(s) } else { span / s } + 1;
    if ceil && (out - 1) * s >= len + p {
        out -= 1;
    }
    Some(out)
}

/// Checks kernel, stride, padding and dilation and builds the sliding
/// windows.
fn sliding(op: &'static str, shape: &[usize], set: Sliding) -> Result<Pool> {
    let (lead, h, w) = planes_of(op, shape)?;
    let Sliding {
        kernel,
        stride,
        padding,
        dilation,
        ..
    } = set;
    if [kernel, stride].iter().any(|v| v.0 == 0 || v.1 == 0) {
        return Err(Error::argument(
            op,
            format!("kernel_size {kernel:?} and stride {stride:?} must be positive"),
        ));
    }
    if dilation.0 == 0 || dilation.1 == 0 {
        return Err(Error::argument(
            op,
            format!("dilation {dilation:?} must be positive"),
        ));
    }
    if 2 * padding.0 > kernel.0 || 2 * padding.1 > kernel.1 {
        return Err(Error::argument(
            op,
            format!("pad should be at most half of kernel size, but got pad={padding:?} and kernel_size={kernel:?}"),
        ));
    }
    // (k, s, p, d) along H (i = 0) or W (i = 1).
    let along = |i: usize| {
        let pick = |v: (usize, usize)| if i == 0 { v.0 } else { v.1 };
        (pick(kernel), pick(stride), pick(padding), pick(dilation))
    };
    let out = |len, (k, s, p, d)| pooled_len(len, k, s, p, d, set.ceil_mode);
    let (Some(oh), Some(ow)) = (out(h, along(0)), out(w, along(1))) else {
        return Err(Error::shape(
            op,
            format!("input of shape {shape:?} (padded by {padding:?}) is smaller than kernel_size {kernel:?} with dilation {dilation:?}: output size is too small"),
        ));
    };
    let mut out_shape = lead.clone();
    out_shape.extend([oh, ow]);
    Ok(Pool {
        out_shape,
        planes: lead.iter().product(),
        h,
        w,
        rows: Axis::sliding(h, along(0), oh, set.include_pad),
        cols: Axis::sliding(w, along(1), ow, set.include_pad),
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
            for y in (ylo..yhi).step_by(pl.rows.step) {
                let base = y * pl.w + xlo;
                let row = plane[base..y * pl.w + xhi].iter().step_by(pl.cols.step);
                for (xi, &v) in row.enumerate() {
                    best = pick(best, (v, (base + xi * pl.cols.step) as u32));
                }
            }
            (*v_out, *a_out) = best;
        }
    }
}

/// [`max_forward`] of one plane of width `w` for 2×2 windows with stride 2:
/// selects instead of branches, so it vectorises. Same picks as the general
/// loop [`max_windows`] (and PyTorch): each row's pair is picked first, then
/// the lower pair's winner against the upper's, which keeps the first
/// maximum in row-major order and takes the last NaN exactly as the
/// row-major scan does. Positions are `u32` (a plane has fewer than 2³²
/// elements, see `planes_of`), and a row that is not a whole number of
/// vectors goes in overlapping runs of [`LANES`] ([`runs`]): in that form
/// LLVM vectorises it under AVX2 as well, where the scan over a row of 13
/// windows (CNN-MNIST) ran one window at a time (`mgp bench max-pool` on
/// CNN-MNIST's first pool, forward and backward: 0.86-0.94 ms → 0.48).
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
        let rows = (&plane[top..][..2 * ow], &plane[bottom..][..2 * ow]);
        let at = (top as u32, bottom as u32);
        let mut run = |n: usize, ox: usize| max_2x2_run(n, rows, at, ox, vrow, arow);
        match ow {
            // Whole vectors: the loop over the row vectorises as it is.
            _ if ow.is_multiple_of(LANES) => run(ow, 0),
            LANES.. => runs(ow, LANES).for_each(|ox| run(LANES, ox)),
            4.. => runs(ow, 4).for_each(|ox| run(4, ox)),
            _ => run(ow, 0),
        }
    }
}

/// Windows per vectorised run of [`max_2x2`] (f32: one AVX2 vector). Rows
/// of 4 to 7 windows go in runs of 4 (half a vector), narrower ones whole.
const LANES: usize = 8;

/// Starts of `n`-long runs that cover `0..len` (`len ≥ n`), the last one
/// overlapping its predecessor when `len` is not a multiple: a run writes
/// what any overlapping run writes, so the overlap is harmless, and no
/// element is left to a scalar remainder loop.
fn runs(len: usize, n: usize) -> impl Iterator<Item = usize> {
    let last = len - n;
    (0..len).step_by(n).map(move |s| s.min(last))
}

/// `n` windows of one output row from `ox` on: `rows` are the row pair's
/// first `2·ow` values, `at` the positions of their first elements. Inlined,
/// so that a constant `n` gives a loop of known length.
#[inline(always)]
fn max_2x2_run<T: Element>(
    n: usize,
    (r0, r1): (&[T], &[T]),
    (top, bottom): (u32, u32),
    ox: usize,
    vrow: &mut [T],
    arow: &mut [u32],
) {
    let (r0, r1) = (&r0[2 * ox..][..2 * n], &r1[2 * ox..][..2 * n]);
    let (vals, args) = (&mut vrow[ox..][..n], &mut arow[ox..][..n]);
    let (top, bottom) = (top + 2 * ox as u32, bottom + 2 * ox as u32);
    for k in 0..n {
        let (x, xu) = (2 * k, 2 * k as u32);
        let upper = pick((r0[x], top + xu), (r0[x + 1], top + xu + 1));
        let lower = pick((r1[x], bottom + xu), (r1[x + 1], bottom + xu + 1));
        (vals[k], args[k]) = pick(upper, lower);
    }
}

/// Sends each output gradient to its window's maximum.
///
/// Each plane is zeroed by the thread that then scatters into it, while it
/// is in that core's cache; zeroing the whole gradient first (`vec![0; n]`)
/// was a memset on the calling thread alone (`mgp bench max-pool`, CNN-MNIST's
/// first pool, two cores, AVX2: forward and backward 0.48-0.53 → 0.42-0.44
/// ms).
fn max_backward<T: Element>(g: &[T], arg: &[u32], pl: &Pool) -> Vec<T> {
    let (ip, op) = (pl.in_plane(), pl.out_plane());
    let len = pl.planes * ip;
    let mut dx = Vec::with_capacity(len);
    each_plane(
        &mut dx.spare_capacity_mut()[..len],
        ip,
        pl.parallel(),
        |n, d| {
            let d = filled(d, T::zero());
            for (&gv, &a) in g[n * op..][..op].iter().zip(&arg[n * op..][..op]) {
                d[a as usize] = d[a as usize] + gv;
            }
        },
    );
    // SAFETY: the planes of `ip` elements cover all `len` (each_plane does
    // nothing only when `ip` is 0, and then `len` is 0), each filled above.
    unsafe { dx.set_len(len) };
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
    /// `torch.nn.functional.max_pool2d` with no dilation, in floor mode
    /// ([`Tensor::max_pool2d_with`] has both). `padding` (at most half the
    /// kernel) pads with −∞. The gradient goes to each window's maximum,
    /// the first one on ties.
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
        self.max_pool2d_with(kernel, stride, padding, (1, 1), false)
    }

    /// `torch.nn.functional.max_pool2d` with every setting: windows of
    /// `kernel` taps `dilation` apart, every `stride`, `padding` of −∞ on
    /// each side, and output sizes rounded up in `ceil_mode` (a last window
    /// may then overhang the input, but never starts in the right padding).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::arange(0.0, 5.0, 1.0).reshape(&[1, 1, 5]).unwrap();
    /// // taps 2 apart: windows {0, 2}, {1, 3}, {2, 4}
    /// let y = x.max_pool2d_with((1, 2), (1, 1), (0, 0), (1, 2), false).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![2.0, 3.0, 4.0]);
    /// // ceil mode keeps the last, partial window: {0, 1}, {2, 3}, {4}
    /// let y = x.max_pool2d_with((1, 2), (1, 2), (0, 0), (1, 1), true).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, 3.0, 4.0]);
    /// ```
    pub fn max_pool2d_with(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        ceil_mode: bool,
    ) -> Result<Tensor> {
        let set = Sliding::new(kernel, stride, padding, dilation, ceil_mode);
        Ok(self.max_pool2d_sliding(set)?.0)
    }

    /// [`Tensor::max_pool2d_with`] and, like PyTorch's
    /// `return_indices=True`, where each maximum came from: its flat index
    /// `y·W + x` in its input plane (whole numbers in the input's dtype;
    /// the engine has no integer tensors).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[[3.0f32, 1.0], [2.0, 5.0]]]).unwrap();
    /// let (v, i) = x.max_pool2d_with_indices((2, 1), (2, 1), (0, 0), (1, 1), false).unwrap();
    /// assert_eq!(v.to_vec::<f32>(), vec![3.0, 5.0]);
    /// assert_eq!(i.to_vec::<f32>(), vec![0.0, 3.0]);
    /// ```
    pub fn max_pool2d_with_indices(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        ceil_mode: bool,
    ) -> Result<(Tensor, Tensor)> {
        let set = Sliding::new(kernel, stride, padding, dilation, ceil_mode);
        let (values, argmax) = self.max_pool2d_sliding(set)?;
        Ok((values, argmax.tensor()))
    }

    fn max_pool2d_sliding(&self, set: Sliding) -> Result<(Tensor, Argmax)> {
        let op = "max_pool2d";
        Ok(self.record_max(op, sliding(op, self.shape(), set)?))
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
        self.avg_pool2d_with(kernel, stride, padding, false, count_include_pad)
    }

    /// `torch.nn.functional.avg_pool2d` with `ceil_mode` too: output sizes
    /// rounded up, the last window possibly overhanging the input. The
    /// divisor of such a window counts the padding inside it when
    /// `count_include_pad`, but never the overhang past the padding (as
    /// PyTorch).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::arange(0.0, 5.0, 1.0).reshape(&[1, 1, 5]).unwrap();
    /// let y = x.avg_pool2d_with((1, 2), (1, 2), (0, 0), true, true).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.5, 2.5, 4.0]); // the last window is {4} alone
    /// ```
    pub fn avg_pool2d_with(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> Result<Tensor> {
        let set = Sliding {
            kernel,
            stride,
            padding,
            dilation: (1, 1),
            ceil_mode,
            include_pad: count_include_pad,
        };
        let op = "avg_pool2d";
        Ok(self.record_avg(op, sliding(op, self.shape(), set)?))
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
        Ok(self.record_avg(op, adaptive(op, self.shape(), output_size)?))
    }

    /// Maximum over `output_size` bins that tile each plane, like
    /// `torch.nn.functional.adaptive_max_pool2d` (the bins of
    /// [`Tensor::adaptive_avg_pool2d`]).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[[1.0f32, 5.0, 2.0, 0.0, 3.0]]]).unwrap();
    /// let y = x.adaptive_max_pool2d((1, 2)).unwrap(); // bins 0..3, 2..5
    /// assert_eq!(y.to_vec::<f32>(), vec![5.0, 3.0]);
    /// ```
    pub fn adaptive_max_pool2d(&self, output_size: (usize, usize)) -> Result<Tensor> {
        Ok(self.adaptive_max_pool2d_argmax(output_size)?.0)
    }

    /// [`Tensor::adaptive_max_pool2d`] and each maximum's flat index `y·W +
    /// x` in its input plane, as PyTorch's `return_indices=True` (whole
    /// numbers in the input's dtype).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[[1.0f32, 5.0, 2.0, 0.0, 3.0]]]).unwrap();
    /// let (_, i) = x.adaptive_max_pool2d_with_indices((1, 2)).unwrap();
    /// assert_eq!(i.to_vec::<f32>(), vec![1.0, 4.0]);
    /// ```
    pub fn adaptive_max_pool2d_with_indices(
        &self,
        output_size: (usize, usize),
    ) -> Result<(Tensor, Tensor)> {
        let (values, argmax) = self.adaptive_max_pool2d_argmax(output_size)?;
        Ok((values, argmax.tensor()))
    }

    fn adaptive_max_pool2d_argmax(&self, output_size: (usize, usize)) -> Result<(Tensor, Argmax)> {
        let op = "adaptive_max_pool2d";
        Ok(self.record_max(op, adaptive(op, self.shape(), output_size)?))
    }

    /// Max pooling over the last dim of an `(N, C, L)` or `(C, L)` tensor,
    /// like `torch.nn.functional.max_pool1d`: [`Tensor::max_pool2d_with`]
    /// over a height of 1.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f32, 4.0, 2.0, 0.0, 3.0]]).unwrap();
    /// assert_eq!(x.max_pool1d(2, 2, 0, 1, false).unwrap().to_vec::<f32>(), vec![4.0, 2.0]);
    /// assert_eq!(x.max_pool1d(2, 2, 0, 1, true).unwrap().to_vec::<f32>(), vec![4.0, 2.0, 3.0]);
    /// assert!(x.max_pool1d(2, 2, 0, 1, false).is_ok() && Tensor::ones(&[5]).max_pool1d(2, 2, 0, 1, false).is_err());
    /// ```
    pub fn max_pool1d(
        &self,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> Result<Tensor> {
        let op = "max_pool1d";
        let set = Sliding::along_length(kernel, stride, padding, dilation, ceil_mode, false);
        let (x, pl) = as_planes(op, self, set)?;
        x.record_max(op, pl).0.squeeze(Some(-2))
    }

    /// Average pooling over the last dim of an `(N, C, L)` or `(C, L)`
    /// tensor, like `torch.nn.functional.avg_pool1d`:
    /// [`Tensor::avg_pool2d_with`] over a height of 1.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f32, 4.0, 2.0, 0.0, 3.0]]).unwrap();
    /// assert_eq!(x.avg_pool1d(2, 2, 1, false, true).unwrap().to_vec::<f32>(), vec![0.5, 3.0, 1.5]);
    /// assert_eq!(x.avg_pool1d(2, 2, 1, false, false).unwrap().to_vec::<f32>(), vec![1.0, 3.0, 1.5]);
    /// ```
    pub fn avg_pool1d(
        &self,
        kernel: usize,
        stride: usize,
        padding: usize,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> Result<Tensor> {
        let op = "avg_pool1d";
        let set = Sliding::along_length(kernel, stride, padding, 1, ceil_mode, count_include_pad);
        let (x, pl) = as_planes(op, self, set)?;
        x.record_avg(op, pl).squeeze(Some(-2))
    }

    /// Max pooling's forward (values and flat argmax per window) and its
    /// backward (each gradient to its window's maximum). The argmax becomes
    /// a tensor only for the `_with_indices` calls ([`Argmax::tensor`]): a
    /// plain max pool does not pay for it.
    fn record_max(&self, op: &'static str, pl: Pool) -> (Tensor, Argmax) {
        let (out, arg) = with_slice!(&*self.storage(), |xv: T| {
            let (v, a) = max_forward(xv, &pl);
            (T::into_storage(v), a)
        });
        let arg = Arc::new(arg);
        let argmax = Argmax {
            flat: Arc::clone(&arg),
            shape: pl.out_shape.clone(),
            dtype: self.dtype(),
        };
        let shape = pl.out_shape.clone();
        let values = Tensor::record(out, shape, op, vec![self.clone()], move |g, inputs, _| {
            let dx = with_slice!(&*g.storage(), |gv: T| T::into_storage(max_backward(
                gv, &arg, &pl
            )));
            Ok(vec![Some(Tensor::from_storage(
                dx,
                inputs[0].shape().to_vec(),
            ))])
        });
        (values, argmax)
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

/// Where each output of a max pool took its maximum from: flat indices in
/// the input plane, kept as the backward keeps them until a caller asks
/// for them as a tensor.
struct Argmax {
    flat: Arc<Vec<u32>>,
    shape: Vec<usize>,
    dtype: DType,
}

impl Argmax {
    /// The indices as a tensor of whole numbers in the input's dtype.
    fn tensor(self) -> Tensor {
        Tensor::from_vec(self.flat.iter().map(|&a| a as f64).collect(), &self.shape)
            .expect("one index per output")
            .to_dtype(self.dtype)
    }
}

/// A 1-d pool's `(N, C, L)` or `(C, L)` input as planes of height 1, and
/// its windows.
fn as_planes(op: &'static str, x: &Tensor, set: Sliding) -> Result<(Tensor, Pool)> {
    let shape = x.shape();
    if !(shape.len() == 2 || shape.len() == 3) || shape[shape.len() - 2..].contains(&0) {
        return Err(Error::shape(
            op,
            format!("expected a 2-D (C, L) or 3-D (N, C, L) input, empty only in N, got shape {shape:?}"),
        ));
    }
    let planes = x.unsqueeze(-2)?;
    let pl = sliding(op, planes.shape(), set)?;
    Ok((planes, pl))
}

/// The bins of an adaptive pool to `output_size`.
fn adaptive(op: &'static str, shape: &[usize], output_size: (usize, usize)) -> Result<Pool> {
    let (lead, h, w) = planes_of(op, shape)?;
    if output_size.0 == 0 || output_size.1 == 0 {
        return Err(Error::argument(
            op,
            format!("output_size must be positive, got {output_size:?}"),
        ));
    }
    let mut out_shape = lead.clone();
    out_shape.extend([output_size.0, output_size.1]);
    Ok(Pool {
        out_shape,
        planes: lead.iter().product(),
        h,
        w,
        rows: Axis::adaptive(h, output_size.0),
        cols: Axis::adaptive(w, output_size.1),
    })
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// Pooling: max over well-separated values (no ties within reach of the
    /// step), with padding and overlapping windows; averages with and without
    /// counting the padding; adaptive bins that overlap or stretch.
    pub(crate) fn pool_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        type Case = (
            &'static [usize],
            (usize, usize),
            (usize, usize),
            (usize, usize),
        );
        let cases: [Case; 4] = [
            (&[2, 3, 4, 6], (2, 2), (2, 2), (0, 0)),
            (&[1, 2, 5, 5], (3, 3), (1, 1), (1, 1)),
            (&[2, 2, 5, 6], (3, 2), (2, 1), (1, 1)),
            (&[3, 5, 7], (3, 3), (2, 2), (1, 0)),
        ];
        for (shape, kernel, stride, padding) in cases {
            let detail = format!("kernel={kernel:?} stride={stride:?} padding={padding:?}");
            let x = g.spread(&[shape]).remove(0);
            out.push(OpCheck::new(
                "max_pool2d",
                detail.clone(),
                vec![x],
                move |t| t[0].max_pool2d(kernel, stride, padding),
            ));
            for include in [true, false] {
                out.push(OpCheck::new(
                    "avg_pool2d",
                    format!("{detail} count_include_pad={include}"),
                    vec![g.randn(shape)],
                    move |t| t[0].avg_pool2d(kernel, stride, padding, include),
                ));
            }
        }
        let cases: [(&[usize], (usize, usize)); 4] = [
            (&[2, 3, 5, 7], (3, 4)),
            (&[1, 2, 4, 4], (2, 2)),
            (&[1, 2, 3, 3], (5, 4)),
            (&[2, 6, 5], (1, 1)),
        ];
        for (shape, size) in cases {
            out.push(OpCheck::new(
                "adaptive_avg_pool2d",
                format!("output_size={size:?}"),
                vec![g.randn(shape)],
                move |t| t[0].adaptive_avg_pool2d(size),
            ));
        }
    }

    /// max pooling with dilation and ceil mode (well-separated values),
    /// average pooling with ceil mode, 1-d pools and adaptive max pooling.
    pub(crate) fn pool_option_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        // (input, kernel, stride, padding, dilation, ceil_mode)
        type PoolCase = (
            &'static [usize],
            (usize, usize),
            (usize, usize),
            (usize, usize),
            (usize, usize),
            bool,
        );
        let cases: [PoolCase; 3] = [
            (&[2, 2, 7, 6], (3, 2), (2, 2), (1, 1), (2, 1), false),
            (&[1, 3, 5, 7], (2, 3), (2, 2), (1, 0), (1, 2), true),
            (&[3, 6, 5], (2, 2), (3, 2), (0, 1), (1, 1), true),
        ];
        for (shape, kernel, stride, padding, dilation, ceil) in cases {
            let detail = format!("kernel={kernel:?} stride={stride:?} padding={padding:?} dilation={dilation:?} ceil_mode={ceil}");
            let x = g.spread(&[shape]).remove(0);
            out.push(OpCheck::new("max_pool2d", detail, vec![x], move |t| {
                t[0].max_pool2d_with(kernel, stride, padding, dilation, ceil)
            }));
            if dilation == (1, 1) {
                for include in [true, false] {
                    out.push(OpCheck::new(
                        "avg_pool2d",
                        format!("kernel={kernel:?} stride={stride:?} padding={padding:?} ceil_mode={ceil} count_include_pad={include}"),
                        vec![g.randn(shape)],
                        move |t| t[0].avg_pool2d_with(kernel, stride, padding, ceil, include),
                    ));
                }
            }
        }
        for (shape, k, s, p, dil, ceil) in [
            (&[2, 3, 9][..], 3, 2, 1, 2, true),
            (&[3, 8], 2, 2, 0, 1, false),
        ] {
            let detail =
                format!("kernel={k} stride={s} padding={p} dilation={dil} ceil_mode={ceil}");
            let x = g.spread(&[shape]).remove(0);
            out.push(OpCheck::new("max_pool1d", detail, vec![x], move |t| {
                t[0].max_pool1d(k, s, p, dil, ceil)
            }));
            out.push(OpCheck::new(
                "avg_pool1d",
                format!("kernel={k} stride={s} padding={p} ceil_mode={ceil}"),
                vec![g.randn(shape)],
                move |t| t[0].avg_pool1d(k, s, p, ceil, false),
            ));
        }
        for (shape, size) in [(&[2, 3, 5, 7][..], (3, 4)), (&[1, 2, 3, 3], (5, 4))] {
            let x = g.spread(&[shape]).remove(0);
            out.push(OpCheck::new(
                "adaptive_max_pool2d",
                format!("output_size={size:?}"),
                vec![x],
                move |t| t[0].adaptive_max_pool2d(size),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2×2 max pool with this stride and padding.
    fn max2(stride: (usize, usize), padding: (usize, usize)) -> Sliding {
        Sliding {
            kernel: (2, 2),
            stride,
            padding,
            dilation: (1, 1),
            ceil_mode: false,
            include_pad: false,
        }
    }

    /// Maxima and positions of one `h × w` plane's 2×2 windows by the fast
    /// path and by the general loop.
    #[allow(clippy::type_complexity)]
    fn fast_and_general(
        plane: &[f32],
        h: usize,
        w: usize,
    ) -> ((Vec<f32>, Vec<u32>), (Vec<f32>, Vec<u32>)) {
        let pl = sliding("max_pool2d", &[1, h, w], max2((2, 2), (0, 0))).unwrap();
        assert!(pl.is_2x2_stride_2());
        let n = pl.out_plane();
        let (mut v1, mut a1) = (vec![0.0; n], vec![0; n]);
        let (mut v2, mut a2) = (vec![0.0; n], vec![0; n]);
        max_2x2(plane, w, &mut v1, &mut a1);
        max_windows(plane, &pl, &mut v2, &mut a2);
        ((v1, a1), (v2, a2))
    }

    /// The 2×2 fast path picks the same values and positions as the general
    /// loop, with many ties (values from {0, 1, 2}), NaNs, −∞ and an odd
    /// width (the last column is outside every window), at widths that take
    /// each of its row forms: fewer than 4 windows, runs of 4, runs of 8
    /// with an overlapping last run, and whole vectors.
    #[test]
    fn max_2x2_matches_the_general_windows() {
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        for (h, w) in [(6, 5), (6, 9), (5, 26), (4, 35), (3, 32)] {
            let plane: Vec<f32> = (0..h * w)
                .map(|i| match (i * 7919) % 23 {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    r => (r % 3) as f32,
                })
                .collect();
            let ((v1, a1), (v2, a2)) = fast_and_general(&plane, h, w);
            assert_eq!(a1, a2, "{h}x{w}");
            assert!(
                v1.iter().zip(&v2).all(|(&a, &b)| same(a, b)),
                "{h}x{w}: {v1:?} vs {v2:?}"
            );
            assert!(v1.iter().any(|v| v.is_nan()), "{h}x{w}");
        }
        let (h, w) = (6, 9);
        // Padding or a stride of 1 is not the fast path.
        let padded = sliding("max_pool2d", &[1, h, w], max2((2, 2), (1, 1))).unwrap();
        let overlapping = sliding("max_pool2d", &[1, h, w], max2((1, 1), (0, 0))).unwrap();
        assert!(!padded.is_2x2_stride_2() && !overlapping.is_2x2_stride_2());
    }

    /// Every window of four values from {0, 1, NaN, −∞} (256 windows, side
    /// by side in a 2 × 512 plane): the pair-wise picks of the fast path
    /// agree with the row-major scan on each.
    #[test]
    fn max_2x2_agrees_on_every_window_of_ties_and_nans() {
        let pick_of = [0.0f32, 1.0, f32::NAN, f32::NEG_INFINITY];
        let (h, w) = (2, 512);
        let mut plane = vec![0.0f32; h * w];
        for window in 0..256 {
            for (cell, at) in [0, 1, w, w + 1].into_iter().enumerate() {
                plane[2 * window + at] = pick_of[(window >> (2 * cell)) & 3];
            }
        }
        let ((_, a1), (_, a2)) = fast_and_general(&plane, h, w);
        assert_eq!(a1, a2);
    }
}
