//! `GroupNorm` and `InstanceNorm2d`: per-sample normalisation layers over
//! [`Tensor::group_norm`] and [`Tensor::instance_norm`].
//!
//! State, under PyTorch's names: `GroupNorm` has parameters `weight`
//! (ones) and `bias` (zeros) when affine (the default). `InstanceNorm2d`
//! defaults to neither parameters nor running statistics, as PyTorch; with
//! `affine` it has `weight` and `bias`, and with `track_running_stats` the
//! buffers `running_mean`, `running_var` and `num_batches_tracked`, used in
//! evaluation.

use super::{Module, Visitor};
use crate::nn::BatchNormConfig;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// `weight` (ones) and `bias` (zeros) of `[c]`, requiring gradients.
fn affine_params(c: usize) -> (Tensor, Tensor) {
    (
        Tensor::ones(&[c]).requires_grad(true),
        Tensor::zeros(&[c]).requires_grad(true),
    )
}

/// Normalises each sample over groups of channels, as PyTorch's
/// `nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)`.
///
/// ```
/// use micrograd_plus::nn::{GroupNorm, Module};
/// use micrograd_plus::Tensor;
/// let gn = GroupNorm::new(2, 4);
/// assert_eq!(gn.forward(&Tensor::randn(&[3, 4, 5, 5], 0)).unwrap().shape(), &[3, 4, 5, 5]);
/// assert_eq!(gn.describe(), "GroupNorm(2, 4, eps=0.00001, affine=true)");
/// assert_eq!(gn.named_parameters().len(), 2);
/// assert!(GroupNorm::with_config(3, 4, 1e-5, true).is_err());
/// ```
pub struct GroupNorm {
    num_groups: usize,
    num_channels: usize,
    eps: f64,
    params: Option<(Tensor, Tensor)>,
}

impl GroupNorm {
    /// `num_groups` groups of `num_channels` channels, eps 1e-5, affine.
    ///
    /// # Panics
    /// If the groups do not divide the channels ([`GroupNorm::with_config`]
    /// returns an error instead).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::GroupNorm::new(1, 6).weight().unwrap().shape(), &[6]);
    /// ```
    pub fn new(num_groups: usize, num_channels: usize) -> GroupNorm {
        GroupNorm::with_config(num_groups, num_channels, 1e-5, true)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every setting given.
    ///
    /// ```
    /// use micrograd_plus::nn::{GroupNorm, Module};
    /// assert_eq!(GroupNorm::with_config(2, 4, 1e-3, false).unwrap().num_parameters(), 0);
    /// ```
    pub fn with_config(
        num_groups: usize,
        num_channels: usize,
        eps: f64,
        affine: bool,
    ) -> Result<GroupNorm> {
        if num_groups == 0 || !num_channels.is_multiple_of(num_groups) {
            return Err(Error::argument(
                "GroupNorm",
                format!(
                    "num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
                ),
            ));
        }
        Ok(GroupNorm {
            num_groups,
            num_channels,
            eps,
            params: affine.then(|| affine_params(num_channels)),
        })
    }

    /// The scale `[C]`, if affine.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::GroupNorm::new(2, 4).weight().unwrap().to_vec::<f32>(), vec![1.0; 4]);
    /// ```
    pub fn weight(&self) -> Option<&Tensor> {
        self.params.as_ref().map(|p| &p.0)
    }

    /// The shift `[C]`, if affine.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::nn::GroupNorm::new(2, 4).bias().unwrap().to_vec::<f32>(), vec![0.0; 4]);
    /// ```
    pub fn bias(&self) -> Option<&Tensor> {
        self.params.as_ref().map(|p| &p.1)
    }
}

impl Module for GroupNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.ndim() < 2 || x.shape()[1] != self.num_channels {
            return Err(Error::shape(
                "GroupNorm",
                format!(
                    "expected (N, {}, ...) input, got input of shape {:?}",
                    self.num_channels,
                    x.shape()
                ),
            ));
        }
        x.group_norm(self.num_groups, self.weight(), self.bias(), self.eps)
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        if let Some((w, b)) = &self.params {
            f("weight", w);
            f("bias", b);
        }
    }

    fn describe(&self) -> String {
        format!(
            "GroupNorm({}, {}, eps={}, affine={})",
            self.num_groups,
            self.num_channels,
            self.eps,
            self.params.is_some()
        )
    }
}

/// Normalises each sample's channel over its positions, as PyTorch's
/// `nn.InstanceNorm2d(num_features, eps=1e-5, momentum=0.1, affine=False,
/// track_running_stats=False)` over `(N, C, H, W)` or `(C, H, W)` input.
/// Settings are [`BatchNormConfig`]'s (whose `Default` is BatchNorm's:
/// use [`InstanceNorm2d::new`] for InstanceNorm's defaults).
///
/// ```
/// use micrograd_plus::nn::{BatchNormConfig, InstanceNorm2d, Module};
/// use micrograd_plus::Tensor;
/// let norm = InstanceNorm2d::new(3);
/// assert_eq!(norm.num_parameters(), 0);
/// assert_eq!(norm.describe(), "InstanceNorm2d(3, eps=0.00001, momentum=0.1, affine=false, track_running_stats=false)");
/// let y = norm.forward(&Tensor::randn(&[2, 3, 4, 4], 0)).unwrap();
/// assert_eq!(y.shape(), &[2, 3, 4, 4]);
/// let tracked = InstanceNorm2d::with_config(3, BatchNormConfig::default()).unwrap();
/// assert_eq!(tracked.named_buffers().len(), 3);
/// ```
pub struct InstanceNorm2d {
    num_features: usize,
    config: BatchNormConfig,
    params: Option<(Tensor, Tensor)>,
    /// Running mean, running variance and the batch count.
    running: Option<(Tensor, Tensor, Tensor)>,
    training: bool,
}

impl InstanceNorm2d {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, no affine parameters,
    /// no running statistics.
    ///
    /// # Panics
    /// If `num_features` is zero.
    ///
    /// ```
    /// assert!(micrograd_plus::nn::InstanceNorm2d::new(4).weight().is_none());
    /// ```
    pub fn new(num_features: usize) -> InstanceNorm2d {
        let config = BatchNormConfig {
            affine: false,
            track_running_stats: false,
            ..Default::default()
        };
        InstanceNorm2d::with_config(num_features, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every setting given; `momentum: None` means 0 (PyTorch's instance
    /// norm passes `momentum or 0.0`).
    ///
    /// ```
    /// use micrograd_plus::nn::{BatchNormConfig, InstanceNorm2d, Module};
    /// let norm = InstanceNorm2d::with_config(2, BatchNormConfig { track_running_stats: false, ..Default::default() }).unwrap();
    /// assert_eq!(norm.named_parameters().len(), 2);
    /// assert!(InstanceNorm2d::with_config(0, BatchNormConfig::default()).is_err());
    /// ```
    pub fn with_config(num_features: usize, config: BatchNormConfig) -> Result<InstanceNorm2d> {
        if num_features == 0 {
            return Err(Error::argument(
                "InstanceNorm2d",
                "num_features must be positive, got 0",
            ));
        }
        Ok(InstanceNorm2d {
            num_features,
            config,
            params: config.affine.then(|| affine_params(num_features)),
            running: config.track_running_stats.then(|| {
                (
                    Tensor::zeros(&[num_features]),
                    Tensor::ones(&[num_features]),
                    Tensor::zeros(&[]).to_dtype(DType::F64),
                )
            }),
            training: true,
        })
    }

    /// The scale `[C]`, if affine.
    ///
    /// ```
    /// use micrograd_plus::nn::{BatchNormConfig, InstanceNorm2d};
    /// let norm = InstanceNorm2d::with_config(2, BatchNormConfig::default()).unwrap();
    /// assert_eq!(norm.weight().unwrap().to_vec::<f32>(), vec![1.0; 2]);
    /// ```
    pub fn weight(&self) -> Option<&Tensor> {
        self.params.as_ref().map(|p| &p.0)
    }

    /// The running mean `[C]`, if tracked.
    ///
    /// ```
    /// use micrograd_plus::nn::{BatchNormConfig, InstanceNorm2d, Module};
    /// let norm = InstanceNorm2d::with_config(2, BatchNormConfig::default()).unwrap();
    /// let x = micrograd_plus::Tensor::new([[[[1.0f32, 3.0]], [[10.0, 30.0]]]]).unwrap();
    /// norm.forward(&x).unwrap();
    /// assert_eq!(norm.running_mean().unwrap().to_vec::<f32>(), vec![0.2, 2.0]);
    /// ```
    pub fn running_mean(&self) -> Option<&Tensor> {
        self.running.as_ref().map(|r| &r.0)
    }
}

impl Module for InstanceNorm2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let op = "InstanceNorm2d";
        if x.ndim() == 3 {
            // Unbatched (C, H, W): a batch of one.
            return self.forward(&x.unsqueeze(0)?)?.squeeze(Some(0));
        }
        if x.ndim() != 4 {
            return Err(Error::shape(
                op,
                format!(
                    "expected 3-D or 4-D input, got input of shape {:?}",
                    x.shape()
                ),
            ));
        }
        let (rm, rv) = match &self.running {
            Some((m, v, _)) => (Some(m), Some(v)),
            None => (None, None),
        };
        let (w, b) = match &self.params {
            Some((w, b)) => (Some(w), Some(b)),
            None => (None, None),
        };
        let use_input_stats = self.training || self.running.is_none();
        x.instance_norm(
            rm,
            rv,
            w,
            b,
            use_input_stats,
            self.config.momentum.unwrap_or(0.0),
            self.config.eps,
        )
    }

    fn visit_parameters(&self, f: &mut Visitor<'_>) {
        if let Some((w, b)) = &self.params {
            f("weight", w);
            f("bias", b);
        }
    }

    fn visit_buffers(&self, f: &mut Visitor<'_>) {
        if let Some((m, v, n)) = &self.running {
            f("running_mean", m);
            f("running_var", v);
            f("num_batches_tracked", n);
        }
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn is_training(&self) -> bool {
        self.training
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let momentum = c.momentum.map_or("None".to_string(), |m| m.to_string());
        format!(
            "InstanceNorm2d({}, eps={}, momentum={momentum}, affine={}, track_running_stats={})",
            self.num_features, c.eps, c.affine, c.track_running_stats
        )
    }
}
