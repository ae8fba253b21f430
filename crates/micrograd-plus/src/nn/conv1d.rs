//! `Conv1d(in, out, kernel)`: the 1-D convolution layer over `(N, C, L)`
//! input, a thin owner of the weight and bias around [`Tensor::conv1d`].

use super::conv::{check_groups, describe_tail};
use super::init;
use super::{Module, Visitor};
use crate::tensor::ops::conv_padding::ConvPadding;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Conv1d's settings other than the channel counts and the kernel; the
/// default is PyTorch's (stride 1, no padding, no dilation, one group,
/// with bias).
///
/// ```
/// use micrograd_plus::nn::{Conv1d, Conv1dConfig};
/// let conv = Conv1d::with_config(3, 8, 5, Conv1dConfig { padding: 2, ..Default::default() }).unwrap();
/// assert_eq!(conv.config().stride, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv1dConfig {
    /// Step between windows.
    pub stride: usize,
    /// Zeros added at both ends.
    pub padding: usize,
    /// Spacing between kernel taps.
    pub dilation: usize,
    /// Independent channel groups; `in` and `out` must both divide by it.
    pub groups: usize,
    /// Whether the layer adds a learnable bias per output channel.
    pub bias: bool,
    /// PyTorch's `padding='same'` (stride 1 only; `padding` is then ignored).
    pub padding_same: bool,
}

impl Default for Conv1dConfig {
    fn default() -> Self {
        Conv1dConfig {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            bias: true,
            padding_same: false,
        }
    }
}

/// A 1-D convolution with PyTorch's weight layout `(out, in / groups, k)`,
/// parameter names `weight` and `bias`, and default initialisation
/// (U(±1/√fan_in) for both, fan_in = in / groups · k).
///
/// ```
/// use micrograd_plus::nn::{Conv1d, Module};
/// use micrograd_plus::Tensor;
/// let conv = Conv1d::new(4, 6, 3);
/// assert_eq!(conv.weight().shape(), &[6, 4, 3]);
/// assert_eq!(conv.forward(&Tensor::zeros(&[2, 4, 10])).unwrap().shape(), &[2, 6, 8]);
/// assert_eq!(conv.describe(), "Conv1d(4, 6, kernel_size=(3,), stride=(1,))");
/// ```
pub struct Conv1d {
    in_channels: usize,
    weight: Tensor,
    bias: Option<Tensor>,
    config: Conv1dConfig,
}

impl Conv1d {
    /// A convolution from `in_channels` to `out_channels` with a kernel of
    /// `kernel` taps and PyTorch's default settings.
    ///
    /// # Panics
    /// If a count is zero; [`Conv1d::with_config`] returns that as an error.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv1d::new(2, 3, 5).bias().unwrap().shape(), &[3]);
    /// ```
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Conv1d {
        Conv1d::with_config(in_channels, out_channels, kernel, Conv1dConfig::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A convolution with every setting given; errors name the setting.
    ///
    /// ```
    /// use micrograd_plus::nn::{Conv1d, Conv1dConfig};
    /// let grouped = Conv1d::with_config(4, 6, 3, Conv1dConfig { groups: 2, ..Default::default() }).unwrap();
    /// assert_eq!(grouped.weight().shape(), &[6, 2, 3]);
    /// assert!(Conv1d::with_config(4, 6, 3, Conv1dConfig { groups: 4, ..Default::default() }).is_err());
    /// ```
    pub fn with_config(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        config: Conv1dConfig,
    ) -> Result<Conv1d> {
        let op = "Conv1d";
        if in_channels == 0 || out_channels == 0 || kernel == 0 || config.groups == 0 {
            return Err(Error::argument(
                op,
                format!("channels, kernel and groups must be positive, got in_channels={in_channels}, out_channels={out_channels}, kernel={kernel}, groups={}", config.groups),
            ));
        }
        check_groups(op, in_channels, out_channels, config.groups)?;
        let weight = Tensor::zeros(&[out_channels, in_channels / config.groups, kernel]);
        init::layer_weight_(&weight)?;
        let bias = config.bias.then(|| init::layer_bias(&weight)).transpose()?;
        Ok(Conv1d {
            in_channels,
            weight: weight.requires_grad(true),
            bias,
            config,
        })
    }

    /// The settings.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv1d::new(1, 1, 3).config().groups, 1);
    /// ```
    pub fn config(&self) -> &Conv1dConfig {
        &self.config
    }

    /// The weight, `(out, in / groups, k)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv1d::new(2, 4, 3).weight().shape(), &[4, 2, 3]);
    /// ```
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(out,)`, if the layer has one.
    ///
    /// ```
    /// use micrograd_plus::nn::{Conv1d, Conv1dConfig};
    /// let conv = Conv1d::with_config(2, 4, 3, Conv1dConfig { bias: false, ..Default::default() }).unwrap();
    /// assert!(conv.bias().is_none());
    /// ```
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

impl Module for Conv1d {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let (w, b) = (&self.weight, self.bias.as_ref());
        if c.padding_same {
            input.conv1d_with_padding(w, b, c.stride, ConvPadding::Same, c.dilation, c.groups)
        } else {
            input.conv1d(w, b, c.stride, c.padding, c.dilation, c.groups)
        }
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let mut out = format!(
            "Conv1d({}, {}, kernel_size=({},), stride=({},)",
            self.in_channels,
            self.weight.shape()[0],
            self.weight.shape()[2],
            c.stride
        );
        if c.padding_same {
            out += ", padding=same";
        } else if c.padding != 0 {
            out += &format!(", padding=({},)", c.padding);
        }
        if c.dilation != 1 {
            out += &format!(", dilation=({},)", c.dilation);
        }
        out + &describe_tail(c.groups, self.bias.is_some())
    }
}
