//! `ConvTranspose2d(in, out, kernel)`: the transposed 2-D convolution
//! layer (learned upsampling), a thin owner of the weight and bias around
//! [`Tensor::conv_transpose2d`].

use super::conv::{check_groups, describe_tail};
use super::init;
use super::{Module, Visitor};
use crate::tensor::ops::conv_transpose::ConvTranspose;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// A transposed convolution with PyTorch's weight layout `(in, out /
/// groups, kh, kw)`, parameter names `weight` and `bias`, and default
/// initialisation (U(±1/√fan_in) for both, fan_in = out / groups · kh · kw,
/// as PyTorch computes it from the weight's second dim).
///
/// ```
/// use micrograd_plus::nn::{ConvTranspose2d, Module};
/// use micrograd_plus::tensor::ops::conv_transpose::ConvTranspose;
/// use micrograd_plus::Tensor;
/// let up = ConvTranspose2d::with_config(8, 4, (2, 2), ConvTranspose { stride: (2, 2), ..Default::default() }, true).unwrap();
/// assert_eq!(up.weight().shape(), &[8, 4, 2, 2]);
/// assert_eq!(up.forward(&Tensor::zeros(&[1, 8, 5, 7])).unwrap().shape(), &[1, 4, 10, 14]);
/// assert_eq!(up.describe(), "ConvTranspose2d(8, 4, kernel_size=(2, 2), stride=(2, 2))");
/// ```
pub struct ConvTranspose2d {
    weight: Tensor,
    bias: Option<Tensor>,
    settings: ConvTranspose,
}

impl ConvTranspose2d {
    /// A square `kernel × kernel` transposed convolution from `in_channels`
    /// to `out_channels` with PyTorch's default settings and a bias.
    ///
    /// # Panics
    /// If a count is zero; [`ConvTranspose2d::with_config`] returns that as
    /// an error.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::ConvTranspose2d::new(3, 5, 2).bias().unwrap().shape(), &[5]);
    /// ```
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> ConvTranspose2d {
        ConvTranspose2d::with_config(
            in_channels,
            out_channels,
            (kernel, kernel),
            ConvTranspose::default(),
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A transposed convolution with every setting given (and a bias when
    /// `bias`); errors name the setting.
    ///
    /// ```
    /// use micrograd_plus::nn::ConvTranspose2d;
    /// use micrograd_plus::tensor::ops::conv_transpose::ConvTranspose;
    /// let grouped = ConvTranspose { groups: 2, ..Default::default() };
    /// assert_eq!(ConvTranspose2d::with_config(4, 6, (3, 1), grouped, false).unwrap().weight().shape(), &[4, 3, 3, 1]);
    /// assert!(ConvTranspose2d::with_config(4, 5, (3, 3), grouped, false).is_err());
    /// ```
    pub fn with_config(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        settings: ConvTranspose,
        bias: bool,
    ) -> Result<ConvTranspose2d> {
        let op = "ConvTranspose2d";
        let g = settings.groups;
        if in_channels == 0 || out_channels == 0 || kernel.0 == 0 || kernel.1 == 0 || g == 0 {
            return Err(Error::argument(
                op,
                format!("channels, kernel and groups must be positive, got in_channels={in_channels}, out_channels={out_channels}, kernel={kernel:?}, groups={g}"),
            ));
        }
        check_groups(op, in_channels, out_channels, g)?;
        let weight = Tensor::zeros(&[in_channels, out_channels / g, kernel.0, kernel.1]);
        init::layer_weight_(&weight)?;
        let bias = if bias {
            // PyTorch's bound: 1/√fan_in of this weight (its dims 1..).
            let (fan_in, _) = init::fans(&weight)?;
            let b = Tensor::zeros(&[out_channels]);
            let bound = 1.0 / (fan_in as f64).sqrt();
            init::uniform_(&b, -bound, bound);
            Some(b.requires_grad(true))
        } else {
            None
        };
        Ok(ConvTranspose2d {
            weight: weight.requires_grad(true),
            bias,
            settings,
        })
    }

    /// The settings.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::ConvTranspose2d::new(1, 1, 3).settings().stride, (1, 1));
    /// ```
    pub fn settings(&self) -> &ConvTranspose {
        &self.settings
    }

    /// The weight, `(in, out / groups, kh, kw)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::ConvTranspose2d::new(2, 4, 3).weight().shape(), &[2, 4, 3, 3]);
    /// ```
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(out,)`, if the layer has one.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::ConvTranspose2d::new(2, 4, 3).bias().unwrap().shape(), &[4]);
    /// ```
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

impl Module for ConvTranspose2d {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        input.conv_transpose2d(&self.weight, self.bias.as_ref(), &self.settings)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn describe(&self) -> String {
        let (s, c) = (self.weight.shape(), &self.settings);
        let mut out = format!(
            "ConvTranspose2d({}, {}, kernel_size=({}, {}), stride={:?}",
            s[0],
            s[1] * c.groups,
            s[2],
            s[3],
            c.stride
        );
        for (name, v, default) in [
            ("padding", c.padding, (0, 0)),
            ("dilation", c.dilation, (1, 1)),
            ("output_padding", c.output_padding, (0, 0)),
        ] {
            if v != default {
                out += &format!(", {name}={v:?}");
            }
        }
        out + &describe_tail(c.groups, self.bias.is_some())
    }
}
