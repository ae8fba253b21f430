//! `Upsample`: resizing as a layer, a settings holder around
//! [`Tensor::interpolate`] (nearest or (bi)linear, to a size or by a scale
//! factor). No parameters.

use super::Module;
use crate::tensor::ops::interpolate::InterpolateMode;
use crate::tensor::Tensor;
use crate::Result;

/// The target of an [`Upsample`]: output sizes or scale factors, one per
/// resized dim or one for all.
#[derive(Debug, Clone, PartialEq)]
pub enum UpsampleTo {
    /// The output sizes.
    Size(Vec<usize>),
    /// Output size `floor(in · factor)`; the factor places the samples.
    ScaleFactor(Vec<f64>),
}

/// Resizes `(N, C, L)` or `(N, C, H, W)` input like PyTorch's
/// `nn.Upsample(size=None, scale_factor=None, mode='nearest',
/// align_corners=None)`.
///
/// ```
/// use micrograd_plus::nn::{Module, Upsample};
/// use micrograd_plus::tensor::ops::interpolate::InterpolateMode;
/// use micrograd_plus::Tensor;
/// let up = Upsample::scale_factor(2.0, InterpolateMode::Nearest);
/// let y = up.forward(&Tensor::zeros(&[1, 3, 4, 5])).unwrap();
/// assert_eq!(y.shape(), &[1, 3, 8, 10]);
/// assert_eq!(up.describe(), "Upsample(scale_factor=2.0, mode='nearest')");
/// let up = Upsample::size(&[6, 6], InterpolateMode::Bilinear).align_corners(true);
/// assert_eq!(up.describe(), "Upsample(size=(6, 6), mode='bilinear', align_corners=true)");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Upsample {
    to: UpsampleTo,
    mode: InterpolateMode,
    align_corners: Option<bool>,
}

impl Upsample {
    /// Resizes to `size` (one value per resized dim, or one for all).
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, Upsample};
    /// use micrograd_plus::tensor::ops::interpolate::InterpolateMode;
    /// let y = Upsample::size(&[7], InterpolateMode::Linear).forward(&micrograd_plus::Tensor::zeros(&[2, 1, 3])).unwrap();
    /// assert_eq!(y.shape(), &[2, 1, 7]);
    /// ```
    pub fn size(size: &[usize], mode: InterpolateMode) -> Upsample {
        Upsample {
            to: UpsampleTo::Size(size.to_vec()),
            mode,
            align_corners: None,
        }
    }

    /// Resizes every resized dim by `factor`.
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, Upsample};
    /// use micrograd_plus::tensor::ops::interpolate::InterpolateMode;
    /// let y = Upsample::scale_factor(1.5, InterpolateMode::Bilinear).forward(&micrograd_plus::Tensor::zeros(&[1, 1, 4, 5])).unwrap();
    /// assert_eq!(y.shape(), &[1, 1, 6, 7]);
    /// ```
    pub fn scale_factor(factor: f64, mode: InterpolateMode) -> Upsample {
        Upsample {
            to: UpsampleTo::ScaleFactor(vec![factor]),
            mode,
            align_corners: None,
        }
    }

    /// Resizes by one factor per resized dim, `(along H, along W)` for 4-D
    /// input.
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, Upsample};
    /// use micrograd_plus::tensor::ops::interpolate::InterpolateMode;
    /// let up = Upsample::scale_factors(&[2.0, 3.0], InterpolateMode::Nearest);
    /// assert_eq!(up.forward(&micrograd_plus::Tensor::zeros(&[1, 1, 2, 2])).unwrap().shape(), &[1, 1, 4, 6]);
    /// ```
    pub fn scale_factors(factors: &[f64], mode: InterpolateMode) -> Upsample {
        Upsample {
            to: UpsampleTo::ScaleFactor(factors.to_vec()),
            mode,
            align_corners: None,
        }
    }

    /// The same layer with `align_corners` set (linear modes only; setting
    /// it with nearest is an error when applied, as in PyTorch).
    ///
    /// ```
    /// use micrograd_plus::nn::{Module, Upsample};
    /// use micrograd_plus::tensor::ops::interpolate::InterpolateMode;
    /// let up = Upsample::scale_factor(2.0, InterpolateMode::Nearest).align_corners(true);
    /// assert!(up.forward(&micrograd_plus::Tensor::zeros(&[1, 1, 2, 2])).is_err());
    /// ```
    pub fn align_corners(mut self, on: bool) -> Upsample {
        self.align_corners = Some(on);
        self
    }
}

impl Module for Upsample {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.to {
            UpsampleTo::Size(s) => x.interpolate(Some(s), None, self.mode, self.align_corners),
            UpsampleTo::ScaleFactor(f) => {
                x.interpolate(None, Some(f), self.mode, self.align_corners)
            }
        }
    }

    fn describe(&self) -> String {
        // PyTorch prints a single value bare and several as a tuple.
        fn list<T: std::fmt::Debug>(v: &[T]) -> String {
            match v {
                [one] => format!("{one:?}"),
                many => format!(
                    "({})",
                    many.iter()
                        .map(|x| format!("{x:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        let to = match &self.to {
            UpsampleTo::Size(s) => format!("size={}", list(s)),
            UpsampleTo::ScaleFactor(f) => format!("scale_factor={}", list(f)),
        };
        let align = self
            .align_corners
            .map_or(String::new(), |a| format!(", align_corners={a}"));
        format!("Upsample({to}, mode='{}'{align})", self.mode.name())
    }
}
