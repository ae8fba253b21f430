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
            .find(|&(_, &l)| l as usize >= classes.len())
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

/// Widest or tallest image decoded: a header claiming more is refused
/// before decoding (it would cost gigabytes for a few bytes of file).
pub const MAX_IMAGE_SIDE: usize = 16_384;
/// Most pixels of one decoded image (64 Mpx, 192 MB as RGB).
pub const MAX_IMAGE_PIXELS: usize = 1 << 26;
/// Largest image file read from a folder.
pub const MAX_IMAGE_FILE_BYTES: u64 = 64 << 20;

fn image_error(name: &str, msg: impl Into<String>) -> Error {
    Error::File {
        path: name.to_string(),
        msg: msg.into(),
    }
}

/// Checks that a JPEG or PNG file is complete: a JPEG's markers and scans
/// must run to its end-of-image marker, a PNG's chunks to `IEND`. The
/// decoders fill a cut-off image with grey instead of failing, so a
/// truncated file would otherwise load as a plausible, wrong image.
fn check_complete(bytes: &[u8], name: &str) -> Result<()> {
    if bytes.starts_with(&[0xff, 0xd8]) {
        jpeg_end(bytes)
            .map_err(|msg| image_error(name, format!("cannot decode image: corrupt JPEG: {msg}")))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_end(bytes)
            .map_err(|msg| image_error(name, format!("cannot decode image: corrupt PNG: {msg}")))
    } else {
        // Not a format we decode: the decoder says so, with its reason.
        Ok(())
    }
}

/// Walks a JPEG's segments (and the entropy-coded data after each start of
/// scan) to its end-of-image marker `FF D9`.
fn jpeg_end(b: &[u8]) -> std::result::Result<(), String> {
    let truncated = |at: usize| format!("truncated at byte {at} before the end-of-image marker");
    let mut i = 2;
    loop {
        if i >= b.len() {
            return Err(truncated(b.len()));
        }
        if b[i] != 0xff {
            return Err(format!(
                "expected a marker at byte {i}, found 0x{:02x}",
                b[i]
            ));
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while i < b.len() && b[i] == 0xff {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return Err(truncated(b.len()));
        };
        i += 1;
        match marker {
            0xd9 => return Ok(()),
            // Restart markers, TEM and SOI carry no length.
            0xd0..=0xd8 | 0x01 => continue,
            _ => {}
        }
        let Some(len) = b
            .get(i..i + 2)
            .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize)
        else {
            return Err(truncated(b.len()));
        };
        if len < 2 {
            return Err(format!(
                "segment 0x{marker:02x} at byte {i} has length {len}"
            ));
        }
        i += len;
        if i > b.len() {
            return Err(truncated(b.len()));
        }
        if marker == 0xda {
            // Entropy-coded data: ends at the first FF that is neither a
            // stuffed FF 00, a restart marker nor a fill byte.
            loop {
                match b.get(i..i + 2) {
                    None => return Err(truncated(b.len())),
                    Some([0xff, n]) if *n == 0x00 || (0xd0..=0xd7).contains(n) => i += 2,
                    Some([0xff, 0xff]) => i += 1,
                    Some([0xff, _]) => break,
                    Some(_) => i += 1,
                }
            }
        }
    }
}

/// Walks a PNG's chunks to `IEND`.
fn png_end(b: &[u8]) -> std::result::Result<(), String> {
    let mut i = 8;
    loop {
        let Some(head) = b.get(i..i + 8) else {
            return Err(format!(
                "truncated at byte {} before the IEND chunk",
                b.len()
            ));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = i
            .checked_add(12)
            .and_then(|e| e.checked_add(len))
            .filter(|&e| e <= b.len())
            .ok_or_else(|| format!("truncated at byte {} before the IEND chunk", b.len()))?;
        if &head[4..8] == b"IEND" {
            return Ok(());
        }
        i = end;
    }
}

/// An image's `[3, H, W]` shape as its header declares it, read without
/// decoding, checked against [`MAX_IMAGE_SIDE`] and [`MAX_IMAGE_PIXELS`].
///
/// ```
/// use micrograd_plus::data::images::image_shape;
/// let mut png = Vec::new();
/// image::RgbImage::new(5, 3)
///     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
///     .unwrap();
/// assert_eq!(image_shape(&png, "x.png")?, [3, 3, 5]);
/// # Ok::<(), micrograd_plus::Error>(())
/// ```
pub fn image_shape(bytes: &[u8], name: &str) -> Result<[usize; 3]> {
    let shape = header_shape(bytes, name)?;
    check_size(shape, bytes, name)?;
    Ok(shape)
}

/// The `[3, H, W]` an image's header declares (no decoding).
fn header_shape(bytes: &[u8], name: &str) -> Result<[usize; 3]> {
    let (w, h) = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| image_error(name, format!("cannot decode image: {e}")))?
        .into_dimensions()
        .map_err(|e| image_error(name, format!("cannot decode image: {e}")))?;
    Ok([3, h as usize, w as usize])
}

/// Refuses an empty image, one beyond [`MAX_IMAGE_SIDE`] or
/// [`MAX_IMAGE_PIXELS`], and one larger than its file could encode: a JPEG
/// spends at least one bit on each 8x8 block (its DC code), so it holds at
/// most 512 pixels a byte; a PNG at least one bit a pixel after inflating
/// at most 1032:1 (DEFLATE's limit).
fn check_size([_, h, w]: [usize; 3], bytes: &[u8], name: &str) -> Result<()> {
    if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE || w * h > MAX_IMAGE_PIXELS {
        return Err(image_error(
            name,
            format!(
                "header says the image is {w}x{h}: beyond the limit of {MAX_IMAGE_SIDE} pixels a side and {MAX_IMAGE_PIXELS} pixels, or empty"
            ),
        ));
    }
    let (format, per_byte) = if bytes.starts_with(&[0xff, 0xd8]) {
        ("JPEG", 512)
    } else {
        ("PNG", 8 * 1032)
    };
    if w * h > bytes.len().saturating_mul(per_byte) {
        return Err(image_error(
            name,
            format!(
                "header says the image is {w}x{h}, more than a {}-byte {format} can hold",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// Decodes a JPEG or PNG (format guessed from the content) to RGB bytes in
/// CHW order, with its `[3, H, W]` shape. The size is read from the header
/// and checked ([`image_shape`]) before decoding, and a truncated file is
/// an error.
///
/// ```
/// use micrograd_plus::data::images::decode_rgb;
/// let err = decode_rgb(b"not an image", "x.jpg").unwrap_err();
/// assert!(err.to_string().starts_with("x.jpg: cannot decode image:"));
/// ```
pub fn decode_rgb(bytes: &[u8], name: &str) -> Result<([usize; 3], Vec<u8>)> {
    decode_expecting(bytes, name, None)
}

/// [`decode_rgb`], refusing from the header alone an image that is not
/// `expect` (`[3, H, W]`), when given.
fn decode_expecting(
    bytes: &[u8],
    name: &str,
    expect: Option<[usize; 3]>,
) -> Result<([usize; 3], Vec<u8>)> {
    // Completeness first (a scan of the bytes, no allocation), so a cut
    // file says so rather than whatever a header parser trips on.
    check_complete(bytes, name)?;
    let shape = header_shape(bytes, name)?;
    let [_, h, w] = shape;
    match expect {
        Some(e) if e != shape => {
            return Err(image_error(
                name,
                format!(
                    "image is {w}x{h}, but the data set's images are {}x{}",
                    e[2], e[1]
                ),
            ))
        }
        Some(_) => {}
        None => check_size(shape, bytes, name)?,
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| image_error(name, format!("cannot decode image: {e}")))?;
    // The decoder may not allocate beyond the size the header declared
    // (RGBA at 16 bits a channel, plus slack for its working buffers).
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w as u32);
    limits.max_image_height = Some(h as u32);
    limits.max_alloc = Some((w * h * 8 + (1 << 20)) as u64);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| image_error(name, format!("cannot decode image: {e}")))?;
    let rgb = img.to_rgb8();
    if (rgb.width() as usize, rgb.height() as usize) != (w, h) {
        return Err(image_error(
            name,
            format!(
                "decoded to {}x{} though its header says {w}x{h}",
                rgb.width(),
                rgb.height()
            ),
        ));
    }
    let hwc = rgb.as_raw();
    let plane = h * w;
    let mut chw = vec![0u8; 3 * plane];
    for (p, px) in hwc.chunks_exact(3).enumerate() {
        chw[p] = px[0];
        chw[plane + p] = px[1];
        chw[2 * plane + p] = px[2];
    }
    Ok((shape, chw))
}

/// Decodes `items` on all cores (rayon) straight into one buffer; every
/// image must have the first one's size (or `expect`'s, when given), which
/// is checked from each header before decoding.
pub(crate) fn decode_all(
    items: Vec<Encoded>,
    classes: Vec<String>,
    expect: Option<[usize; 3]>,
) -> Result<ImageDataset> {
    let shape = match (expect, items.first()) {
        (Some(s), _) => s,
        (None, Some(first)) => image_shape(&first.bytes, &first.name)?,
        (None, None) => [3, 0, 0],
    };
    let size: usize = shape.iter().product();
    let total = size.checked_mul(items.len()).ok_or_else(|| {
        Error::argument(
            "decode_all",
            format!("{} images of {shape:?} overflow", items.len()),
        )
    })?;
    let mut pixels = Vec::new();
    pixels.try_reserve_exact(total).map_err(|_| {
        let name = items.first().map_or("images", |it| it.name.as_str());
        image_error(
            name,
            format!(
                "cannot allocate {total} bytes for {} images of {}x{}",
                items.len(),
                shape[2],
                shape[1]
            ),
        )
    })?;
    pixels.resize(total, 0);
    if size > 0 {
        pixels
            .par_chunks_mut(size)
            .zip(items.par_iter())
            .try_for_each(|(dst, it)| {
                let (_, px) = decode_expecting(&it.bytes, &it.name, Some(shape))?;
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
                let cannot_read = |e: std::io::Error| Error::File {
                    path: path.display().to_string(),
                    msg: format!("cannot read: {e}"),
                };
                let len = std::fs::metadata(&path).map_err(cannot_read)?.len();
                if len > MAX_IMAGE_FILE_BYTES {
                    return Err(Error::File {
                        path: path.display().to_string(),
                        msg: format!(
                            "{len} bytes is more than the {MAX_IMAGE_FILE_BYTES}-byte limit for an image file"
                        ),
                    });
                }
                let bytes = std::fs::read(&path).map_err(cannot_read)?;
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
