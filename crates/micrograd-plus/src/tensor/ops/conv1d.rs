//! 1-D convolution (`torch.nn.functional.conv1d`): `(N, C, L)` input (or
//! one `(C, L)` sequence), weight `(out_channels, C / groups, k)`.
//!
//! A 1-D convolution is a 2-D one over a height of 1 with a `1 × k`
//! kernel, so it runs as [`Tensor::conv2d`] (whose im2col, products and
//! backward rules it shares) on the input and weight with a unit height
//! dim inserted, and drops that dim from the result; the reshapes are
//! views that pass gradients straight through. With `g` the upstream
//! gradient and `x_p` the zero-padded input: `y[o, t] = b[o] + Σ_c Σ_j
//! w[o, c, j] · x_p[c, t·s + j·d]`, so `dw[o, c, j] = Σ_t g[o, t] ·
//! x_p[c, t·s + j·d]` and `dx_p[c, t·s + j·d] += g[o, t] · w[o, c, j]`.

use super::conv_padding::{resolve, ConvPadding};
use crate::tensor::Tensor;
use crate::{Error, Result};

impl Tensor {
    /// 1-D convolution over an `(N, C, L)` batch or one `(C, L)` sequence,
    /// like `torch.nn.functional.conv1d`: `weight` is `(out_channels, C /
    /// groups, k)`, `bias` (optional) `(out_channels,)`; zero `padding` on
    /// both ends. The output length is `(L + 2·p − d·(k − 1) − 1) / s + 1`.
    ///
    /// Errors name conv1d, with the shapes it ran as (a unit height
    /// inserted before the length).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::arange(0.0, 5.0, 1.0).reshape(&[1, 1, 5]).unwrap();
    /// let w = Tensor::new([[[1.0f32, -1.0]]]).unwrap();
    /// let y = x.conv1d(&w, None, 1, 0, 1, 1).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![-1.0; 4]);
    /// let y = x.conv1d(&w, None, 2, 1, 1, 1).unwrap(); // padded: 0 0 1 2 3 4 0
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, -1.0, -1.0]);
    /// assert!(x.conv1d(&Tensor::ones(&[1, 2, 2]), None, 1, 0, 1, 1).is_err());
    /// ```
    pub fn conv1d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Result<Tensor> {
        check_ranks(self, weight)?;
        let y = self.unsqueeze(-2)?.conv_nd(
            "conv1d",
            &weight.unsqueeze(2)?,
            bias,
            (1, stride),
            (0, padding),
            (1, dilation),
            groups,
        )?;
        y.squeeze(Some(-2))
    }

    /// [`Tensor::conv1d`] with its padding given by rule, like
    /// `F.conv1d(x, w, b, stride, padding='same' | 'valid', dilation,
    /// groups)`; `'same'` needs stride 1 and puts an odd total's extra zero
    /// at the end.
    ///
    /// ```
    /// use micrograd_plus::{tensor::ops::conv_padding::ConvPadding, Tensor};
    /// let x = Tensor::ones(&[2, 3, 7]);
    /// let w = Tensor::ones(&[4, 3, 4]);
    /// let y = x.conv1d_with_padding(&w, None, 1, ConvPadding::Same, 1, 1).unwrap();
    /// assert_eq!(y.shape(), &[2, 4, 7]);
    /// assert!(x.conv1d_with_padding(&w, None, 2, ConvPadding::Same, 1, 1).is_err());
    /// ```
    pub fn conv1d_with_padding(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: ConvPadding,
        dilation: usize,
        groups: usize,
    ) -> Result<Tensor> {
        check_ranks(self, weight)?;
        let k = weight.shape()[2];
        let (x, (_, pad)) = resolve(
            "conv1d",
            &self.unsqueeze(-2)?,
            padding,
            (1, k),
            (1, stride),
            (1, dilation),
        )?;
        x.squeeze(Some(-2))?
            .conv1d(weight, bias, stride, pad, dilation, groups)
    }
}

/// Input `(N, C, L)` or `(C, L)`, weight `(out, C / groups, k)`.
fn check_ranks(x: &Tensor, weight: &Tensor) -> Result<()> {
    if !(x.ndim() == 2 || x.ndim() == 3) {
        return Err(Error::shape(
            "conv1d",
            format!(
                "expected 2-D (unbatched) or 3-D (batched) input, got input of shape {:?}",
                x.shape()
            ),
        ));
    }
    if weight.ndim() != 3 {
        return Err(Error::shape(
            "conv1d",
            format!(
                "weight must be 3-D (out_channels, in_channels/groups, k), got shape {:?}",
                weight.shape()
            ),
        ));
    }
    Ok(())
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;
    use crate::tensor::ops::conv_padding::ConvPadding;

    /// conv1d: plain, strided, dilated and grouped, unbatched, and
    /// padding='same'.
    pub(crate) fn conv1d_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        // (detail, input, weight, stride, padding, dilation, groups)
        type Conv1dCase = (
            &'static str,
            &'static [usize],
            &'static [usize],
            usize,
            usize,
            usize,
            usize,
        );
        let cases: [Conv1dCase; 4] = [
            ("k3", &[2, 3, 7], &[4, 3, 3], 1, 0, 1, 1),
            ("stride 2, padding 1", &[2, 2, 8], &[3, 2, 2], 2, 1, 1, 1),
            ("dilation 2, groups 2", &[1, 4, 9], &[2, 2, 3], 1, 2, 2, 2),
            ("unbatched", &[3, 6], &[2, 3, 4], 1, 1, 1, 1),
        ];
        for (detail, xs, ws, stride, padding, dilation, groups) in cases {
            let inputs = vec![g.randn(xs), g.randn(ws), g.randn(&[ws[0]])];
            out.push(OpCheck::new("conv1d", detail, inputs, move |t| {
                t[0].conv1d(&t[1], Some(&t[2]), stride, padding, dilation, groups)
            }));
        }
        out.push(OpCheck::new(
            "conv1d",
            "padding='same', k4 (odd total)",
            vec![g.randn(&[2, 2, 6]), g.randn(&[3, 2, 4])],
            |t| t[0].conv1d_with_padding(&t[1], None, 1, ConvPadding::Same, 1, 1),
        ));
    }
}
