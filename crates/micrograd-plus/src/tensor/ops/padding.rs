//! `torch.nn.functional.pad` with every mode the small models use:
//! constant, reflect and replicate, and negative pads (which crop).
//!
//! Each padded dim is a list of source positions: output position `o` reads
//! input position `i = o − before`, reflected into the input for `reflect`
//! (`−1 → 1`, `n → n − 2`) or clamped for `replicate`; a negative `before`
//! or `after` simply starts or stops inside the input. The picking is the
//! engine's `take_along`, whose backward adds every output gradient back at
//! the position it was read from (so a border element that is copied out
//! receives the copies' gradients too). Constant padding crops with the
//! same picking and pads with [`Tensor::pad`].

use crate::tensor::Tensor;
use crate::{Error, Result};

/// How [`Tensor::pad_with`] fills the new border.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode {
    /// A constant value.
    Constant(f64),
    /// The input mirrored at its edges, not repeating the edge element.
    Reflect,
    /// The edge element repeated.
    Replicate,
}

impl PadMode {
    fn name(self) -> &'static str {
        match self {
            PadMode::Constant(_) => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Replicate => "replicate",
        }
    }
}

impl Tensor {
    /// Pads (or, with negative values, crops) the last dims: `pad` lists
    /// (before, after) pairs starting from the last dim, as in PyTorch's
    /// `F.pad`. Reflect and replicate pad the last 1, 2 or 3 dims of a
    /// tensor with one or two more dims (a batch and channels), of which
    /// only the first may be empty, and reflect needs each pad smaller than
    /// its dim.
    ///
    /// ```
    /// use micrograd_plus::{tensor::ops::padding::PadMode, Tensor};
    /// let t = Tensor::new([[1.0f32, 2.0, 3.0]]).unwrap();
    /// let r = t.pad_with(&[2, 1], PadMode::Reflect).unwrap();
    /// assert_eq!(r.to_vec::<f32>(), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    /// let e = t.pad_with(&[1, 1], PadMode::Replicate).unwrap();
    /// assert_eq!(e.to_vec::<f32>(), vec![1.0, 1.0, 2.0, 3.0, 3.0]);
    /// let c = t.pad_with(&[-1, 1], PadMode::Constant(0.0)).unwrap();
    /// assert_eq!(c.to_vec::<f32>(), vec![2.0, 3.0, 0.0]);
    /// assert!(t.pad_with(&[3, 0], PadMode::Reflect).is_err());
    /// ```
    pub fn pad_with(&self, pad: &[isize], mode: PadMode) -> Result<Tensor> {
        let nd = self.ndim();
        let shape = self.shape();
        let fail = |msg: String| {
            Error::argument(
                "pad",
                format!("{msg} (shape {shape:?}, pad {pad:?}, mode {})", mode.name()),
            )
        };
        if !pad.len().is_multiple_of(2) {
            return Err(fail("Padding length must be divisible by 2".into()));
        }
        let dims = pad.len() / 2;
        if dims > nd {
            return Err(fail(format!(
                "Padding length should be less than or equal to two times the input dimension but got padding length {} and input of dimension {nd}",
                pad.len()
            )));
        }
        if !matches!(mode, PadMode::Constant(_)) {
            // PyTorch's reflect/replicate kernels: 1-3 padded dims, with one
            // or two leading dims (batch, channels).
            if !(1..=3).contains(&dims) || !(nd == dims + 1 || nd == dims + 2) {
                return Err(fail(format!(
                    "{}-D {} padding needs a {}-D or {}-D input",
                    dims,
                    mode.name(),
                    dims + 1,
                    dims + 2
                )));
            }
            // Only the leading dim may be empty.
            if shape[1..].contains(&0) {
                return Err(fail(format!(
                    "{} padding expects every dim but the first to be non-zero",
                    mode.name()
                )));
            }
        }
        let mut y = self.clone();
        let mut positive = Vec::with_capacity(pad.len());
        for (k, pair) in pad.chunks(2).enumerate() {
            let d = nd - 1 - k;
            let (before, after) = (pair[0], pair[1]);
            let n = shape[d] as isize;
            let len = n + before + after;
            if len < 0 {
                return Err(fail(format!(
                    "The input size {n}, plus negative padding {before} and {after} resulted in a negative output size, which is invalid. Check dimension {d} of your input"
                )));
            }
            let source: Box<dyn Fn(isize) -> usize> = match mode {
                PadMode::Constant(_) => {
                    // Crop here; the positive pads come after.
                    positive.extend([before.max(0) as usize, after.max(0) as usize]);
                    let start = (-before).max(0);
                    let end = n - (-after).max(0);
                    y = y.take_along(d, (start..end.max(start)).map(|i| i as usize).collect());
                    continue;
                }
                PadMode::Reflect => {
                    if before >= n || after >= n {
                        return Err(fail(format!(
                            "Padding size should be less than the corresponding input dimension, but got: padding ({before}, {after}) at dimension {d}"
                        )));
                    }
                    Box::new(move |i| {
                        if i < 0 {
                            -i as usize
                        } else if i >= n {
                            (2 * (n - 1) - i) as usize
                        } else {
                            i as usize
                        }
                    })
                }
                PadMode::Replicate => Box::new(move |i| i.clamp(0, n - 1) as usize),
            };
            y = y.take_along(d, (-before..n + after).map(&source).collect());
        }
        match mode {
            PadMode::Constant(value) if positive.iter().any(|&p| p > 0) => y.pad(&positive, value),
            _ => Ok(y),
        }
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use super::PadMode;
    use crate::gradcheck::case::prelude::*;

    /// pad in each mode (any values).
    pub(crate) fn pad_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (mode, name) in [
            (PadMode::Constant(0.5), "constant"),
            (PadMode::Reflect, "reflect"),
            (PadMode::Replicate, "replicate"),
        ] {
            out.push(OpCheck::new(
                "pad",
                format!("{name}, [2, 1, -1, 2]"),
                vec![g.randn(&[1, 2, 3, 4])],
                move |t| t[0].pad_with(&[2, 1, -1, 2], mode),
            ));
        }
    }
}
