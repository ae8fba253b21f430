//! Ops that move elements to new places: flip, roll, repeat, tril/triu and
//! pixel_shuffle. None computes a new value, so each is built from the
//! engine's picking and reshaping primitives and gets its backward from
//! them: `take_along` (index_select's gather, whose backward adds each
//! gradient back where it was read), `expand` (whose backward sums the
//! copies), `permute`, `reshape`, and `where` (whose backward passes the
//! gradient where the mask is set and 0 elsewhere).

use crate::tensor::shape::{ensure_allocatable, normalize_dim, normalize_dims};
use crate::tensor::Tensor;
use crate::{Error, Result};

impl Tensor {
    /// Reverses the order of the elements along each of `dims`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// assert_eq!(t.flip(&[-1]).unwrap().to_vec::<f32>(), vec![2.0, 1.0, 4.0, 3.0]);
    /// assert!(t.flip(&[0, -2]).is_err()); // the same dim twice
    /// ```
    pub fn flip(&self, dims: &[isize]) -> Result<Tensor> {
        let dims = normalize_dims("flip", Some(dims), self.ndim())?;
        Ok(dims.into_iter().fold(self.clone(), |y, d| {
            let n = y.shape()[d];
            y.take_along(d, (0..n).rev().collect())
        }))
    }

    /// Shifts the elements along each of `dims` by the matching entry of
    /// `shifts`, wrapping around (a positive shift moves towards the end).
    /// With no dims, the flattened tensor is rolled by the single shift.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]).unwrap();
    /// assert_eq!(t.roll(&[1], &[1]).unwrap().to_vec::<f32>(), vec![3.0, 1.0, 2.0, 6.0, 4.0, 5.0]);
    /// assert_eq!(t.roll(&[-1], &[]).unwrap().to_vec::<f32>(), vec![2.0, 3.0, 4.0, 5.0, 6.0, 1.0]);
    /// assert!(t.roll(&[1, 2], &[0]).is_err());
    /// ```
    pub fn roll(&self, shifts: &[isize], dims: &[isize]) -> Result<Tensor> {
        if dims.is_empty() && shifts.len() == 1 {
            let flat = self.reshape_unchecked(vec![self.numel()]);
            return Ok(flat
                .roll(shifts, &[0])?
                .reshape_unchecked(self.shape().to_vec()));
        }
        if shifts.len() != dims.len() {
            return Err(Error::argument(
                "roll",
                format!(
                    "shifts and dimensions must align. shifts: {}, dims: {} (shape {:?})",
                    shifts.len(),
                    dims.len(),
                    self.shape()
                ),
            ));
        }
        let mut y = self.at_least_1d();
        for (&s, &d) in shifts.iter().zip(dims) {
            let d = normalize_dim("roll", d, self.ndim())?;
            let n = y.shape()[d] as isize;
            if n > 0 {
                y = y.take_along(d, (0..n).map(|j| (j - s).rem_euclid(n) as usize).collect());
            }
        }
        Ok(y.reshape_unchecked(self.shape().to_vec()))
    }

    /// Tiles the tensor `sizes[i]` times along dim `i`; `sizes` may have
    /// more dims than the tensor (leading ones are added), not fewer.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([1.0f32, 2.0]).unwrap();
    /// let r = t.repeat(&[2, 2]).unwrap();
    /// assert_eq!(r.shape(), &[2, 4]);
    /// assert_eq!(r.to_vec::<f32>(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// assert!(micrograd_plus::Tensor::zeros(&[2, 2]).repeat(&[2]).is_err());
    /// ```
    pub fn repeat(&self, sizes: &[usize]) -> Result<Tensor> {
        let nd = self.ndim();
        if sizes.len() < nd {
            return Err(Error::argument(
                "repeat",
                format!(
                    "Number of dimensions of repeat dims ({sizes:?}) can not be smaller than number of dimensions of tensor (shape {:?})",
                    self.shape()
                ),
            ));
        }
        // [s0, s1] tiled [r0, r1]: view as [1, s0, 1, s1], expand to
        // [r0, s0, r1, s1], merge pairs into [r0·s0, r1·s1].
        let own = std::iter::repeat_n(1, sizes.len() - nd).chain(self.shape().iter().copied());
        let (mut pairs, mut expanded, mut merged) = (Vec::new(), Vec::new(), Vec::new());
        for (&r, s) in sizes.iter().zip(own) {
            pairs.extend([1, s]);
            expanded.extend([r as isize, s as isize]);
            merged.push(r.checked_mul(s).ok_or_else(|| {
                Error::shape(
                    "repeat",
                    format!("repeating {:?} by {sizes:?} overflows", self.shape()),
                )
            })?);
        }
        ensure_allocatable("repeat", &merged)?;
        Ok(self
            .reshape_unchecked(pairs)
            .expand(&expanded)?
            .reshape_unchecked(merged))
    }

    /// The lower triangle of the last two dims: elements with
    /// `col − row <= diagonal` are kept, the rest become 0.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[2, 3]);
    /// assert_eq!(t.tril(0).unwrap().to_vec::<f32>(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    /// assert!(micrograd_plus::Tensor::ones(&[3]).tril(0).is_err());
    /// ```
    pub fn tril(&self, diagonal: isize) -> Result<Tensor> {
        self.triangle("tril", |row, col| col - row <= diagonal)
    }

    /// The upper triangle of the last two dims: elements with
    /// `col − row >= diagonal` are kept, the rest become 0.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[2, 3]);
    /// assert_eq!(t.triu(1).unwrap().to_vec::<f32>(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn triu(&self, diagonal: isize) -> Result<Tensor> {
        self.triangle("triu", |row, col| col - row >= diagonal)
    }

    /// `where(keep(row, col), self, 0)` over the last two dims.
    fn triangle(&self, op: &'static str, keep: impl Fn(isize, isize) -> bool) -> Result<Tensor> {
        let nd = self.ndim();
        if nd < 2 {
            return Err(Error::shape(
                op,
                format!(
                    "input tensor must have at least 2 dimensions, got shape {:?}",
                    self.shape()
                ),
            ));
        }
        let (rows, cols) = (self.shape()[nd - 2], self.shape()[nd - 1]);
        let mask: Vec<f32> = (0..rows * cols)
            .map(|i| f32::from(u8::from(keep((i / cols) as isize, (i % cols) as isize))))
            .collect();
        let mask = Tensor::from_vec(mask, &[rows, cols])?;
        Tensor::where_(&mask, self, &Tensor::full_dtype(&[], 0.0, self.dtype()))
    }

    /// Rearranges `(*, C·r², H, W)` into `(*, C, H·r, W·r)`: each group of
    /// r² channels becomes an r×r block of pixels (sub-pixel convolution).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::arange(0.0, 4.0, 1.0).reshape(&[1, 4, 1, 1]).unwrap();
    /// let y = t.pixel_shuffle(2).unwrap();
    /// assert_eq!(y.shape(), &[1, 1, 2, 2]);
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 1.0, 2.0, 3.0]);
    /// assert!(t.pixel_shuffle(3).is_err());
    /// ```
    pub fn pixel_shuffle(&self, upscale_factor: usize) -> Result<Tensor> {
        let op = "pixel_shuffle";
        let shape = self.shape();
        let nd = shape.len();
        let r = upscale_factor;
        if nd < 3 {
            return Err(Error::shape(
                op,
                format!("expects input to have at least 3 dimensions, but got input with shape {shape:?}"),
            ));
        }
        if r == 0 {
            return Err(Error::argument(
                op,
                "expects a positive upscale_factor, but got 0",
            ));
        }
        let (c, h, w) = (shape[nd - 3], shape[nd - 2], shape[nd - 1]);
        let rr = r.checked_mul(r).filter(|rr| c % rr == 0).ok_or_else(|| {
            Error::shape(
                op,
                format!("expects its input's 'channel' dimension to be divisible by the square of upscale_factor ({r}), but input has shape {shape:?}"),
            )
        })?;
        let batch = &shape[..nd - 3];
        let too_big = || Error::shape(op, format!("upscaling {shape:?} by {r} overflows"));
        let (hr, wr) = (
            h.checked_mul(r).ok_or_else(too_big)?,
            w.checked_mul(r).ok_or_else(too_big)?,
        );
        let split: Vec<usize> = batch.iter().copied().chain([c / rr, r, r, h, w]).collect();
        let b = batch.len() as isize;
        let perm: Vec<isize> = (0..b).chain([b, b + 3, b + 1, b + 4, b + 2]).collect();
        let merged: Vec<usize> = batch.iter().copied().chain([c / rr, hr, wr]).collect();
        Ok(self
            .reshape_unchecked(split)
            .permute(&perm)?
            .reshape_unchecked(merged))
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// flip, roll, repeat and tril/triu: each output element is an input
    /// element, so any values do.
    pub(crate) fn rearrange_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[2, 3, 4];
        out.push(OpCheck::new("flip", "dims=[0, 2]", vec![g.randn(s)], |t| {
            t[0].flip(&[0, 2])
        }));
        out.push(OpCheck::new(
            "roll",
            "shifts=[1, -2], dims=[0, 2]",
            vec![g.randn(s)],
            |t| t[0].roll(&[1, -2], &[0, 2]),
        ));
        out.push(OpCheck::new(
            "roll",
            "flattened, shift 5",
            vec![g.randn(s)],
            |t| t[0].roll(&[5], &[]),
        ));
        out.push(OpCheck::new(
            "repeat",
            "[2, 1, 3, 1]",
            vec![g.randn(s)],
            |t| t[0].repeat(&[2, 1, 3, 1]),
        ));
        for k in [0, -1, 2] {
            out.push(OpCheck::new(
                "tril",
                format!("diagonal={k}"),
                vec![g.randn(s)],
                move |t| t[0].tril(k),
            ));
            out.push(OpCheck::new(
                "triu",
                format!("diagonal={k}"),
                vec![g.randn(s)],
                move |t| t[0].triu(k),
            ));
        }
    }

    /// pixel_shuffle (any values; it runs after outer and bmm in the
    /// catalogue, whose seeds run on).
    pub(crate) fn pixel_shuffle_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        out.push(OpCheck::new(
            "pixel_shuffle",
            "r=2",
            vec![g.randn(&[2, 8, 2, 3])],
            |t| t[0].pixel_shuffle(2),
        ));
    }
}
