//! `Dropout(p)` and `Dropout2d(p)`: randomly zero activations while
//! training so the network cannot rely on any single unit.
//!
//! Inverted dropout: kept values are scaled by `1/(1-p)` during training, so
//! the expected activation is unchanged and evaluation is the identity.
//! `Dropout2d` drops whole channels of `(N, C, H, W)` maps, since neighbouring
//! pixels of one channel are too correlated for per-pixel dropout to help.

use super::Module;
use crate::random::with_rng;
use crate::tensor::Tensor;
use crate::{Error, Result};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::sync::Mutex;

/// The state both dropout layers share: probability, mode and generator.
struct Dropper {
    p: f64,
    training: bool,
    /// Seeded from the default generator when the layer is built, so a run
    /// seeded with `manual_seed` drops the same units every time.
    rng: Mutex<StdRng>,
}

impl Dropper {
    fn new(op: &'static str, p: f64) -> Result<Dropper> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::argument(
                op,
                format!("dropout probability must be in [0, 1), got {p}"),
            ));
        }
        Ok(Dropper {
            p,
            training: true,
            rng: Mutex::new(StdRng::seed_from_u64(with_rng(|r| r.gen()))),
        })
    }

    /// `x · mask` with a mask of `mask_shape` (broadcast over `x`) holding 0
    /// with probability p and `1/(1-p)` otherwise.
    fn apply(&self, x: &Tensor, mask_shape: &[usize]) -> Result<Tensor> {
        if !self.training || self.p == 0.0 {
            return Ok(x.clone());
        }
        let scale = 1.0 / (1.0 - self.p);
        let n: usize = mask_shape.iter().product();
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mask: Vec<f64> = (0..n)
            .map(|_| {
                if rng.gen::<f64>() < self.p {
                    0.0
                } else {
                    scale
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, mask_shape)?.to_dtype(x.dtype());
        x.mul(&mask)
    }
}

/// Zeroes each element with probability `p` while training.
///
/// ```
/// use micrograd_plus::{nn::{Dropout, Module}, Tensor};
/// let mut drop = Dropout::new(0.5).unwrap();
/// let y = drop.forward(&Tensor::ones(&[1000])).unwrap().to_vec::<f32>();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// drop.eval();
/// assert_eq!(drop.forward(&Tensor::ones(&[3])).unwrap().to_vec::<f32>(), vec![1.0; 3]);
/// assert!(Dropout::new(1.0).is_err());
/// ```
pub struct Dropout(Dropper);

impl Dropout {
    /// Dropout with probability `p` in [0, 1).
    ///
    /// ```
    /// let err = micrograd_plus::nn::Dropout::new(-0.1).err().unwrap();
    /// assert_eq!(err.to_string(), "Dropout: dropout probability must be in [0, 1), got -0.1");
    /// ```
    pub fn new(p: f64) -> Result<Dropout> {
        Ok(Dropout(Dropper::new("Dropout", p)?))
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.apply(x, x.shape())
    }
    fn set_training(&mut self, training: bool) {
        self.0.training = training;
    }
    fn is_training(&self) -> bool {
        self.0.training
    }
    fn describe(&self) -> String {
        format!("Dropout(p={})", self.0.p)
    }
}

/// Zeroes whole channels of `(N, C, H, W)` (or `(C, H, W)`) input with
/// probability `p` while training.
///
/// ```
/// use micrograd_plus::{nn::{Dropout2d, Module}, Tensor};
/// let drop = Dropout2d::new(0.5).unwrap();
/// let y = drop.forward(&Tensor::ones(&[2, 8, 3, 3])).unwrap().to_vec::<f32>();
/// for channel in y.chunks(9) {
///     assert!(channel.iter().all(|&v| v == channel[0])); // all or nothing
/// }
/// ```
pub struct Dropout2d(Dropper);

impl Dropout2d {
    /// Channel dropout with probability `p` in [0, 1).
    ///
    /// ```
    /// assert!(micrograd_plus::nn::Dropout2d::new(0.2).is_ok());
    /// ```
    pub fn new(p: f64) -> Result<Dropout2d> {
        Ok(Dropout2d(Dropper::new("Dropout2d", p)?))
    }
}

impl Module for Dropout2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let shape = x.shape();
        if !(3..=4).contains(&shape.len()) {
            return Err(Error::shape(
                "Dropout2d",
                format!("expected (N, C, H, W) or (C, H, W) input, got {shape:?}"),
            ));
        }
        // One draw per channel, broadcast over the spatial dims.
        let mut mask_shape = shape.to_vec();
        let n = mask_shape.len();
        mask_shape[n - 2..].fill(1);
        self.0.apply(x, &mask_shape)
    }
    fn set_training(&mut self, training: bool) {
        self.0.training = training;
    }
    fn is_training(&self) -> bool {
        self.0.training
    }
    fn describe(&self) -> String {
        format!("Dropout2d(p={})", self.0.p)
    }
}
