//! 2-D convolution (`torch.nn.functional.conv2d`): NCHW input, weight
//! `(out_channels, in_channels / groups, kh, kw)`, optional bias, stride,
//! zero padding, dilation and groups.
//!
//! Forward, per image and group: [`im2col`] lays the receptive field of
//! every output position out as a column, and one matrix product
//! `W (O × C·kh·kw) · col (C·kh·kw × oh·ow)` gives every output channel at
//! every position, already in NCHW order. With `g` the upstream gradient of
//! one image and group (`O × oh·ow`), the backward rules are the two other
//! products of the same three matrices:
//! - weight: `dW += g · colᵀ`, summed over the batch (computed as its
//!   transpose, `dWᵀ += col · gᵀ`, a block of output rows at a time);
//! - input: `dcol = Wᵀ · g`, then [`col2im`] adds each column entry back
//!   into the pixel it was read from;
//! - bias: `db[o] = Σ g[o, ·]` over the batch and positions.
//!
//! The column matrix is never stored for the whole batch (it is `kh·kw`
//! times the input): each thread rebuilds one image's columns in a scratch
//! buffer, in the forward and again for the weight gradient. Images are
//! split across rayon's threads, each running single-threaded products; a
//! batch smaller than the thread count runs image by image with threaded
//! products instead. Each gradient is computed only for inputs that need
//! it.

use super::filled;
use super::record::{record, Fused, Operands, Scalar};
use crate::kernels::im2col::{col2im, im2col, im2col_out_rows, PaddedImage, Window};
use crate::kernels::matmul::{MatMut, MatRef, Threads, Update};
use crate::tensor::shape::sum_slice;
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::ops::AddAssign;

/// Largest column matrix (in elements: 512 KiB of f32) the forward builds
/// for a whole image; see `Conv::out_row_block`.
const WHOLE_COLUMNS: usize = 1 << 17;
/// Output positions per block of a blocked forward (whole output rows).
const BLOCK_COLUMNS: usize = 256;
/// Output positions per block of the weight gradient (whole output rows).
const DW_BLOCK_COLUMNS: usize = 256;

/// The checked geometry of one convolution (also the one a transposed
/// convolution runs backwards, see [`super::conv_transpose`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Conv {
    pub(super) batch: usize,
    pub(super) groups: usize,
    pub(super) in_channels: usize,
    pub(super) out_channels: usize,
    /// One group of one image: `in_channels / groups` channels.
    pub(super) win: Window,
}

impl Conv {
    /// Checks the shapes and settings of `op` (`conv2d`, or `conv1d` run
    /// as a conv2d over a height of 1) and works out the output size.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        op: &'static str,
        x: &[usize],
        w: &[usize],
        bias: Option<&[usize]>,
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Conv> {
        if x.len() != 4 {
            return Err(Error::shape(
                op,
                format!(
                    "expected 3-D (unbatched) or 4-D (batched) input, got input of shape {x:?}"
                ),
            ));
        }
        if w.len() != 4 {
            return Err(Error::shape(
                op,
                format!("weight must be 4-D (out_channels, in_channels/groups, kh, kw), got shape {w:?}"),
            ));
        }
        if groups == 0 {
            return Err(Error::argument(op, "groups must be positive, got 0"));
        }
        for (name, v) in [("stride", stride), ("dilation", dilation)] {
            if v.0 == 0 || v.1 == 0 {
                return Err(Error::argument(
                    op,
                    format!("{name} must be positive, got {v:?}"),
                ));
            }
        }
        let (out_channels, kh, kw) = (w[0], w[2], w[3]);
        if kh == 0 || kw == 0 {
            return Err(Error::shape(
                op,
                format!("weight of shape {w:?} has an empty kernel"),
            ));
        }
        if out_channels % groups != 0 {
            return Err(Error::shape(
                op,
                format!("out_channels ({out_channels}) of weight {w:?} must be divisible by groups ({groups})"),
            ));
        }
        if w[1] * groups != x[1] {
            return Err(Error::shape(
                op,
                format!(
                    "given groups={groups}, weight of shape {w:?} expects input of shape {x:?} to have {} channels, but got {} channels instead",
                    w[1] * groups,
                    x[1]
                ),
            ));
        }
        if let Some(b) = bias
            && b != [out_channels]
        {
            return Err(Error::shape(
                op,
                format!("bias must have shape [{out_channels}] for weight {w:?}, got {b:?}"),
            ));
        }
        let (h, wd) = (x[2], x[3]);
        let (eh, ew) = (dilation.0 * (kh - 1) + 1, dilation.1 * (kw - 1) + 1);
        let (hp, wp) = (h + 2 * padding.0, wd + 2 * padding.1);
        if eh > hp || ew > wp {
            return Err(Error::shape(
                op,
                format!(
                    "padded input size per channel ({hp} x {wp}) of input {x:?} is smaller than the (dilated) kernel size ({eh} x {ew}) of weight {w:?}"
                ),
            ));
        }
        Ok(Conv {
            batch: x[0],
            groups,
            in_channels: x[1],
            out_channels,
            win: Window {
                channels: w[1],
                height: h,
                width: wd,
                kernel: (kh, kw),
                stride,
                padding,
                dilation,
                out: ((hp - eh) / stride.0 + 1, (wp - ew) / stride.1 + 1),
            },
        })
    }

    /// Output channels per group.
    fn og(&self) -> usize {
        self.out_channels / self.groups
    }
    /// Rows of one group's column matrix (`C/groups · kh · kw`).
    fn k(&self) -> usize {
        self.win.col_rows()
    }
    /// Output positions per image.
    pub(super) fn p(&self) -> usize {
        self.win.col_cols()
    }
    /// Elements of one input image.
    pub(super) fn in_len(&self) -> usize {
        self.in_channels * self.win.height * self.win.width
    }
    /// Elements of one output image.
    pub(super) fn out_len(&self) -> usize {
        self.out_channels * self.p()
    }
    /// Elements of one group of one input image.
    fn in_group_len(&self) -> usize {
        self.win.channels * self.win.height * self.win.width
    }
    /// Output rows per block when the forward goes a block of output rows
    /// at a time (`None`: the whole image at once).
    ///
    /// A column matrix larger than [`WHOLE_COLUMNS`] is packed again
    /// by the product and falls out of the L2 cache between the two; blocks
    /// of about [`BLOCK_COLUMNS`] positions are read in place instead. On
    /// CIFAR-10's 32→32-channel layer (a 288 × 1024 column matrix per
    /// image), one core, hot caches: 72 → 94 GFLOP/s under AVX2 and
    /// 109 → 155 under AVX-512 with blocks of 128 positions. Blocks of 256
    /// measured faster since the padded im2col (CIFAR-10's four layers'
    /// forward, two cores, ms a batch: AVX2 40.7-41.8 → 40.2-40.6, AVX-512
    /// 28.8-29.6 → 27.5-27.8).
    fn out_row_block(&self) -> Option<usize> {
        let (oh, ow) = self.win.out;
        if self.win.is_identity() || self.k() * self.p() <= WHOLE_COLUMNS || ow == 0 {
            return None;
        }
        let rows = self.rows_per_block(BLOCK_COLUMNS);
        (rows < oh).then_some(rows)
    }

    /// Whole output rows in a block of about `columns` output positions
    /// (at least one, at most all of them).
    fn rows_per_block(&self, columns: usize) -> usize {
        let (oh, ow) = self.win.out;
        (columns / ow.max(1)).clamp(1, oh.max(1))
    }

    /// Scratch for one image's forward: the column matrix, or with blocks a
    /// block's columns and its product.
    fn forward_scratch_len(&self) -> usize {
        match self.out_row_block() {
            Some(rows) => (self.k() + self.og()) * rows * self.win.out.1,
            None => self.col_len(),
        }
    }

    /// Scratch needed for one column matrix (none for a 1×1 stride-1 kernel).
    fn col_len(&self) -> usize {
        if self.win.is_identity() {
            0
        } else {
            self.k() * self.p()
        }
    }
    fn out_shape(&self) -> Vec<usize> {
        vec![
            self.batch,
            self.out_channels,
            self.win.out.0,
            self.win.out.1,
        ]
    }

    /// How to share the batch out: `Some(images per task)` to run tasks in
    /// parallel with single-threaded products, `None` to go image by image
    /// with threaded products (fewer images than threads).
    fn split(&self) -> Option<usize> {
        let threads = rayon::current_num_threads();
        if threads < 2 || self.batch < threads {
            return None;
        }
        // A few tasks per thread, so a thread slowed by other work on its
        // core hands some of its images to the others.
        Some(self.batch.div_ceil(4 * threads).max(1))
    }
}

/// One forward task's working memory, reused image after image: the column
/// matrix (or a block's columns and product) and, when the window has
/// padding, the image copied into a border of zeros, which im2col reads
/// faster (see [`PaddedImage`]; CIFAR-10's four layers, two cores:
/// 44.1-44.7 → 40.5-40.7 ms a batch of 128).
struct Scratch<T> {
    col: Vec<T>,
    padded: Option<PaddedImage<T>>,
}

impl<T: Copy + Default> Scratch<T> {
    /// [`Conv::forward_scratch_len`] values of column buffer, and the
    /// padded image if there is padding.
    fn new(cv: &Conv) -> Self {
        let pad = cv.win.padding != (0, 0) && !cv.win.is_identity();
        Scratch {
            col: vec![T::default(); cv.forward_scratch_len()],
            padded: pad.then(|| PaddedImage::new(&cv.win)),
        }
    }

    /// Group image `xg` as im2col reads it (padded, when there is padding),
    /// the window to read it through, and the column buffer.
    fn image<'a>(&'a mut self, cv: &Conv, xg: &'a [T]) -> (&'a [T], Window, &'a mut [T]) {
        match self.padded.as_mut() {
            Some(p) => {
                let win = *p.window();
                (p.load(xg), win, &mut self.col)
            }
            None => (xg, cv.win, &mut self.col),
        }
    }

    /// One group's column matrix of image `xg`: the image itself for a 1×1
    /// stride-1 kernel, else built in the column buffer.
    fn columns<'a>(&'a mut self, cv: &Conv, xg: &'a [T]) -> &'a [T] {
        if cv.win.is_identity() {
            return xg;
        }
        let (img, win, col) = self.image(cv, xg);
        im2col(img, &win, col);
        col
    }
}

/// One image: `out = W · im2col(x) + b`, group by group, which stores
/// every element of `out` (so it may start uninitialised), with the
/// task's `scratch`.
fn forward_image<T: Element>(
    cv: &Conv,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    scratch: &mut Scratch<T>,
    out: &mut [MaybeUninit<T>],
    threaded: bool,
) {
    let (og, k, p) = (cv.og(), cv.k(), cv.p());
    // The groups' rows tile `out` exactly, so every element is stored.
    assert_eq!(out.len(), cv.groups * og * p, "conv2d: output image size");
    for gi in 0..cv.groups {
        let xg = &x[gi * cv.in_group_len()..][..cv.in_group_len()];
        let w_g = MatRef::row_major(&w[gi * og * k..][..og * k], og, k);
        let out_g = &mut out[gi * og * p..][..og * p];
        let bias = |o: usize| b.map_or(T::zero(), |b| b[gi * og + o]);
        let threads = Threads::shared_if(threaded);
        if let Some(rows) = cv.out_row_block() {
            // A block of output rows at a time: its columns, their product
            // with W, and the product copied into its place in each
            // channel's plane with the bias added.
            let (oh, ow) = cv.win.out;
            let (img, win, buf) = scratch.image(cv, xg);
            let (cols_buf, prod_buf) = buf.split_at_mut(k * rows * ow);
            for y0 in (0..oh).step_by(rows) {
                let y1 = (y0 + rows).min(oh);
                let n = (y1 - y0) * ow;
                let (cols, prod) = (&mut cols_buf[..k * n], &mut prod_buf[..og * n]);
                im2col_out_rows(img, &win, y0..y1, cols);
                T::gemm(
                    MatMut::row_major(prod, og, n),
                    w_g,
                    MatRef::row_major(cols, k, n),
                    Update::Overwrite,
                    threads,
                );
                for (o, block) in prod.chunks_exact(n).enumerate() {
                    let (dst, add) = (&mut out_g[o * p + y0 * ow..][..n], bias(o));
                    for (d, &v) in dst.iter_mut().zip(block) {
                        d.write(v + add);
                    }
                }
            }
            continue;
        }
        let cols = scratch.columns(cv, xg);
        // The bias goes in first and the product accumulates onto it;
        // without one the product overwrites the group's rows.
        let c = match b {
            Some(_) => {
                for (o, row) in out_g.chunks_exact_mut(p).enumerate() {
                    row.fill(MaybeUninit::new(bias(o)));
                }
                // SAFETY: the `og` rows of `p` just filled are all of `out_g`.
                MatMut::row_major(unsafe { out_g.assume_init_mut() }, og, p)
            }
            None => MatMut::uninit(out_g, og, p),
        };
        // out_g = W_g·cols (og × k · k × p), added onto the bias if any.
        T::gemm(
            c,
            w_g,
            MatRef::row_major(cols, k, p),
            Update::accumulate_if(b.is_some()),
            threads,
        );
    }
}

pub(super) fn forward<T: Element>(cv: &Conv, x: &[T], w: &[T], b: Option<&[T]>) -> Vec<T> {
    let (in_len, out_len) = (cv.in_len(), cv.out_len());
    let len = cv.batch * out_len;
    if len == 0 {
        return Vec::new();
    }
    // Not zeroed first: `forward_image` stores every element of each image.
    let mut out = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    match cv.split() {
        Some(per) => spare
            .par_chunks_mut(per * out_len)
            .enumerate()
            .for_each(|(t, outs)| {
                let mut scratch = Scratch::new(cv);
                for (i, out_n) in outs.chunks_exact_mut(out_len).enumerate() {
                    let n = t * per + i;
                    let x_n = &x[n * in_len..][..in_len];
                    forward_image(cv, x_n, w, b, &mut scratch, out_n, false);
                }
            }),
        None => {
            let mut scratch = Scratch::new(cv);
            for (n, out_n) in spare.chunks_exact_mut(out_len).enumerate() {
                let x_n = &x[n * in_len..][..in_len];
                forward_image(cv, x_n, w, b, &mut scratch, out_n, true);
            }
        }
    }
    // SAFETY: `len` is `batch` whole images of `out_len`, and each was
    // stored in full by `forward_image`.
    unsafe { out.set_len(len) };
    out
}

/// Gradient accumulators of one task: weight and bias (summed over the
/// task's images); the input gradient is written in place.
struct Partial<T> {
    /// The weight gradient transposed, group by group: `k × og` per group
    /// (see `backward_image`; [`Partial::into_grads`] turns it back).
    dwt: Option<Vec<T>>,
    db: Option<Vec<T>>,
}

impl<T: Element> Partial<T> {
    fn new(want_w: bool, want_b: bool, w_len: usize, b_len: usize) -> Self {
        Partial {
            dwt: want_w.then(|| vec![T::zero(); w_len]),
            db: want_b.then(|| vec![T::zero(); b_len]),
        }
    }
    fn merge(mut self, other: Self) -> Self {
        for (a, b) in [(&mut self.dwt, other.dwt), (&mut self.db, other.db)] {
            if let (Some(a), Some(b)) = (a.as_mut(), b) {
                a.iter_mut().zip(b).for_each(|(x, y)| *x = *x + y);
            }
        }
        self
    }
    /// `(dw, db)`, the weight gradient in the weight's own layout.
    fn into_grads(self, cv: &Conv) -> (Option<Vec<T>>, Option<Vec<T>>) {
        let (og, k) = (cv.og(), cv.k());
        let dw = self.dwt.map(|dwt| {
            let mut dw = vec![T::zero(); dwt.len()];
            for (dw_g, dwt_g) in dw.chunks_exact_mut(og * k).zip(dwt.chunks_exact(og * k)) {
                for (r, row) in dwt_g.chunks_exact(og).enumerate() {
                    for (o, &v) in row.iter().enumerate() {
                        dw_g[o * k + r] = v;
                    }
                }
            }
            dw
        });
        (dw, self.db)
    }
}

/// One image's contribution to every wanted gradient. `dx` (zeroed) is the
/// image's input gradient when wanted.
#[allow(clippy::too_many_arguments)]
fn backward_image<T: Element + AddAssign>(
    cv: &Conv,
    g: &[T],
    x: &[T],
    w: &[T],
    col: &mut [T],
    acc: &mut Partial<T>,
    mut dx: Option<&mut [T]>,
    threaded: bool,
) {
    let (og, k, p, gl) = (cv.og(), cv.k(), cv.p(), cv.in_group_len());
    if let Some(db) = acc.db.as_mut() {
        for (d, row) in db.iter_mut().zip(g.chunks_exact(p)) {
            *d += sum_slice(row);
        }
    }
    for gi in 0..cv.groups {
        let g_g = &g[gi * og * p..][..og * p];
        let w_g = &w[gi * og * k..][..og * k];
        if let Some(dwt) = acc.dwt.as_mut() {
            // dW_gᵀ (k × og) += cols (k × p) · G_gᵀ (p × og), a block of
            // output rows (about `DW_BLOCK_COLUMNS` positions) at a time.
            // This way round the kernel reads the wide operand, cols, in
            // place and gathers only the narrow Gᵀ; `dW_g = G_g · colsᵀ`
            // would gather all of cols. CIFAR-10's layers, one core, AVX2
            // (GFLOP/s): 32→32 on 32×32 87 → 113, 64→64 on 16×16 100 → 115.
            // The columns come from the image itself: a padded copy (as in
            // the forward) saved 3% on the 32×32 layer and cost 3-5% on the
            // two 16×16 ones.
            let (oh, ow) = cv.win.out;
            let rows = cv.rows_per_block(DW_BLOCK_COLUMNS);
            let xg = &x[gi * gl..][..gl];
            let dwt_g = &mut dwt[gi * og * k..][..og * k];
            for y0 in (0..oh).step_by(rows) {
                let n = ((y0 + rows).min(oh) - y0) * ow;
                let g_block = MatRef::strided(&g_g[y0 * ow..], og, n, p, 1);
                let cols = if cv.win.is_identity() {
                    MatRef::strided(&xg[y0 * ow..], k, n, p, 1)
                } else {
                    let block = &mut col[..k * n];
                    im2col_out_rows(xg, &cv.win, y0..(y0 + rows).min(oh), block);
                    MatRef::row_major(block, k, n)
                };
                T::gemm(
                    MatMut::row_major(dwt_g, k, og),
                    cols,
                    g_block.t(),
                    Update::Accumulate,
                    Threads::shared_if(threaded),
                );
            }
        }
        if let Some(dx) = dx.as_deref_mut() {
            // dcols (k × p) = W_gᵀ (k × og) · G_g (og × p); for a 1×1
            // stride-1 kernel the columns are the image, so dx itself.
            let (w_gt, g_g) = (
                MatRef::row_major(w_g, og, k).t(),
                MatRef::row_major(g_g, og, p),
            );
            let (overwrite, threads) = (Update::Overwrite, Threads::shared_if(threaded));
            let dx_g = &mut dx[gi * gl..][..gl];
            if cv.win.is_identity() {
                T::gemm(MatMut::row_major(dx_g, k, p), w_gt, g_g, overwrite, threads);
            } else {
                T::gemm(MatMut::row_major(col, k, p), w_gt, g_g, overwrite, threads);
                col2im(col, &cv.win, dx_g);
            }
        }
    }
}

pub(super) type Grads<T> = (Option<Vec<T>>, Option<Vec<T>>, Option<Vec<T>>);

/// `(dx, dw, db)`, each only when wanted; `x` is read only for `dw` (and
/// may be empty otherwise).
pub(super) fn backward<T: Element + AddAssign>(
    cv: &Conv,
    g: &[T],
    x: &[T],
    w: &[T],
    want: (bool, bool, bool),
) -> Grads<T> {
    let (in_len, out_len) = (cv.in_len(), cv.out_len());
    let (want_x, want_w, want_b) = want;
    let dx_len = cv.batch * in_len;
    // Zeroed part by part by the task that adds into it (a memset of all of
    // it, on the calling thread alone, was 16 MB for CIFAR-10's second layer).
    let mut dx: Option<Vec<T>> = want_x.then(|| Vec::with_capacity(dx_len));
    // Image n of the input, where the weight gradient needs it.
    let image = |n: usize| {
        if want_w {
            &x[n * in_len..][..in_len]
        } else {
            &[][..]
        }
    };
    let fresh = || Partial::new(want_w, want_b, w.len(), cv.out_channels);
    if cv.batch == 0 || out_len == 0 {
        let (dw, db) = fresh().into_grads(cv);
        return (want_x.then(|| vec![T::zero(); dx_len]), dw, db);
    }
    let total = match cv.split() {
        Some(per) => {
            // One task per `per` images, each with its slice of dx (if any).
            let tasks = cv.batch.div_ceil(per);
            let mut dx_parts: Vec<Option<&mut [MaybeUninit<T>]>> = match dx.as_mut() {
                Some(d) => d.spare_capacity_mut()[..dx_len]
                    .chunks_mut(per * in_len)
                    .map(Some)
                    .collect(),
                None => (0..tasks).map(|_| None).collect(),
            };
            let total = dx_parts
                .par_iter_mut()
                .enumerate()
                .map(|(t, dx_t)| {
                    let mut dx_t = dx_t.take().map(|d| filled(d, T::zero()));
                    let mut acc = fresh();
                    let mut col = vec![T::zero(); cv.col_len()];
                    let end = ((t + 1) * per).min(cv.batch);
                    for n in t * per..end {
                        let dx_n = dx_t
                            .as_deref_mut()
                            .map(|d| &mut d[(n - t * per) * in_len..][..in_len]);
                        backward_image(
                            cv,
                            &g[n * out_len..][..out_len],
                            image(n),
                            w,
                            &mut col,
                            &mut acc,
                            dx_n,
                            false,
                        );
                    }
                    acc
                })
                .reduce(fresh, Partial::merge);
            if let Some(d) = dx.as_mut() {
                // SAFETY: the tasks' parts cover all `dx_len` elements (one
                // task per part), and each task zeroed its part.
                unsafe { d.set_len(dx_len) };
            }
            total
        }
        None => {
            if let Some(d) = dx.as_mut() {
                d.resize(dx_len, T::zero());
            }
            let mut acc = fresh();
            let mut col = vec![T::zero(); cv.col_len()];
            for n in 0..cv.batch {
                let dx_n = dx.as_deref_mut().map(|d| &mut d[n * in_len..][..in_len]);
                backward_image(
                    cv,
                    &g[n * out_len..][..out_len],
                    image(n),
                    w,
                    &mut col,
                    &mut acc,
                    dx_n,
                    true,
                );
            }
            acc
        }
    };
    let (dw, db) = total.into_grads(cv);
    (dx, dw, db)
}

impl Tensor {
    /// 2-D convolution over an `(N, C, H, W)` batch or one `(C, H, W)`
    /// image, like `torch.nn.functional.conv2d`: `weight` is
    /// `(out_channels, C / groups, kh, kw)`, `bias` (optional) is
    /// `(out_channels,)`, and `stride`, `padding` (zeros on both sides) and
    /// `dilation` are `(along H, along W)`. With `groups > 1` the channels
    /// are split into that many independent convolutions.
    ///
    /// The output is `(N, out_channels, oh, ow)` with
    /// `oh = (H + 2·ph − dh·(kh − 1) − 1) / sh + 1` (and likewise `ow`).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// // A 3×3 image, a 2×2 kernel of ones: each output sums a 2×2 window.
    /// let x = Tensor::arange(0.0, 9.0, 1.0).reshape(&[1, 1, 3, 3]).unwrap();
    /// let w = Tensor::ones(&[1, 1, 2, 2]);
    /// let y = x.conv2d(&w, None, (1, 1), (0, 0), (1, 1), 1).unwrap();
    /// assert_eq!(y.shape(), &[1, 1, 2, 2]);
    /// assert_eq!(y.to_vec::<f32>(), vec![8.0, 12.0, 20.0, 24.0]);
    ///
    /// let err = x.conv2d(&Tensor::ones(&[1, 2, 2, 2]), None, (1, 1), (0, 0), (1, 1), 1);
    /// assert!(err.unwrap_err().to_string().starts_with("conv2d: given groups=1, weight of shape [1, 2, 2, 2]"));
    /// ```
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Tensor> {
        self.conv_nd("conv2d", weight, bias, stride, padding, dilation, groups)
    }

    /// [`Tensor::conv2d`] under the name `op` (conv1d runs as a conv2d over
    /// a height of 1 and reports its errors and graph node as conv1d).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conv_nd(
        &self,
        op: &'static str,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Tensor> {
        if self.ndim() == 3 {
            // Unbatched: run as a batch of one and drop the batch dim again.
            let y = self
                .unsqueeze(0)?
                .conv_nd(op, weight, bias, stride, padding, dilation, groups)?;
            let shape = y.shape()[1..].to_vec();
            return Ok(y.reshape_unchecked(shape));
        }
        let cv = Conv::new(
            op,
            self.shape(),
            weight.shape(),
            bias.map(Tensor::shape),
            stride,
            padding,
            dilation,
            groups,
        )?;
        let out_shape = cv.out_shape();
        Ok(record(
            Convolution { op, cv },
            [Some(self), Some(weight), bias],
            out_shape,
        ))
    }
}

/// The recorded op: its name (conv1d or conv2d) and geometry.
struct Convolution {
    op: &'static str,
    cv: Conv,
}

impl Fused for Convolution {
    type Saved<T: Scalar> = ();
    fn name(&self) -> &'static str {
        self.op
    }
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, ()) {
        (forward(&self.cv, &x[0], &x[1], x.get(2)), ())
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        _: &(),
        want: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let (dx, dw, db) = backward(&self.cv, g, &x[0], &x[1], (want[0], want[1], want[2]));
        vec![dx, dw, db]
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// conv2d over stride, padding, dilation, groups, non-square kernels, odd
    /// sizes, the 1×1 shortcut, unbatched input, and with only the input or
    /// only the weight differentiated.
    pub(crate) fn conv_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        type Case = (
            &'static str,
            &'static [usize],
            &'static [usize],
            bool,
            (usize, usize),
            (usize, usize),
            (usize, usize),
            usize,
        );
        // (detail, input, weight, bias, stride, padding, dilation, groups)
        let cases: [Case; 8] = [
            (
                "3x3, bias",
                &[2, 3, 5, 5],
                &[4, 3, 3, 3],
                true,
                (1, 1),
                (0, 0),
                (1, 1),
                1,
            ),
            (
                "2x3 kernel, stride (2,1), padding (1,2)",
                &[2, 2, 5, 6],
                &[3, 2, 2, 3],
                true,
                (2, 1),
                (1, 2),
                (1, 1),
                1,
            ),
            (
                "dilation (2,1), padding 1, no bias",
                &[1, 2, 7, 5],
                &[2, 2, 3, 2],
                false,
                (1, 1),
                (1, 1),
                (2, 1),
                1,
            ),
            (
                "groups=2, stride 2, padding 1",
                &[3, 4, 5, 4],
                &[6, 2, 3, 3],
                true,
                (2, 2),
                (1, 1),
                (1, 1),
                2,
            ),
            (
                "depthwise groups=3, stride (1,2), dilation (1,2)",
                &[1, 3, 4, 7],
                &[3, 1, 2, 2],
                false,
                (1, 2),
                (0, 1),
                (1, 2),
                3,
            ),
            (
                "1x1 kernel",
                &[2, 3, 3, 4],
                &[5, 3, 1, 1],
                true,
                (1, 1),
                (0, 0),
                (1, 1),
                1,
            ),
            (
                "1x1 kernel, stride 2, padding 1",
                &[1, 2, 3, 4],
                &[2, 2, 1, 1],
                true,
                (2, 2),
                (1, 1),
                (1, 1),
                1,
            ),
            (
                "unbatched (C,H,W), padding 1",
                &[2, 5, 5],
                &[3, 2, 3, 3],
                true,
                (1, 1),
                (1, 1),
                (1, 1),
                1,
            ),
        ];
        for (detail, xs, ws, bias, stride, padding, dilation, groups) in cases {
            let mut inputs = vec![g.randn(xs), g.randn(ws)];
            if bias {
                inputs.push(g.randn(&[ws[0]]));
            }
            out.push(OpCheck::new("conv2d", detail, inputs, move |t| {
                t[0].conv2d(&t[1], t.get(2), stride, padding, dilation, groups)
            }));
        }
        let w = g.randn(&[3, 2, 3, 3]);
        out.push(OpCheck::new(
            "conv2d",
            "constant weight (3,2,3,3), stride 2, padding 1",
            vec![g.randn(&[2, 2, 5, 5])],
            move |t| t[0].conv2d(&w, None, (2, 2), (1, 1), (1, 1), 1),
        ));
        let x = g.randn(&[2, 2, 5, 5]);
        out.push(OpCheck::new(
            "conv2d",
            "constant input (2,2,5,5), padding 1",
            vec![g.randn(&[3, 2, 3, 3]), g.randn(&[3])],
            move |t| x.conv2d(&t[0], Some(&t[1]), (1, 1), (1, 1), (1, 1), 1),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixel `(y, x)` of channel `ch` of image `img` of `x` (`n × c × h × wd`)
    /// seen through `pad` zeros on every side: the pixel at `(y − pad, x − pad)`,
    /// or 0 in the padding.
    fn padded_pixel(
        x: &[f64],
        (c, h, wd): (usize, usize, usize),
        (img, ch): (usize, usize),
        (y, xo): (usize, usize),
        pad: usize,
    ) -> f64 {
        let (iy, ix) = (y as isize - pad as isize, xo as isize - pad as isize);
        if (0..h as isize).contains(&iy) && (0..wd as isize).contains(&ix) {
            x[((img * c + ch) * h + iy as usize) * wd + ix as usize]
        } else {
            0.0
        }
    }

    /// conv2d by its definition, in f64: `(batch, out, oh, ow)`.
    #[allow(clippy::too_many_arguments)]
    fn by_definition(
        x: &[f64],
        w: &[f64],
        b: Option<&[f64]>,
        (n, c, h, wd): (usize, usize, usize, usize),
        (o, kh, kw): (usize, usize, usize),
        pad: usize,
        (oh, ow): (usize, usize),
    ) -> Vec<f64> {
        let mut out = vec![0.0; n * o * oh * ow];
        for (i, v) in out.iter_mut().enumerate() {
            let (img, oc, y, xo) = (i / (o * oh * ow), i / (oh * ow) % o, i / ow % oh, i % ow);
            let mut acc = b.map_or(0.0, |b| b[oc]);
            for ci in 0..c {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let xv = padded_pixel(x, (c, h, wd), (img, ci), (y + ky, xo + kx), pad);
                        acc += xv * w[((oc * c + ci) * kh + ky) * kw + kx];
                    }
                }
            }
            *v = acc;
        }
        out
    }

    /// A forward large enough to go by blocks of output rows (with a short
    /// last block: 37 rows in blocks of 6) equals the definition, with and
    /// without bias, in f64 and through the f32 kernel.
    #[test]
    fn blocked_forward_matches_the_definition() {
        let (xs, ws) = ([2usize, 16, 37, 37], [5usize, 16, 3, 3]);
        let cv = Conv::new("conv2d", &xs, &ws, Some(&[5]), (1, 1), (1, 1), (1, 1), 1).unwrap();
        assert_eq!(cv.out_row_block(), Some(6));
        let values = |len: usize, seed: usize| -> Vec<f64> {
            (0..len)
                .map(|i| ((i * 7919 + seed * 104_729) % 61) as f64 / 30.0 - 1.0)
                .collect()
        };
        let (x, w, b) = (
            values(xs.iter().product(), 1),
            values(ws.iter().product(), 2),
            values(5, 3),
        );
        // The largest absolute difference from the definition.
        fn worst<T: Element>(got: &[T], want: &[f64]) -> f64 {
            assert_eq!(got.len(), want.len());
            got.iter()
                .zip(want)
                .map(|(g, w)| (g.as_f64() - w).abs())
                .fold(0.0, f64::max)
        }
        for bias in [Some(&b[..]), None] {
            let want = by_definition(&x, &w, bias, (2, 16, 37, 37), (5, 3, 3), 1, (37, 37));
            let err = worst(&forward(&cv, &x, &w, bias), &want);
            assert!(err < 1e-12, "f64: worst error {err}");
            let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
            let b32 = bias.map(f32s);
            let err = worst(&forward(&cv, &f32s(&x), &f32s(&w), b32.as_deref()), &want);
            // 144-term sums of values in [-1, 1] rounded to f32.
            assert!(err < 1e-4, "f32: worst error {err}");
        }
    }

    /// The weight gradient, accumulated by blocks of output rows (23 rows
    /// in blocks of 11, 11 and 1; a 1×1 kernel's 20 in blocks of 12 and 8,
    /// read from the image in place), equals its definition
    /// `dW[o, c, i, j] = Σ_{n, y, x} g[n, o, y, x] · x[n, c, y + i − p, x + j − p]`,
    /// with groups, in f64 and through the f32 kernel.
    #[test]
    fn blocked_weight_gradient_matches_the_definition() {
        // (input, weight, padding, groups, rows per block)
        for (xs, ws, pad, groups, rows) in [
            (
                [2usize, 4, 23, 23],
                [6usize, 2, 3, 3],
                1usize,
                2usize,
                11usize,
            ),
            ([2, 3, 20, 20], [4, 3, 1, 1], 0, 1, 12),
        ] {
            let cv =
                Conv::new("conv2d", &xs, &ws, None, (1, 1), (pad, pad), (1, 1), groups).unwrap();
            let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
            let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
            let (oh, ow) = cv.win.out;
            assert_eq!(DW_BLOCK_COLUMNS / ow, rows);
            let values = |len: usize, seed: usize| -> Vec<f64> {
                (0..len)
                    .map(|i| ((i * 7919 + seed * 104_729) % 61) as f64 / 30.0 - 1.0)
                    .collect()
            };
            let (x, w, g) = (
                values(n * c * h * wd, 1),
                values(o * cg * kh * kw, 2),
                values(n * o * oh * ow, 3),
            );
            let mut want = vec![0.0; w.len()];
            for (idx, d) in want.iter_mut().enumerate() {
                let (oc, ci, ky, kx) = (
                    idx / (cg * kh * kw),
                    idx / (kh * kw) % cg,
                    idx / kw % kh,
                    idx % kw,
                );
                let channel = oc / (o / groups) * cg + ci;
                for img in 0..n {
                    for y in 0..oh {
                        for xo in 0..ow {
                            let at = (y + ky, xo + kx);
                            let xv = padded_pixel(&x, (c, h, wd), (img, channel), at, pad);
                            *d += g[((img * o + oc) * oh + y) * ow + xo] * xv;
                        }
                    }
                }
            }
            let worst = |got: Vec<f64>| {
                got.iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max)
            };
            let (_, dw, _) = backward(&cv, &g, &x, &w, (false, true, false));
            let err = worst(dw.expect("dw wanted"));
            assert!(err < 1e-10, "f64: worst error {err}");
            let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
            let (_, dw, _) = backward(&cv, &f32s(&g), &f32s(&x), &f32s(&w), (false, true, false));
            let err = worst(dw.expect("dw wanted").iter().map(|&v| v as f64).collect());
            // Sums of up to 1,058 products of values in [-1, 1] rounded to f32.
            assert!(err < 1e-3, "f32: worst error {err}");
        }
    }
}
