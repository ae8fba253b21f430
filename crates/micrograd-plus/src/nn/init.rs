//! Parameter initialisers, PyTorch's `torch.nn.init`: each fills a tensor in
//! place from the default generator (seeded by [`crate::manual_seed`]).
//!
//! The scaled schemes keep activations from growing or shrinking layer
//! after layer: Xavier/Glorot balances fan-in and fan-out for tanh/sigmoid
//! networks; Kaiming/He uses fan-in (or fan-out) and the nonlinearity's gain,
//! for ReLU networks.
//!
//! ```
//! use micrograd_plus::{manual_seed, nn::init, Tensor};
//! manual_seed(0);
//! let w = Tensor::zeros(&[256, 128]);
//! init::kaiming_normal_(&w, 0.0, init::FanMode::FanIn, init::Nonlinearity::Relu).unwrap();
//! let std = w.std(0).item().unwrap();
//! assert!((std - (2.0f64 / 128.0).sqrt()).abs() < 0.005);
//! ```

use crate::random::with_rng;
use crate::tensor::{SliceMut, Tensor};
use crate::{Error, Result};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Which fan a Kaiming initialiser preserves the variance of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    /// The forward pass's activations (PyTorch's default).
    FanIn,
    /// The backward pass's gradients.
    FanOut,
}

/// The nonlinearity a gain is computed for ([`calculate_gain`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nonlinearity {
    /// Linear layers, convolutions and sigmoid: gain 1.
    Linear,
    /// tanh: gain 5/3.
    Tanh,
    /// ReLU: gain √2.
    Relu,
    /// Leaky ReLU: gain √(2 / (1 + slope²)), the slope given to the initialiser.
    LeakyRelu,
    /// SELU: gain 3/4.
    Selu,
}

/// The recommended gain for a nonlinearity (`param` is leaky ReLU's slope).
///
/// ```
/// use micrograd_plus::nn::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Relu, 0.0), 2f64.sqrt());
/// assert_eq!(calculate_gain(Nonlinearity::Tanh, 0.0), 5.0 / 3.0);
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity, param: f64) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu => (2.0 / (1.0 + param * param)).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

/// `(fan_in, fan_out)` of a weight: `(in · receptive field, out · receptive
/// field)` for shapes `(out, in, k...)`.
///
/// ```
/// use micrograd_plus::{nn::init::fans, Tensor};
/// assert_eq!(fans(&Tensor::zeros(&[16, 3, 5, 5])).unwrap(), (75, 400));
/// ```
pub fn fans(t: &Tensor) -> Result<(usize, usize)> {
    let shape = t.shape();
    if shape.len() < 2 {
        return Err(Error::shape(
            "init",
            format!("fan in and fan out need a tensor with at least 2 dims, got {shape:?}"),
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

/// Overwrites every element with `draw()`, converted to the tensor's dtype.
fn fill(t: &Tensor, mut draw: impl FnMut() -> f64) {
    t.update_any(|v| match v {
        SliceMut::F32(v) => v.iter_mut().for_each(|x| *x = draw() as f32),
        SliceMut::F64(v) => v.iter_mut().for_each(|x| *x = draw()),
    });
}

/// Fills with U(low, high).
///
/// ```
/// let t = micrograd_plus::Tensor::zeros(&[100]);
/// micrograd_plus::nn::init::uniform_(&t, -0.1, 0.1);
/// assert!(t.to_vec::<f32>().iter().all(|x| (-0.1..0.1).contains(x)));
/// ```
pub fn uniform_(t: &Tensor, low: f64, high: f64) {
    with_rng(|rng| fill(t, || rng.gen_range(low..high)));
}

/// Fills with N(mean, std²).
///
/// ```
/// let t = micrograd_plus::Tensor::zeros(&[10_000]);
/// micrograd_plus::nn::init::normal_(&t, 1.0, 0.02);
/// assert!((t.mean().item().unwrap() - 1.0).abs() < 1e-3);
/// ```
pub fn normal_(t: &Tensor, mean: f64, std: f64) {
    with_rng(|rng| {
        fill(t, || {
            let z: f64 = StandardNormal.sample(rng);
            mean + std * z
        })
    });
}

/// Fills with `value`.
///
/// ```
/// let t = micrograd_plus::Tensor::zeros(&[2]);
/// micrograd_plus::nn::init::constant_(&t, 0.5);
/// assert_eq!(t.to_vec::<f32>(), vec![0.5, 0.5]);
/// ```
pub fn constant_(t: &Tensor, value: f64) {
    fill(t, || value);
}

/// Fills with zeros.
///
/// ```
/// let t = micrograd_plus::Tensor::ones(&[2]);
/// micrograd_plus::nn::init::zeros_(&t);
/// assert_eq!(t.to_vec::<f32>(), vec![0.0, 0.0]);
/// ```
pub fn zeros_(t: &Tensor) {
    constant_(t, 0.0);
}

/// Fills with ones.
///
/// ```
/// let t = micrograd_plus::Tensor::zeros(&[2]);
/// micrograd_plus::nn::init::ones_(&t);
/// assert_eq!(t.to_vec::<f32>(), vec![1.0, 1.0]);
/// ```
pub fn ones_(t: &Tensor) {
    constant_(t, 1.0);
}

/// Xavier/Glorot uniform: U(-a, a) with a = gain·√(6 / (fan_in + fan_out)).
///
/// ```
/// let w = micrograd_plus::Tensor::zeros(&[20, 30]);
/// micrograd_plus::nn::init::xavier_uniform_(&w, 1.0).unwrap();
/// let bound = (6.0f64 / 50.0).sqrt() as f32;
/// assert!(w.to_vec::<f32>().iter().all(|x| x.abs() <= bound));
/// ```
pub fn xavier_uniform_(t: &Tensor, gain: f64) -> Result<()> {
    let (fan_in, fan_out) = fans(t)?;
    let bound = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
    uniform_(t, -bound, bound);
    Ok(())
}

/// Xavier/Glorot normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).
///
/// ```
/// let w = micrograd_plus::Tensor::zeros(&[200, 300]);
/// micrograd_plus::nn::init::xavier_normal_(&w, 1.0).unwrap();
/// assert!((w.std(0).item().unwrap() - (2.0f64 / 500.0).sqrt()).abs() < 1e-3);
/// ```
pub fn xavier_normal_(t: &Tensor, gain: f64) -> Result<()> {
    let (fan_in, fan_out) = fans(t)?;
    normal_(t, 0.0, gain * (2.0 / (fan_in + fan_out) as f64).sqrt());
    Ok(())
}

/// The standard deviation Kaiming initialisation aims for.
fn kaiming_std(t: &Tensor, a: f64, mode: FanMode, nonlinearity: Nonlinearity) -> Result<f64> {
    let (fan_in, fan_out) = fans(t)?;
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    Ok(calculate_gain(nonlinearity, a) / (fan as f64).sqrt())
}

/// Kaiming/He uniform: U(-b, b) with b = gain·√(3 / fan); `a` is leaky
/// ReLU's slope. PyTorch's `Linear` and `Conv2d` use `a = √5` with
/// [`Nonlinearity::LeakyRelu`], giving b = 1/√fan_in.
///
/// ```
/// use micrograd_plus::nn::init::{kaiming_uniform_, FanMode, Nonlinearity};
/// let w = micrograd_plus::Tensor::zeros(&[8, 16]);
/// kaiming_uniform_(&w, 5f64.sqrt(), FanMode::FanIn, Nonlinearity::LeakyRelu).unwrap();
/// assert!(w.to_vec::<f32>().iter().all(|x| x.abs() <= 0.25)); // 1/√16
/// ```
pub fn kaiming_uniform_(
    t: &Tensor,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<()> {
    let bound = 3f64.sqrt() * kaiming_std(t, a, mode, nonlinearity)?;
    uniform_(t, -bound, bound);
    Ok(())
}

/// Kaiming/He normal: N(0, std²) with std = gain / √fan.
///
/// ```
/// use micrograd_plus::nn::init::{kaiming_normal_, FanMode, Nonlinearity};
/// let w = micrograd_plus::Tensor::zeros(&[400, 200]);
/// kaiming_normal_(&w, 0.0, FanMode::FanOut, Nonlinearity::Relu).unwrap();
/// assert!((w.std(0).item().unwrap() - (2.0f64 / 400.0).sqrt()).abs() < 1e-3);
/// ```
pub fn kaiming_normal_(
    t: &Tensor,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<()> {
    normal_(t, 0.0, kaiming_std(t, a, mode, nonlinearity)?);
    Ok(())
}

/// PyTorch's default initialisation of a `Linear` or `Conv2d` weight
/// `(out, in, k...)`: Kaiming uniform with `a = √5`, i.e. U(±1/√fan_in).
///
/// ```
/// let w = micrograd_plus::Tensor::zeros(&[4, 25]);
/// micrograd_plus::nn::init::layer_weight_(&w).unwrap();
/// assert!(w.to_vec::<f32>().iter().all(|x| x.abs() <= 0.2)); // 1/√25
/// ```
pub fn layer_weight_(weight: &Tensor) -> Result<()> {
    kaiming_uniform_(weight, 5f64.sqrt(), FanMode::FanIn, Nonlinearity::LeakyRelu)
}

/// PyTorch's default bias for a layer with this weight: `(out,)` drawn from
/// U(±1/√fan_in) (0 when fan_in is 0), requiring gradients.
///
/// ```
/// let w = micrograd_plus::Tensor::zeros(&[3, 4, 2, 2]);
/// let b = micrograd_plus::nn::init::layer_bias(&w).unwrap();
/// assert_eq!(b.shape(), &[3]);
/// assert!(b.to_vec::<f32>().iter().all(|x| x.abs() <= 0.25)); // 1/√16
/// ```
pub fn layer_bias(weight: &Tensor) -> Result<Tensor> {
    let (fan_in, _) = fans(weight)?;
    let bound = if fan_in > 0 {
        1.0 / (fan_in as f64).sqrt()
    } else {
        0.0
    };
    let bias = Tensor::zeros(&weight.shape()[..1]).to_dtype(weight.dtype());
    uniform_(&bias, -bound, bound);
    Ok(bias.requires_grad(true))
}
