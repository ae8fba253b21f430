//! Batch transforms for images `(N, C, H, W)`: byte-to-float conversion,
//! per-channel normalisation, random crop with zero padding, random
//! horizontal flip, and [`Compose`] to chain them.
//!
//! They run on the [`DataLoader`](crate::data::DataLoader)'s thread with a
//! generator seeded from `(seed, epoch, batch index)`, so augmentation is
//! reproducible. Each is a plain loop over the batch's buffer (a batch of
//! 128 CIFAR images takes well under a millisecond per transform), not a
//! chain of tensor ops: augmentation is data preparation, not part of the
//! graph.
//!
//! ```
//! use micrograd_plus::data::transforms::{Compose, Normalize, RandomCrop, RandomHorizontalFlip, Transform};
//! use micrograd_plus::data::Batch;
//! use micrograd_plus::Tensor;
//! use rand::SeedableRng;
//!
//! let augment = Compose::new()
//!     .then(RandomCrop::new(32, 4))
//!     .then(RandomHorizontalFlip::new(0.5)?)
//!     .then(Normalize::new(vec![0.5; 3], vec![0.25; 3])?);
//! let batch = Batch { inputs: Tensor::rand(&[8, 3, 32, 32], 0), targets: Tensor::zeros(&[8]) };
//! let out = augment.apply(batch, &mut rand::rngs::StdRng::seed_from_u64(0))?;
//! assert_eq!(out.inputs.shape(), &[8, 3, 32, 32]);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::Rng;

use super::dataset::Batch;
use super::loader::BatchTransform;
use crate::error::{Error, Result};
use crate::tensor::{with_slice, Element, Storage, Tensor};

/// A seeded change to a batch. Implementors are `Send + Sync` so a loader's
/// background thread can run them.
///
/// ```
/// use micrograd_plus::data::transforms::Transform;
/// use micrograd_plus::data::Batch;
/// use micrograd_plus::Result;
/// use rand::rngs::StdRng;
///
/// /// Adds 1 to every input.
/// struct AddOne;
/// impl Transform for AddOne {
///     fn apply(&self, b: Batch, _: &mut StdRng) -> Result<Batch> {
///         Ok(Batch { inputs: &b.inputs + 1.0, targets: b.targets })
///     }
/// }
/// ```
pub trait Transform: Send + Sync {
    /// The transformed batch; random choices come from `rng`.
    fn apply(&self, batch: Batch, rng: &mut StdRng) -> Result<Batch>;

    /// This transform as the function [`DataLoader::transform`](crate::data::DataLoader::transform) takes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use micrograd_plus::data::transforms::{RandomHorizontalFlip, Transform};
    /// use micrograd_plus::data::{DataLoader, TensorDataset};
    /// use micrograd_plus::Tensor;
    /// let ds = TensorDataset::new(Tensor::zeros(&[4, 1, 2, 2]), Tensor::zeros(&[4]))?;
    /// let loader = DataLoader::new(Arc::new(ds), 2)?
    ///     .transform(RandomHorizontalFlip::new(0.5)?.into_batch_fn());
    /// assert_eq!(loader.epoch(0).count(), 2);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    fn into_batch_fn(self) -> BatchTransform
    where
        Self: Sized + 'static,
    {
        Arc::new(move |batch, rng| self.apply(batch, rng))
    }
}

/// How the bytes of one image are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Channel, then row, then column: CIFAR's binary files, PyTorch tensors.
    Chw,
    /// Row, then column, then channel: decoded JPEG/PNG pixels.
    Hwc,
}

/// Converts `n` images of bytes (shape `[n, c, h, w]`, stored in `layout`)
/// to an f32 tensor `(n, c, h, w)` with values in `[0, 1]` (torchvision's
/// `ToTensor`, batched).
///
/// ```
/// use micrograd_plus::data::transforms::{to_tensor, Layout};
/// // One 1x2 RGB image, pixel by pixel: (255, 0, 51), (0, 255, 102).
/// let hwc = [255u8, 0, 51, 0, 255, 102];
/// let t = to_tensor(&hwc, [1, 3, 1, 2], Layout::Hwc)?;
/// assert_eq!(t.shape(), &[1, 3, 1, 2]);
/// assert_eq!(t.to_vec::<f32>(), vec![1.0, 0.0, 0.0, 1.0, 0.2, 0.4]);
/// assert!(to_tensor(&hwc, [2, 3, 1, 2], Layout::Hwc).is_err());
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn to_tensor(bytes: &[u8], shape: [usize; 4], layout: Layout) -> Result<Tensor> {
    let [n, c, h, w] = shape;
    let numel = n * c * h * w;
    if bytes.len() != numel {
        return Err(Error::shape(
            "to_tensor",
            format!(
                "{} bytes cannot fill images of shape {shape:?} ({numel} bytes)",
                bytes.len()
            ),
        ));
    }
    let out: Vec<f32> = match layout {
        Layout::Chw => bytes.iter().map(|&b| b as f32 / 255.0).collect(),
        Layout::Hwc => {
            let mut out = vec![0.0f32; numel];
            let plane = h * w;
            for (img_in, img_out) in bytes
                .chunks_exact(c * plane)
                .zip(out.chunks_exact_mut(c * plane))
            {
                for (p, px) in img_in.chunks_exact(c).enumerate() {
                    for (ch, &b) in px.iter().enumerate() {
                        img_out[ch * plane + p] = b as f32 / 255.0;
                    }
                }
            }
            out
        }
    };
    Tensor::from_vec(out, &shape)
}

/// The image dims `(N, C, H, W)` of a batch's inputs, or an error naming `op`.
fn image_dims(op: &'static str, t: &Tensor) -> Result<[usize; 4]> {
    match *t.shape() {
        [n, c, h, w] => Ok([n, c, h, w]),
        ref s => Err(Error::shape(
            op,
            format!("expected images of shape (N, C, H, W), got {s:?}"),
        )),
    }
}

/// `x` changed by `f`, as a new untracked tensor: in place when `x` is the
/// only handle to its tensor (a batch fresh from `get_batch`), else on a
/// copy, so no other handle ever sees the change. In place saves a 1.5 MB
/// allocation per CIFAR batch, and with it the page faults of fresh memory.
fn modify(x: Tensor, f: impl FnOnce(&mut Storage)) -> Tensor {
    let shape = x.shape().to_vec();
    let mut storage = x.into_storage();
    f(&mut storage);
    Tensor::from_storage(storage, shape)
}

/// Normalises inputs per channel (dim 1): `(x - mean[c]) / std[c]`, as
/// torchvision's `Normalize`. For `(N, D)` features, the "channels" are the
/// D features, so [`Normalize::fit`] gives per-feature standardisation.
///
/// ```
/// use micrograd_plus::data::transforms::Normalize;
/// use micrograd_plus::Tensor;
/// let norm = Normalize::new(vec![1.0, 2.0], vec![2.0, 4.0])?;
/// let x = Tensor::new([[3.0f32, 2.0], [1.0, 10.0]])?;
/// assert_eq!(norm.apply_to(&x)?.to_vec::<f32>(), vec![1.0, 0.0, 0.0, 2.0]);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Normalize {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Normalize {
    /// Per-channel `mean` and `std`; errors if their lengths differ or a
    /// std is not a positive finite number.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::Normalize;
    /// assert!(Normalize::new(vec![0.5], vec![0.0]).is_err());
    /// assert!(Normalize::new(vec![0.5, 0.5], vec![0.2]).is_err());
    /// ```
    pub fn new(mean: Vec<f64>, std: Vec<f64>) -> Result<Normalize> {
        if mean.len() != std.len() || mean.is_empty() {
            return Err(Error::argument(
                "Normalize",
                format!(
                    "need one mean and one std per channel, got {} means and {} stds",
                    mean.len(),
                    std.len()
                ),
            ));
        }
        if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::argument(
                "Normalize",
                format!("std must be positive and finite, got {s}"),
            ));
        }
        if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
            return Err(Error::argument(
                "Normalize",
                format!("mean must be finite, got {m}"),
            ));
        }
        Ok(Normalize { mean, std })
    }

    /// The mean and (population, divide-by-N) standard deviation of each
    /// channel of `x` `(N, C, ...)`, over every other dim. A constant
    /// channel gets std 1 (as scikit-learn's `StandardScaler`), so applying
    /// the result never divides by zero.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::Normalize;
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[1.0f32, 5.0], [3.0, 5.0]])?;
    /// let norm = Normalize::fit(&x)?;
    /// assert_eq!(norm.mean(), &[2.0, 5.0]);
    /// assert_eq!(norm.std(), &[1.0, 1.0]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn fit(x: &Tensor) -> Result<Normalize> {
        let shape = x.shape();
        if shape.len() < 2 || shape[0] == 0 {
            return Err(Error::shape(
                "Normalize::fit",
                format!("expected (N, C, ...) with N > 0, got {shape:?}"),
            ));
        }
        let (n, c) = (shape[0], shape[1]);
        let inner: usize = shape[2..].iter().product();
        let count = (n * inner) as f64;
        let mut sum = vec![0.0f64; c];
        let mut sq = vec![0.0f64; c];
        with_slice!(&*x.storage(), |v: T| {
            // Two passes (mean, then squared deviations): stable for pixel
            // data whose mean is far from 0.
            for sample in v.chunks_exact(c * inner) {
                for (ch, plane) in sample.chunks_exact(inner).enumerate() {
                    sum[ch] += plane.iter().map(|x| x.as_f64()).sum::<f64>();
                }
            }
            let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
            for sample in v.chunks_exact(c * inner) {
                for (ch, plane) in sample.chunks_exact(inner).enumerate() {
                    sq[ch] += plane
                        .iter()
                        .map(|x| (x.as_f64() - mean[ch]).powi(2))
                        .sum::<f64>();
                }
            }
            sum = mean;
        });
        let std = sq
            .iter()
            .map(|s| {
                let sd = (s / count).sqrt();
                if sd > 0.0 {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Normalize::new(sum, std)
    }

    /// Per-channel means.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::Normalize;
    /// assert_eq!(Normalize::new(vec![0.5], vec![0.2])?.mean(), &[0.5]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Per-channel standard deviations.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::Normalize;
    /// assert_eq!(Normalize::new(vec![0.5], vec![0.2])?.std(), &[0.2]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// `x` `(N, C, ...)` normalised per channel, same shape and dtype.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::Normalize;
    /// use micrograd_plus::Tensor;
    /// let norm = Normalize::new(vec![0.5; 3], vec![0.5; 3])?;
    /// assert!(norm.apply_to(&Tensor::zeros(&[2, 4])).is_err()); // 4 channels, 3 stats
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn apply_to(&self, x: &Tensor) -> Result<Tensor> {
        // A second handle: `normalize_owned` sees it is shared and copies.
        self.normalize_owned(x.clone())
    }

    /// [`Normalize::apply_to`], in place when `x` is the only handle.
    fn normalize_owned(&self, x: Tensor) -> Result<Tensor> {
        let shape = x.shape();
        let c = self.mean.len();
        if shape.len() < 2 || shape[1] != c {
            return Err(Error::shape(
                "Normalize",
                format!("expected (N, {c}, ...) for {c} channels of statistics, got {shape:?}"),
            ));
        }
        let inner: usize = shape[2..].iter().product();
        fn run<T: Element>(v: &mut [T], mean: &[f64], std: &[f64], inner: usize) {
            let c = mean.len();
            if inner == 0 {
                return;
            }
            for sample in v.chunks_exact_mut(c * inner) {
                for (ch, plane) in sample.chunks_exact_mut(inner).enumerate() {
                    let (m, s) = (T::of(mean[ch]), T::of(1.0 / std[ch]));
                    plane.iter_mut().for_each(|x| *x = (*x - m) * s);
                }
            }
        }
        Ok(modify(x, |st| match st {
            Storage::F32(v) => run(v, &self.mean, &self.std, inner),
            Storage::F64(v) => run(v, &self.mean, &self.std, inner),
        }))
    }
}

impl Transform for Normalize {
    fn apply(&self, batch: Batch, _: &mut StdRng) -> Result<Batch> {
        Ok(Batch {
            inputs: self.normalize_owned(batch.inputs)?,
            targets: batch.targets,
        })
    }
}

/// Zero-pads each image by `padding` on every side, then crops a random
/// `size x size` window (torchvision's `RandomCrop(size, padding)`); the
/// CIFAR-10 standard is `RandomCrop::new(32, 4)`.
///
/// ```
/// use micrograd_plus::data::transforms::{RandomCrop, Transform};
/// use micrograd_plus::data::Batch;
/// use micrograd_plus::Tensor;
/// use rand::SeedableRng;
/// let b = Batch { inputs: Tensor::ones(&[2, 3, 8, 8]), targets: Tensor::zeros(&[2]) };
/// let out = RandomCrop::new(6, 2).apply(b, &mut rand::rngs::StdRng::seed_from_u64(1))?;
/// assert_eq!(out.inputs.shape(), &[2, 3, 6, 6]);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomCrop {
    size: usize,
    padding: usize,
}

impl RandomCrop {
    /// Crops `size x size` windows after padding by `padding`.
    ///
    /// ```
    /// let crop = micrograd_plus::data::transforms::RandomCrop::new(32, 4);
    /// ```
    pub fn new(size: usize, padding: usize) -> RandomCrop {
        RandomCrop { size, padding }
    }

    /// Crops image `i`'s window whose top-left corner is at `(top, left)` in
    /// padded coordinates; the building block of [`Transform::apply`],
    /// public so that a crop can be checked exactly.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::RandomCrop;
    /// use micrograd_plus::Tensor;
    /// // A 1-channel 2x2 image [[1, 2], [3, 4]], padded by 1, 2x2 window at (0, 0).
    /// let x = Tensor::new([[[[1.0f32, 2.0], [3.0, 4.0]]]])?;
    /// let out = RandomCrop::new(2, 1).crop_at(&x, &[(0, 0)])?;
    /// assert_eq!(out.to_vec::<f32>(), vec![0.0, 0.0, 0.0, 1.0]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn crop_at(&self, x: &Tensor, corners: &[(usize, usize)]) -> Result<Tensor> {
        self.crop_owned(x.clone(), corners)
    }

    /// [`RandomCrop::crop_at`]; in place when the crop keeps the image size
    /// and `x` is the only handle.
    fn crop_owned(&self, x: Tensor, corners: &[(usize, usize)]) -> Result<Tensor> {
        let [n, c, h, w] = image_dims("RandomCrop", &x)?;
        let (size, pad) = (self.size, self.padding);
        if size > h + 2 * pad || size > w + 2 * pad {
            return Err(Error::shape(
                "RandomCrop",
                format!("a {size}x{size} crop does not fit {h}x{w} images padded by {pad}"),
            ));
        }
        if corners.len() != n {
            return Err(Error::argument(
                "RandomCrop",
                format!("{} crop corners for {n} images", corners.len()),
            ));
        }
        if let Some(&(t, l)) = corners
            .iter()
            .find(|&&(t, l)| t + size > h + 2 * pad || l + size > w + 2 * pad)
        {
            return Err(Error::argument(
                "RandomCrop",
                format!("corner ({t}, {l}) puts the {size}x{size} window outside the padded {h}x{w} image"),
            ));
        }
        let dims = [n, c, h, w];
        if size == h && size == w {
            // Same size out as in: each plane is cropped through a small
            // scratch copy, writing back over itself.
            fn run<T: Element>(
                v: &mut [T],
                dims: [usize; 4],
                pad: usize,
                corners: &[(usize, usize)],
            ) {
                let [_, c, h, w] = dims;
                let mut scratch = vec![T::zero(); h * w];
                for (i, &corner) in corners.iter().enumerate() {
                    for ch in 0..c {
                        let plane = &mut v[(i * c + ch) * h * w..][..h * w];
                        scratch.copy_from_slice(plane);
                        crop_plane(&scratch, plane, [h, w], h, pad, corner);
                    }
                }
            }
            return Ok(modify(x, |st| match st {
                Storage::F32(v) => run(v, dims, pad, corners),
                Storage::F64(v) => run(v, dims, pad, corners),
            }));
        }
        let storage = with_slice!(&*x.storage(), |v: T| {
            let mut out = vec![T::zero(); n * c * size * size];
            for (i, &corner) in corners.iter().enumerate() {
                for ch in 0..c {
                    let src = &v[(i * c + ch) * h * w..][..h * w];
                    let dst = &mut out[(i * c + ch) * size * size..][..size * size];
                    crop_plane(src, dst, [h, w], size, pad, corner);
                }
            }
            T::into_storage(out)
        });
        Ok(Tensor::from_storage(storage, vec![n, c, size, size]))
    }
}

/// Writes the `size x size` window at `(top, left)` of the zero-padded
/// plane `src` (`h x w`) into `dst`: for each output row, the part inside
/// the source is one slice copy, the rest is zero (the padding).
fn crop_plane<T: Element>(
    src: &[T],
    dst: &mut [T],
    [h, w]: [usize; 2],
    size: usize,
    pad: usize,
    (top, left): (usize, usize),
) {
    // Output column x reads source column x + left - pad; the valid x are
    // those with 0 <= x + left - pad < w.
    let x0 = pad.saturating_sub(left).min(size);
    let x1 = (w + pad).saturating_sub(left).min(size).max(x0);
    for (y, row) in dst.chunks_exact_mut(size).enumerate() {
        let sy = y + top;
        if sy < pad || sy >= h + pad || x0 == x1 {
            row.fill(T::zero());
            continue;
        }
        let sx0 = x0 + left - pad;
        row[..x0].fill(T::zero());
        row[x0..x1].copy_from_slice(&src[(sy - pad) * w + sx0..][..x1 - x0]);
        row[x1..].fill(T::zero());
    }
}

impl Transform for RandomCrop {
    fn apply(&self, batch: Batch, rng: &mut StdRng) -> Result<Batch> {
        let [n, _, h, w] = image_dims("RandomCrop", &batch.inputs)?;
        let (max_top, max_left) = (
            (h + 2 * self.padding).saturating_sub(self.size),
            (w + 2 * self.padding).saturating_sub(self.size),
        );
        let corners: Vec<(usize, usize)> = (0..n)
            .map(|_| (rng.gen_range(0..=max_top), rng.gen_range(0..=max_left)))
            .collect();
        Ok(Batch {
            inputs: self.crop_owned(batch.inputs, &corners)?,
            targets: batch.targets,
        })
    }
}

/// Mirrors each image left-right with probability `p` (torchvision's
/// `RandomHorizontalFlip`).
///
/// ```
/// use micrograd_plus::data::transforms::{RandomHorizontalFlip, Transform};
/// use micrograd_plus::data::Batch;
/// use micrograd_plus::Tensor;
/// use rand::SeedableRng;
/// let x = Tensor::new([[[[1.0f32, 2.0, 3.0]]]])?; // one 1x1x3 image
/// let b = Batch { inputs: x, targets: Tensor::zeros(&[1]) };
/// let out = RandomHorizontalFlip::new(1.0)?.apply(b, &mut rand::rngs::StdRng::seed_from_u64(0))?;
/// assert_eq!(out.inputs.to_vec::<f32>(), vec![3.0, 2.0, 1.0]);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomHorizontalFlip {
    p: f64,
}

impl RandomHorizontalFlip {
    /// Flips with probability `p`; errors unless `0 <= p <= 1`.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::RandomHorizontalFlip;
    /// assert!(RandomHorizontalFlip::new(1.5).is_err());
    /// ```
    pub fn new(p: f64) -> Result<RandomHorizontalFlip> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::argument(
                "RandomHorizontalFlip",
                format!("p must be a probability in [0, 1], got {p}"),
            ));
        }
        Ok(RandomHorizontalFlip { p })
    }

    /// `x` `(N, C, H, W)` with the images where `flip[i]` is true mirrored.
    ///
    /// ```
    /// use micrograd_plus::data::transforms::RandomHorizontalFlip;
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[[[1.0f32, 2.0]]], [[[3.0, 4.0]]]])?;
    /// let out = RandomHorizontalFlip::flip_where(&x, &[false, true])?;
    /// assert_eq!(out.to_vec::<f32>(), vec![1.0, 2.0, 4.0, 3.0]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn flip_where(x: &Tensor, flip: &[bool]) -> Result<Tensor> {
        RandomHorizontalFlip::flip_owned(x.clone(), flip)
    }

    /// [`RandomHorizontalFlip::flip_where`], in place when `x` is the only handle.
    fn flip_owned(x: Tensor, flip: &[bool]) -> Result<Tensor> {
        let [n, c, h, w] = image_dims("RandomHorizontalFlip", &x)?;
        if flip.len() != n {
            return Err(Error::argument(
                "RandomHorizontalFlip",
                format!("{} flip flags for {n} images", flip.len()),
            ));
        }
        let image = c * h * w;
        if image == 0 || !flip.contains(&true) {
            return Ok(x);
        }
        fn run<T: Element>(v: &mut [T], flip: &[bool], image: usize, w: usize) {
            for (img, _) in v.chunks_exact_mut(image).zip(flip).filter(|&(_, &f)| f) {
                img.chunks_exact_mut(w).for_each(<[T]>::reverse);
            }
        }
        Ok(modify(x, |st| match st {
            Storage::F32(v) => run(v, flip, image, w),
            Storage::F64(v) => run(v, flip, image, w),
        }))
    }
}

impl Transform for RandomHorizontalFlip {
    fn apply(&self, batch: Batch, rng: &mut StdRng) -> Result<Batch> {
        let n = batch.inputs.shape().first().copied().unwrap_or(0);
        let flip: Vec<bool> = (0..n).map(|_| rng.gen_bool(self.p)).collect();
        Ok(Batch {
            inputs: RandomHorizontalFlip::flip_owned(batch.inputs, &flip)?,
            targets: batch.targets,
        })
    }
}

/// Transforms applied one after another, sharing one generator.
///
/// ```
/// use micrograd_plus::data::transforms::{Compose, Normalize, Transform};
/// use micrograd_plus::data::Batch;
/// use micrograd_plus::Tensor;
/// use rand::SeedableRng;
/// let twice = Compose::new()
///     .then(Normalize::new(vec![1.0], vec![2.0])?)
///     .then(Normalize::new(vec![1.0], vec![2.0])?);
/// let b = Batch { inputs: Tensor::full(&[1, 1], 7.0), targets: Tensor::zeros(&[1]) };
/// let out = twice.apply(b, &mut rand::rngs::StdRng::seed_from_u64(0))?;
/// assert_eq!(out.inputs.to_vec::<f32>(), vec![1.0]); // (7-1)/2 = 3, (3-1)/2 = 1
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Compose {
    steps: Vec<Arc<dyn Transform>>,
}

impl Compose {
    /// No transforms (the identity).
    ///
    /// ```
    /// assert!(micrograd_plus::data::transforms::Compose::new().is_empty());
    /// ```
    pub fn new() -> Compose {
        Compose::default()
    }

    /// Appends `t` (builder style).
    ///
    /// ```
    /// use micrograd_plus::data::transforms::{Compose, RandomCrop};
    /// assert_eq!(Compose::new().then(RandomCrop::new(32, 4)).len(), 1);
    /// ```
    pub fn then(mut self, t: impl Transform + 'static) -> Compose {
        self.steps.push(Arc::new(t));
        self
    }

    /// Number of transforms.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::data::transforms::Compose::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there are no transforms.
    ///
    /// ```
    /// assert!(micrograd_plus::data::transforms::Compose::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl Transform for Compose {
    fn apply(&self, mut batch: Batch, rng: &mut StdRng) -> Result<Batch> {
        for t in &self.steps {
            batch = t.apply(batch, rng)?;
        }
        Ok(batch)
    }
}
