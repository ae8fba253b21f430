//! Ops that pick or assemble pieces of tensors: cat, stack, split, chunk,
//! narrow, strided slicing, index_select, gather and constant padding.
//!
//! Picking is one primitive, [`Tensor::index_select`]: its backward adds each
//! output gradient back at the position it was read from (so an index used
//! twice receives both gradients). narrow, slice, split and chunk are
//! index_select with a range of indices.

use crate::tensor::shape::{contiguous_strides, for_each_offset, normalize_dim, numel};
use crate::tensor::{with_slice, DType, Storage, Tensor};
use crate::{Error, Result};

/// (outer, size of dim, inner) around `dim`.
fn around(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (
        shape[..dim].iter().product(),
        shape[dim],
        shape[dim + 1..].iter().product(),
    )
}

impl Tensor {
    /// The elements of an index tensor (class labels, token ids, positions)
    /// as `usize`, checking each is a whole number in `0..limit`; an error
    /// names `op` and describes the indexed thing as `what`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let ids = Tensor::new([[2.0f32, 0.0], [1.0, 2.0]]).unwrap();
    /// assert_eq!(ids.to_indices("lookup", 3, "a table").unwrap(), vec![2, 0, 1, 2]);
    /// let err = ids.to_indices("lookup", 2, "a table").unwrap_err();
    /// assert_eq!(err.to_string(), "lookup: index 2 is out of bounds for a table with size 2");
    /// let err = Tensor::new([0.5f32]).unwrap().to_indices("lookup", 2, "a table").unwrap_err();
    /// assert_eq!(err.to_string(), "lookup: index 0.5 is out of bounds for a table with size 2");
    /// ```
    pub fn to_indices(&self, op: &'static str, limit: usize, what: &str) -> Result<Vec<usize>> {
        self.to_vec::<f64>()
            .into_iter()
            .map(|v| {
                if v.fract() != 0.0 || v < 0.0 || v >= limit as f64 {
                    Err(Error::index(
                        op,
                        format!("index {v} is out of bounds for {what} with size {limit}"),
                    ))
                } else {
                    Ok(v as usize)
                }
            })
            .collect()
    }

    /// Joins tensors along an existing dim; all other dims must match.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::ones(&[2, 1]));
    /// assert_eq!(Tensor::cat(&[a.clone(), b], 1).unwrap().shape(), &[2, 4]);
    /// let err = Tensor::cat(&[a, Tensor::zeros(&[3, 3])], 1).unwrap_err();
    /// assert!(err.to_string().starts_with("cat: sizes of tensors must match except in dimension 1"));
    /// ```
    pub fn cat(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::argument("cat", "expected a non-empty list of tensors"))?;
        if tensors.iter().any(|t| t.dtype() != first.dtype()) {
            let promoted: Vec<Tensor> = tensors.iter().map(|t| t.to_dtype(DType::F64)).collect();
            return Tensor::cat(&promoted, dim);
        }
        if first.ndim() == 0 {
            return Err(Error::shape(
                "cat",
                "zero-dimensional tensors cannot be concatenated",
            ));
        }
        let d = normalize_dim("cat", dim, first.ndim())?;
        for t in tensors {
            let same = t.ndim() == first.ndim()
                && t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(i, (a, b))| i == d || a == b);
            if !same {
                return Err(Error::shape(
                    "cat",
                    format!(
                        "sizes of tensors must match except in dimension {d}: got {:?} and {:?}",
                        first.shape(),
                        t.shape()
                    ),
                ));
            }
        }
        let mut out_shape = first.shape().to_vec();
        out_shape[d] = tensors.iter().map(|t| t.shape()[d]).sum();
        let (outer, _, inner) = around(&out_shape, d);
        let guards: Vec<_> = tensors.iter().map(|t| t.storage()).collect();
        let out = with_slice!(&*guards[0], |_v: T| {
            let mut out = Vec::with_capacity(numel(&out_shape));
            for o in 0..outer {
                for (t, g) in tensors.iter().zip(&guards) {
                    let block = t.shape()[d] * inner;
                    out.extend_from_slice(&T::slice(g).expect("dtype")[o * block..(o + 1) * block]);
                }
            }
            T::into_storage(out)
        });
        drop(guards);
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[d]).collect();
        Ok(Tensor::record(
            out,
            out_shape,
            "cat",
            tensors.to_vec(),
            move |g, _, _| {
                let mut start = 0;
                let mut grads = Vec::with_capacity(sizes.len());
                for &len in &sizes {
                    grads.push(Some(g.take_along(d, (start..start + len).collect())));
                    start += len;
                }
                Ok(grads)
            },
        ))
    }

    /// Joins tensors of one shape along a new dim.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let s = Tensor::stack(&[Tensor::zeros(&[3]), Tensor::ones(&[3])], 0).unwrap();
    /// assert_eq!(s.shape(), &[2, 3]);
    /// ```
    pub fn stack(tensors: &[Tensor], dim: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::argument("stack", "expected a non-empty list of tensors"))?;
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(Error::shape(
                "stack",
                format!(
                    "stack expects each tensor to be equal size, but got {:?} and {:?}",
                    first.shape(),
                    t.shape()
                ),
            ));
        }
        let d = normalize_dim("stack", dim, first.ndim() + 1)? as isize;
        let lifted = tensors
            .iter()
            .map(|t| t.unsqueeze(d))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&lifted, d)
    }

    /// The elements at `indices` along `dim` (indices may repeat).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::new([[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]]).unwrap();
    /// assert_eq!(t.index_select(0, &[2, 0]).unwrap().to_vec::<f32>(), vec![5.0, 6.0, 1.0, 2.0]);
    /// let err = t.index_select(0, &[3]).unwrap_err().to_string();
    /// assert_eq!(err, "index_select: index 3 is out of bounds for dimension 0 with size 3");
    /// ```
    pub fn index_select(&self, dim: isize, indices: &[usize]) -> Result<Tensor> {
        let d = self.dim_for("index_select", dim)?;
        let size = self.shape()[d];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::index(
                "index_select",
                format!("index {bad} is out of bounds for dimension {d} with size {size}"),
            ));
        }
        Ok(self.take_along(d, indices.to_vec()))
    }

    /// `length` elements along `dim` starting at `start`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::arange(0.0, 5.0, 1.0);
    /// assert_eq!(t.narrow(0, 1, 3).unwrap().to_vec::<f32>(), vec![1.0, 2.0, 3.0]);
    /// assert!(t.narrow(0, 3, 3).is_err());
    /// assert!(t.narrow(0, usize::MAX, 2).is_err());
    /// ```
    pub fn narrow(&self, dim: isize, start: usize, length: usize) -> Result<Tensor> {
        let d = self.dim_for("narrow", dim)?;
        let size = self.shape()[d];
        if start.checked_add(length).is_none_or(|end| end > size) {
            return Err(Error::index("narrow", format!("start ({start}) + length ({length}) exceeds dimension size ({size}) of shape {:?}", self.shape())));
        }
        Ok(self.take_along(d, (start..start + length).collect()))
    }

    /// Python's `x[..., start:end:step]` along `dim`: negative bounds count
    /// from the end and out-of-range bounds are clamped; `step` must be positive.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::arange(0.0, 6.0, 1.0);
    /// assert_eq!(t.slice(0, 1, 6, 2).unwrap().to_vec::<f32>(), vec![1.0, 3.0, 5.0]);
    /// assert_eq!(t.slice(0, -2, 100, 1).unwrap().to_vec::<f32>(), vec![4.0, 5.0]);
    /// ```
    pub fn slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Result<Tensor> {
        let d = self.dim_for("slice", dim)?;
        if step == 0 {
            return Err(Error::argument("slice", "slice step must be positive"));
        }
        let size = self.shape()[d] as isize;
        let clampi = |i: isize| if i < 0 { (i + size).max(0) } else { i.min(size) } as usize;
        let (s, e) = (clampi(start), clampi(end));
        Ok(self.take_along(d, (s..e.max(s)).step_by(step).collect()))
    }

    /// Splits along `dim` into pieces of `split_size` (the last may be smaller).
    ///
    /// ```
    /// let parts = micrograd_plus::Tensor::zeros(&[5, 2]).split(2, 0).unwrap();
    /// let sizes: Vec<usize> = parts.iter().map(|p| p.shape()[0]).collect();
    /// assert_eq!(sizes, vec![2, 2, 1]);
    /// ```
    pub fn split(&self, split_size: usize, dim: isize) -> Result<Vec<Tensor>> {
        let d = self.dim_for("split", dim)?;
        if split_size == 0 {
            return Err(Error::argument("split", "split_size must be positive"));
        }
        let size = self.shape()[d];
        Ok((0..size.max(1))
            .step_by(split_size)
            .map(|s| self.take_along(d, (s..(s + split_size).min(size)).collect()))
            .collect())
    }

    /// Splits along `dim` into `chunks` pieces of `ceil(size / chunks)` (fewer if they run out).
    ///
    /// ```
    /// let parts = micrograd_plus::Tensor::zeros(&[6]).chunk(4, 0).unwrap();
    /// assert_eq!(parts.len(), 3); // PyTorch: 4 chunks of size 6 give 3 pieces of 2
    /// ```
    pub fn chunk(&self, chunks: usize, dim: isize) -> Result<Vec<Tensor>> {
        let d = self.dim_for("chunk", dim)?;
        if chunks == 0 {
            return Err(Error::argument(
                "chunk",
                "chunk expects `chunks` to be greater than 0",
            ));
        }
        self.split(self.shape()[d].div_ceil(chunks).max(1), d as isize)
    }

    /// `out[i][j][k] = self[i][index[i][j][k]][k]` for `dim = 1` (and likewise
    /// for other dims). `index` holds whole numbers; its gradient is none.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// let idx = Tensor::new([[1.0f32, 1.0], [0.0, 1.0]]).unwrap();
    /// assert_eq!(t.gather(1, &idx).unwrap().to_vec::<f32>(), vec![2.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn gather(&self, dim: isize, index: &Tensor) -> Result<Tensor> {
        let d = self.dim_for("gather", dim)?;
        let (shape, ishape) = (self.shape(), index.shape());
        if ishape.len() != shape.len()
            || ishape
                .iter()
                .zip(shape)
                .enumerate()
                .any(|(i, (a, b))| i != d && a > b)
        {
            return Err(Error::shape(
                "gather",
                format!("index shape {ishape:?} must have the same number of dims as the input {shape:?} and be no larger outside dim {d}"),
            ));
        }
        let idx = index.to_indices("gather", shape[d], &format!("dimension {d}"))?;
        // Source offset of every output element.
        let strides = contiguous_strides(shape);
        let mut src = Vec::with_capacity(idx.len());
        let walk: Vec<usize> = strides
            .iter()
            .enumerate()
            .map(|(i, &s)| if i == d { 0 } else { s })
            .collect();
        let mut n = 0;
        for_each_offset(ishape, [&walk], |[base]| {
            src.push(base + idx[n] * strides[d]);
            n += 1;
        });
        let out = with_slice!(&*self.storage(), |v: T| T::into_storage(
            src.iter().map(|&i| v[i]).collect()
        ));
        let in_shape = shape.to_vec();
        Ok(Tensor::record(
            out,
            ishape.to_vec(),
            "gather",
            vec![self.clone()],
            move |g, _, _| {
                let dx = with_slice!(&*g.storage(), |gv: T| {
                    let mut dx = vec![T::zero(); numel(&in_shape)];
                    for (&i, &gi) in src.iter().zip(gv) {
                        dx[i] += gi;
                    }
                    T::into_storage(dx)
                });
                Ok(vec![Some(Tensor::from_storage(dx, in_shape.clone()))])
            },
        ))
    }

    /// Pads with a constant, `torch.nn.functional.pad` style: `pad` lists
    /// (before, after) pairs starting from the last dim.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[1, 2]);
    /// let p = t.pad(&[1, 0, 0, 1], 0.0).unwrap(); // last dim: 1 before; first dim: 1 after
    /// assert_eq!(p.shape(), &[2, 3]);
    /// assert_eq!(p.to_vec::<f32>(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    /// ```
    pub fn pad(&self, pad: &[usize], value: f64) -> Result<Tensor> {
        let nd = self.ndim();
        if !pad.len().is_multiple_of(2) || pad.len() / 2 > nd {
            return Err(Error::argument(
                "pad",
                format!("padding length must be even and at most twice the number of dims; got {} values for shape {:?}", pad.len(), self.shape()),
            ));
        }
        let mut before = vec![0; nd];
        let mut out_shape = self.shape().to_vec();
        for (i, pair) in pad.chunks(2).enumerate() {
            let d = nd - 1 - i;
            before[d] = pair[0];
            out_shape[d] += pair[0] + pair[1];
        }
        let out_strides = contiguous_strides(&out_shape);
        let base: usize = before.iter().zip(&out_strides).map(|(b, s)| b * s).sum();
        let in_strides = contiguous_strides(self.shape());
        let in_shape = self.shape().to_vec();
        let out = with_slice!(&*self.storage(), |v: T| {
            let mut out = vec![T::of(value); numel(&out_shape)];
            for_each_offset(&in_shape, [&in_strides, &out_strides], |[i, o]| {
                out[base + o] = v[i]
            });
            T::into_storage(out)
        });
        Ok(Tensor::record(
            out,
            out_shape,
            "pad",
            vec![self.clone()],
            move |g, _, _| {
                // The gradient of the interior is the gradient of the input; padding gets none.
                let dx = with_slice!(&*g.storage(), |gv: T| {
                    let mut dx = Vec::with_capacity(numel(&in_shape));
                    for_each_offset(&in_shape, [&out_strides], |[o]| dx.push(gv[base + o]));
                    T::into_storage(dx)
                });
                Ok(vec![Some(Tensor::from_storage(dx, in_shape.clone()))])
            },
        ))
    }

    /// Normalises `dim` for ops that need at least one dim.
    fn dim_for(&self, op: &'static str, dim: isize) -> Result<usize> {
        if self.ndim() == 0 {
            return Err(Error::shape(
                op,
                "expected a tensor with at least one dimension, got a 0-d tensor",
            ));
        }
        normalize_dim(op, dim, self.ndim())
    }

    /// The picking primitive: elements at `indices` (already validated) along `dim`.
    pub(crate) fn take_along(&self, dim: usize, indices: Vec<usize>) -> Tensor {
        let (outer, size, inner) = around(self.shape(), dim);
        if indices.len() == size && indices.iter().enumerate().all(|(i, &j)| i == j) {
            return self.clone();
        }
        let mut out_shape = self.shape().to_vec();
        out_shape[dim] = indices.len();
        let out = with_slice!(&*self.storage(), |v: T| {
            let mut out = Vec::with_capacity(outer * indices.len() * inner);
            for o in 0..outer {
                for &i in &indices {
                    out.extend_from_slice(&v[(o * size + i) * inner..][..inner]);
                }
            }
            T::into_storage(out)
        });
        Tensor::record(
            out,
            out_shape,
            "index_select",
            vec![self.clone()],
            move |g, inputs, _| {
                let x = &inputs[0];
                let dx: Storage = with_slice!(&*g.storage(), |gv: T| {
                    let mut dx = vec![T::zero(); x.numel()];
                    let n = indices.len();
                    for o in 0..outer {
                        for (k, &i) in indices.iter().enumerate() {
                            let (src, dst) = ((o * n + k) * inner, (o * size + i) * inner);
                            for j in 0..inner {
                                dx[dst + j] += gv[src + j];
                            }
                        }
                    }
                    T::into_storage(dx)
                });
                Ok(vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))])
            },
        )
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn index_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        out.push(OpCheck::new(
            "cat",
            "dim=1",
            vec![g.randn(&[2, 3]), g.randn(&[2, 1]), g.randn(&[2, 2])],
            |t| Tensor::cat(t, 1),
        ));
        out.push(OpCheck::new(
            "cat",
            "dim=0",
            vec![g.randn(&[1, 3]), g.randn(&[2, 3])],
            |t| Tensor::cat(t, 0),
        ));
        out.push(OpCheck::new(
            "cat",
            "dim=-1",
            vec![g.randn(&[2, 3, 1]), g.randn(&[2, 3, 2])],
            |t| Tensor::cat(t, -1),
        ));
        out.push(OpCheck::new(
            "cat",
            "same tensor twice, dim=0",
            vec![g.randn(&[2, 3])],
            |t| Tensor::cat(&[t[0].clone(), t[0].mul_scalar(2.0)], 0),
        ));
        for dim in [0, 1, -1] {
            out.push(OpCheck::new(
                "stack",
                format!("dim={dim}"),
                vec![g.randn(&[2, 3]), g.randn(&[2, 3]), g.randn(&[2, 3])],
                move |t| Tensor::stack(t, dim),
            ));
        }
        out.push(OpCheck::new(
            "split",
            "size=2, dim=0, pieces weighted 1,2,3",
            vec![g.randn(&[5, 3])],
            |t| weigh_pieces(&t[0].split(2, 0)?),
        ));
        out.push(OpCheck::new(
            "split",
            "size=2, dim=1, pieces weighted 1,2,3",
            vec![g.randn(&[2, 5])],
            |t| weigh_pieces(&t[0].split(2, 1)?),
        ));
        out.push(OpCheck::new(
            "chunk",
            "chunks=3, dim=1, p0 + 2·p1 + 3·p2",
            vec![g.randn(&[2, 6])],
            |t| {
                let p = t[0].chunk(3, 1)?;
                p[0].add(&p[1].mul_scalar(2.0))?.add(&p[2].mul_scalar(3.0))
            },
        ));
        out.push(OpCheck::new(
            "chunk",
            "chunks=2, dim=0 (sizes 3, 2), pieces weighted",
            vec![g.randn(&[5, 2])],
            |t| weigh_pieces(&t[0].chunk(2, 0)?),
        ));
        out.push(OpCheck::new(
            "chunk",
            "chunks=4, dim=0 (3 pieces of 2), pieces weighted",
            vec![g.randn(&[6])],
            |t| weigh_pieces(&t[0].chunk(4, 0)?),
        ));
        out.push(OpCheck::new(
            "narrow",
            "dim=1, start=1, length=2",
            vec![g.randn(&[2, 4, 3])],
            |t| t[0].narrow(1, 1, 2),
        ));
        out.push(OpCheck::new(
            "narrow",
            "dim=0, start=0, length=1",
            vec![g.randn(&[2, 3])],
            |t| t[0].narrow(0, 0, 1),
        ));
        out.push(OpCheck::new(
            "slice",
            "dim=1, 1:7:2",
            vec![g.randn(&[2, 7])],
            |t| t[0].slice(1, 1, 7, 2),
        ));
        out.push(OpCheck::new(
            "slice",
            "dim=0, -3:100:2",
            vec![g.randn(&[5])],
            |t| t[0].slice(0, -3, 100, 2),
        ));
        out.push(OpCheck::new(
            "slice",
            "dim=2, 0:4:3",
            vec![g.randn(&[2, 3, 4])],
            |t| t[0].slice(2, 0, 4, 3),
        ));
        out.push(OpCheck::new(
            "index_select",
            "dim=1, indices [2, 0, 2, 2]",
            vec![g.randn(&[2, 3, 4])],
            |t| t[0].index_select(1, &[2, 0, 2, 2]),
        ));
        out.push(OpCheck::new(
            "index_select",
            "dim=0, indices [1, 1]",
            vec![g.randn(&[3, 2])],
            |t| t[0].index_select(0, &[1, 1]),
        ));
        let idx = f64_tensor(vec![0.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.0, 2.0], &[2, 4]);
        out.push(OpCheck::new(
            "gather",
            "dim=1, index (2,4) with repeats",
            vec![g.randn(&[2, 3])],
            move |t| t[0].gather(1, &idx),
        ));
        let idx = f64_tensor(vec![2.0, 0.0, 1.0, 2.0, 2.0, 0.0], &[2, 3]);
        out.push(OpCheck::new(
            "gather",
            "dim=0, index (2,3)",
            vec![g.randn(&[3, 3])],
            move |t| t[0].gather(0, &idx),
        ));
        let idx = f64_tensor(
            vec![3.0, 0.0, 3.0, 1.0, 1.0, 2.0, 0.0, 0.0, 3.0, 2.0, 1.0, 0.0],
            &[2, 2, 3],
        );
        out.push(OpCheck::new(
            "gather",
            "dim=2, index (2,2,3) smaller than the input",
            vec![g.randn(&[2, 3, 4])],
            move |t| t[0].gather(2, &idx),
        ));
        out.push(OpCheck::new(
            "pad",
            "[1, 2], value 0",
            vec![g.randn(&[2, 3])],
            |t| t[0].pad(&[1, 2], 0.0),
        ));
        out.push(OpCheck::new(
            "pad",
            "[1, 0, 0, 1], value 0.5",
            vec![g.randn(&[2, 3])],
            |t| t[0].pad(&[1, 0, 0, 1], 0.5),
        ));
        out.push(OpCheck::new(
            "pad",
            "[0, 1, 2, 0, 1, 1]",
            vec![g.randn(&[2, 3, 2])],
            |t| t[0].pad(&[0, 1, 2, 0, 1, 1], -1.0),
        ));
    }
}
