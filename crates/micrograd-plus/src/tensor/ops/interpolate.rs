//! Resizing (`torch.nn.functional.interpolate`): nearest and (bi)linear,
//! to a given size or by a scale factor, over the last dim of `(N, C, L)`
//! or the last two of `(N, C, H, W)` input.
//!
//! Both modes are separable: along each resized axis, output position `o`
//! reads at most two input positions `i0, i1` with weights `λ0, λ1`
//! (nearest: one position, weight 1), and
//! `y[o_h, o_w] = Σ λ_h·λ_w · x[i_h, i_w]` over the two taps of each axis.
//! The backward rule is that sum read the other way: each upstream
//! gradient goes back to the (at most four) inputs it came from, times the
//! same weights.
//!
//! Where a tap reads from follows PyTorch exactly, with `scale = 1/factor`
//! when a scale factor is given and `in/out` otherwise; an axis whose size
//! does not change is copied as it is, whatever the factor (PyTorch skips
//! it):
//! - nearest: `i = min(floor(o·scale), in − 1)`, in f32 as PyTorch's CPU
//!   kernel computes it (and `i = o/2` for a doubled size);
//! - linear, `align_corners`: `src = o·(in − 1)/(out − 1)`;
//! - linear otherwise: `src = max((o + ½)·scale − ½, 0)`;
//!   then `i0 = floor(src)`, `i1 = min(i0 + 1, in − 1)`, `λ1 = src − i0`.

use crate::tensor::{with_slice, Element, Tensor};
use crate::{Error, Result};
use std::sync::Arc;

/// How [`Tensor::interpolate`] computes new samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterpolateMode {
    /// The nearest input sample to the left (PyTorch's `'nearest'`).
    Nearest,
    /// Linear along the length of `(N, C, L)` input (`'linear'`).
    Linear,
    /// Linear along height and width of `(N, C, H, W)` input (`'bilinear'`).
    Bilinear,
}

impl InterpolateMode {
    /// PyTorch's spelling of the mode.
    ///
    /// ```
    /// use micrograd_plus::tensor::ops::interpolate::InterpolateMode;
    /// assert_eq!(InterpolateMode::Bilinear.name(), "bilinear");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            InterpolateMode::Nearest => "nearest",
            InterpolateMode::Linear => "linear",
            InterpolateMode::Bilinear => "bilinear",
        }
    }
}

/// The taps along one resized axis: output `o` reads `idx[o]` with weight
/// `lambda[o]` (the two taps of a linear mode, one of a nearest).
#[derive(Debug, Clone)]
struct Taps {
    idx: Vec<[usize; 2]>,
    lambda: Vec<[f64; 2]>,
}

impl Taps {
    fn new(
        len: usize,
        out: usize,
        factor: Option<f64>,
        mode: InterpolateMode,
        align: bool,
    ) -> Taps {
        let mut t = Taps {
            idx: Vec::with_capacity(out),
            lambda: Vec::with_capacity(out),
        };
        if out == len {
            // PyTorch leaves an axis whose size does not change as it is,
            // whatever the scale factor says (it skips that axis).
            for o in 0..out {
                t.idx.push([o, o]);
                t.lambda.push([1.0, 0.0]);
            }
            return t;
        }
        if mode == InterpolateMode::Nearest {
            // PyTorch computes the scale and the source index in f32.
            let scale = factor.map_or(len as f32 / out as f32, |f| (1.0 / f) as f32);
            for o in 0..out {
                // PyTorch's shortcut for a doubled size comes first (it
                // differs from the formula for some scale factors).
                let i = if out == 2 * len {
                    o / 2
                } else {
                    ((o as f32 * scale).floor() as usize).min(len - 1)
                };
                t.idx.push([i, i]);
                t.lambda.push([1.0, 0.0]);
            }
            return t;
        }
        let scale = if align {
            if out > 1 {
                (len - 1) as f64 / (out - 1) as f64
            } else {
                0.0
            }
        } else {
            factor
                .filter(|&f| f > 0.0)
                .map_or(len as f64 / out as f64, |f| 1.0 / f)
        };
        for o in 0..out {
            let src = if align {
                o as f64 * scale
            } else {
                ((o as f64 + 0.5) * scale - 0.5).max(0.0)
            };
            let i0 = (src.floor() as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            let l1 = src - i0 as f64;
            t.idx.push([i0, i1]);
            t.lambda.push([1.0 - l1, l1]);
        }
        t
    }
}

/// The geometry of one resize: planes of `h × w` to `oh × ow`.
#[derive(Debug, Clone)]
struct Resize {
    /// Input planes (may be 0: an empty batch).
    planes: usize,
    h: usize,
    w: usize,
    rows: Taps,
    cols: Taps,
}

impl Resize {
    fn forward<T: Element>(&self, x: &[T]) -> Vec<T> {
        let (ih, oh, ow) = (self.h, self.rows.idx.len(), self.cols.idx.len());
        let mut y = vec![T::zero(); self.planes * oh * ow];
        for (plane, out) in x.chunks_exact(ih * self.w).zip(y.chunks_exact_mut(oh * ow)) {
            for (oy, row) in out.chunks_exact_mut(ow).enumerate() {
                let (ry, ly) = (self.rows.idx[oy], self.rows.lambda[oy]);
                for (ox, o) in row.iter_mut().enumerate() {
                    let (rx, lx) = (self.cols.idx[ox], self.cols.lambda[ox]);
                    let mut acc = T::zero();
                    for a in 0..2 {
                        for b in 0..2 {
                            let wgt = ly[a] * lx[b];
                            if wgt != 0.0 {
                                acc = acc + T::of(wgt) * plane[ry[a] * self.w + rx[b]];
                            }
                        }
                    }
                    *o = acc;
                }
            }
        }
        y
    }

    fn backward<T: Element>(&self, g: &[T], in_len: usize) -> Vec<T> {
        let (oh, ow) = (self.rows.idx.len(), self.cols.idx.len());
        let mut dx = vec![T::zero(); in_len];
        let ip = self.h * self.w;
        for (plane, gp) in dx.chunks_exact_mut(ip).zip(g.chunks_exact(oh * ow)) {
            for (oy, grow) in gp.chunks_exact(ow).enumerate() {
                let (ry, ly) = (self.rows.idx[oy], self.rows.lambda[oy]);
                for (ox, &gv) in grow.iter().enumerate() {
                    let (rx, lx) = (self.cols.idx[ox], self.cols.lambda[ox]);
                    for a in 0..2 {
                        for b in 0..2 {
                            let wgt = ly[a] * lx[b];
                            if wgt != 0.0 {
                                let d = &mut plane[ry[a] * self.w + rx[b]];
                                *d = *d + T::of(wgt) * gv;
                            }
                        }
                    }
                }
            }
        }
        dx
    }
}

impl Tensor {
    /// Resizes the last dim of `(N, C, L)` input (modes nearest, linear) or
    /// the last two of `(N, C, H, W)` input (nearest, bilinear), like
    /// `torch.nn.functional.interpolate`: give exactly one of `size` (the
    /// output sizes) and `scale_factor` (output size `floor(in · factor)`,
    /// and the factor, not the size ratio, places the samples); each has one
    /// value per resized dim, or one for all. `align_corners` (linear modes
    /// only; `None` is false) maps the corner samples onto each other.
    ///
    /// ```
    /// use micrograd_plus::{tensor::ops::interpolate::InterpolateMode, Tensor};
    /// let x = Tensor::new([[[1.0f32, 2.0, 4.0]]]).unwrap();
    /// let near = x.interpolate(None, Some(&[2.0]), InterpolateMode::Nearest, None).unwrap();
    /// assert_eq!(near.to_vec::<f32>(), vec![1.0, 1.0, 2.0, 2.0, 4.0, 4.0]);
    /// let lin = x.interpolate(Some(&[5]), None, InterpolateMode::Linear, Some(true)).unwrap();
    /// assert_eq!(lin.to_vec::<f32>(), vec![1.0, 1.5, 2.0, 3.0, 4.0]);
    /// assert!(x.interpolate(Some(&[5]), None, InterpolateMode::Bilinear, None).is_err());
    /// ```
    pub fn interpolate(
        &self,
        size: Option<&[usize]>,
        scale_factor: Option<&[f64]>,
        mode: InterpolateMode,
        align_corners: Option<bool>,
    ) -> Result<Tensor> {
        let op = "interpolate";
        let shape = self.shape().to_vec();
        let dims = match (shape.len(), mode) {
            (3, InterpolateMode::Nearest | InterpolateMode::Linear) => 1,
            (4, InterpolateMode::Nearest | InterpolateMode::Bilinear) => 2,
            (n, _) => {
                return Err(Error::shape(
                    op,
                    format!(
                        "got {n}-D input of shape {shape:?}, but mode '{}' needs {} input",
                        mode.name(),
                        match mode {
                            InterpolateMode::Nearest => "3-D or 4-D",
                            InterpolateMode::Linear => "3-D",
                            InterpolateMode::Bilinear => "4-D",
                        }
                    ),
                ))
            }
        };
        if mode == InterpolateMode::Nearest && align_corners.is_some() {
            return Err(Error::argument(
                op,
                "align_corners option can only be set with the interpolating modes: linear | bilinear",
            ));
        }
        let align = align_corners.unwrap_or(false);
        let spatial = &shape[shape.len() - dims..];
        // One value per resized dim, or one for all.
        let per_dim = |n: usize| n == 1 || n == dims;
        let (out, factors): (Vec<usize>, Vec<Option<f64>>) = match (size, scale_factor) {
            (Some(s), None) if per_dim(s.len()) => (
                (0..dims).map(|d| s[d.min(s.len() - 1)]).collect(),
                vec![None; dims],
            ),
            (None, Some(f)) if per_dim(f.len()) => {
                let f: Vec<f64> = (0..dims).map(|d| f[d.min(f.len() - 1)]).collect();
                if f.iter().any(|v| !v.is_finite() || *v <= 0.0) {
                    return Err(Error::argument(
                        op,
                        format!("scale_factor must be positive and finite, got {f:?}"),
                    ));
                }
                (
                    spatial.iter().zip(&f).map(|(&n, &f)| (n as f64 * f).floor() as usize).collect(),
                    f.into_iter().map(Some).collect(),
                )
            }
            (Some(_), Some(_)) => {
                return Err(Error::argument(op, "only one of size or scale_factor should be defined"))
            }
            (None, None) => {
                return Err(Error::argument(op, "either size or scale_factor should be defined"))
            }
            _ => {
                return Err(Error::argument(
                    op,
                    format!("size or scale_factor must have 1 or {dims} values for input of shape {shape:?}"),
                ))
            }
        };
        if spatial.contains(&0) || out.contains(&0) {
            return Err(Error::shape(
                op,
                format!("input and output sizes should be greater than 0, but got input of shape {shape:?} and output size {out:?}"),
            ));
        }
        let (h, w) = if dims == 2 {
            (spatial[0], spatial[1])
        } else {
            (1, spatial[0])
        };
        let (oh, ow) = if dims == 2 {
            (out[0], out[1])
        } else {
            (1, out[0])
        };
        let rows = if dims == 2 {
            Taps::new(h, oh, factors[0], mode, align)
        } else {
            Taps::new(1, 1, None, InterpolateMode::Nearest, false)
        };
        let cols = Taps::new(w, ow, factors[dims - 1], mode, align);
        let rs = Arc::new(Resize {
            planes: shape[..shape.len() - dims].iter().product(),
            h,
            w,
            rows,
            cols,
        });
        let mut out_shape = shape[..shape.len() - dims].to_vec();
        out_shape.extend(&out);
        let y = with_slice!(&*self.storage(), |xv: T| T::into_storage(rs.forward(xv)));
        let in_len = self.numel();
        Ok(Tensor::record(
            y,
            out_shape,
            op,
            vec![self.clone()],
            move |g, inputs, _| {
                let dx = with_slice!(&*g.storage(), |gv: T| T::into_storage(
                    rs.backward(gv, in_len)
                ));
                Ok(vec![Some(Tensor::from_storage(
                    dx,
                    inputs[0].shape().to_vec(),
                ))])
            },
        ))
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::InterpolateMode;
    use crate::gradcheck::case::prelude::*;

    /// interpolate in every mode, by size and by scale factor.
    pub(crate) fn interpolate_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        type ResizeCase = (
            &'static [usize],
            Option<&'static [usize]>,
            Option<&'static [f64]>,
            InterpolateMode,
            Option<bool>,
        );
        let cases: [ResizeCase; 6] = [
            (
                &[2, 2, 3, 4],
                Some(&[5, 7]),
                None,
                InterpolateMode::Nearest,
                None,
            ),
            (
                &[1, 2, 4, 3],
                None,
                Some(&[1.5, 2.0]),
                InterpolateMode::Bilinear,
                Some(false),
            ),
            (
                &[1, 1, 3, 5],
                Some(&[4, 2]),
                None,
                InterpolateMode::Bilinear,
                Some(true),
            ),
            (
                &[2, 2, 5],
                Some(&[8]),
                None,
                InterpolateMode::Linear,
                Some(false),
            ),
            (
                &[1, 3, 4],
                None,
                Some(&[2.5]),
                InterpolateMode::Linear,
                Some(true),
            ),
            (
                &[1, 2, 5],
                None,
                Some(&[0.5]),
                InterpolateMode::Nearest,
                None,
            ),
        ];
        for (shape, size, factor, mode, align) in cases {
            out.push(OpCheck::new(
                "interpolate",
                format!(
                    "{} size={size:?} scale_factor={factor:?} align_corners={align:?}",
                    mode.name()
                ),
                vec![g.randn(shape)],
                move |t| t[0].interpolate(size, factor, mode, align),
            ));
        }
    }
}
