//! Ops that rearrange elements without computing new values: reshape,
//! permute/transpose, squeeze/unsqueeze, flatten, expand. Their backward rules
//! undo the rearrangement on the gradient (expand's sums the copies).

use crate::tensor::shape::{
    broadcast_copy, contiguous_strides, ensure_allocatable, for_each_offset, normalize_dim, numel,
    sum_to_shape,
};
use crate::tensor::{with_slice, Storage, Tensor};
use crate::{Error, Result};

/// Copies `src` (of `shape`) into the order given by `perm` of its dims.
fn permute_storage(src: &Storage, shape: &[usize], perm: &[usize]) -> Storage {
    let in_strides = contiguous_strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let read_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    with_slice!(src, |v: T| {
        let mut out = Vec::with_capacity(v.len());
        for_each_offset(&out_shape, [&read_strides], |[i]| out.push(v[i]));
        T::into_storage(out)
    })
}

/// A target shape for [`Tensor::reshape`]: sizes as `usize` (a tensor's
/// `shape()`), or as signed integers where one may be `-1` (inferred), in a
/// slice, an array or a `Vec`.
pub trait ReshapeDims: std::fmt::Debug {
    /// The dims as signed sizes; `None` if one does not fit in `isize`.
    fn signed_dims(&self) -> Option<Vec<isize>>;
}

macro_rules! reshape_dims {
    ($($int:ty),*) => {$(
        impl ReshapeDims for [$int] {
            fn signed_dims(&self) -> Option<Vec<isize>> {
                self.iter().map(|&d| isize::try_from(d).ok()).collect()
            }
        }
        impl<const N: usize> ReshapeDims for [$int; N] {
            fn signed_dims(&self) -> Option<Vec<isize>> {
                self.as_slice().signed_dims()
            }
        }
        impl ReshapeDims for Vec<$int> {
            fn signed_dims(&self) -> Option<Vec<isize>> {
                self.as_slice().signed_dims()
            }
        }
    )*};
}
reshape_dims!(isize, i32, i64, usize);

impl Tensor {
    /// The same elements in a new shape; one dim may be `-1` (inferred).
    /// The shape may be given as `usize` sizes too (another tensor's `shape()`).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let t = Tensor::arange(0.0, 6.0, 1.0);
    /// assert_eq!(t.reshape(&[2, -1]).unwrap().shape(), &[2, 3]);
    /// let sizes: Vec<usize> = vec![3, 2];
    /// assert_eq!(t.reshape(&sizes).unwrap().shape(), &[3, 2]);
    /// assert_eq!(t.reshape(Tensor::zeros(&[1, 6]).shape()).unwrap().shape(), &[1, 6]);
    /// let err = t.reshape(&[4, 2]).unwrap_err();
    /// assert_eq!(err.to_string(), "reshape: shape '[4, 2]' is invalid for input of size 6");
    /// let err = t.reshape(&[usize::MAX, 0]).unwrap_err();
    /// assert_eq!(err.to_string(), format!("reshape: shape '[{}, 0]' is invalid for input of size 6", usize::MAX));
    /// ```
    pub fn reshape(&self, shape: &(impl ReshapeDims + ?Sized)) -> Result<Tensor> {
        let n = self.numel();
        let invalid = || {
            Error::shape(
                "reshape",
                format!("shape '{shape:?}' is invalid for input of size {n}"),
            )
        };
        let shape = shape.signed_dims().ok_or_else(invalid)?;
        let mut inferred = None;
        let mut known = 1usize;
        for (i, &d) in shape.iter().enumerate() {
            match d {
                -1 if inferred.is_none() => inferred = Some(i),
                d if d >= 0 => known = known.checked_mul(d as usize).ok_or_else(invalid)?,
                _ => return Err(invalid()),
            }
        }
        let mut new_shape: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(i) = inferred {
            if known == 0 || !n.is_multiple_of(known) {
                return Err(invalid());
            }
            new_shape[i] = n / known;
        } else if known != n {
            return Err(invalid());
        }
        Ok(self.reshape_unchecked(new_shape))
    }

    /// Reshape to a shape already known to hold `numel` elements.
    pub(crate) fn reshape_unchecked(&self, shape: Vec<usize>) -> Tensor {
        if shape == self.shape() {
            return self.clone();
        }
        let data = self.storage().clone();
        Tensor::record(
            data,
            shape,
            "reshape",
            vec![self.clone()],
            |g, inputs, _| Ok(vec![Some(g.reshape_unchecked(inputs[0].shape().to_vec()))]),
        )
    }

    /// This tensor with at least one dim: a 0-d tensor as a vector of one
    /// element (ops along a dim treat it as one line of one); others as is.
    pub(crate) fn at_least_1d(&self) -> Tensor {
        if self.ndim() == 0 {
            self.reshape_unchecked(vec![1])
        } else {
            self.clone()
        }
    }

    /// Reorders the dims: output dim `i` is input dim `dims[i]`.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::zeros(&[2, 3, 4]);
    /// assert_eq!(t.permute(&[2, 0, 1]).unwrap().shape(), &[4, 2, 3]);
    /// assert!(t.permute(&[0, 0, 1]).is_err());
    /// ```
    pub fn permute(&self, dims: &[isize]) -> Result<Tensor> {
        let nd = self.ndim();
        if dims.len() != nd {
            return Err(Error::shape(
                "permute",
                format!(
                    "number of dims don't match: tensor has shape {:?} but {} dims were given",
                    self.shape(),
                    dims.len()
                ),
            ));
        }
        let mut perm = Vec::with_capacity(nd);
        for &d in dims {
            let d = normalize_dim("permute", d, nd)?;
            if perm.contains(&d) {
                return Err(Error::argument(
                    "permute",
                    format!("repeated dim {d} in {dims:?}"),
                ));
            }
            perm.push(d);
        }
        Ok(self.permute_unchecked(&perm))
    }

    fn permute_unchecked(&self, perm: &[usize]) -> Tensor {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return self.clone();
        }
        let out = permute_storage(&self.storage(), self.shape(), perm);
        let out_shape = perm.iter().map(|&p| self.shape()[p]).collect();
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Tensor::record(
            out,
            out_shape,
            "permute",
            vec![self.clone()],
            move |g, _, _| Ok(vec![Some(g.permute_unchecked(&inverse))]),
        )
    }

    /// Swaps two dims.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::zeros(&[2, 3, 4]);
    /// assert_eq!(t.transpose(0, -1).unwrap().shape(), &[4, 3, 2]);
    /// assert_eq!(micrograd_plus::Tensor::scalar(1.0f32).transpose(0, -1).unwrap().ndim(), 0);
    /// ```
    pub fn transpose(&self, dim0: isize, dim1: isize) -> Result<Tensor> {
        let nd = self.ndim();
        let (a, b) = (
            normalize_dim("transpose", dim0, nd)?,
            normalize_dim("transpose", dim1, nd)?,
        );
        let mut perm: Vec<usize> = (0..nd).collect();
        if nd > 0 {
            perm.swap(a, b); // a 0-d tensor accepts dim 0 or -1 and has nothing to swap
        }
        Ok(self.permute_unchecked(&perm))
    }

    /// Matrix transpose of a tensor with at most 2 dims (PyTorch's `t()`).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32, 2.0, 3.0]]).unwrap();
    /// assert_eq!(t.t().unwrap().shape(), &[3, 1]);
    /// assert!(micrograd_plus::Tensor::zeros(&[1, 2, 3]).t().is_err());
    /// ```
    pub fn t(&self) -> Result<Tensor> {
        match self.ndim() {
            0 | 1 => Ok(self.clone()),
            2 => self.transpose(0, 1),
            n => Err(Error::shape(
                "t",
                format!(
                    "t() expects a tensor with <= 2 dimensions, but self is {n}D (shape {:?})",
                    self.shape()
                ),
            )),
        }
    }

    /// Removes size-1 dims: all of them, or just `dim` (left alone if its size is not 1).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::zeros(&[1, 3, 1]);
    /// assert_eq!(t.squeeze(None).unwrap().shape(), &[3]);
    /// assert_eq!(t.squeeze(Some(-1)).unwrap().shape(), &[1, 3]);
    /// ```
    pub fn squeeze(&self, dim: Option<isize>) -> Result<Tensor> {
        let shape = self.shape();
        let new_shape: Vec<usize> = match dim {
            None => shape.iter().copied().filter(|&d| d != 1).collect(),
            Some(d) => {
                let d = normalize_dim("squeeze", d, self.ndim())?;
                shape
                    .iter()
                    .enumerate()
                    .filter(|&(i, &s)| !(i == d && s == 1))
                    .map(|(_, &s)| s)
                    .collect()
            }
        };
        Ok(self.reshape_unchecked(new_shape))
    }

    /// Inserts a size-1 dim at `dim` (`-1` appends).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::zeros(&[3]);
    /// assert_eq!(t.unsqueeze(0).unwrap().shape(), &[1, 3]);
    /// assert_eq!(t.unsqueeze(-1).unwrap().shape(), &[3, 1]);
    /// ```
    pub fn unsqueeze(&self, dim: isize) -> Result<Tensor> {
        let d = normalize_dim("unsqueeze", dim, self.ndim() + 1)?;
        let mut shape = self.shape().to_vec();
        shape.insert(d, 1);
        Ok(self.reshape_unchecked(shape))
    }

    /// Merges dims `start..=end` into one.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::zeros(&[2, 3, 4, 5]);
    /// assert_eq!(t.flatten(1, -1).unwrap().shape(), &[2, 60]);
    /// assert_eq!(t.flatten(0, 1).unwrap().shape(), &[6, 4, 5]);
    /// ```
    pub fn flatten(&self, start_dim: isize, end_dim: isize) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Ok(self.reshape_unchecked(vec![1]));
        }
        let (s, e) = (
            normalize_dim("flatten", start_dim, self.ndim())?,
            normalize_dim("flatten", end_dim, self.ndim())?,
        );
        if s > e {
            return Err(Error::argument(
                "flatten",
                format!("start_dim ({start_dim}) cannot come after end_dim ({end_dim})"),
            ));
        }
        let shape = self.shape();
        let mut new_shape = shape[..s].to_vec();
        new_shape.push(shape[s..=e].iter().product());
        new_shape.extend_from_slice(&shape[e + 1..]);
        Ok(self.reshape_unchecked(new_shape))
    }

    /// Broadcasts to a larger shape (size-1 dims repeat; `-1` keeps a dim).
    /// The gradient sums over the copies.
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::new([[1.0f32], [2.0]]).unwrap();
    /// assert_eq!(t.expand(&[-1, 3]).unwrap().to_vec::<f32>(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// ```
    pub fn expand(&self, shape: &[isize]) -> Result<Tensor> {
        let own = self.shape();
        let err = |msg: String| {
            Error::shape(
                "expand",
                format!("{msg}. Target sizes: {shape:?}. Tensor sizes: {own:?}"),
            )
        };
        if shape.len() < own.len() {
            return Err(err("the number of sizes provided must be greater or equal to the number of dimensions in the tensor".into()));
        }
        let offset = shape.len() - own.len();
        let mut target = Vec::with_capacity(shape.len());
        for (i, &s) in shape.iter().enumerate() {
            let existing = if i >= offset {
                Some(own[i - offset])
            } else {
                None
            };
            let size = match (s, existing) {
                (-1, Some(e)) => e,
                (s, _) if s < 0 => return Err(err(format!("size {s} is not allowed at dimension {i}"))),
                (s, Some(e)) if e != 1 && e != s as usize => {
                    return Err(err(format!(
                        "the expanded size of the tensor ({s}) must match the existing size ({e}) at non-singleton dimension {i}"
                    )))
                }
                (s, _) => s as usize,
            };
            target.push(size);
        }
        ensure_allocatable("expand", &target)?;
        Ok(self.expand_unchecked(target))
    }

    /// [`Tensor::expand`] to a shape given as sizes (PyTorch's `broadcast_to`).
    ///
    /// ```
    /// let t = micrograd_plus::Tensor::ones(&[3]);
    /// assert_eq!(t.broadcast_to(&[2, 3]).unwrap().shape(), &[2, 3]);
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        self.expand(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
    }

    fn expand_unchecked(&self, target: Vec<usize>) -> Tensor {
        if target == self.shape() {
            return self.clone();
        }
        debug_assert!(numel(&target) >= self.numel() || numel(&target) == 0);
        let out = with_slice!(&*self.storage(), |v: T| T::into_storage(broadcast_copy(
            v,
            self.shape(),
            &target
        )));
        Tensor::record(out, target, "expand", vec![self.clone()], |g, inputs, _| {
            let x = &inputs[0];
            let dx = with_slice!(&*g.storage(), |gv: T| T::into_storage(sum_to_shape(
                gv,
                g.shape(),
                x.shape()
            )));
            Ok(vec![Some(Tensor::from_storage(dx, x.shape().to_vec()))])
        })
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn layout_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let x3 = &[2, 3, 4];
        out.push(OpCheck::new(
            "reshape",
            "to [6, -1]",
            vec![g.randn(x3)],
            |t| t[0].reshape(&[6, -1]),
        ));
        out.push(OpCheck::new(
            "reshape",
            "to [4, 3, 2]",
            vec![g.randn(x3)],
            |t| t[0].reshape(&[4, 3, 2]),
        ));
        out.push(OpCheck::new(
            "permute",
            "[2, 0, 1]",
            vec![g.randn(x3)],
            |t| t[0].permute(&[2, 0, 1]),
        ));
        out.push(OpCheck::new(
            "permute",
            "[-1, 1, 0]",
            vec![g.randn(x3)],
            |t| t[0].permute(&[-1, 1, 0]),
        ));
        out.push(OpCheck::new(
            "transpose",
            "(0, -1)",
            vec![g.randn(x3)],
            |t| t[0].transpose(0, -1),
        ));
        out.push(OpCheck::new(
            "transpose",
            "(1, 0)",
            vec![g.randn(&[2, 3])],
            |t| t[0].transpose(1, 0),
        ));
        out.push(OpCheck::new("t", "", vec![g.randn(&[2, 3])], |t| t[0].t()));
        out.push(OpCheck::new(
            "t",
            "1-D (identity)",
            vec![g.randn(&[3])],
            |t| t[0].t(),
        ));
        out.push(OpCheck::new(
            "squeeze",
            "all",
            vec![g.randn(&[1, 3, 1])],
            |t| t[0].squeeze(None),
        ));
        out.push(OpCheck::new(
            "squeeze",
            "dim=-1",
            vec![g.randn(&[2, 3, 1])],
            |t| t[0].squeeze(Some(-1)),
        ));
        out.push(OpCheck::new(
            "unsqueeze",
            "dim=1",
            vec![g.randn(&[2, 3])],
            |t| t[0].unsqueeze(1),
        ));
        out.push(OpCheck::new(
            "unsqueeze",
            "dim=-1",
            vec![g.randn(&[3])],
            |t| t[0].unsqueeze(-1),
        ));
        out.push(OpCheck::new("flatten", "(1, -1)", vec![g.randn(x3)], |t| {
            t[0].flatten(1, -1)
        }));
        out.push(OpCheck::new("flatten", "(0, 1)", vec![g.randn(x3)], |t| {
            t[0].flatten(0, 1)
        }));
        out.push(OpCheck::new(
            "expand",
            "to [2, -1, 4]",
            vec![g.randn(&[3, 1])],
            |t| t[0].expand(&[2, -1, 4]),
        ));
        out.push(OpCheck::new(
            "expand",
            "to [2, 3]",
            vec![g.randn(&[1])],
            |t| t[0].expand(&[2, 3]),
        ));
        out.push(OpCheck::new(
            "broadcast_to",
            "to (2,3)",
            vec![g.randn(&[3])],
            |t| t[0].broadcast_to(&[2, 3]),
        ));
        out.push(OpCheck::new(
            "broadcast_to",
            "to (2,3,4)",
            vec![g.randn(&[2, 1, 4])],
            |t| t[0].broadcast_to(&[2, 3, 4]),
        ));
    }
}
