//! Pooling layers over `(N, C, H, W)` or `(C, H, W)` input: `MaxPool2d`,
//! `AvgPool2d`, `AdaptiveAvgPool2d` and `AdaptiveMaxPool2d`, and over
//! `(N, C, L)` or `(C, L)` input: `MaxPool1d` and `AvgPool1d`; each a
//! settings holder around its tensor op ([`Tensor::max_pool2d_with`],
//! [`Tensor::avg_pool2d_with`], [`Tensor::adaptive_avg_pool2d`],
//! [`Tensor::adaptive_max_pool2d`], [`Tensor::max_pool1d`],
//! [`Tensor::avg_pool1d`]). No parameters.

use super::Module;
use crate::tensor::Tensor;
use crate::Result;

/// The maximum of each `kernel` window; the stride defaults to the kernel
/// (non-overlapping windows), as in PyTorch.
///
/// ```
/// use micrograd_plus::nn::{MaxPool2d, Module};
/// use micrograd_plus::Tensor;
/// let pool = MaxPool2d::new(2);
/// let x = Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]).unwrap();
/// assert_eq!(pool.forward(&x).unwrap().to_vec::<f32>(), vec![5.0, 7.0, 13.0, 15.0]);
/// let overlapping = MaxPool2d::new(3).stride(2).padding(1);
/// assert_eq!(overlapping.forward(&x).unwrap().shape(), &[1, 1, 2, 2]);
/// assert_eq!(overlapping.describe(), "MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    ceil_mode: bool,
}

impl MaxPool2d {
    /// A `kernel × kernel` max pool with stride `kernel` and no padding.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::MaxPool2d::new(2), micrograd_plus::nn::MaxPool2d::with_sizes((2, 2), (2, 2), (0, 0)));
    /// ```
    pub fn new(kernel: usize) -> MaxPool2d {
        MaxPool2d::with_sizes((kernel, kernel), (kernel, kernel), (0, 0))
    }

    /// Every setting as `(along H, along W)`; they are checked (with an
    /// error naming them) when the layer is applied.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool2d, Module};
    /// let pool = MaxPool2d::with_sizes((2, 1), (2, 1), (0, 0));
    /// assert_eq!(pool.forward(&micrograd_plus::Tensor::zeros(&[1, 4, 4])).unwrap().shape(), &[1, 2, 4]);
    /// ```
    pub fn with_sizes(
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> MaxPool2d {
        MaxPool2d {
            kernel,
            stride,
            padding,
            dilation: (1, 1),
            ceil_mode: false,
        }
    }

    /// The same pool with stride `s` along both axes.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool2d, Module};
    /// let y = MaxPool2d::new(2).stride(1).forward(&micrograd_plus::Tensor::zeros(&[1, 3, 3])).unwrap();
    /// assert_eq!(y.shape(), &[1, 2, 2]);
    /// ```
    pub fn stride(mut self, s: usize) -> MaxPool2d {
        self.stride = (s, s);
        self
    }

    /// The same pool with `p` (at most half the kernel) of −∞ padding on
    /// every side.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool2d, Module};
    /// let err = MaxPool2d::new(2).padding(2).forward(&micrograd_plus::Tensor::zeros(&[1, 4, 4])).unwrap_err();
    /// assert!(err.to_string().starts_with("max_pool2d: pad should be at most half of kernel size"));
    /// ```
    pub fn padding(mut self, p: usize) -> MaxPool2d {
        self.padding = (p, p);
        self
    }

    /// The same pool with window taps `d` apart along both axes.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool2d, Module};
    /// let pool = MaxPool2d::new(2).dilation(2);
    /// assert_eq!(pool.forward(&micrograd_plus::Tensor::zeros(&[1, 5, 5])).unwrap().shape(), &[1, 2, 2]);
    /// assert!(pool.describe().ends_with("dilation=(2, 2))"));
    /// ```
    pub fn dilation(mut self, d: usize) -> MaxPool2d {
        self.dilation = (d, d);
        self
    }

    /// The same pool with output sizes rounded up (PyTorch's `ceil_mode`).
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool2d, Module};
    /// let pool = MaxPool2d::new(2).ceil_mode(true);
    /// assert_eq!(pool.forward(&micrograd_plus::Tensor::zeros(&[1, 5, 5])).unwrap().shape(), &[1, 3, 3]);
    /// ```
    pub fn ceil_mode(mut self, on: bool) -> MaxPool2d {
        self.ceil_mode = on;
        self
    }
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.max_pool2d_with(
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
        )
    }

    fn describe(&self) -> String {
        let mut out = format!(
            "MaxPool2d(kernel_size={:?}, stride={:?}, padding={:?}",
            self.kernel, self.stride, self.padding
        );
        if self.dilation != (1, 1) {
            out += &format!(", dilation={:?}", self.dilation);
        }
        if self.ceil_mode {
            out += ", ceil_mode=true";
        }
        out + ")"
    }
}

/// The mean of each `kernel` window; the stride defaults to the kernel.
/// Padding zeros count towards the divisor unless
/// [`count_include_pad(false)`](Self::count_include_pad).
///
/// ```
/// use micrograd_plus::nn::{AvgPool2d, Module};
/// use micrograd_plus::Tensor;
/// let x = Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]).unwrap();
/// assert_eq!(AvgPool2d::new(2).forward(&x).unwrap().to_vec::<f32>(), vec![2.5, 4.5, 10.5, 12.5]);
/// let padded = AvgPool2d::new(2).padding(1);
/// assert_eq!(padded.forward(&Tensor::ones(&[1, 2, 2])).unwrap().to_vec::<f32>(), vec![0.25; 4]);
/// let real_only = padded.count_include_pad(false);
/// assert_eq!(real_only.forward(&Tensor::ones(&[1, 2, 2])).unwrap().to_vec::<f32>(), vec![1.0; 4]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool2d {
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    ceil_mode: bool,
    count_include_pad: bool,
}

impl AvgPool2d {
    /// A `kernel × kernel` average pool with stride `kernel`, no padding.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::AvgPool2d::new(3), micrograd_plus::nn::AvgPool2d::with_sizes((3, 3), (3, 3), (0, 0)));
    /// ```
    pub fn new(kernel: usize) -> AvgPool2d {
        AvgPool2d::with_sizes((kernel, kernel), (kernel, kernel), (0, 0))
    }

    /// Every size as `(along H, along W)`, counting padding in the divisor.
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool2d, Module};
    /// let y = AvgPool2d::with_sizes((1, 2), (1, 2), (0, 0)).forward(&micrograd_plus::Tensor::ones(&[1, 2, 4])).unwrap();
    /// assert_eq!(y.shape(), &[1, 2, 2]);
    /// ```
    pub fn with_sizes(
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> AvgPool2d {
        AvgPool2d {
            kernel,
            stride,
            padding,
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// The same pool with stride `s` along both axes.
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool2d, Module};
    /// let y = AvgPool2d::new(2).stride(1).forward(&micrograd_plus::Tensor::zeros(&[1, 3, 3])).unwrap();
    /// assert_eq!(y.shape(), &[1, 2, 2]);
    /// ```
    pub fn stride(mut self, s: usize) -> AvgPool2d {
        self.stride = (s, s);
        self
    }

    /// The same pool with `p` zeros of padding on every side.
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool2d, Module};
    /// let y = AvgPool2d::new(2).padding(1).forward(&micrograd_plus::Tensor::zeros(&[1, 4, 4])).unwrap();
    /// assert_eq!(y.shape(), &[1, 3, 3]);
    /// ```
    pub fn padding(mut self, p: usize) -> AvgPool2d {
        self.padding = (p, p);
        self
    }

    /// Whether padding zeros count towards each window's divisor
    /// (PyTorch's default: yes).
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool2d, Module};
    /// let pool = AvgPool2d::new(2).count_include_pad(false);
    /// assert_eq!(pool.describe(), "AvgPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), count_include_pad=false)");
    /// ```
    pub fn count_include_pad(mut self, on: bool) -> AvgPool2d {
        self.count_include_pad = on;
        self
    }

    /// The same pool with output sizes rounded up (PyTorch's `ceil_mode`).
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool2d, Module};
    /// let pool = AvgPool2d::new(2).ceil_mode(true);
    /// let y = pool.forward(&micrograd_plus::Tensor::ones(&[1, 3, 3])).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0; 4]); // the overhang is not in the divisor
    /// ```
    pub fn ceil_mode(mut self, on: bool) -> AvgPool2d {
        self.ceil_mode = on;
        self
    }
}

impl Module for AvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.avg_pool2d_with(
            self.kernel,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )
    }

    fn describe(&self) -> String {
        let ceil = if self.ceil_mode {
            ", ceil_mode=true"
        } else {
            ""
        };
        format!(
            "AvgPool2d(kernel_size={:?}, stride={:?}, padding={:?}{ceil}, count_include_pad={})",
            self.kernel, self.stride, self.padding, self.count_include_pad
        )
    }
}

/// Averages each plane into a fixed `output_size` grid whatever the input
/// size, as PyTorch's `AdaptiveAvgPool2d` (bins may overlap when the sizes
/// do not divide).
///
/// ```
/// use micrograd_plus::nn::{AdaptiveAvgPool2d, Module};
/// use micrograd_plus::Tensor;
/// let gap = AdaptiveAvgPool2d::new((1, 1)); // global average pooling
/// let x = Tensor::arange(0.0, 8.0, 1.0).reshape(&[1, 2, 2, 2]).unwrap();
/// assert_eq!(gap.forward(&x).unwrap().to_vec::<f32>(), vec![1.5, 5.5]);
/// assert!(AdaptiveAvgPool2d::new((0, 1)).forward(&x).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d {
    output_size: (usize, usize),
}

impl AdaptiveAvgPool2d {
    /// Pools to `output_size` = `(oh, ow)`.
    ///
    /// ```
    /// use micrograd_plus::nn::{AdaptiveAvgPool2d, Module};
    /// let y = AdaptiveAvgPool2d::new((2, 3)).forward(&micrograd_plus::Tensor::zeros(&[4, 3, 7, 9])).unwrap();
    /// assert_eq!(y.shape(), &[4, 3, 2, 3]);
    /// ```
    pub fn new(output_size: (usize, usize)) -> AdaptiveAvgPool2d {
        AdaptiveAvgPool2d { output_size }
    }
}

impl Module for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.adaptive_avg_pool2d(self.output_size)
    }

    fn describe(&self) -> String {
        format!("AdaptiveAvgPool2d(output_size={:?})", self.output_size)
    }
}

/// Takes the maximum of each plane's `output_size` bins whatever the input
/// size, as PyTorch's `AdaptiveMaxPool2d` (bins as in
/// [`AdaptiveAvgPool2d`]).
///
/// ```
/// use micrograd_plus::nn::{AdaptiveMaxPool2d, Module};
/// use micrograd_plus::Tensor;
/// let x = Tensor::arange(0.0, 8.0, 1.0).reshape(&[1, 2, 2, 2]).unwrap();
/// assert_eq!(AdaptiveMaxPool2d::new((1, 1)).forward(&x).unwrap().to_vec::<f32>(), vec![3.0, 7.0]);
/// assert_eq!(AdaptiveMaxPool2d::new((1, 1)).describe(), "AdaptiveMaxPool2d(output_size=(1, 1))");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveMaxPool2d {
    output_size: (usize, usize),
}

impl AdaptiveMaxPool2d {
    /// Pools to `output_size` = `(oh, ow)`.
    ///
    /// ```
    /// use micrograd_plus::nn::{AdaptiveMaxPool2d, Module};
    /// let y = AdaptiveMaxPool2d::new((2, 3)).forward(&micrograd_plus::Tensor::zeros(&[4, 3, 7, 9])).unwrap();
    /// assert_eq!(y.shape(), &[4, 3, 2, 3]);
    /// ```
    pub fn new(output_size: (usize, usize)) -> AdaptiveMaxPool2d {
        AdaptiveMaxPool2d { output_size }
    }
}

impl Module for AdaptiveMaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.adaptive_max_pool2d(self.output_size)
    }

    fn describe(&self) -> String {
        format!("AdaptiveMaxPool2d(output_size={:?})", self.output_size)
    }
}

/// The settings of a 1-d pool: the stride defaults to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pool1d {
    kernel: usize,
    stride: usize,
    padding: usize,
    ceil_mode: bool,
}

/// The maximum of each `kernel` window along the last dim of `(N, C, L)`
/// or `(C, L)` input, as PyTorch's `MaxPool1d`; the stride defaults to the
/// kernel.
///
/// ```
/// use micrograd_plus::nn::{MaxPool1d, Module};
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([[1.0f32, 4.0, 2.0, 0.0, 3.0]]).unwrap();
/// assert_eq!(MaxPool1d::new(2).forward(&x).unwrap().to_vec::<f32>(), vec![4.0, 2.0]);
/// let pool = MaxPool1d::new(3).stride(1).padding(1).dilation(2).ceil_mode(true);
/// assert_eq!(pool.forward(&x).unwrap().shape(), &[1, 3]);
/// assert_eq!(pool.describe(), "MaxPool1d(kernel_size=3, stride=1, padding=1, dilation=2, ceil_mode=true)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool1d {
    pool: Pool1d,
    dilation: usize,
}

impl MaxPool1d {
    /// A max pool of `kernel` with stride `kernel`, no padding or dilation.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool1d, Module};
    /// assert_eq!(MaxPool1d::new(2).forward(&micrograd_plus::Tensor::zeros(&[2, 3, 7])).unwrap().shape(), &[2, 3, 3]);
    /// ```
    pub fn new(kernel: usize) -> MaxPool1d {
        MaxPool1d {
            pool: Pool1d {
                kernel,
                stride: kernel,
                padding: 0,
                ceil_mode: false,
            },
            dilation: 1,
        }
    }

    /// The same pool with stride `s`.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool1d, Module};
    /// assert_eq!(MaxPool1d::new(2).stride(1).forward(&micrograd_plus::Tensor::zeros(&[3, 5])).unwrap().shape(), &[3, 4]);
    /// ```
    pub fn stride(mut self, s: usize) -> MaxPool1d {
        self.pool.stride = s;
        self
    }

    /// The same pool with `p` (at most half the kernel) of −∞ padding at
    /// each end.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool1d, Module};
    /// assert!(MaxPool1d::new(2).padding(2).forward(&micrograd_plus::Tensor::zeros(&[3, 5])).is_err());
    /// ```
    pub fn padding(mut self, p: usize) -> MaxPool1d {
        self.pool.padding = p;
        self
    }

    /// The same pool with window taps `d` apart.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool1d, Module};
    /// assert_eq!(MaxPool1d::new(2).dilation(3).forward(&micrograd_plus::Tensor::zeros(&[3, 8])).unwrap().shape(), &[3, 3]);
    /// ```
    pub fn dilation(mut self, d: usize) -> MaxPool1d {
        self.dilation = d;
        self
    }

    /// The same pool with the output length rounded up.
    ///
    /// ```
    /// use micrograd_plus::nn::{MaxPool1d, Module};
    /// assert_eq!(MaxPool1d::new(2).ceil_mode(true).forward(&micrograd_plus::Tensor::zeros(&[3, 5])).unwrap().shape(), &[3, 3]);
    /// ```
    pub fn ceil_mode(mut self, on: bool) -> MaxPool1d {
        self.pool.ceil_mode = on;
        self
    }
}

impl Module for MaxPool1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let p = &self.pool;
        x.max_pool1d(p.kernel, p.stride, p.padding, self.dilation, p.ceil_mode)
    }

    fn describe(&self) -> String {
        let p = &self.pool;
        format!(
            "MaxPool1d(kernel_size={}, stride={}, padding={}, dilation={}, ceil_mode={})",
            p.kernel, p.stride, p.padding, self.dilation, p.ceil_mode
        )
    }
}

/// The mean of each `kernel` window along the last dim of `(N, C, L)` or
/// `(C, L)` input, as PyTorch's `AvgPool1d`; the stride defaults to the
/// kernel, and padding zeros count towards the divisor unless
/// [`count_include_pad(false)`](Self::count_include_pad).
///
/// ```
/// use micrograd_plus::nn::{AvgPool1d, Module};
/// use micrograd_plus::Tensor;
/// let x = Tensor::new([[1.0f32, 4.0, 2.0, 0.0, 3.0]]).unwrap();
/// assert_eq!(AvgPool1d::new(2).forward(&x).unwrap().to_vec::<f32>(), vec![2.5, 1.0]);
/// let pool = AvgPool1d::new(2).padding(1).count_include_pad(false);
/// assert_eq!(pool.forward(&x).unwrap().to_vec::<f32>(), vec![1.0, 3.0, 1.5]);
/// assert_eq!(AvgPool1d::new(2).describe(), "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool1d {
    pool: Pool1d,
    count_include_pad: bool,
}

impl AvgPool1d {
    /// An average pool of `kernel` with stride `kernel` and no padding.
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool1d, Module};
    /// assert_eq!(AvgPool1d::new(3).forward(&micrograd_plus::Tensor::zeros(&[2, 3, 7])).unwrap().shape(), &[2, 3, 2]);
    /// ```
    pub fn new(kernel: usize) -> AvgPool1d {
        AvgPool1d {
            pool: Pool1d {
                kernel,
                stride: kernel,
                padding: 0,
                ceil_mode: false,
            },
            count_include_pad: true,
        }
    }

    /// The same pool with stride `s`.
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool1d, Module};
    /// assert_eq!(AvgPool1d::new(2).stride(1).forward(&micrograd_plus::Tensor::zeros(&[3, 5])).unwrap().shape(), &[3, 4]);
    /// ```
    pub fn stride(mut self, s: usize) -> AvgPool1d {
        self.pool.stride = s;
        self
    }

    /// The same pool with `p` zeros of padding at each end.
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool1d, Module};
    /// assert_eq!(AvgPool1d::new(2).padding(1).forward(&micrograd_plus::Tensor::zeros(&[3, 5])).unwrap().shape(), &[3, 3]);
    /// ```
    pub fn padding(mut self, p: usize) -> AvgPool1d {
        self.pool.padding = p;
        self
    }

    /// The same pool with the output length rounded up.
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool1d, Module};
    /// assert_eq!(AvgPool1d::new(2).ceil_mode(true).forward(&micrograd_plus::Tensor::zeros(&[3, 5])).unwrap().shape(), &[3, 3]);
    /// ```
    pub fn ceil_mode(mut self, on: bool) -> AvgPool1d {
        self.pool.ceil_mode = on;
        self
    }

    /// Whether padding zeros count towards each window's divisor
    /// (PyTorch's default: yes).
    ///
    /// ```
    /// use micrograd_plus::nn::{AvgPool1d, Module};
    /// let y = AvgPool1d::new(2).padding(1).count_include_pad(false).forward(&micrograd_plus::Tensor::ones(&[1, 2])).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![1.0, 1.0]);
    /// ```
    pub fn count_include_pad(mut self, on: bool) -> AvgPool1d {
        self.count_include_pad = on;
        self
    }
}

impl Module for AvgPool1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let p = &self.pool;
        x.avg_pool1d(
            p.kernel,
            p.stride,
            p.padding,
            p.ceil_mode,
            self.count_include_pad,
        )
    }

    fn describe(&self) -> String {
        let p = &self.pool;
        format!(
            "AvgPool1d(kernel_size=({},), stride=({},), padding=({},))",
            p.kernel, p.stride, p.padding
        )
    }
}
