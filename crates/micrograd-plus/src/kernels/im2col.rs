//! im2col and col2im: the data movement that turns a 2-D convolution into a
//! matrix product.
//!
//! For one image of `C` channels, a kernel of `kh × kw` taps and an output of
//! `oh × ow` positions, the column matrix has one row per (channel, tap) and
//! one column per output position: `col[(c·kh + i)·kw + j][y·ow + x]` is the
//! input pixel that tap (i, j) of channel c sees at output position (y, x),
//! or 0 where the tap falls into the padding. A convolution is then
//! `weight (O × C·kh·kw) · col (C·kh·kw × oh·ow)`, and the gradient of the
//! input is that product transposed, scattered back by [`col2im`] (which adds
//! up the several column entries that came from one pixel).

/// The geometry of one convolution window sweep over a single image.
///
/// ```
/// use micrograd_plus::kernels::im2col::Window;
/// let w = Window { channels: 1, height: 4, width: 4, kernel: (3, 3), stride: (1, 1),
///                  padding: (1, 1), dilation: (1, 1), out: (4, 4) };
/// assert_eq!(w.col_rows(), 9);
/// assert_eq!(w.col_cols(), 16);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Input channels of the image (of one group, for grouped convolutions).
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Kernel taps `(kh, kw)`.
    pub kernel: (usize, usize),
    /// Step between output positions `(sh, sw)`.
    pub stride: (usize, usize),
    /// Zeros added on each side `(ph, pw)`.
    pub padding: (usize, usize),
    /// Spacing between taps `(dh, dw)`.
    pub dilation: (usize, usize),
    /// Output size `(oh, ow)`, consistent with the above.
    pub out: (usize, usize),
}

impl Window {
    /// Rows of the column matrix: `channels · kh · kw`.
    ///
    /// ```
    /// # use micrograd_plus::kernels::im2col::Window;
    /// let w = Window { channels: 2, height: 3, width: 3, kernel: (2, 1), stride: (1, 1),
    ///                  padding: (0, 0), dilation: (1, 1), out: (2, 3) };
    /// assert_eq!(w.col_rows(), 4);
    /// ```
    pub fn col_rows(&self) -> usize {
        self.channels * self.kernel.0 * self.kernel.1
    }

    /// Columns of the column matrix: `oh · ow`.
    ///
    /// ```
    /// # use micrograd_plus::kernels::im2col::Window;
    /// let w = Window { channels: 2, height: 3, width: 3, kernel: (2, 1), stride: (1, 1),
    ///                  padding: (0, 0), dilation: (1, 1), out: (2, 3) };
    /// assert_eq!(w.col_cols(), 6);
    /// ```
    pub fn col_cols(&self) -> usize {
        self.out.0 * self.out.1
    }

    /// True when the column matrix is the image itself (a 1×1 kernel, stride
    /// 1, no padding): callers can then skip im2col and col2im.
    ///
    /// ```
    /// # use micrograd_plus::kernels::im2col::Window;
    /// let w = Window { channels: 8, height: 5, width: 5, kernel: (1, 1), stride: (1, 1),
    ///                  padding: (0, 0), dilation: (1, 1), out: (5, 5) };
    /// assert!(w.is_identity());
    /// ```
    pub fn is_identity(&self) -> bool {
        self.kernel == (1, 1) && self.stride == (1, 1) && self.padding == (0, 0)
    }

    /// For tap offset `k` (already multiplied by the dilation) along an axis
    /// of `len` inputs with stride `s` and padding `p`, the range of output
    /// positions whose input `o·s + k − p` lies inside `0..len`.
    fn valid(out: usize, len: usize, s: usize, p: usize, k: usize) -> (usize, usize) {
        // First o with o·s + k ≥ p, and first o with o·s + k ≥ len + p.
        let first = |bound: usize| {
            if k >= bound {
                0
            } else {
                (bound - k).div_ceil(s)
            }
        };
        let lo = first(p).min(out);
        let hi = first(len + p).min(out);
        (lo, hi.max(lo))
    }
}

/// Images copied, one at a time, into a border of zeros as wide as a
/// window's padding, so that im2col reads them through the same window
/// without padding ([`PaddedImage::window`]).
///
/// With padding, every row of the column matrix whose taps reach the border
/// is zero-filled and then overwritten run by run; over the padded image
/// each row is only copied, in whole runs. The border is zeroed once, when
/// the buffer is made, and [`PaddedImage::load`] writes only the interior,
/// so one buffer serves image after image. (On CIFAR-10's 32→32-channel
/// layer, one core, AVX2: the forward 36-38 → 32-33 ms a batch of 128.)
///
/// ```
/// use micrograd_plus::kernels::im2col::{im2col, PaddedImage, Window};
/// let w = Window { channels: 1, height: 2, width: 2, kernel: (3, 3), stride: (1, 1),
///                  padding: (1, 1), dilation: (1, 1), out: (2, 2) };
/// let x = [1.0f32, 2.0, 3.0, 4.0];
/// let mut padded = PaddedImage::new(&w);
/// assert_eq!(padded.load(&x), [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0,
///                              0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
/// // The same columns either way.
/// let (mut direct, mut via_padded) = ([9.0f32; 36], [9.0f32; 36]);
/// im2col(&x, &w, &mut direct);
/// let window = *padded.window();
/// im2col(padded.load(&x), &window, &mut via_padded);
/// assert_eq!(direct, via_padded);
/// ```
#[derive(Debug, Clone)]
pub struct PaddedImage<T> {
    /// `channels × (height + 2·ph) × (width + 2·pw)`, zero outside the interior.
    buf: Vec<T>,
    /// The window over the padded image: the same kernel, stride, dilation
    /// and output, no padding.
    padded: Window,
    /// The window over the images loaded.
    original: Window,
}

impl<T: Copy + Default> PaddedImage<T> {
    /// A zeroed buffer for the images `w` sweeps.
    pub fn new(w: &Window) -> Self {
        let padded = Window {
            height: w.height + 2 * w.padding.0,
            width: w.width + 2 * w.padding.1,
            padding: (0, 0),
            ..*w
        };
        let len = padded.channels * padded.height * padded.width;
        PaddedImage {
            buf: vec![T::default(); len],
            padded,
            original: *w,
        }
    }

    /// The window to read [`PaddedImage::load`]'s result through.
    pub fn window(&self) -> &Window {
        &self.padded
    }

    /// Copies image `x` (`channels × height × width`) into the interior and
    /// returns the padded image.
    ///
    /// # Panics
    /// If `x` is shorter than an image.
    pub fn load(&mut self, x: &[T]) -> &[T] {
        let (w, p) = (&self.original, &self.padded);
        let (ph, pw) = w.padding;
        let (plane, padded_plane) = (w.height * w.width, p.height * p.width);
        assert!(x.len() >= w.channels * plane, "im2col: image too short");
        // (`max(1)`: an empty image has no rows to copy.)
        for (c, dst) in self.buf.chunks_exact_mut(padded_plane.max(1)).enumerate() {
            let src = &x[c * plane..][..plane];
            for (y, row) in src.chunks_exact(w.width.max(1)).enumerate() {
                copy_run(&mut dst[(y + ph) * p.width + pw..][..w.width], row);
            }
        }
        &self.buf
    }
}

/// Fills `col` (`w.col_rows() × w.col_cols()`, row-major) from one image
/// `x` (`channels × height × width`, row-major). Every entry is written.
///
/// # Panics
/// If `x` or `col` is too short for the geometry.
///
/// ```
/// use micrograd_plus::kernels::im2col::{im2col, Window};
/// // 1 channel, 2×3 image, 2×2 kernel, no padding → 4 rows × 2 positions.
/// let w = Window { channels: 1, height: 2, width: 3, kernel: (2, 2), stride: (1, 1),
///                  padding: (0, 0), dilation: (1, 1), out: (1, 2) };
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut col = [0.0f32; 8];
/// im2col(&x, &w, &mut col);
/// assert_eq!(col, [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0]);
/// ```
pub fn im2col<T: Copy + Default>(x: &[T], w: &Window, col: &mut [T]) {
    im2col_out_rows(x, w, 0..w.out.0, col)
}

/// [`im2col`] for the output rows `out_rows` only: `col` is then
/// `w.col_rows() × (out_rows.len() · ow)`, the columns of those output
/// positions (a convolution computed a block of output rows at a time).
///
/// # Panics
/// If `x` or `col` is too short, or `out_rows` is not inside `0..oh`.
///
/// ```
/// use micrograd_plus::kernels::im2col::{im2col, im2col_out_rows, Window};
/// let w = Window { channels: 1, height: 3, width: 3, kernel: (2, 2), stride: (1, 1),
///                  padding: (0, 0), dilation: (1, 1), out: (2, 2) };
/// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let (mut whole, mut second) = ([0.0f32; 16], [0.0f32; 8]);
/// im2col(&x, &w, &mut whole);
/// im2col_out_rows(&x, &w, 1..2, &mut second);
/// // Row r of `second` is the second half of row r of `whole`.
/// for r in 0..4 {
///     assert_eq!(second[2 * r..2 * r + 2], whole[4 * r + 2..4 * r + 4]);
/// }
/// ```
pub fn im2col_out_rows<T: Copy + Default>(
    x: &[T],
    w: &Window,
    out_rows: std::ops::Range<usize>,
    col: &mut [T],
) {
    super::simd::wide(
        #[inline(always)]
        || im2col_rows(x, w, out_rows, col),
    )
}

/// The loops of [`im2col_out_rows`], inlined into its AVX-512 copy.
#[inline(always)]
fn im2col_rows<T: Copy + Default>(
    x: &[T],
    w: &Window,
    out_rows: std::ops::Range<usize>,
    col: &mut [T],
) {
    let (oh, ow) = w.out;
    let (kh, kw) = w.kernel;
    let (sh, sw) = w.stride;
    let (ph, pw) = w.padding;
    let (dh, dw) = w.dilation;
    let plane = w.height * w.width;
    assert!(
        out_rows.start <= out_rows.end && out_rows.end <= oh,
        "im2col: output rows {out_rows:?} outside 0..{oh}"
    );
    let (y0, y1) = (out_rows.start, out_rows.end);
    let cols = (y1 - y0) * ow;
    assert!(x.len() >= w.channels * plane, "im2col: image too short");
    assert!(col.len() >= w.col_rows() * cols, "im2col: col too short");
    let zero = T::default();
    for c in 0..w.channels {
        let img = &x[c * plane..][..plane];
        for i in 0..kh {
            let (ylo, yhi) = Window::valid(oh, w.height, sh, ph, i * dh);
            // This block's share of them.
            let (ylo, yhi) = (ylo.clamp(y0, y1), yhi.clamp(y0, y1));
            for j in 0..kw {
                let (xlo, xhi) = Window::valid(ow, w.width, sw, pw, j * dw);
                let row = &mut col[((c * kh + i) * kw + j) * cols..][..cols];
                // Positions that read padding are 0: one fill of the whole
                // row when there are any (rows are short, so per-run fills
                // would be a library call for every one or two elements).
                if ylo > y0 || yhi < y1 || xlo > 0 || xhi < ow {
                    row.fill(zero);
                }
                if xlo == xhi {
                    continue;
                }
                // Input column of output x: x·sw + j·dw − pw.
                let x0 = xlo * sw + j * dw - pw;
                for y in ylo..yhi {
                    let iy = y * sh + i * dh - ph;
                    let src = &img[iy * w.width..][..w.width];
                    let dst = &mut row[(y - y0) * ow..][xlo..xhi];
                    if sw == 1 {
                        copy_run(dst, &src[x0..]);
                    } else {
                        for (d, s) in dst.iter_mut().zip(src[x0..].iter().step_by(sw)) {
                            *d = *s;
                        }
                    }
                }
            }
        }
    }
}

/// `dst.copy_from_slice(&src[..dst.len()])` for the short runs of im2col
/// (an image row: 32 values on CIFAR-10, 11 on MNIST's second layer):
/// fixed-size pieces compile to inline vector moves, where a `memcpy` call
/// per run cost more than the copy. A run of at least 8 goes in pieces of
/// 8, the last one overlapping the one before it, and one of 4 to 7 in two
/// overlapping pieces of 4, so no value is left to a scalar loop. (Im2col
/// of one image, AVX2: MNIST's second layer, runs of 11, 6.5-6.6 →
/// 4.3-4.7 µs; CIFAR-10's 32-channel layer, runs of 32, 51-52 → 41-44.)
#[inline(always)]
fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    let src = &src[..n];
    match n {
        8.. => {
            let mut at = 0;
            while at + 8 < n {
                copy_piece::<T, 8>(dst, src, at);
                at += 8;
            }
            copy_piece::<T, 8>(dst, src, n - 8);
        }
        4.. => {
            copy_piece::<T, 4>(dst, src, 0);
            copy_piece::<T, 4>(dst, src, n - 4);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Copies `src[at..at + N]` to `dst[at..at + N]`, `N` known at compile time.
#[inline(always)]
fn copy_piece<T: Copy, const N: usize>(dst: &mut [T], src: &[T], at: usize) {
    let piece: &[T; N] = src[at..at + N].try_into().expect("a piece of N");
    dst[at..at + N].copy_from_slice(piece);
}

/// The adjoint of [`im2col`]: adds every entry of `col` into the image pixel
/// it was read from (`x += col2im(col)`); entries that came from padding are
/// dropped.
///
/// # Panics
/// If `x` or `col` is too short for the geometry.
///
/// ```
/// use micrograd_plus::kernels::im2col::{col2im, Window};
/// let w = Window { channels: 1, height: 2, width: 3, kernel: (2, 2), stride: (1, 1),
///                  padding: (0, 0), dilation: (1, 1), out: (1, 2) };
/// let col = [1.0f32; 8];
/// let mut x = [0.0f32; 6];
/// col2im(&col, &w, &mut x);
/// // Middle pixels are seen by both output positions.
/// assert_eq!(x, [1.0, 2.0, 1.0, 1.0, 2.0, 1.0]);
/// ```
pub fn col2im<T: Copy + std::ops::AddAssign>(col: &[T], w: &Window, x: &mut [T]) {
    super::simd::wide(
        #[inline(always)]
        || col2im_rows(col, w, x),
    )
}

/// The loops of [`col2im`], inlined into its AVX-512 copy (the row adds
/// vectorise).
#[inline(always)]
fn col2im_rows<T: Copy + std::ops::AddAssign>(col: &[T], w: &Window, x: &mut [T]) {
    let (oh, ow) = w.out;
    let (kh, kw) = w.kernel;
    let (sh, sw) = w.stride;
    let (ph, pw) = w.padding;
    let (dh, dw) = w.dilation;
    let plane = w.height * w.width;
    let cols = oh * ow;
    assert!(x.len() >= w.channels * plane, "col2im: image too short");
    assert!(col.len() >= w.col_rows() * cols, "col2im: col too short");
    for c in 0..w.channels {
        let img = &mut x[c * plane..][..plane];
        for i in 0..kh {
            let (ylo, yhi) = Window::valid(oh, w.height, sh, ph, i * dh);
            for j in 0..kw {
                let (xlo, xhi) = Window::valid(ow, w.width, sw, pw, j * dw);
                let row = &col[((c * kh + i) * kw + j) * cols..][..cols];
                if xlo == xhi {
                    continue;
                }
                for y in ylo..yhi {
                    let iy = y * sh + i * dh - ph;
                    let dst = &mut img[iy * w.width..][..w.width];
                    let src = &row[y * ow + xlo..y * ow + xhi];
                    let x0 = xlo * sw + j * dw - pw;
                    if sw == 1 {
                        for (d, s) in dst[x0..x0 + src.len()].iter_mut().zip(src) {
                            *d += *s;
                        }
                    } else {
                        for (d, s) in dst[x0..].iter_mut().step_by(sw).zip(src) {
                            *d += *s;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// im2col against the definition, entry by entry, over strides,
    /// paddings and dilations, whole and by blocks of output rows; and
    /// col2im as its exact adjoint:
    /// `<im2col(x), c> = <x, col2im(c)>` for integer-valued data.
    #[test]
    fn im2col_matches_definition_and_col2im_is_its_adjoint() {
        for (h, wd, k, s, p, d) in [
            (5, 4, (3, 2), (1, 1), (0, 0), (1, 1)),
            (5, 6, (3, 3), (2, 1), (1, 2), (1, 1)),
            (7, 5, (2, 3), (1, 2), (2, 1), (2, 1)),
            (4, 4, (1, 1), (3, 3), (1, 1), (1, 1)),
            (6, 7, (3, 2), (2, 3), (2, 2), (2, 3)),
            // Runs of 11 and 17: whole pieces of 8 and an overlapping last.
            (4, 13, (1, 3), (1, 1), (0, 0), (1, 1)),
            (3, 19, (2, 3), (1, 1), (1, 0), (1, 1)),
        ] {
            let eff = |n: usize, k: usize, s: usize, p: usize, d: usize| {
                (n + 2 * p - d * (k - 1) - 1) / s + 1
            };
            let w = Window {
                channels: 2,
                height: h,
                width: wd,
                kernel: k,
                stride: s,
                padding: p,
                dilation: d,
                out: (eff(h, k.0, s.0, p.0, d.0), eff(wd, k.1, s.1, p.1, d.1)),
            };
            let x: Vec<f64> = (0..2 * h * wd).map(|i| (i % 13) as f64 - 6.0).collect();
            let mut col = vec![f64::NAN; w.col_rows() * w.col_cols()];
            im2col(&x, &w, &mut col);
            for c in 0..2 {
                for i in 0..k.0 {
                    for j in 0..k.1 {
                        for y in 0..w.out.0 {
                            for xo in 0..w.out.1 {
                                let iy = (y * s.0 + i * d.0) as isize - p.0 as isize;
                                let ix = (xo * s.1 + j * d.1) as isize - p.1 as isize;
                                let inside =
                                    (0..h as isize).contains(&iy) && (0..wd as isize).contains(&ix);
                                let want = if inside {
                                    x[(c * h + iy as usize) * wd + ix as usize]
                                } else {
                                    0.0
                                };
                                let r = (c * k.0 + i) * k.1 + j;
                                assert_eq!(col[r * w.col_cols() + y * w.out.1 + xo], want);
                            }
                        }
                    }
                }
            }
            // Every block of output rows (NaN-filled scratch, so a missed
            // entry shows) is the matching columns of the whole matrix.
            let (oh, ow) = w.out;
            for y0 in 0..oh {
                for y1 in y0..=oh {
                    let n = (y1 - y0) * ow;
                    let mut block = vec![f64::NAN; w.col_rows() * n];
                    im2col_out_rows(&x, &w, y0..y1, &mut block);
                    for r in 0..w.col_rows() {
                        let whole = &col[r * oh * ow + y0 * ow..][..n];
                        assert_eq!(&block[r * n..][..n], whole, "{w:?} rows {y0}..{y1}");
                    }
                }
            }
            // Through a padded copy: the same matrix, for this image and
            // for a second one loaded into the same buffer (whose border
            // must still be zero).
            let mut padded = PaddedImage::new(&w);
            let window = *padded.window();
            assert_eq!(window.padding, (0, 0));
            let other: Vec<f64> = x.iter().map(|v| 10.0 - v).collect();
            let mut other_col = vec![f64::NAN; col.len()];
            im2col(&other, &w, &mut other_col);
            for (image, want) in [(&x, &col), (&other, &other_col), (&x, &col)] {
                let mut via = vec![f64::NAN; col.len()];
                im2col(padded.load(image), &window, &mut via);
                assert_eq!(&via, want, "{w:?} through a padded copy");
            }
            let c: Vec<f64> = (0..col.len()).map(|i| (i % 7) as f64 - 3.0).collect();
            let mut back = vec![0.0; x.len()];
            col2im(&c, &w, &mut back);
            let lhs: f64 = col.iter().zip(&c).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert_eq!(lhs, rhs, "{w:?}");
        }
    }
}
