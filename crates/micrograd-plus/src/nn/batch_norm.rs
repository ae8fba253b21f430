//! `BatchNorm1d` and `BatchNorm2d`: normalise each channel with the batch's
//! statistics while training and with running averages of them in
//! evaluation, over the fused [`Tensor::batch_norm`] op.
//!
//! State, under PyTorch's names: parameters `weight` (γ, ones) and `bias`
//! (β, zeros) when affine; buffers `running_mean` (zeros), `running_var`
//! (ones) and `num_batches_tracked` (a 0-d count) when tracking running
//! statistics. Buffers are in the state dict, so a checkpoint restores
//! evaluation behaviour exactly.
//!
//! Each training forward moves the running statistics towards the batch's:
//! `r ← (1 − m)·r + m·batch` with `m = momentum`, or with `m = 1/n` (a
//! plain average over the `n` batches seen) when momentum is `None`; the
//! variance folded in is the unbiased one, as in PyTorch.

use super::{Module, Visitor};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Settings shared by both layers; `Default` is PyTorch's.
///
/// ```
/// use micrograd_plus::nn::{BatchNorm2d, BatchNormConfig, Module};
/// let bn = BatchNorm2d::with_config(8, BatchNormConfig { affine: false, ..Default::default() }).unwrap();
/// assert_eq!(bn.num_parameters(), 0);
/// assert_eq!(bn.named_buffers().len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormConfig {
    /// Added to the variance before the square root.
    pub eps: f64,
    /// Weight of the newest batch in the running averages; `None` averages
    /// every batch equally.
    pub momentum: Option<f64>,
    /// Learnable per-channel scale and shift.
    pub affine: bool,
    /// Keep running statistics (else batch statistics are used in
    /// evaluation too, and there are no buffers).
    pub track_running_stats: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            eps: 1e-5,
            momentum: Some(0.1),
            affine: true,
            track_running_stats: true,
        }
    }
}

/// Running statistics: `[C]` mean and variance plus the batch count.
struct Running {
    mean: Tensor,
    var: Tensor,
    /// 0-d f64 (PyTorch's is int64; f64 counts exactly to 2⁵³).
    batches: Tensor,
}

/// What both layers share; they differ only in the input ranks accepted.
struct Norm {
    name: &'static str,
    features: usize,
    config: BatchNormConfig,
    weight: Option<Tensor>,
    bias: Option<Tensor>,
    running: Option<Running>,
    training: bool,
}

impl Norm {
    fn new(name: &'static str, features: usize, config: BatchNormConfig) -> Result<Norm> {
        if features == 0 {
            return Err(Error::argument(
                name,
                "num_features must be positive, got 0",
            ));
        }
        if config.eps.is_nan() || config.eps < 0.0 {
            return Err(Error::argument(
                name,
                format!("eps must be non-negative, got {}", config.eps),
            ));
        }
        if let Some(m) = config.momentum
            && !(0.0..=1.0).contains(&m)
        {
            return Err(Error::argument(
                name,
                format!("momentum must be in [0, 1], got {m}"),
            ));
        }
        let param = |v: f64| {
            config
                .affine
                .then(|| Tensor::full(&[features], v).requires_grad(true))
        };
        let running = config.track_running_stats.then(|| Running {
            mean: Tensor::zeros(&[features]),
            var: Tensor::ones(&[features]),
            batches: Tensor::zeros(&[]).to_dtype(DType::F64),
        });
        Ok(Norm {
            name,
            features,
            config,
            weight: param(1.0),
            bias: param(0.0),
            running,
            training: true,
        })
    }

    fn forward(&self, x: &Tensor, ranks: &[usize]) -> Result<Tensor> {
        if !ranks.contains(&x.ndim()) {
            let want: Vec<String> = ranks.iter().map(|r| format!("{r}-D")).collect();
            return Err(Error::shape(
                self.name,
                format!(
                    "expected {} input, got input of shape {:?}",
                    want.join(" or "),
                    x.shape()
                ),
            ));
        }
        if x.shape()[1] != self.features {
            return Err(Error::shape(
                self.name,
                format!(
                    "expected {} channels (dim 1), got input of shape {:?}",
                    self.features,
                    x.shape()
                ),
            ));
        }
        let use_batch_stats = self.training || self.running.is_none();
        let (mean, var) = match &self.running {
            Some(r) => (Some(&r.mean), Some(&r.var)),
            None => (None, None),
        };
        // The count goes up before the factor is taken, as in PyTorch, but
        // is written back only once the op has succeeded.
        let update = self.training.then_some(()).and(self.running.as_ref());
        let batches = update.map(|r| r.batches.to_vec::<f64>()[0] + 1.0);
        let factor = match (self.config.momentum, batches) {
            (Some(m), _) => m,
            (None, Some(n)) => 1.0 / n,
            (None, None) => 0.0,
        };
        let y = x.batch_norm(
            mean,
            var,
            self.weight.as_ref(),
            self.bias.as_ref(),
            use_batch_stats,
            factor,
            self.config.eps,
        )?;
        if let (Some(r), Some(n)) = (update, batches) {
            r.batches.copy_from(&Tensor::scalar(n))?;
        }
        Ok(y)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        if let (Some(w), Some(b)) = (&self.weight, &self.bias) {
            f("weight", w);
            f("bias", b);
        }
    }

    fn visit_buffers(&self, f: &mut Visitor<'_>) {
        if let Some(r) = &self.running {
            f("running_mean", &r.mean);
            f("running_var", &r.var);
            f("num_batches_tracked", &r.batches);
        }
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let momentum = c.momentum.map_or("None".to_string(), |m| m.to_string());
        format!(
            "{}({}, eps={}, momentum={momentum}, affine={}, track_running_stats={})",
            self.name, self.features, c.eps, c.affine, c.track_running_stats
        )
    }
}

macro_rules! batch_norm_module {
    ($ty:ident, $ranks:expr) => {
        impl Module for $ty {
            fn forward(&self, x: &Tensor) -> Result<Tensor> {
                self.0.forward(x, &$ranks)
            }
            fn visit_parameters(&self, f: &mut Visitor<'_>) {
                self.0.visit_parameters(f)
            }
            fn visit_buffers(&self, f: &mut Visitor<'_>) {
                self.0.visit_buffers(f)
            }
            fn set_training(&mut self, training: bool) {
                self.0.training = training;
            }
            fn is_training(&self) -> bool {
                self.0.training
            }
            fn describe(&self) -> String {
                self.0.describe()
            }
        }

        impl $ty {
            /// The running mean `[C]`, if the layer tracks running statistics.
            ///
            /// ```
            #[doc = concat!("let bn = micrograd_plus::nn::", stringify!($ty), "::new(3);")]
            /// assert_eq!(bn.running_mean().unwrap().to_vec::<f32>(), vec![0.0; 3]);
            /// ```
            pub fn running_mean(&self) -> Option<&Tensor> {
                self.0.running.as_ref().map(|r| &r.mean)
            }

            /// The running variance `[C]`, if the layer tracks running statistics.
            ///
            /// ```
            #[doc = concat!("let bn = micrograd_plus::nn::", stringify!($ty), "::new(3);")]
            /// assert_eq!(bn.running_var().unwrap().to_vec::<f32>(), vec![1.0; 3]);
            /// ```
            pub fn running_var(&self) -> Option<&Tensor> {
                self.0.running.as_ref().map(|r| &r.var)
            }

            /// Training batches seen (0-d), if the layer tracks running statistics.
            ///
            /// ```
            #[doc = concat!("let bn = micrograd_plus::nn::", stringify!($ty), "::new(3);")]
            /// assert_eq!(bn.num_batches_tracked().unwrap().item().unwrap(), 0.0);
            /// ```
            pub fn num_batches_tracked(&self) -> Option<&Tensor> {
                self.0.running.as_ref().map(|r| &r.batches)
            }

            /// γ `[C]`, if affine.
            ///
            /// ```
            #[doc = concat!("let bn = micrograd_plus::nn::", stringify!($ty), "::new(3);")]
            /// assert_eq!(bn.weight().unwrap().to_vec::<f32>(), vec![1.0; 3]);
            /// ```
            pub fn weight(&self) -> Option<&Tensor> {
                self.0.weight.as_ref()
            }

            /// β `[C]`, if affine.
            ///
            /// ```
            #[doc = concat!("let bn = micrograd_plus::nn::", stringify!($ty), "::new(3);")]
            /// assert_eq!(bn.bias().unwrap().to_vec::<f32>(), vec![0.0; 3]);
            /// ```
            pub fn bias(&self) -> Option<&Tensor> {
                self.0.bias.as_ref()
            }

            /// The settings.
            ///
            /// ```
            #[doc = concat!("let bn = micrograd_plus::nn::", stringify!($ty), "::new(3);")]
            /// assert_eq!(bn.config().momentum, Some(0.1));
            /// ```
            pub fn config(&self) -> &BatchNormConfig {
                &self.0.config
            }
        }
    };
}

/// Batch normalisation of `(N, C)` or `(N, C, L)` input, per channel C
/// (over N, or over N and L).
///
/// ```
/// use micrograd_plus::nn::{BatchNorm1d, Module};
/// use micrograd_plus::Tensor;
/// let mut bn = BatchNorm1d::new(2);
/// let x = Tensor::new([[1.0f32, 10.0], [3.0, 30.0]]).unwrap();
/// let y = bn.forward(&x).unwrap().to_vec::<f32>();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[3] - 1.0).abs() < 1e-4); // standardised per column
/// assert_eq!(bn.running_mean().unwrap().to_vec::<f32>(), vec![0.2, 2.0]);
/// bn.eval();
/// let err = bn.forward(&Tensor::zeros(&[2, 2, 2, 2])).unwrap_err();
/// assert_eq!(err.to_string(), "BatchNorm1d: expected 2-D or 3-D input, got input of shape [2, 2, 2, 2]");
/// ```
pub struct BatchNorm1d(Norm);

impl BatchNorm1d {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine, tracking
    /// running statistics.
    ///
    /// # Panics
    /// If `num_features` is zero ([`BatchNorm1d::with_config`] returns an
    /// error instead).
    ///
    /// ```
    /// use micrograd_plus::nn::{BatchNorm1d, Module};
    /// assert_eq!(BatchNorm1d::new(16).num_parameters(), 32);
    /// ```
    pub fn new(num_features: usize) -> BatchNorm1d {
        BatchNorm1d::with_config(num_features, BatchNormConfig::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every setting given; errors name the bad one.
    ///
    /// ```
    /// use micrograd_plus::nn::{BatchNorm1d, BatchNormConfig};
    /// let err = BatchNorm1d::with_config(4, BatchNormConfig { momentum: Some(1.5), ..Default::default() }).err().unwrap();
    /// assert_eq!(err.to_string(), "BatchNorm1d: momentum must be in [0, 1], got 1.5");
    /// ```
    pub fn with_config(num_features: usize, config: BatchNormConfig) -> Result<BatchNorm1d> {
        Ok(BatchNorm1d(Norm::new("BatchNorm1d", num_features, config)?))
    }
}

batch_norm_module!(BatchNorm1d, [2, 3]);

/// Batch normalisation of `(N, C, H, W)` input, per channel C (over N, H
/// and W): the layer after each convolution in most CNNs.
///
/// ```
/// use micrograd_plus::nn::{BatchNorm2d, Module};
/// use micrograd_plus::Tensor;
/// let mut bn = BatchNorm2d::new(3);
/// let names: Vec<String> = bn.state_dict().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
/// let y = bn.forward(&Tensor::randn(&[4, 3, 5, 5], 0)).unwrap();
/// assert_eq!(y.shape(), &[4, 3, 5, 5]);
/// assert_eq!(bn.num_batches_tracked().unwrap().item().unwrap(), 1.0);
/// bn.eval(); // running statistics now, and no update
/// bn.forward(&Tensor::randn(&[1, 3, 5, 5], 1)).unwrap();
/// assert_eq!(bn.num_batches_tracked().unwrap().item().unwrap(), 1.0);
/// ```
pub struct BatchNorm2d(Norm);

impl BatchNorm2d {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine, tracking
    /// running statistics.
    ///
    /// # Panics
    /// If `num_features` is zero ([`BatchNorm2d::with_config`] returns an
    /// error instead).
    ///
    /// ```
    /// use micrograd_plus::nn::{BatchNorm2d, Module};
    /// assert_eq!(BatchNorm2d::new(32).describe(), "BatchNorm2d(32, eps=0.00001, momentum=0.1, affine=true, track_running_stats=true)");
    /// ```
    pub fn new(num_features: usize) -> BatchNorm2d {
        BatchNorm2d::with_config(num_features, BatchNormConfig::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every setting given; errors name the bad one.
    ///
    /// ```
    /// use micrograd_plus::nn::{BatchNorm2d, BatchNormConfig};
    /// assert!(BatchNorm2d::with_config(0, BatchNormConfig::default()).is_err());
    /// ```
    pub fn with_config(num_features: usize, config: BatchNormConfig) -> Result<BatchNorm2d> {
        Ok(BatchNorm2d(Norm::new("BatchNorm2d", num_features, config)?))
    }
}

batch_norm_module!(BatchNorm2d, [4]);
