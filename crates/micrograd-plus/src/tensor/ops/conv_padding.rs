//! PyTorch's string paddings for convolutions: `padding='valid'` (none)
//! and `padding='same'` (as much as keeps the output the input's size).
//!
//! For `'same'` along an axis with kernel `k` and dilation `d` the padding
//! needed in total is `d·(k − 1)`; half of it (rounded down) goes on each
//! side and an odd total puts the extra zero on the right (bottom), as
//! PyTorch does: the input is zero-padded by that one extra element first
//! (by [`Tensor::pad`], whose backward crops the gradient again), then
//! convolved with the symmetric half. Stride must be 1: with a stride the
//! output cannot keep the input's size.

use crate::tensor::Tensor;
use crate::{Error, Result};

/// A convolution's padding given by rule rather than by size, PyTorch's
/// `padding='same'` and `padding='valid'`.
///
/// ```
/// use micrograd_plus::{tensor::ops::conv_padding::ConvPadding, Tensor};
/// let x = Tensor::ones(&[1, 1, 5, 6]);
/// let w = Tensor::ones(&[1, 1, 2, 3]);
/// let same = x.conv2d_with_padding(&w, None, (1, 1), ConvPadding::Same, (1, 1), 1).unwrap();
/// assert_eq!(same.shape(), &[1, 1, 5, 6]);
/// let valid = x.conv2d_with_padding(&w, None, (1, 1), ConvPadding::Valid, (1, 1), 1).unwrap();
/// assert_eq!(valid.shape(), &[1, 1, 4, 4]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPadding {
    /// Pad so that the output has the input's spatial size (stride 1 only).
    Same,
    /// No padding.
    Valid,
}

impl ConvPadding {
    /// PyTorch's spelling: `"same"` or `"valid"`.
    ///
    /// ```
    /// use micrograd_plus::tensor::ops::conv_padding::ConvPadding;
    /// assert_eq!(ConvPadding::Same.name(), "same");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ConvPadding::Same => "same",
            ConvPadding::Valid => "valid",
        }
    }
}

/// The symmetric padding per axis that `rule` asks of `op`, with the input
/// already given any extra right/bottom zero an odd `'same'` total needs.
/// `x` is `(…, H, W)`; `kernel`, `stride` and `dilation` are `(along H,
/// along W)`.
pub(super) fn resolve(
    op: &'static str,
    x: &Tensor,
    rule: ConvPadding,
    kernel: (usize, usize),
    stride: (usize, usize),
    dilation: (usize, usize),
) -> Result<(Tensor, (usize, usize))> {
    if rule == ConvPadding::Valid {
        return Ok((x.clone(), (0, 0)));
    }
    if stride != (1, 1) {
        return Err(Error::argument(
            op,
            format!("padding='same' is not supported for strided convolutions (stride {stride:?})"),
        ));
    }
    let total = |k: usize, d: usize| d * k.saturating_sub(1);
    let (th, tw) = (total(kernel.0, dilation.0), total(kernel.1, dilation.1));
    let half = (th / 2, tw / 2);
    let extra = (th % 2, tw % 2);
    let x = if extra == (0, 0) {
        x.clone()
    } else {
        x.pad(&[0, extra.1, 0, extra.0], 0.0)?
    };
    Ok((x, half))
}

impl Tensor {
    /// [`Tensor::conv2d`] with its padding given by rule, like
    /// `F.conv2d(x, w, b, stride, padding='same' | 'valid', dilation,
    /// groups)`. `'same'` needs stride 1; an odd total padding puts the
    /// extra zero on the bottom and right, as PyTorch.
    ///
    /// ```
    /// use micrograd_plus::{tensor::ops::conv_padding::ConvPadding, Tensor};
    /// let x = Tensor::arange(0.0, 4.0, 1.0).reshape(&[1, 1, 1, 4]).unwrap();
    /// let w = Tensor::ones(&[1, 1, 1, 2]);
    /// // total padding 1: none on the left, one zero on the right
    /// let y = x.conv2d_with_padding(&w, None, (1, 1), ConvPadding::Same, (1, 1), 1).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, 3.0, 5.0, 3.0]);
    /// let err = x.conv2d_with_padding(&w, None, (2, 2), ConvPadding::Same, (1, 1), 1).unwrap_err();
    /// assert!(err.to_string().starts_with("conv2d: padding='same' is not supported for strided convolutions"));
    /// ```
    pub fn conv2d_with_padding(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: (usize, usize),
        padding: ConvPadding,
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Tensor> {
        let op = "conv2d";
        let w = weight.shape();
        if w.len() != 4 {
            // conv2d's own check reports it.
            return self.conv2d(weight, bias, stride, (0, 0), dilation, groups);
        }
        let (x, pad) = resolve(op, self, padding, (w[2], w[3]), stride, dilation)?;
        x.conv2d(weight, bias, stride, pad, dilation, groups)
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::ConvPadding;
    use crate::gradcheck::case::prelude::*;

    /// conv2d padding='same' with odd totals and dilation.
    pub(crate) fn same_padding_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (detail, xs, ws, dilation) in [
            (
                "padding='same', 2x3 (odd total)",
                &[1, 2, 5, 6][..],
                &[3, 2, 2, 3][..],
                (1, 1),
            ),
            (
                "padding='same', 3x2, dilation (2, 3)",
                &[2, 2, 6, 5],
                &[2, 2, 3, 2],
                (2, 3),
            ),
        ] {
            let inputs = vec![g.randn(xs), g.randn(ws), g.randn(&[ws[0]])];
            out.push(OpCheck::new("conv2d", detail, inputs, move |t| {
                t[0].conv2d_with_padding(&t[1], Some(&t[2]), (1, 1), ConvPadding::Same, dilation, 1)
            }));
        }
    }
}
