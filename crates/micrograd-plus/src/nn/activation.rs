//! Activation layers: parameter-free modules wrapping the tensor engine's
//! elementwise functions, so they can sit in a [`super::Sequential`].

use super::Module;
use crate::tensor::Tensor;
use crate::Result;

/// Declares a unit-struct activation that applies one tensor method.
macro_rules! activation {
    ($(#[$doc:meta])* $Name:ident, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $Name;
        impl Module for $Name {
            fn forward(&self, $x: &Tensor) -> Result<Tensor> {
                let y = $body;
                super::observe::activation(stringify!($Name), &y);
                Ok(y)
            }
            fn describe(&self) -> String {
                concat!(stringify!($Name), "()").to_string()
            }
        }
    };
}

activation!(
    /// `max(0, x)`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Module, ReLU}, Tensor};
    /// let y = ReLU.forward(&Tensor::new([-1.0f32, 2.0]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 2.0]);
    /// ```
    ReLU, |x| x.relu()
);
activation!(
    /// `1 / (1 + e^-x)`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Module, Sigmoid}, Tensor};
    /// assert_eq!(Sigmoid.forward(&Tensor::zeros(&[1])).unwrap().item().unwrap(), 0.5);
    /// ```
    Sigmoid, |x| x.sigmoid()
);
activation!(
    /// `tanh(x)`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Module, Tanh}, Tensor};
    /// assert_eq!(Tanh.forward(&Tensor::zeros(&[1])).unwrap().item().unwrap(), 0.0);
    /// ```
    Tanh, |x| x.tanh()
);
activation!(
    /// `x·sigmoid(x)` (also called swish).
    ///
    /// ```
    /// use micrograd_plus::{nn::{Module, SiLU}, Tensor};
    /// assert_eq!(SiLU.forward(&Tensor::zeros(&[1])).unwrap().item().unwrap(), 0.0);
    /// ```
    SiLU, |x| x.silu()
);
activation!(
    /// Passes its input through unchanged (a placeholder in a `Sequential`).
    ///
    /// ```
    /// use micrograd_plus::{nn::{Identity, Module}, Tensor};
    /// assert_eq!(Identity.forward(&Tensor::ones(&[2])).unwrap().to_vec::<f32>(), vec![1.0, 1.0]);
    /// ```
    Identity, |x| x.clone()
);

activation!(
    /// `min(max(0, x), 6)`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Module, ReLU6}, Tensor};
    /// let y = ReLU6.forward(&Tensor::new([-1.0f32, 8.0]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 6.0]);
    /// ```
    ReLU6, |x| x.relu6()
);
activation!(
    /// `x · relu6(x + 3) / 6`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Hardswish, Module}, Tensor};
    /// let y = Hardswish.forward(&Tensor::new([-4.0f32, 4.0]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 4.0]);
    /// ```
    Hardswish, |x| x.hardswish()
);
activation!(
    /// `relu6(x + 3) / 6`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Hardsigmoid, Module}, Tensor};
    /// assert_eq!(Hardsigmoid.forward(&Tensor::zeros(&[1])).unwrap().item().unwrap(), 0.5);
    /// ```
    Hardsigmoid, |x| x.hardsigmoid()
);
activation!(
    /// Scaled ELU with PyTorch's fixed alpha and scale.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Module, SELU}, Tensor};
    /// assert_eq!(SELU.forward(&Tensor::zeros(&[1])).unwrap().item().unwrap(), 0.0);
    /// ```
    SELU, |x| x.selu()
);
activation!(
    /// `x · tanh(softplus(x))`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Mish, Module}, Tensor};
    /// assert_eq!(Mish.forward(&Tensor::zeros(&[1])).unwrap().item().unwrap(), 0.0);
    /// ```
    Mish, |x| x.mish()
);
activation!(
    /// `ln(sigmoid(x))`, computed without overflow.
    ///
    /// ```
    /// use micrograd_plus::{nn::{LogSigmoid, Module}, Tensor};
    /// let y = LogSigmoid.forward(&Tensor::zeros(&[1]).to_dtype(micrograd_plus::DType::F64)).unwrap();
    /// assert_eq!(y.item().unwrap(), -(2f64.ln()));
    /// ```
    LogSigmoid, |x| x.logsigmoid()
);
activation!(
    /// `x / (1 + |x|)`.
    ///
    /// ```
    /// use micrograd_plus::{nn::{Module, Softsign}, Tensor};
    /// assert_eq!(Softsign.forward(&Tensor::ones(&[1])).unwrap().item().unwrap(), 0.5);
    /// ```
    Softsign, |x| x.softsign()
);

/// Clamps into `[min_val, max_val]` (default `[-1, 1]`).
///
/// ```
/// use micrograd_plus::{nn::{Hardtanh, Module}, Tensor};
/// let y = Hardtanh::default().forward(&Tensor::new([-2.0f32, 0.5]).unwrap()).unwrap();
/// assert_eq!(y.to_vec::<f32>(), vec![-1.0, 0.5]);
/// assert!(Hardtanh::new(1.0, -1.0).forward(&Tensor::ones(&[1])).is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Hardtanh {
    /// Lower bound.
    pub min_val: f64,
    /// Upper bound.
    pub max_val: f64,
}

impl Hardtanh {
    /// A hardtanh with the given bounds.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Hardtanh::new(0.0, 6.0).max_val, 6.0);
    /// ```
    pub fn new(min_val: f64, max_val: f64) -> Self {
        Hardtanh { min_val, max_val }
    }
}

impl Default for Hardtanh {
    fn default() -> Self {
        Hardtanh::new(-1.0, 1.0)
    }
}

impl Module for Hardtanh {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.hardtanh(self.min_val, self.max_val)
    }
    fn describe(&self) -> String {
        format!(
            "Hardtanh(min_val={}, max_val={})",
            self.min_val, self.max_val
        )
    }
}

/// `max(0, x) + min(0, alpha·(e^(x/alpha) − 1))`.
///
/// ```
/// use micrograd_plus::{nn::{CELU, Module}, Tensor};
/// let y = CELU::default().forward(&Tensor::new([0.0f32, 2.0]).unwrap()).unwrap();
/// assert_eq!(y.to_vec::<f32>(), vec![0.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CELU {
    /// The negative side's saturation value (PyTorch's default 1.0; not 0).
    pub alpha: f64,
}

impl CELU {
    /// A CELU with the given alpha.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::CELU::new(0.5).alpha, 0.5);
    /// ```
    pub fn new(alpha: f64) -> Self {
        CELU { alpha }
    }
}

impl Default for CELU {
    fn default() -> Self {
        CELU::new(1.0)
    }
}

impl Module for CELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.celu(self.alpha)
    }
    fn describe(&self) -> String {
        format!("CELU(alpha={})", self.alpha)
    }
}

/// `ln(1 + e^(beta·x)) / beta`, the identity where `beta·x > threshold`.
///
/// ```
/// use micrograd_plus::{nn::{Module, Softplus}, Tensor};
/// let y = Softplus::default().forward(&Tensor::new([30.0f32]).unwrap()).unwrap();
/// assert_eq!(y.to_vec::<f32>(), vec![30.0]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Softplus {
    /// Sharpness (PyTorch's default 1.0).
    pub beta: f64,
    /// Linear above `beta·x > threshold` (PyTorch's default 20.0).
    pub threshold: f64,
}

impl Softplus {
    /// A softplus with the given beta and threshold.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Softplus::new(2.0, 10.0).beta, 2.0);
    /// ```
    pub fn new(beta: f64, threshold: f64) -> Self {
        Softplus { beta, threshold }
    }
}

impl Default for Softplus {
    fn default() -> Self {
        Softplus::new(1.0, 20.0)
    }
}

impl Module for Softplus {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.softplus_with(self.beta, self.threshold))
    }
    fn describe(&self) -> String {
        format!("Softplus(beta={}, threshold={})", self.beta, self.threshold)
    }
}

/// `max(0, x) + slope·min(0, x)`.
///
/// ```
/// use micrograd_plus::{nn::{LeakyReLU, Module}, Tensor};
/// let y = LeakyReLU::new(0.1).forward(&Tensor::new([-2.0f32, 3.0]).unwrap()).unwrap();
/// assert_eq!(y.to_vec::<f32>(), vec![-0.2, 3.0]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LeakyReLU {
    /// The slope for negative inputs (PyTorch's default 0.01).
    pub negative_slope: f64,
}

impl LeakyReLU {
    /// A leaky ReLU with the given negative slope.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::LeakyReLU::new(0.2).negative_slope, 0.2);
    /// ```
    pub fn new(negative_slope: f64) -> Self {
        LeakyReLU { negative_slope }
    }
}

impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU::new(0.01)
    }
}

impl Module for LeakyReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.leaky_relu(self.negative_slope))
    }
    fn describe(&self) -> String {
        format!("LeakyReLU(negative_slope={})", self.negative_slope)
    }
}

/// `x` for positive inputs, `alpha·(eˣ - 1)` otherwise.
///
/// ```
/// use micrograd_plus::{nn::{ELU, Module}, Tensor};
/// let y = ELU::default().forward(&Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
/// assert_eq!(y.to_vec::<f32>(), vec![0.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ELU {
    /// The negative side's saturation value (PyTorch's default 1.0).
    pub alpha: f64,
}

impl ELU {
    /// An ELU with the given alpha.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::ELU::new(0.5).alpha, 0.5);
    /// ```
    pub fn new(alpha: f64) -> Self {
        ELU { alpha }
    }
}

impl Default for ELU {
    fn default() -> Self {
        ELU::new(1.0)
    }
}

impl Module for ELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.elu(self.alpha))
    }
    fn describe(&self) -> String {
        format!("ELU(alpha={})", self.alpha)
    }
}

/// The Gaussian error linear unit, exact (`x·Φ(x)`, the default) or with
/// the tanh approximation GPT-2 used.
///
/// ```
/// use micrograd_plus::{nn::{GELU, Module}, Tensor};
/// let x = Tensor::new([1.0f64]).unwrap();
/// let exact = GELU::default().forward(&x).unwrap().item().unwrap();
/// let approx = GELU::tanh().forward(&x).unwrap().item().unwrap();
/// assert!((exact - 0.841344746).abs() < 1e-9);
/// assert!((exact - approx).abs() < 1e-3);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GELU {
    /// Use the tanh approximation (PyTorch's `approximate='tanh'`).
    pub approximate_tanh: bool,
}

impl GELU {
    /// The tanh approximation.
    ///
    /// ```
    /// assert!(micrograd_plus::nn::GELU::tanh().approximate_tanh);
    /// ```
    pub fn tanh() -> Self {
        GELU {
            approximate_tanh: true,
        }
    }
}

impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(if self.approximate_tanh {
            x.gelu_tanh()
        } else {
            x.gelu()
        })
    }
    fn describe(&self) -> String {
        let mode = if self.approximate_tanh {
            "tanh"
        } else {
            "none"
        };
        format!("GELU(approximate='{mode}')")
    }
}

/// Softmax over one dimension.
///
/// ```
/// use micrograd_plus::{nn::{Module, Softmax}, Tensor};
/// let y = Softmax::new(-1).forward(&Tensor::zeros(&[2, 4])).unwrap();
/// assert_eq!(y.to_vec::<f32>(), vec![0.25; 8]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Softmax {
    /// The dimension whose entries sum to one (negative counts from the end).
    pub dim: isize,
}

impl Softmax {
    /// Softmax over `dim`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Softmax::new(1).dim, 1);
    /// ```
    pub fn new(dim: isize) -> Self {
        Softmax { dim }
    }
}

impl Module for Softmax {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.softmax(self.dim)
    }
    fn describe(&self) -> String {
        format!("Softmax(dim={})", self.dim)
    }
}

/// Softmin over one dimension: `softmax(−x)`.
///
/// ```
/// use micrograd_plus::{nn::{Module, Softmin}, Tensor};
/// let y = Softmin::new(-1).forward(&Tensor::zeros(&[1, 4])).unwrap();
/// assert_eq!(y.to_vec::<f32>(), vec![0.25; 4]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Softmin {
    /// The dimension whose entries sum to one (negative counts from the end).
    pub dim: isize,
}

impl Softmin {
    /// Softmin over `dim`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Softmin::new(1).dim, 1);
    /// ```
    pub fn new(dim: isize) -> Self {
        Softmin { dim }
    }
}

impl Module for Softmin {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.softmin(self.dim)
    }
    fn describe(&self) -> String {
        format!("Softmin(dim={})", self.dim)
    }
}

/// Log-softmax over one dimension (numerically stable).
///
/// ```
/// use micrograd_plus::{nn::{LogSoftmax, Module}, Tensor};
/// let y = LogSoftmax::new(-1).forward(&Tensor::zeros(&[1, 2])).unwrap();
/// assert!((y.to_vec::<f64>()[0] + 2f64.ln()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LogSoftmax {
    /// The dimension normalised over.
    pub dim: isize,
}

impl LogSoftmax {
    /// Log-softmax over `dim`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::LogSoftmax::new(1).dim, 1);
    /// ```
    pub fn new(dim: isize) -> Self {
        LogSoftmax { dim }
    }
}

impl Module for LogSoftmax {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.log_softmax(self.dim)
    }
    fn describe(&self) -> String {
        format!("LogSoftmax(dim={})", self.dim)
    }
}

/// Flattens dims `start_dim..=end_dim` into one (default 1..=-1, keeping the
/// batch dim), honouring `start_dim` as PyTorch does.
///
/// ```
/// use micrograd_plus::{nn::{Flatten, Module}, Tensor};
/// let x = Tensor::zeros(&[2, 3, 4, 5]);
/// assert_eq!(Flatten::default().forward(&x).unwrap().shape(), &[2, 60]);
/// assert_eq!(Flatten::new(2, -1).forward(&x).unwrap().shape(), &[2, 3, 20]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Flatten {
    /// First dim flattened.
    pub start_dim: isize,
    /// Last dim flattened (inclusive).
    pub end_dim: isize,
}

impl Flatten {
    /// Flattens `start_dim..=end_dim`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::Flatten::new(0, -1).start_dim, 0);
    /// ```
    pub fn new(start_dim: isize, end_dim: isize) -> Self {
        Flatten { start_dim, end_dim }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten::new(1, -1)
    }
}

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.flatten(self.start_dim, self.end_dim)
    }
    fn describe(&self) -> String {
        format!(
            "Flatten(start_dim={}, end_dim={})",
            self.start_dim, self.end_dim
        )
    }
}
