//! Saving and loading named tensors as safetensors files, written
//! atomically.
//!
//! A crash or a full disk while saving must never destroy the last good
//! file, so [`save_tensors`] writes a temporary file beside the target,
//! flushes it to disk and only then renames it over the target (a rename
//! within one directory is atomic on POSIX file systems).
//!
//! ```
//! use micrograd_plus::{io, Tensor};
//! use std::collections::HashMap;
//! let dir = std::env::temp_dir().join(format!("mgp-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("t.safetensors");
//! let w = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
//! let meta = HashMap::from([("epoch".to_string(), "3".to_string())]);
//! io::save_tensors(&path, &[("w".to_string(), w)], &meta).unwrap();
//! let (tensors, meta) = io::load_tensors(&path).unwrap();
//! assert_eq!(tensors[0].0, "w");
//! assert_eq!(tensors[0].1.to_vec::<f32>(), vec![1.0, 2.0, 3.0, 4.0]);
//! assert_eq!(meta["epoch"], "3");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use crate::tensor::{Storage, Tensor};
use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

fn file_error(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        msg: msg.to_string(),
    }
}

/// Writes `bytes` to `path` atomically: a temporary sibling file, flushed
/// and synced, then renamed over `path`.
///
/// ```
/// let path = std::env::temp_dir().join(format!("mgp-atomic-doc-{}.txt", std::process::id()));
/// micrograd_plus::io::write_atomic(&path, b"hello").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| file_error(path, "not a file path"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, format!("cannot write: {e}"))
    })
}

/// Little-endian bytes of a tensor's elements.
fn to_bytes(t: &Tensor) -> (Dtype, Vec<u8>) {
    match &*t.storage() {
        Storage::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Storage::F64(v) => (Dtype::F64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    }
}

/// Saves named tensors (f32 or f64) and string metadata to a safetensors
/// file, atomically (see [`write_atomic`]).
///
/// ```
/// let path = std::env::temp_dir().join(format!("mgp-save-doc-{}.safetensors", std::process::id()));
/// let t = micrograd_plus::Tensor::ones(&[2]);
/// micrograd_plus::io::save_tensors(&path, &[("ones".into(), t)], &Default::default()).unwrap();
/// assert!(path.exists());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            let (dtype, bytes) = to_bytes(t);
            (name.clone(), dtype, t.shape().to_vec(), bytes)
        })
        .collect();
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| file_error(path, format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = (!metadata.is_empty()).then(|| metadata.clone());
    let bytes = safetensors::tensor::serialize(views, &meta)
        .map_err(|e| file_error(path, format!("cannot serialise: {e}")))?;
    write_atomic(path, &bytes)
}

/// The tensors whose names start with `prefix.`, with that prefix removed:
/// one part (the model, the optimizer, ...) of a checkpoint that stores
/// several under dotted names.
///
/// ```
/// use micrograd_plus::{io::under_prefix, Tensor};
/// let all = vec![("model.w".to_string(), Tensor::zeros(&[1])), ("optimizer.m".to_string(), Tensor::zeros(&[1]))];
/// let model = under_prefix(&all, "model");
/// assert_eq!(model.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["w"]);
/// ```
pub fn under_prefix(tensors: &[(String, Tensor)], prefix: &str) -> Vec<(String, Tensor)> {
    let prefix = format!("{prefix}.");
    tensors
        .iter()
        .filter_map(|(n, t)| n.strip_prefix(&prefix).map(|n| (n.to_string(), t.clone())))
        .collect()
}

/// Loads every tensor (in the file's order of names) and the metadata of a
/// safetensors file. A missing, truncated or corrupt file, or a dtype other
/// than f32/f64, is an error naming the file.
///
/// ```
/// let err = micrograd_plus::io::load_tensors(std::path::Path::new("/nonexistent.safetensors")).unwrap_err();
/// assert!(err.to_string().starts_with("/nonexistent.safetensors: cannot read"));
/// ```
#[allow(clippy::type_complexity)]
pub fn load_tensors(path: &Path) -> Result<(Vec<(String, Tensor)>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, format!("cannot read: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| file_error(path, format!("not a valid safetensors file: {e}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| file_error(path, format!("not a valid safetensors file: {e}")))?;
    let mut names = file.names();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let view = file
            .tensor(name)
            .map_err(|e| file_error(path, format!("tensor {name}: {e}")))?;
        // safetensors checks that the shape's product matches the data, but
        // a zero in the shape hides an overflowing product of the other
        // dims ([0, 2^62, 2^62]), which later shape arithmetic would hit.
        let nonzero = view
            .shape()
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= isize::MAX as usize / 8);
        if nonzero.is_none() {
            return Err(file_error(
                path,
                format!("tensor {name}: shape {:?} is too large", view.shape()),
            ));
        }
        let data = view.data();
        let storage = match view.dtype() {
            Dtype::F32 => Storage::F32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::F64 => Storage::F64(
                data.chunks_exact(8)
                    .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                    .collect(),
            ),
            other => {
                return Err(file_error(
                    path,
                    format!("tensor {name}: dtype {other:?} is not supported (f32 or f64 only)"),
                ))
            }
        };
        out.push((
            name.to_string(),
            Tensor::from_storage(storage, view.shape().to_vec()),
        ));
    }
    Ok((out, metadata))
}
