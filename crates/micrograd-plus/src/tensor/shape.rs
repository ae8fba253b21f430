//! Shapes, strides and NumPy/PyTorch broadcasting, plus the two strided loops
//! every kernel is built from: "walk the output, reading broadcast inputs"
//! and "walk the input, accumulating into a reduced output".

use crate::{Error, Result};

/// Number of elements of a shape (1 for a scalar's empty shape).
pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Number of elements of a shape, or `None` when the product overflows
/// (shapes that come from users or files).
pub(crate) fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Row-major strides of a contiguous tensor of `shape`.
pub(crate) fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d;
    }
    strides
}

/// Turns a possibly negative dimension index into `0..ndim`.
pub(crate) fn normalize_dim(op: &'static str, dim: isize, ndim: usize) -> Result<usize> {
    // A 0-d tensor accepts dim 0 and -1, like PyTorch.
    let n = ndim.max(1) as isize;
    let d = if dim < 0 { dim + n } else { dim };
    if d < 0 || d >= n {
        return Err(Error::index(
            op,
            format!(
                "dimension out of range (expected to be in range of [{}, {}], but got {dim})",
                -n,
                n - 1
            ),
        ));
    }
    Ok(d as usize)
}

/// The shape two operands broadcast to, PyTorch's rule: align trailing
/// dimensions; each pair must be equal or contain a 1.
pub(crate) fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() {
            1
        } else {
            a[i - (n - a.len())]
        };
        let db = if i < n - b.len() {
            1
        } else {
            b[i - (n - b.len())]
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::Broadcast {
                op,
                lhs: a.to_vec(),
                rhs: b.to_vec(),
            });
        };
    }
    ensure_allocatable(op, &out)?;
    Ok(out)
}

/// Outputs at least this large (in elements) are checked before the op
/// allocates them; smaller ones cannot fail on any machine this runs on.
const ALLOCATION_CHECK_ELEMENTS: usize = 1 << 24;

/// An error, instead of an abort, when an output of `shape` (8-byte elements
/// at most) cannot be allocated: its size overflows, or the system refuses
/// the memory (broadcasting two long vectors asks for their outer product).
pub(crate) fn ensure_allocatable(op: &'static str, shape: &[usize]) -> Result<()> {
    let too_big = || {
        Error::shape(
            op,
            format!("the result of shape {shape:?} is too large to allocate"),
        )
    };
    let n = checked_numel(shape).ok_or_else(too_big)?;
    if n >= ALLOCATION_CHECK_ELEMENTS {
        let bytes = n.checked_mul(8).ok_or_else(too_big)?;
        // Reserving (without touching) maps address space only; the real
        // allocation follows right after this probe is freed.
        Vec::<u8>::new()
            .try_reserve_exact(bytes)
            .map_err(|_| too_big())?;
    }
    Ok(())
}

/// Strides that read a tensor of `shape` as if it had `target` shape:
/// broadcast dimensions get stride 0. `shape` must broadcast to `target`.
pub(crate) fn broadcast_strides(shape: &[usize], target: &[usize]) -> Vec<usize> {
    let own = contiguous_strides(shape);
    let offset = target.len() - shape.len();
    (0..target.len())
        .map(|i| {
            if i < offset || shape[i - offset] == 1 {
                0
            } else {
                own[i - offset]
            }
        })
        .collect()
}

/// Calls `f(offsets)` once for every position of `shape` in row-major order,
/// where `offsets[j]` is that position's element offset in operand `j`
/// (given by `strides[j]`). The innermost dimension runs as a tight loop.
#[inline]
pub(crate) fn for_each_offset<const N: usize>(
    shape: &[usize],
    strides: [&[usize]; N],
    mut f: impl FnMut([usize; N]),
) {
    let total = numel(shape);
    if total == 0 {
        return;
    }
    let nd = shape.len();
    if nd == 0 {
        f([0; N]);
        return;
    }
    let inner = shape[nd - 1];
    let inner_strides: [usize; N] = std::array::from_fn(|j| strides[j][nd - 1]);
    let mut index = vec![0usize; nd];
    let mut base = [0usize; N];
    loop {
        let mut off = base;
        for _ in 0..inner {
            f(off);
            for j in 0..N {
                off[j] += inner_strides[j];
            }
        }
        // Advance the odometer over the outer dimensions.
        let mut d = nd - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            for j in 0..N {
                base[j] += strides[j][d];
            }
            if index[d] < shape[d] {
                break;
            }
            for j in 0..N {
                base[j] -= strides[j][d] * shape[d];
            }
            index[d] = 0;
        }
    }
}

/// Reads `src` (of `shape`) as `target` shape, copying broadcast values out.
pub(crate) fn broadcast_copy<T: Copy>(src: &[T], shape: &[usize], target: &[usize]) -> Vec<T> {
    if shape == target {
        return src.to_vec();
    }
    let strides = broadcast_strides(shape, target);
    let mut out = Vec::with_capacity(numel(target));
    for_each_offset(target, [&strides], |[i]| out.push(src[i]));
    out
}

/// Shape after reducing `dims` of `shape`, keeping them as size 1.
pub(crate) fn reduced_shape(shape: &[usize], dims: &[usize]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if dims.contains(&i) { 1 } else { d })
        .collect()
}

/// Normalises a list of dims (or all dims when `None`), rejecting repeats.
pub(crate) fn normalize_dims(
    op: &'static str,
    dims: Option<&[isize]>,
    ndim: usize,
) -> Result<Vec<usize>> {
    let Some(dims) = dims else {
        return Ok((0..ndim).collect());
    };
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = normalize_dim(op, d, ndim)?;
        if out.contains(&d) {
            return Err(Error::argument(
                op,
                format!("dim {d} appears multiple times in the list of dims"),
            ));
        }
        if d < ndim {
            out.push(d);
        }
    }
    Ok(out)
}

/// Folds `src` (of `shape`) over `dims` into a buffer of the keepdim shape,
/// starting every output element at `init` and combining with `f`, which
/// must be associative (sum, max, min): the fast paths reorder the folds.
pub(crate) fn reduce<T: Copy>(
    src: &[T],
    shape: &[usize],
    dims: &[usize],
    init: T,
    f: impl Fn(T, T) -> T,
) -> Vec<T> {
    let out_shape = reduced_shape(shape, dims);
    let n_out = numel(&out_shape);
    if n_out == 0 {
        // A kept dim of size 0: nothing to fold into (and no chunk to cut).
        return Vec::new();
    }
    // Fast path: the reduced dims form one block, so the input reads as
    // (outer, len, inner) and each output folds a strided run.
    let mut sorted: Vec<usize> = dims.iter().copied().filter(|&d| shape[d] != 1).collect();
    sorted.sort_unstable();
    if sorted.windows(2).all(|w| w[1] == w[0] + 1) {
        let (first, last) = match (sorted.first(), sorted.last()) {
            (Some(&a), Some(&b)) => (a, b),
            _ => return src.to_vec(), // only size-1 dims: nothing to fold
        };
        let len: usize = shape[first..=last].iter().product();
        let inner: usize = shape[last + 1..].iter().product();
        let mut out = vec![init; n_out];
        if len == 0 {
            return out;
        }
        if inner == 1 {
            for (o, chunk) in out.iter_mut().zip(src.chunks_exact(len)) {
                *o = fold_slice(chunk, init, &f);
            }
        } else {
            for (block, dst) in src
                .chunks_exact(len * inner)
                .zip(out.chunks_exact_mut(inner))
            {
                for row in block.chunks_exact(inner) {
                    for (d, &x) in dst.iter_mut().zip(row) {
                        *d = f(*d, x);
                    }
                }
            }
        }
        return out;
    }
    let mut out = vec![init; n_out];
    let in_strides = contiguous_strides(shape);
    let out_strides = broadcast_strides(&out_shape, shape);
    for_each_offset(shape, [&in_strides, &out_strides], |[i, o]| {
        out[o] = f(out[o], src[i])
    });
    out
}

/// Folds a contiguous run with 8 independent accumulators, which lets the
/// compiler vectorise and, for sums, loses less precision than one running total.
/// The accumulators are combined with `f` as well, so `f` must be an
/// associative combination of like values (sum, max), not `a + x²`
/// (that is [`zip_sum`]).
#[inline(always)]
pub(crate) fn fold_slice<T: Copy>(v: &[T], init: T, f: &impl Fn(T, T) -> T) -> T {
    const LANES: usize = 8;
    let mut acc = [init; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..LANES {
            acc[k] = f(acc[k], c[k]);
        }
    }
    let mut total = tail.iter().fold(init, |a, &x| f(a, x));
    for a in acc {
        total = f(total, a);
    }
    total
}

/// `Σ v[i]` of a contiguous run, through [`fold_slice`]: the one plain sum
/// of the vectorised kernels.
#[inline(always)]
pub(crate) fn sum_slice<T: Copy + std::ops::Add<Output = T> + Default>(v: &[T]) -> T {
    fold_slice(v, T::default(), &|a, b| a + b)
}

/// `Σ f(u[i], v[i])` over two equal-length runs with eight independent
/// partial sums, which the compiler keeps in vector registers (one running
/// sum would be a chain of dependent adds). Dot products and sums of a
/// function; for a plain sum see [`sum_slice`].
#[inline(always)]
pub(crate) fn zip_sum<T: Copy + std::ops::Add<Output = T> + Default>(
    u: &[T],
    v: &[T],
    f: impl Fn(T, T) -> T,
) -> T {
    const LANES: usize = 8;
    let mut acc = [T::default(); LANES];
    let (uc, vc) = (u.chunks_exact(LANES), v.chunks_exact(LANES));
    let mut tail = T::default();
    for (&a, &b) in uc.remainder().iter().zip(vc.remainder()) {
        tail = tail + f(a, b);
    }
    for (a8, b8) in uc.zip(vc) {
        for ((s, &a), &b) in acc.iter_mut().zip(a8).zip(b8) {
            *s = *s + f(a, b);
        }
    }
    acc.into_iter().fold(T::default(), |s, a| s + a) + tail
}

/// Sums `src` (of `shape`) down to `target`, the inverse of broadcasting:
/// a broadcast operand's gradient has the operand's own shape.
pub(crate) fn sum_to_shape<T: Copy + std::ops::Add<Output = T> + Default>(
    src: &[T],
    shape: &[usize],
    target: &[usize],
) -> Vec<T> {
    if shape == target {
        return src.to_vec();
    }
    let offset = shape.len() - target.len();
    let dims: Vec<usize> = (0..shape.len())
        .filter(|&i| i < offset || target[i - offset] == 1 && shape[i] != 1)
        .collect();
    reduce(src, shape, &dims, T::default(), |a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_pytorch() {
        assert_eq!(broadcast_shapes("t", &[2, 3], &[3]).unwrap(), vec![2, 3]);
        assert_eq!(
            broadcast_shapes("t", &[2, 1, 4], &[3, 1]).unwrap(),
            vec![2, 3, 4]
        );
        assert_eq!(broadcast_shapes("t", &[], &[5]).unwrap(), vec![5]);
        let err = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "add: cannot broadcast shapes [2, 3] and [4]"
        );
    }

    #[test]
    fn reduce_and_sum_to_shape() {
        let x: Vec<f64> = (0..6).map(|v| v as f64).collect(); // [[0,1,2],[3,4,5]]
        assert_eq!(
            reduce(&x, &[2, 3], &[0], 0.0, |a, b| a + b),
            vec![3.0, 5.0, 7.0]
        );
        assert_eq!(
            reduce(&x, &[2, 3], &[1], 0.0, |a, b| a + b),
            vec![3.0, 12.0]
        );
        assert_eq!(sum_to_shape(&x, &[2, 3], &[3]), vec![3.0, 5.0, 7.0]);
        assert_eq!(sum_to_shape(&x, &[2, 3], &[2, 1]), vec![3.0, 12.0]);
        assert_eq!(
            broadcast_copy(&[1.0, 2.0], &[2, 1], &[2, 2]),
            vec![1.0, 1.0, 2.0, 2.0]
        );
    }

    #[test]
    fn dims_normalise() {
        assert_eq!(normalize_dim("t", -1, 3).unwrap(), 2);
        assert!(normalize_dim("t", 3, 3).is_err());
        assert!(normalize_dim("t", -4, 3).is_err());
        assert_eq!(normalize_dim("t", 0, 0).unwrap(), 0);
    }
}
