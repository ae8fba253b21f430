//! Transposed 2-D convolution (`torch.nn.functional.conv_transpose2d`):
//! NCHW input, weight `(in_channels, out_channels / groups, kh, kw)`,
//! optional bias `(out_channels,)`, stride, padding, output_padding,
//! dilation and groups.
//!
//! A transposed convolution is the gradient of a convolution with respect
//! to its input: take the conv2d `C` whose input is this op's output
//! (`out_channels` channels, size `oh × ow`) and whose weight is this op's
//! weight (so `C` maps `out_channels` to `in_channels`); then
//! - forward: `y = Cᵀ(x) + b`, conv2d's input-gradient rule (`dcol = Wᵀ·x`
//!   per image and group, scattered by col2im) with `x` as the upstream
//!   gradient;
//! - input gradient: `dx = C(g)`, a plain conv2d of the upstream gradient;
//! - weight gradient: conv2d's weight rule with the roles of upstream
//!   gradient and input swapped, `dW += x · im2col(g)ᵀ`;
//! - bias gradient: `db[o] = Σ g[·, o, ·, ·]`.
//!
//! The output size along an axis is `(H − 1)·s − 2·p + d·(k − 1) +
//! output_padding + 1`; `output_padding` (smaller than the stride or the
//! dilation) only picks among the sizes that a stride-`s` convolution maps
//! to the same `H`, which is why it exists.

use super::conv::{backward, forward, Conv};
use super::record::{record, Fused, Operands, Scalar};
use crate::kernels::im2col::Window;
use crate::tensor::shape::sum_slice;
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};

/// The settings of a transposed convolution, `(along H, along W)` pairs as
/// in PyTorch; `Default` is PyTorch's (stride 1, no padding, no output
/// padding, no dilation, one group).
///
/// ```
/// use micrograd_plus::tensor::ops::conv_transpose::ConvTranspose;
/// let up = ConvTranspose { stride: (2, 2), ..Default::default() };
/// assert_eq!(up.output_padding, (0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTranspose {
    /// Step between the input positions' windows in the output.
    pub stride: (usize, usize),
    /// Rows and columns cropped from each side of the full output.
    pub padding: (usize, usize),
    /// Rows and columns added at the bottom and right (smaller than the
    /// stride or the dilation).
    pub output_padding: (usize, usize),
    /// Spacing between kernel taps.
    pub dilation: (usize, usize),
    /// Independent channel groups.
    pub groups: usize,
}

impl Default for ConvTranspose {
    fn default() -> Self {
        ConvTranspose {
            stride: (1, 1),
            padding: (0, 0),
            output_padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

/// The convolution whose input gradient this transposed convolution is,
/// checked the way PyTorch checks `conv_transpose2d`.
fn geometry(x: &[usize], w: &[usize], bias: Option<&[usize]>, s: &ConvTranspose) -> Result<Conv> {
    let op = "conv_transpose2d";
    if x.len() != 4 {
        return Err(Error::shape(
            op,
            format!("expected 3-D (unbatched) or 4-D (batched) input, got input of shape {x:?}"),
        ));
    }
    if w.len() != 4 {
        return Err(Error::shape(
            op,
            format!(
                "weight must be 4-D (in_channels, out_channels/groups, kh, kw), got shape {w:?}"
            ),
        ));
    }
    let groups = s.groups;
    if groups == 0 {
        return Err(Error::argument(op, "groups must be positive, got 0"));
    }
    for (name, v) in [("stride", s.stride), ("dilation", s.dilation)] {
        if v.0 == 0 || v.1 == 0 {
            return Err(Error::argument(
                op,
                format!("{name} must be positive, got {v:?}"),
            ));
        }
    }
    let (op_h, op_w) = s.output_padding;
    if !(op_h < s.stride.0 || op_h < s.dilation.0) || !(op_w < s.stride.1 || op_w < s.dilation.1) {
        return Err(Error::argument(
            op,
            format!(
                "output padding must be smaller than either stride or dilation, got output_padding={:?}, stride={:?}, dilation={:?}",
                s.output_padding, s.stride, s.dilation
            ),
        ));
    }
    let (kh, kw) = (w[2], w[3]);
    if kh == 0 || kw == 0 {
        return Err(Error::shape(
            op,
            format!("weight of shape {w:?} has an empty kernel"),
        ));
    }
    if w[0] != x[1] {
        return Err(Error::shape(
            op,
            format!(
                "given transposed=1, weight of shape {w:?} expects input of shape {x:?} to have {} channels, but got {} channels instead",
                w[0], x[1]
            ),
        ));
    }
    if !w[0].is_multiple_of(groups) {
        return Err(Error::shape(
            op,
            format!(
                "in_channels ({}) of weight {w:?} must be divisible by groups ({groups})",
                w[0]
            ),
        ));
    }
    let out_channels = w[1] * groups;
    if let Some(b) = bias
        && b != [out_channels]
    {
        return Err(Error::shape(
                op,
                format!("bias must have shape [{out_channels}] for weight {w:?} and groups={groups}, got {b:?}"),
            ));
    }
    // (H − 1)·s − 2·p + d·(k − 1) + output_padding + 1, which must be positive.
    let size = |h: usize, s: usize, p: usize, d: usize, k: usize, o: usize| {
        ((h as i128 - 1) * s as i128 - 2 * p as i128 + (d * (k - 1)) as i128 + o as i128 + 1).max(0)
            as usize
    };
    let (h, wd) = (x[2], x[3]);
    let oh = size(h, s.stride.0, s.padding.0, s.dilation.0, kh, op_h);
    let ow = size(wd, s.stride.1, s.padding.1, s.dilation.1, kw, op_w);
    if h == 0 || wd == 0 || oh == 0 || ow == 0 {
        return Err(Error::shape(
            op,
            format!("input of shape {x:?} and weight {w:?} with {s:?} give an empty output ({oh} x {ow})"),
        ));
    }
    // The convolution run backwards: input (N, out_channels, oh, ow),
    // weight w, output (N, in_channels, h, w).
    Ok(Conv {
        batch: x[0],
        groups,
        in_channels: out_channels,
        out_channels: x[1],
        win: Window {
            channels: w[1],
            height: oh,
            width: ow,
            kernel: (kh, kw),
            stride: s.stride,
            padding: s.padding,
            dilation: s.dilation,
            out: (h, wd),
        },
    })
}

/// `y = Cᵀ(x)`, then the bias added per output channel.
fn transposed_forward<T: Element + std::ops::AddAssign>(
    cv: &Conv,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
) -> Vec<T> {
    let (y, _, _) = backward(cv, x, &[], w, (true, false, false));
    let mut y = y.expect("input gradient wanted");
    if let Some(b) = b {
        let plane = cv.win.height * cv.win.width;
        for (i, ch) in y.chunks_exact_mut(plane).enumerate() {
            let bias = b[i % cv.in_channels];
            ch.iter_mut().for_each(|v| *v += bias);
        }
    }
    y
}

impl Tensor {
    /// Transposed 2-D convolution (the gradient of conv2d with respect to
    /// its input) over an `(N, C_in, H, W)` batch or one `(C_in, H, W)`
    /// image, like `torch.nn.functional.conv_transpose2d`: `weight` is
    /// `(C_in, C_out / groups, kh, kw)`, `bias` (optional) `(C_out,)`; the
    /// other settings are [`ConvTranspose`]'s. The output is `(N, C_out,
    /// oh, ow)` with `oh = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1`.
    ///
    /// ```
    /// use micrograd_plus::{tensor::ops::conv_transpose::ConvTranspose, Tensor};
    /// // Each input pixel stamps the 2×2 kernel into the output, stride 2 apart.
    /// let x = Tensor::new([[[[1.0f32, 2.0]]]]).unwrap();
    /// let w = Tensor::ones(&[1, 1, 2, 2]);
    /// let up = ConvTranspose { stride: (2, 2), ..Default::default() };
    /// let y = x.conv_transpose2d(&w, None, &up).unwrap();
    /// assert_eq!(y.shape(), &[1, 1, 2, 4]);
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
    /// let bad = ConvTranspose { output_padding: (1, 1), ..Default::default() };
    /// assert!(x.conv_transpose2d(&w, None, &bad).unwrap_err().to_string()
    ///     .contains("output padding must be smaller than either stride or dilation"));
    /// ```
    pub fn conv_transpose2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        settings: &ConvTranspose,
    ) -> Result<Tensor> {
        if self.ndim() == 3 {
            // Unbatched: run as a batch of one and drop the batch dim again.
            let y = self
                .unsqueeze(0)?
                .conv_transpose2d(weight, bias, settings)?;
            return y.squeeze(Some(0));
        }
        let cv = geometry(
            self.shape(),
            weight.shape(),
            bias.map(Tensor::shape),
            settings,
        )?;
        let out_shape = vec![cv.batch, cv.in_channels, cv.win.height, cv.win.width];
        Ok(record(
            Transposed(cv),
            [Some(self), Some(weight), bias],
            out_shape,
        ))
    }
}

/// The recorded op: the geometry of the convolution `C` it transposes.
struct Transposed(Conv);

impl Fused for Transposed {
    type Saved<T: Scalar> = ();
    fn name(&self) -> &'static str {
        "conv_transpose2d"
    }
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, ()) {
        (transposed_forward(&self.0, &x[0], &x[1], x.get(2)), ())
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        _: &(),
        want: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let cv = &self.0;
        // dx = C(g): a plain convolution of the upstream gradient.
        let dx = want[0].then(|| forward(cv, g, &x[1], None));
        // dW: conv2d's weight rule, upstream gradient and input swapped.
        let dw = want[1]
            .then(|| backward(cv, &x[0], g, &x[1], (false, true, false)).1)
            .flatten();
        let db = want[2].then(|| {
            let plane = cv.win.height * cv.win.width;
            let mut db = vec![T::zero(); cv.in_channels];
            for (i, ch) in g.chunks_exact(plane).enumerate() {
                db[i % cv.in_channels] += sum_slice(ch);
            }
            db
        });
        vec![dx, dw, db]
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::ConvTranspose;
    use crate::gradcheck::case::prelude::*;

    /// conv_transpose2d over stride, padding, output_padding, dilation and
    /// groups.
    pub(crate) fn conv_transpose_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        type TransposeCase = (
            &'static str,
            &'static [usize],
            &'static [usize],
            bool,
            ConvTranspose,
        );
        let d = ConvTranspose::default();
        let cases: [TransposeCase; 5] = [
            ("3x3, bias", &[2, 3, 4, 3], &[3, 2, 3, 3], true, d),
            (
                "stride (2, 3), padding (1, 0), output_padding (1, 2)",
                &[1, 2, 3, 3],
                &[2, 3, 3, 4],
                true,
                ConvTranspose {
                    stride: (2, 3),
                    padding: (1, 0),
                    output_padding: (1, 2),
                    ..d
                },
            ),
            (
                "dilation (2, 1), output_padding (1, 0)",
                &[2, 2, 3, 4],
                &[2, 2, 2, 3],
                false,
                ConvTranspose {
                    dilation: (2, 1),
                    output_padding: (1, 0),
                    ..d
                },
            ),
            (
                "groups 2, stride 2",
                &[2, 4, 3, 2],
                &[4, 3, 2, 2],
                true,
                ConvTranspose {
                    groups: 2,
                    stride: (2, 2),
                    ..d
                },
            ),
            ("unbatched 1x1", &[3, 2, 3], &[3, 2, 1, 1], true, d),
        ];
        for (detail, xs, ws, bias, settings) in cases {
            let mut inputs = vec![g.randn(xs), g.randn(ws)];
            if bias {
                inputs.push(g.randn(&[ws[1] * settings.groups]));
            }
            out.push(OpCheck::new("conv_transpose2d", detail, inputs, move |t| {
                t[0].conv_transpose2d(&t[1], t.get(2), &settings)
            }));
        }
    }
}
