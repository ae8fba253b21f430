//! `Conv2d(in, out, kernel)`: the 2-D convolution layer over NCHW input,
//! a thin owner of the weight and bias around [`Tensor::conv2d`].
//!
//! Settings other than the kernel (stride, padding, dilation, groups,
//! bias) are given with [`Conv2dConfig`], whose `Default` is PyTorch's.

use super::init;
use super::{Module, Visitor};
use crate::tensor::ops::conv_padding::ConvPadding;
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Conv2d's settings other than the channel counts and the kernel; the
/// default is PyTorch's (stride 1, no padding, no dilation, one group,
/// with bias). Pairs are `(along H, along W)`.
///
/// ```
/// use micrograd_plus::nn::{Conv2d, Conv2dConfig};
/// let conv = Conv2d::with_config(3, 32, (3, 3), Conv2dConfig { padding: (1, 1), ..Default::default() }).unwrap();
/// assert_eq!(conv.config().stride, (1, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dConfig {
    /// Step between windows.
    pub stride: (usize, usize),
    /// Zeros added on both sides.
    pub padding: (usize, usize),
    /// Spacing between kernel taps.
    pub dilation: (usize, usize),
    /// Independent channel groups; `in` and `out` must both divide by it.
    pub groups: usize,
    /// Whether the layer adds a learnable bias per output channel.
    pub bias: bool,
    /// PyTorch's `padding='same'`: pad so the output keeps the input's
    /// size (stride 1 only; `padding` is then ignored).
    pub padding_same: bool,
}

impl Default for Conv2dConfig {
    fn default() -> Self {
        Conv2dConfig {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
            bias: true,
            padding_same: false,
        }
    }
}

/// A 2-D convolution with PyTorch's weight layout `(out, in / groups, kh,
/// kw)`, parameter names `weight` and `bias`, and default initialisation
/// (kaiming uniform with a = √5 on the weight, i.e. U(±1/√fan_in), and
/// U(±1/√fan_in) on the bias, fan_in = in / groups · kh · kw).
///
/// ```
/// use micrograd_plus::nn::{Conv2d, Module};
/// use micrograd_plus::Tensor;
/// let conv = Conv2d::new(1, 16, 3);
/// assert_eq!(conv.weight().shape(), &[16, 1, 3, 3]);
/// let y = conv.forward(&Tensor::zeros(&[2, 1, 28, 28])).unwrap();
/// assert_eq!(y.shape(), &[2, 16, 26, 26]);
/// let conv = conv.stride(2).padding(1).with_bias(false);
/// assert_eq!(conv.forward(&Tensor::zeros(&[2, 1, 28, 28])).unwrap().shape(), &[2, 16, 14, 14]);
/// assert_eq!(conv.describe(), "Conv2d(1, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=false)");
/// ```
pub struct Conv2d {
    in_channels: usize,
    weight: Tensor,
    bias: Option<Tensor>,
    config: Conv2dConfig,
}

impl Conv2d {
    /// A square `kernel × kernel` convolution from `in_channels` to
    /// `out_channels` with PyTorch's default settings, initialised from the
    /// default generator. Change the settings with the builder methods
    /// ([`stride`](Self::stride), [`padding`](Self::padding), ...), or use
    /// [`Conv2d::with_config`], which checks them.
    ///
    /// # Panics
    /// If a count is zero; [`Conv2d::with_config`] returns that as an error.
    ///
    /// ```
    /// let conv = micrograd_plus::nn::Conv2d::new(3, 8, 5);
    /// assert_eq!(conv.weight().shape(), &[8, 3, 5, 5]);
    /// ```
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Conv2d {
        Conv2d::with_config(
            in_channels,
            out_channels,
            (kernel, kernel),
            Conv2dConfig::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A convolution with every setting given; errors name the setting.
    ///
    /// ```
    /// use micrograd_plus::nn::{Conv2d, Conv2dConfig};
    /// let grouped = Conv2d::with_config(4, 6, (3, 1), Conv2dConfig { groups: 2, ..Default::default() }).unwrap();
    /// assert_eq!(grouped.weight().shape(), &[6, 2, 3, 1]);
    /// let err = Conv2d::with_config(4, 6, (3, 3), Conv2dConfig { groups: 4, ..Default::default() }).err().unwrap();
    /// assert_eq!(err.to_string(), "Conv2d: in_channels (4) and out_channels (6) must both be divisible by groups (4)");
    /// ```
    pub fn with_config(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        config: Conv2dConfig,
    ) -> Result<Conv2d> {
        let op = "Conv2d";
        if in_channels == 0 || out_channels == 0 || kernel.0 == 0 || kernel.1 == 0 {
            return Err(Error::argument(
                op,
                format!("channels and kernel must be positive, got in_channels={in_channels}, out_channels={out_channels}, kernel={kernel:?}"),
            ));
        }
        check_config(&config)?;
        check_groups(op, in_channels, out_channels, config.groups)?;
        let weight = Tensor::zeros(&[
            out_channels,
            in_channels / config.groups,
            kernel.0,
            kernel.1,
        ]);
        // PyTorch's reset_parameters: U(±1/√fan_in) for weight and bias.
        init::layer_weight_(&weight)?;
        let bias = config.bias.then(|| init::layer_bias(&weight)).transpose()?;
        Ok(Conv2d {
            in_channels,
            weight: weight.requires_grad(true),
            bias,
            config,
        })
    }

    /// The same layer with stride `s` along both axes.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv2d::new(1, 1, 3).stride(2).config().stride, (2, 2));
    /// ```
    pub fn stride(mut self, s: usize) -> Conv2d {
        self.config.stride = (s, s);
        self
    }

    /// The same layer with `p` zeros of padding on every side.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv2d::new(1, 1, 3).padding(1).config().padding, (1, 1));
    /// ```
    pub fn padding(mut self, p: usize) -> Conv2d {
        self.config.padding = (p, p);
        self
    }

    /// The same layer with PyTorch's `padding='same'`: the output keeps the
    /// input's size (stride must be 1).
    ///
    /// ```
    /// use micrograd_plus::nn::{Conv2d, Module};
    /// let conv = Conv2d::new(1, 2, 4).padding_same();
    /// assert_eq!(conv.forward(&micrograd_plus::Tensor::zeros(&[1, 1, 5, 7])).unwrap().shape(), &[1, 2, 5, 7]);
    /// assert!(conv.describe().contains("padding=same"));
    /// ```
    pub fn padding_same(mut self) -> Conv2d {
        self.config.padding_same = true;
        self
    }

    /// The same layer with dilation `d` along both axes.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv2d::new(1, 1, 3).dilation(2).config().dilation, (2, 2));
    /// ```
    pub fn dilation(mut self, d: usize) -> Conv2d {
        self.config.dilation = (d, d);
        self
    }

    /// The same layer with or without its bias (a new bias is initialised
    /// as in [`Conv2d::new`]).
    ///
    /// ```
    /// assert!(micrograd_plus::nn::Conv2d::new(1, 1, 3).with_bias(false).bias().is_none());
    /// ```
    pub fn with_bias(mut self, on: bool) -> Conv2d {
        if on && self.bias.is_none() {
            self.bias = Some(init::layer_bias(&self.weight).expect("4-D weight"));
        } else if !on {
            self.bias = None;
        }
        self.config.bias = on;
        self
    }

    /// The settings.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv2d::new(1, 1, 3).config().groups, 1);
    /// ```
    pub fn config(&self) -> &Conv2dConfig {
        &self.config
    }

    /// The weight, `(out, in / groups, kh, kw)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv2d::new(2, 4, 3).weight().shape(), &[4, 2, 3, 3]);
    /// ```
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, `(out,)`, if the layer has one.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Conv2d::new(2, 4, 3).bias().unwrap().shape(), &[4]);
    /// ```
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

/// Checks that `groups` divides both channel counts of layer `op`.
pub(super) fn check_groups(
    op: &'static str,
    in_channels: usize,
    out_channels: usize,
    groups: usize,
) -> Result<()> {
    if !in_channels.is_multiple_of(groups) || !out_channels.is_multiple_of(groups) {
        return Err(Error::argument(
            op,
            format!("in_channels ({in_channels}) and out_channels ({out_channels}) must both be divisible by groups ({groups})"),
        ));
    }
    Ok(())
}

/// The end of a convolution layer's description: the groups and the
/// bias where they differ from the defaults, and the closing parenthesis.
pub(super) fn describe_tail(groups: usize, bias: bool) -> String {
    let mut out = String::new();
    if groups != 1 {
        out += &format!(", groups={groups}");
    }
    if !bias {
        out += ", bias=false";
    }
    out + ")"
}

/// Stride and dilation positive, groups at least 1.
fn check_config(c: &Conv2dConfig) -> Result<()> {
    for (name, v) in [("stride", c.stride), ("dilation", c.dilation)] {
        if v.0 == 0 || v.1 == 0 {
            return Err(Error::argument(
                "Conv2d",
                format!("{name} must be positive, got {v:?}"),
            ));
        }
    }
    if c.groups == 0 {
        return Err(Error::argument("Conv2d", "groups must be positive, got 0"));
    }
    Ok(())
}

impl Module for Conv2d {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        // The builder methods do not check; a zero stride is reported here.
        check_config(&self.config)?;
        let c = &self.config;
        if c.padding_same {
            return input.conv2d_with_padding(
                &self.weight,
                self.bias.as_ref(),
                c.stride,
                ConvPadding::Same,
                c.dilation,
                c.groups,
            );
        }
        input.conv2d(
            &self.weight,
            self.bias.as_ref(),
            c.stride,
            c.padding,
            c.dilation,
            c.groups,
        )
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        let c = &self.config;
        let mut out = format!(
            "Conv2d({}, {}, kernel_size=({}, {}), stride={:?}",
            self.in_channels, s[0], s[2], s[3], c.stride
        );
        if c.padding_same {
            out += ", padding=same";
        } else if c.padding != (0, 0) {
            out += &format!(", padding={:?}", c.padding);
        }
        if c.dilation != (1, 1) {
            out += &format!(", dilation={:?}", c.dilation);
        }
        out + &describe_tail(c.groups, self.bias.is_some())
    }
}
