//! [`ImageDataset`]: labelled images kept as bytes `(N, C, H, W)`, turned
//! into f32 only a batch at a time; and [`ImageFolder`], which decodes a
//! folder of class folders of JPEG/PNG files into one.
//!
//! Bytes rather than floats: CIFAR-10's 60,000 images are 184 MB as u8 and
//! would be 737 MB as f32, and the conversion costs less per batch than the
//! model's first layer.
//!
//! ```
//! use micrograd_plus::data::images::ImageDataset;
//! use micrograd_plus::data::Dataset;
//!
//! // Two 1x1 RGB images, labels 1 and 0.
//! let ds = ImageDataset::new(vec![255, 0, 0, 0, 0, 51], vec![1, 0], [3, 1, 1], vec!["a".into(), "b".into()])?;
//! let b = ds.get_batch(&[1])?;
//! assert_eq!(b.inputs.shape(), &[1, 3, 1, 1]);
//! assert_eq!(b.inputs.to_vec::<f32>(), vec![0.0, 0.0, 0.2]);
//! assert_eq!(b.targets.to_vec::<f32>(), vec![0.0]);
//! # Ok::<(), micrograd_plus::Error>(())
//! ```

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::dataset::{check_indices, Batch, Dataset};
use super::transforms::Normalize;
use crate::error::{Error, Result};
use crate::Tensor;

/// Labelled images of one size, stored as bytes in CHW order.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDataset {
    pixels: Vec<u8>,
    labels: Vec<u32>,
    shape: [usize; 3],
    classes: Vec<String>,
}

impl ImageDataset {
    /// Images from `pixels` (`N * C * H * W` bytes, CHW per image) with one
    /// label per image, each an index into `classes`.
    ///
    /// ```
    /// use micrograd_plus::data::images::ImageDataset;
    /// let err = ImageDataset::new(vec![0; 3], vec![2], [3, 1, 1], vec!["a".into(), "b".into()]).unwrap_err();
    /// assert_eq!(err.to_string(), "ImageDataset: label 2 of image 0 is not below the 2 classes");
    /// assert!(ImageDataset::new(vec![0; 4], vec![0], [3, 1, 1], vec!["a".into()]).is_err());
    /// ```
    pub fn new(
        pixels: Vec<u8>,
        labels: Vec<u32>,
        shape: [usize; 3],
        classes: Vec<String>,
    ) -> Result<ImageDataset> {
        let per_image: usize = shape.iter().product();
        if pixels.len() != labels.len() * per_image {
            return Err(Error::shape(
                "ImageDataset",
                format!(
                    "{} bytes of pixels for {} images of shape {shape:?} ({} bytes)",
                    pixels.len(),
                    labels.len(),
                    labels.len() * per_image
                ),
            ));
        }
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= classes.len())
        {
            return Err(Error::argument(
                "ImageDataset",
                format!(
                    "label {l} of image {i} is not below the {} classes",
                    classes.len()
                ),
            ));
        }
        Ok(ImageDataset {
            pixels,
            labels,
            shape,
            classes,
        })
    }

    /// One image's shape `[C, H, W]`.
    ///
    /// ```
    /// use micrograd_plus::data::images::ImageDataset;
    /// let ds = ImageDataset::new(vec![], vec![], [3, 32, 32], vec![])?;
    /// assert_eq!(ds.image_shape(), [3, 32, 32]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn image_shape(&self) -> [usize; 3] {
        self.shape
    }

    /// The class names, indexed by label.
    ///
    /// ```
    /// use micrograd_plus::data::images::ImageDataset;
    /// let ds = ImageDataset::new(vec![], vec![], [1, 1, 1], vec!["cat".into()])?;
    /// assert_eq!(ds.classes(), &["cat".to_string()]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Every image's label.
    ///
    /// ```
    /// use micrograd_plus::data::images::ImageDataset;
    /// let ds = ImageDataset::new(vec![0, 0], vec![0, 0], [1, 1, 1], vec!["cat".into()])?;
    /// assert_eq!(ds.labels(), &[0, 0]);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Image `i`'s bytes, CHW; `None` past the end.
    ///
    /// ```
    /// use micrograd_plus::data::images::ImageDataset;
    /// let ds = ImageDataset::new(vec![1, 2], vec![0, 0], [1, 1, 1], vec!["cat".into()])?;
    /// assert_eq!(ds.image(1), Some(&[2u8][..]));
    /// assert_eq!(ds.image(2), None);
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let size: usize = self.shape.iter().product();
        self.pixels.get(i * size..(i + 1) * size)
    }

    /// Per-channel mean and standard deviation of the pixels scaled to
    /// `[0, 1]`, ready to normalise batches (see [`Normalize::fit`]).
    ///
    /// ```
    /// use micrograd_plus::data::images::ImageDataset;
    /// // One 1-channel 1x2 image with pixels 0 and 255.
    /// let ds = ImageDataset::new(vec![0, 255], vec![0], [1, 1, 2], vec!["a".into()])?;
    /// let norm = ds.channel_stats()?;
    /// assert_eq!((norm.mean(), norm.std()), (&[0.5][..], &[0.5][..]));
    /// # Ok::<(), micrograd_plus::Error>(())
    /// ```
    pub fn channel_stats(&self) -> Result<Normalize> {
        let [c, h, w] = self.shape;
        let plane = h * w;
        let mut sum = vec![0u64; c];
        let mut sq = vec![0u64; c];
        if plane > 0 {
            for image in self.pixels.chunks_exact(c * plane) {
                for (ch, px) in image.chunks_exact(plane).enumerate() {
                    // Exact integer sums: 60k images * 1024 * 255^2 fits in u64.
                    sum[ch] += px.iter().map(|&p| p as u64).sum::<u64>();
                    sq[ch] += px.iter().map(|&p| (p as u64) * (p as u64)).sum::<u64>();
                }
            }
        }
        let count = (self.labels.len() * plane) as f64;
        if count == 0.0 {
            return Err(Error::shape(
                "ImageDataset::channel_stats",
                "no pixels to average",
            ));
        }
        let mean: Vec<f64> = sum.iter().map(|&s| s as f64 / count / 255.0).collect();
        let std: Vec<f64> = sq
            .iter()
            .zip(&mean)
            .map(|(&q, m)| {
                let var = (q as f64 / count / (255.0 * 255.0) - m * m).max(0.0);
                if var > 0.0 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Normalize::new(mean, std)
    }
}

impl Dataset for ImageDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    /// Inputs `(B, C, H, W)` f32 in `[0, 1]`, targets `(B,)` the labels.
    fn get_batch(&self, indices: &[usize]) -> Result<Batch> {
        check_indices("ImageDataset::get_batch", indices, self.len())?;
        let size: usize = self.shape.iter().product();
        let mut x: Vec<f32> = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            x.extend(
                self.pixels[i * size..(i + 1) * size]
                    .iter()
                    .map(|&p| p as f32 / 255.0),
            );
        }
        let y: Vec<f32> = indices.iter().map(|&i| self.labels[i] as f32).collect();
        let [c, h, w] = self.shape;
        Ok(Batch {
            inputs: Tensor::from_vec(x, &[indices.len(), c, h, w])?,
            targets: Tensor::from_vec(y, &[indices.len()])?,
        })
    }
}

/// An encoded image waiting to be decoded: where it came from (for error
/// messages), its label and its file contents.
pub(crate) struct Encoded {
    pub(crate) name: String,
    pub(crate) label: u32,
    pub(crate) bytes: Vec<u8>,
}

/// Decodes a JPEG or PNG (format guessed from the content) to RGB bytes in
/// CHW order, with its `[3, H, W]` shape.
///
/// ```
/// use micrograd_plus::data::images::decode_rgb;
/// let err = decode_rgb(b"not an image", "x.jpg").unwrap_err();
/// assert!(err.to_string().starts_with("x.jpg: cannot decode image:"));
/// ```
pub fn decode_rgb(bytes: &[u8], name: &str) -> Result<([usize; 3], Vec<u8>)> {
    let img = image::load_from_memory(bytes).map_err(|e| Error::File {
        path: name.to_string(),
        msg: format!("cannot decode image: {e}"),
    })?;
    let rgb = img.to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let hwc = rgb.as_raw();
    let plane = h * w;
    let mut chw = vec![0u8; 3 * plane];
    for (p, px) in hwc.chunks_exact(3).enumerate() {
        chw[p] = px[0];
        chw[plane + p] = px[1];
        chw[2 * plane + p] = px[2];
    }
    Ok(([3, h, w], chw))
}

/// Decodes `items` on all cores (rayon) straight into one buffer; every
/// image must have the first one's size (or `expect`'s, when given).
pub(crate) fn decode_all(
    items: Vec<Encoded>,
    classes: Vec<String>,
    expect: Option<[usize; 3]>,
) -> Result<ImageDataset> {
    let shape = match (expect, items.first()) {
        (Some(s), _) => s,
        (None, Some(first)) => decode_rgb(&first.bytes, &first.name)?.0,
        (None, None) => [3, 0, 0],
    };
    let size: usize = shape.iter().product();
    let mut pixels = vec![0u8; size * items.len()];
    if size > 0 {
        pixels
            .par_chunks_mut(size)
            .zip(items.par_iter())
            .try_for_each(|(dst, it)| {
                let (s, px) = decode_rgb(&it.bytes, &it.name)?;
                if s != shape {
                    return Err(Error::File {
                        path: it.name.clone(),
                        msg: format!(
                            "image is {}x{}, but the data set's images are {}x{}",
                            s[2], s[1], shape[2], shape[1]
                        ),
                    });
                }
                dst.copy_from_slice(&px);
                Ok(())
            })?;
    }
    let labels = items.iter().map(|it| it.label).collect();
    ImageDataset::new(pixels, labels, shape, classes)
}

/// Whether a file name looks like an image we decode (.jpg, .jpeg, .png).
pub(crate) fn is_image_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".jpg") || lower.ends_with(".jpeg") || lower.ends_with(".png")
}

/// A folder of class folders, `root/<class>/<image>`, as torchvision's
/// `ImageFolder`: classes sorted by name get labels 0, 1, ...; images are
/// taken in name order; files other than .jpg/.jpeg/.png are ignored.
#[derive(Debug, Clone, Copy)]
pub struct ImageFolder;

impl ImageFolder {
    /// Reads and decodes (in parallel) every image under `root`; errors
    /// name the file that cannot be read or decoded, or whose size differs
    /// from the first image's.
    ///
    /// ```
    /// use micrograd_plus::data::images::ImageFolder;
    /// let err = ImageFolder::load("/nonexistent").unwrap_err();
    /// assert!(err.to_string().starts_with("/nonexistent: cannot list folder"));
    /// ```
    pub fn load(root: impl AsRef<Path>) -> Result<ImageDataset> {
        ImageFolder::load_expecting(root.as_ref(), None)
    }

    /// [`ImageFolder::load`], requiring every image to be `shape` (`[3, H, W]`).
    pub(crate) fn load_expecting(root: &Path, shape: Option<[usize; 3]>) -> Result<ImageDataset> {
        let list = |dir: &Path| -> Result<Vec<PathBuf>> {
            let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
                path: dir.display().to_string(),
                msg: format!("cannot list folder: {e}"),
            })?;
            let mut paths = entries
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| Error::File {
                    path: dir.display().to_string(),
                    msg: format!("cannot list folder: {e}"),
                })?;
            paths.sort();
            Ok(paths)
        };
        let class_dirs: Vec<PathBuf> = list(root)?.into_iter().filter(|p| p.is_dir()).collect();
        if class_dirs.is_empty() {
            return Err(Error::File {
                path: root.display().to_string(),
                msg: "no class folders (expected root/<class>/<image>)".into(),
            });
        }
        let mut classes = Vec::new();
        let mut files = Vec::new();
        for (label, dir) in class_dirs.iter().enumerate() {
            classes.push(
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            for f in list(dir)? {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
                if f.is_file() && name.as_deref().is_some_and(is_image_name) {
                    files.push((f, label as u32));
                }
            }
        }
        let items = files
            .into_par_iter()
            .map(|(path, label)| {
                let bytes = std::fs::read(&path).map_err(|e| Error::File {
                    path: path.display().to_string(),
                    msg: format!("cannot read: {e}"),
                })?;
                Ok(Encoded {
                    name: path.display().to_string(),
                    label,
                    bytes,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        decode_all(items, classes, shape)
    }
}
