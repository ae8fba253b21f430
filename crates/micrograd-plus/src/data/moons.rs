//! Two interleaving half circles: scikit-learn's `make_moons`, seeded.
//!
//! The classic toy problem for a small classifier: no straight line
//! separates the classes, but a two-layer network bends a boundary between
//! them in a few dozen steps.
//!
//! ```
//! use micrograd_plus::data::moons::make_moons;
//!
//! let moons = make_moons(100, 0.1, 1337)?;
//! assert_eq!(moons.points.len(), 100);
//! assert_eq!(moons.labels.iter().filter(|&&l| l == 1).count(), 50);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use crate::error::{Error, Result};

/// A two-moons data set: points and their class, 0 (upper moon) or 1
/// (lower moon).
///
/// ```
/// use micrograd_plus::data::moons::make_moons;
/// let m = make_moons(4, 0.0, 0)?;
/// assert_eq!(m.len(), 4);
/// assert!(!m.is_empty());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Moons {
    /// `(x, y)` coordinates, one per sample.
    pub points: Vec<[f64; 2]>,
    /// Class of each point: 0 or 1.
    pub labels: Vec<u8>,
}

impl Moons {
    /// Number of samples.
    ///
    /// ```
    /// use micrograd_plus::data::moons::make_moons;
    /// assert_eq!(make_moons(7, 0.1, 0)?.len(), 7);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are no samples.
    ///
    /// ```
    /// use micrograd_plus::data::moons::make_moons;
    /// assert!(make_moons(0, 0.1, 0)?.is_empty());
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Labels as -1.0 / +1.0, the targets a max-margin (hinge) loss wants.
    ///
    /// ```
    /// use micrograd_plus::data::moons::make_moons;
    /// let m = make_moons(10, 0.1, 0)?;
    /// for (l, s) in m.labels.iter().zip(m.signed_labels()) {
    ///     assert_eq!(s, if *l == 1 { 1.0 } else { -1.0 });
    /// }
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn signed_labels(&self) -> Vec<f64> {
        self.labels
            .iter()
            .map(|&l| if l == 1 { 1.0 } else { -1.0 })
            .collect()
    }
}

/// `n` evenly spaced angles from 0 to pi inclusive (numpy's linspace).
fn angles(n: usize) -> impl Iterator<Item = f64> {
    let step = if n > 1 {
        std::f64::consts::PI / (n - 1) as f64
    } else {
        0.0
    };
    (0..n).map(move |i| i as f64 * step)
}

/// `n` points on two moons, shuffled, with Gaussian noise of standard
/// deviation `noise` added to each coordinate; the same `seed` always gives
/// the same data. The upper moon (label 0) gets `n / 2` points, the lower
/// one (label 1) the rest, as in scikit-learn.
///
/// Errors if `noise` is negative or not finite.
///
/// ```
/// use micrograd_plus::data::moons::make_moons;
/// let a = make_moons(50, 0.2, 9)?;
/// assert_eq!(a, make_moons(50, 0.2, 9)?);
/// assert_ne!(a, make_moons(50, 0.2, 10)?);
/// assert!(make_moons(50, -1.0, 9).is_err());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn make_moons(n: usize, noise: f64, seed: u64) -> Result<Moons> {
    if !noise.is_finite() || noise < 0.0 {
        return Err(Error::argument(
            "make_moons",
            format!("noise must be a finite standard deviation >= 0, got {noise}"),
        ));
    }
    let n_out = n / 2;
    let n_in = n - n_out;
    let outer = angles(n_out).map(|t| ([t.cos(), t.sin()], 0u8));
    let inner = angles(n_in).map(|t| ([1.0 - t.cos(), 0.5 - t.sin()], 1u8));
    let mut samples: Vec<([f64; 2], u8)> = outer.chain(inner).collect();

    let mut rng = StdRng::seed_from_u64(seed);
    samples.shuffle(&mut rng);
    // `noise` was checked above, so this cannot fail; map the error anyway
    // rather than unwrap.
    let normal =
        Normal::new(0.0, noise).map_err(|e| Error::argument("make_moons", e.to_string()))?;
    for (p, _) in &mut samples {
        p[0] += normal.sample(&mut rng);
        p[1] += normal.sample(&mut rng);
    }
    Ok(Moons {
        points: samples.iter().map(|s| s.0).collect(),
        labels: samples.iter().map(|s| s.1).collect(),
    })
}
