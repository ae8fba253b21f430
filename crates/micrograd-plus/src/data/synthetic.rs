//! Small generated data sets for teaching and tests, all seeded (a
//! `StdRng` from the seed, Gaussian noise from `rand_distr`, as in
//! [`moons`](super::moons)) and all returned as [`TensorDataset`]s with f32
//! inputs.
//!
//! - [`make_spirals`]: k interleaved spiral arms, one class each (CS231n's
//!   classic: a linear model fails, a small MLP succeeds).
//! - [`xor`] / [`make_xor`]: the four XOR points, or noisy clusters around them.
//! - [`make_regression`]: `y = X w + b + noise`, returning the true `w`, `b`.
//! - [`make_moons_dataset`]: [`make_moons`] as a dataset.
//!
//! ```
//! use micrograd_plus::data::synthetic::make_spirals;
//! use micrograd_plus::data::Dataset;
//! let ds = make_spirals(100, 3, 0.2, 0)?;
//! assert_eq!(ds.len(), 300);
//! assert_eq!(ds.inputs().shape(), &[300, 2]);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, StandardNormal};

use super::dataset::TensorDataset;
use super::moons::make_moons;
use crate::error::{Error, Result};

/// A Gaussian with standard deviation `sd`, or an error naming `op`.
fn gaussian(op: &'static str, sd: f64) -> Result<Normal<f64>> {
    if !sd.is_finite() || sd < 0.0 {
        return Err(Error::argument(
            op,
            format!("noise must be a finite standard deviation >= 0, got {sd}"),
        ));
    }
    Normal::new(0.0, sd).map_err(|e| Error::argument(op, e.to_string()))
}

/// `n_per_class` points on each of `classes` spiral arms in the plane: arm
/// `j`'s point `i` has radius `r = i / (n - 1)` and angle
/// `4 (j + r) + noise` radians (normal noise of standard deviation `noise`).
/// Targets are the arm index. Points are in class order, not shuffled
/// (shuffle with a [`DataLoader`](crate::data::DataLoader)).
///
/// ```
/// use micrograd_plus::data::synthetic::make_spirals;
/// let ds = make_spirals(5, 2, 0.0, 0)?;
/// let x = ds.inputs().to_vec::<f32>();
/// assert_eq!(&x[..2], &[0.0, 0.0]); // every arm starts at the origin
/// assert_eq!(ds.targets().to_vec::<f32>(), vec![0., 0., 0., 0., 0., 1., 1., 1., 1., 1.]);
/// assert!(make_spirals(5, 0, 0.1, 0).is_err());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn make_spirals(
    n_per_class: usize,
    classes: usize,
    noise: f64,
    seed: u64,
) -> Result<TensorDataset> {
    if classes == 0 {
        return Err(Error::argument("make_spirals", "need at least one class"));
    }
    let normal = gaussian("make_spirals", noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let n = n_per_class * classes;
    let (mut x, mut y) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    let denom = n_per_class.saturating_sub(1).max(1) as f64;
    for class in 0..classes {
        for i in 0..n_per_class {
            let r = i as f64 / denom;
            let theta = 4.0 * (class as f64 + r) + normal.sample(&mut rng);
            x.push((r * theta.sin()) as f32);
            x.push((r * theta.cos()) as f32);
            y.push(class as f32);
        }
    }
    TensorDataset::from_vecs(x, &[2], y)
}

/// The four XOR points `(0,0) (0,1) (1,0) (1,1)` with targets `0 1 1 0`:
/// the smallest problem no linear model solves.
///
/// ```
/// use micrograd_plus::data::synthetic::xor;
/// let ds = xor();
/// assert_eq!(ds.inputs().to_vec::<f32>(), vec![0., 0., 0., 1., 1., 0., 1., 1.]);
/// assert_eq!(ds.targets().to_vec::<f32>(), vec![0., 1., 1., 0.]);
/// ```
pub fn xor() -> TensorDataset {
    let x = vec![0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    let y = vec![0.0f32, 1.0, 1.0, 0.0];
    match TensorDataset::from_vecs(x, &[2], y) {
        Ok(ds) => ds,
        Err(e) => unreachable!("fixed XOR data has consistent shapes: {e}"),
    }
}

/// `n` points around the XOR corners: point `i` sits at corner `i % 4`
/// (in [`xor`]'s order) plus normal noise of standard deviation `noise` on
/// each coordinate, with that corner's target.
///
/// ```
/// use micrograd_plus::data::synthetic::make_xor;
/// let ds = make_xor(8, 0.0, 1)?;
/// assert_eq!(ds.targets().to_vec::<f32>(), vec![0., 1., 1., 0., 0., 1., 1., 0.]);
/// assert_eq!(make_xor(8, 0.1, 1)?.inputs().to_vec::<f32>(), make_xor(8, 0.1, 1)?.inputs().to_vec::<f32>());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn make_xor(n: usize, noise: f64, seed: u64) -> Result<TensorDataset> {
    let normal = gaussian("make_xor", noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    const CORNERS: [([f64; 2], f32); 4] = [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ];
    let (mut x, mut y) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for i in 0..n {
        let (p, label) = CORNERS[i % 4];
        x.push((p[0] + normal.sample(&mut rng)) as f32);
        x.push((p[1] + normal.sample(&mut rng)) as f32);
        y.push(label);
    }
    TensorDataset::from_vecs(x, &[2], y)
}

/// A linear-regression problem and its answer.
#[derive(Debug, Clone)]
pub struct Regression {
    /// Inputs `(N, features)`, targets `(N, 1)`: the shape a `Linear(features, 1)`
    /// layer outputs, so that a loss never broadcasts `(N, 1)` against `(N,)`.
    pub dataset: TensorDataset,
    /// The true weights, one per feature.
    pub weight: Vec<f32>,
    /// The true bias.
    pub bias: f32,
}

/// `n` samples of `y = x . w + b + noise`: `x` and the true `w` and `b`
/// are standard normal, the noise normal with standard deviation `noise`.
///
/// ```
/// use micrograd_plus::data::synthetic::make_regression;
/// let r = make_regression(3, 2, 0.0, 7)?;
/// let (x, y) = (r.dataset.inputs().to_vec::<f32>(), r.dataset.targets().to_vec::<f32>());
/// for i in 0..3 {
///     let fit = x[2 * i] * r.weight[0] + x[2 * i + 1] * r.weight[1] + r.bias;
///     assert!((fit - y[i]).abs() < 1e-5); // noiseless: exactly linear
/// }
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn make_regression(n: usize, features: usize, noise: f64, seed: u64) -> Result<Regression> {
    let normal = gaussian("make_regression", noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut std_normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let weight: Vec<f64> = (0..features).map(|_| std_normal()).collect();
    let bias = std_normal();
    let x: Vec<f64> = (0..n * features).map(|_| std_normal()).collect();
    let y: Vec<f32> = (0..n)
        .map(|i| {
            let row = &x[i * features..(i + 1) * features];
            let dot: f64 = row.iter().zip(&weight).map(|(a, b)| a * b).sum();
            (dot + bias + normal.sample(&mut rng)) as f32
        })
        .collect();
    let x: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let inputs = crate::Tensor::from_vec(x, &[n, features])?;
    let targets = crate::Tensor::from_vec(y, &[n, 1])?;
    Ok(Regression {
        dataset: TensorDataset::new(inputs, targets)?,
        weight: weight.iter().map(|&w| w as f32).collect(),
        bias: bias as f32,
    })
}

/// [`make_moons`] as a dataset: inputs `(n, 2)`, targets 0 or 1.
///
/// ```
/// use micrograd_plus::data::synthetic::make_moons_dataset;
/// use micrograd_plus::data::moons::make_moons;
/// let ds = make_moons_dataset(10, 0.1, 3)?;
/// let m = make_moons(10, 0.1, 3)?;
/// assert_eq!(ds.inputs().to_vec::<f64>()[0], m.points[0][0] as f32 as f64);
/// assert_eq!(ds.targets().to_vec::<f32>()[0], m.labels[0] as f32);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn make_moons_dataset(n: usize, noise: f64, seed: u64) -> Result<TensorDataset> {
    let m = make_moons(n, noise, seed)?;
    let x: Vec<f32> = m.points.iter().flatten().map(|&v| v as f32).collect();
    let y: Vec<f32> = m.labels.iter().map(|&l| l as f32).collect();
    TensorDataset::from_vecs(x, &[2], y)
}
