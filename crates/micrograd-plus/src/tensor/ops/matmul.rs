//! Matrix product with PyTorch's rules: 1-D·1-D is a dot product, a 1-D
//! operand is treated as a row (left) or column (right) vector and that dim is
//! removed again, and N-D operands are stacks of matrices whose batch dims
//! broadcast.
//!
//! For `C = A·B` the backward rule is `dA = dC·Bᵀ` and `dB = Aᵀ·dC`. The
//! transposes are free (the kernel takes strides), and a batch-broadcast
//! operand's gradient accumulates over the batches it was reused in.

use super::record::{record, Fused, Operands, Scalar};
use crate::kernels::matmul::{MatMut, MatRef, Threads, Update};
use crate::tensor::shape::{
    broadcast_shapes, broadcast_strides, ensure_allocatable, for_each_offset, numel,
};
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};

/// Shapes of one batched product: `batch` broadcast dims, then `m×k · k×n`.
struct Plan {
    batch: Vec<usize>,
    m: usize,
    k: usize,
    n: usize,
    /// Matrix index of each operand for every batch entry (0 stride = reused).
    a_strides: Vec<usize>,
    b_strides: Vec<usize>,
}

impl Plan {
    fn new(a: &[usize], b: &[usize]) -> Result<Plan> {
        let (ra, rb) = (a.len(), b.len());
        let (m, k, k2, n) = (a[ra - 2], a[ra - 1], b[rb - 2], b[rb - 1]);
        if k != k2 {
            return Err(Error::shape(
                "matmul",
                format!("shapes {a:?} and {b:?} cannot be multiplied ({m}x{k} and {k2}x{n}): inner dimensions {k} != {k2}"),
            ));
        }
        let (ba, bb) = (&a[..ra - 2], &b[..rb - 2]);
        // The batch dims' error names the whole shapes, not just those dims.
        let batch = broadcast_shapes("matmul", ba, bb).map_err(|_| {
            Error::shape(
                "matmul",
                format!("shapes {a:?} and {b:?} have batch dims {ba:?} and {bb:?}, which do not broadcast"),
            )
        })?;
        Ok(Plan {
            m,
            k,
            n,
            a_strides: broadcast_strides(ba, &batch),
            b_strides: broadcast_strides(bb, &batch),
            batch,
        })
    }

    /// Calls `f(batch_index, a_matrix_index, b_matrix_index)` for every batch entry.
    fn for_each_batch(&self, mut f: impl FnMut(usize, usize, usize)) {
        let mut idx = 0;
        for_each_offset(
            &self.batch,
            [&self.a_strides, &self.b_strides],
            |[ia, ib]| {
                f(idx, ia, ib);
                idx += 1;
            },
        );
    }

    /// True when B is one matrix shared by all batches: then every batch
    /// dim comes from A alone, A's matrices sit back to back, and the whole
    /// product is one `(batch·m)×k · k×n` call.
    fn folds(&self) -> bool {
        self.b_strides.iter().all(|&s| s == 0)
    }
}

fn forward<T: Element>(a: &[T], b: &[T], p: &Plan) -> Vec<T> {
    let (m, k, n) = (p.m, p.k, p.n);
    let batches = numel(&p.batch);
    if k == 0 || batches * m * n == 0 {
        return vec![T::zero(); batches * m * n];
    }
    // Not zeroed first: the overwrites below store every element.
    let mut c = Vec::with_capacity(batches * m * n);
    let spare = &mut c.spare_capacity_mut()[..batches * m * n];
    if p.folds() {
        // C = A·B with A's matrices stacked into `batches·m` rows.
        T::gemm(
            MatMut::uninit(spare, batches * m, n),
            MatRef::row_major(a, batches * m, k),
            MatRef::row_major(b, k, n),
            Update::Overwrite,
            Threads::Shared,
        );
    } else {
        let mut written = 0;
        p.for_each_batch(|i, ia, ib| {
            let (a, b) = (&a[ia * m * k..][..m * k], &b[ib * k * n..][..k * n]);
            // C_i = A_i·B_i.
            T::gemm(
                MatMut::uninit(&mut spare[i * m * n..][..m * n], m, n),
                MatRef::row_major(a, m, k),
                MatRef::row_major(b, k, n),
                Update::Overwrite,
                Threads::Shared,
            );
            written += 1;
        });
        assert_eq!(written, batches, "matmul: batches visited");
    }
    // SAFETY: the folded product wrote all `batches·m` rows; otherwise
    // `batches` overwrites of the distinct pieces `i < batches` (each
    // indexed in bounds) wrote `m·n` elements each.
    unsafe { c.set_len(batches * m * n) };
    c
}

/// `(dA, dB)`, each only when wanted.
fn backward<T: Element>(
    g: &[T],
    a: &[T],
    b: &[T],
    p: &Plan,
    want: (bool, bool),
) -> (Option<Vec<T>>, Option<Vec<T>>) {
    let (m, k, n) = (p.m, p.k, p.n);
    let batches = numel(&p.batch);
    if p.folds() && k > 0 && batches * m * n > 0 {
        let (rows, g) = (batches * m, MatRef::row_major(g, batches * m, n));
        // Not zeroed first: each overwrite stores every element of its
        // output, which is all of A (`rows × k`) or B (`k × n`).
        let product = |(r, c): (usize, usize), x: MatRef<T>, y: MatRef<T>| {
            let mut out = Vec::with_capacity(r * c);
            T::gemm(
                MatMut::uninit(&mut out.spare_capacity_mut()[..r * c], r, c),
                x,
                y,
                Update::Overwrite,
                Threads::Shared,
            );
            // SAFETY: the overwrite stored all `r·c` elements.
            unsafe { out.set_len(r * c) };
            out
        };
        // dA = dC·Bᵀ, all batches' rows at once.
        let da = want
            .0
            .then(|| product((rows, k), g, MatRef::row_major(b, k, n).t()));
        // dB = Aᵀ·dC, summed over the folded rows by the product itself.
        let db = want
            .1
            .then(|| product((k, n), MatRef::row_major(a, rows, k).t(), g));
        return (da, db);
    }
    let mut da = want.0.then(|| vec![T::zero(); a.len()]);
    let mut db = want.1.then(|| vec![T::zero(); b.len()]);
    if k == 0 || batches * m * n == 0 {
        return (da, db);
    }
    p.for_each_batch(|i, ia, ib| {
        let gi = MatRef::row_major(&g[i * m * n..][..m * n], m, n);
        // dA_i += dC_i·B_iᵀ (accumulated: a broadcast A_i serves many batches).
        if let Some(da) = da.as_mut() {
            T::gemm(
                MatMut::row_major(&mut da[ia * m * k..][..m * k], m, k),
                gi,
                MatRef::row_major(&b[ib * k * n..][..k * n], k, n).t(),
                Update::Accumulate,
                Threads::Shared,
            );
        }
        // dB_i += A_iᵀ·dC_i.
        if let Some(db) = db.as_mut() {
            T::gemm(
                MatMut::row_major(&mut db[ib * k * n..][..k * n], k, n),
                MatRef::row_major(&a[ia * m * k..][..m * k], m, k).t(),
                gi,
                Update::Accumulate,
                Threads::Shared,
            );
        }
    });
    (da, db)
}

impl Tensor {
    /// Matrix product following `torch.matmul`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let a = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// let v = Tensor::new([1.0f32, 1.0]).unwrap();
    /// assert_eq!(a.matmul(&v).unwrap().to_vec::<f32>(), vec![3.0, 7.0]); // (2,2)·(2,) → (2,)
    /// assert_eq!(v.matmul(&v).unwrap().shape(), &[] as &[usize]);       // dot product
    /// assert_eq!(v.matmul(&Tensor::zeros(&[2, 3])).unwrap().shape(), &[3]); // (2,)·(2,3) → (3,)
    /// let batch = Tensor::zeros(&[5, 2, 3]).matmul(&Tensor::zeros(&[3, 4])).unwrap();
    /// assert_eq!(batch.shape(), &[5, 2, 4]);
    /// let err = a.matmul(&Tensor::zeros(&[3, 1])).unwrap_err().to_string();
    /// assert!(err.starts_with("matmul: shapes [2, 2] and [3, 1] cannot be multiplied"));
    /// let err = Tensor::zeros(&[2, 3, 4]).matmul(&Tensor::zeros(&[3, 4, 6])).unwrap_err();
    /// assert_eq!(err.to_string(), "matmul: shapes [2, 3, 4] and [3, 4, 6] have batch dims [2] \
    ///     and [3], which do not broadcast");
    /// ```
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let (ra, rb) = (self.ndim(), other.ndim());
        if ra == 0 || rb == 0 {
            return Err(Error::shape(
                "matmul",
                format!("both arguments to matmul need to be at least 1D, but they have shapes {:?} and {:?}", self.shape(), other.shape()),
            ));
        }
        if ra == 1 && rb == 1 && self.shape() != other.shape() {
            return Err(Error::shape(
                "matmul",
                format!(
                    "1D tensors expected to have the same size, but got shapes {:?} and {:?}",
                    self.shape(),
                    other.shape()
                ),
            ));
        }
        // Promote vectors to matrices, multiply, then drop the added dims.
        let a = if ra == 1 {
            self.unsqueeze(0)?
        } else {
            self.clone()
        };
        let b = if rb == 1 {
            other.unsqueeze(-1)?
        } else {
            other.clone()
        };
        let c = matmul_nd(&a, &b)?;
        // c is (..., m, n): drop the row dim added to a 1-D `self` (m = 1)
        // and the column dim added to a 1-D `other` (n = 1).
        let mut shape = c.shape().to_vec();
        if ra == 1 {
            shape.remove(shape.len() - 2);
        }
        if rb == 1 {
            shape.pop();
        }
        Ok(c.reshape_unchecked(shape))
    }

    /// Batched matrix product of two 3-D tensors `(b, n, m) · (b, m, p)`:
    /// [`Tensor::matmul`] without broadcasting, and, as in PyTorch, both
    /// must have the same dtype.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let a = Tensor::ones(&[2, 3, 4]);
    /// assert_eq!(a.bmm(&Tensor::ones(&[2, 4, 5])).unwrap().shape(), &[2, 3, 5]);
    /// assert!(a.bmm(&Tensor::ones(&[1, 4, 5])).is_err()); // no broadcasting
    /// ```
    pub fn bmm(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self.shape(), other.shape());
        let problem = if a.len() != 3 || b.len() != 3 {
            Some("batch1 and batch2 must be 3D tensors")
        } else if a[0] != b[0] {
            Some("batch1 and batch2 must have the same number of batches")
        } else if a[2] != b[1] {
            Some("the inner dims do not match")
        } else if self.dtype() != other.dtype() {
            Some("expected batch1 and batch2 to have the same dtype")
        } else {
            None
        };
        match problem {
            Some(msg) => Err(Error::shape(
                "bmm",
                format!(
                    "{msg}: got shapes {a:?} ({}) and {b:?} ({})",
                    self.dtype().name(),
                    other.dtype().name()
                ),
            )),
            None => self.matmul(other),
        }
    }

    /// Outer product of two vectors: `out[i][j] = self[i] · other[j]`.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let y = Tensor::new([1.0f32, 2.0]).unwrap().outer(&Tensor::new([3.0f32, 4.0, 5.0]).unwrap()).unwrap();
    /// assert_eq!(y.to_vec::<f32>(), vec![3.0, 4.0, 5.0, 6.0, 8.0, 10.0]);
    /// assert!(Tensor::ones(&[2, 2]).outer(&Tensor::ones(&[2])).is_err());
    /// ```
    pub fn outer(&self, other: &Tensor) -> Result<Tensor> {
        for (what, t) in [("self", self), ("vec2", other)] {
            if t.ndim() != 1 {
                return Err(Error::shape(
                    "outer",
                    format!(
                        "Expected 1-D argument {what}, but got shape {:?}",
                        t.shape()
                    ),
                ));
            }
        }
        self.unsqueeze(1)?.mul(&other.unsqueeze(0)?)
    }
}

/// The product of two tensors with at least 2 dims each.
fn matmul_nd(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let plan = Plan::new(a.shape(), b.shape())?;
    let mut out_shape = plan.batch.clone();
    out_shape.extend([plan.m, plan.n]);
    ensure_allocatable("matmul", &out_shape)?;
    Ok(record(MatMul(plan), [Some(a), Some(b)], out_shape))
}

/// The recorded op: the product's plan.
struct MatMul(Plan);

impl Fused for MatMul {
    type Saved<T: Scalar> = ();
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn forward<T: Scalar>(&self, x: &Operands<'_, T>) -> (Vec<T>, ()) {
        (forward(&x[0], &x[1], &self.0), ())
    }
    fn backward<T: Scalar>(
        &self,
        g: &[T],
        x: &Operands<'_, T>,
        _y: &[T],
        _: &(),
        want: &[bool],
    ) -> Vec<Option<Vec<T>>> {
        let (da, db) = backward(g, &x[0], &x[1], &self.0, (want[0], want[1]));
        vec![da, db]
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn matmul_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let cases: [(&[usize], &[usize], &str); 12] = [
            (&[4], &[4], "1-D·1-D (dot)"),
            (&[3, 4], &[4], "2-D·1-D"),
            (&[4], &[4, 3], "1-D·2-D"),
            (&[2, 3], &[3, 4], "2-D·2-D"),
            (&[2, 3, 4], &[4, 5], "batched·matrix"),
            (&[2, 3, 4], &[2, 4, 5], "batched·batched"),
            (&[2, 3, 4], &[1, 4, 5], "batched·batch-of-one"),
            (&[1, 3, 4], &[2, 4, 5], "batch-of-one·batched"),
            (&[2, 1, 3, 4], &[3, 4, 2], "broadcast batch"),
            (&[3, 4], &[2, 4, 5], "matrix·batched"),
            (&[4], &[2, 4, 3], "1-D·batched"),
            (&[2, 3, 4], &[4], "batched·1-D"),
        ];
        for (sa, sb, detail) in cases {
            out.push(OpCheck::new(
                "matmul",
                detail,
                vec![g.randn(sa), g.randn(sb)],
                |t| t[0].matmul(&t[1]),
            ));
        }
        let c = g.randn(&[3, 4]);
        out.push(OpCheck::new(
            "matmul",
            "constant rhs (3,4)",
            vec![g.randn(&[2, 3])],
            move |t| t[0].matmul(&c),
        ));
        let c = g.randn(&[2, 3]);
        out.push(OpCheck::new(
            "matmul",
            "constant lhs (2,3)",
            vec![g.randn(&[2, 3, 4])],
            move |t| c.matmul(&t[0]),
        ));
    }

    /// outer and bmm (any values).
    pub(crate) fn outer_bmm_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[2, 3, 4];
        out.push(OpCheck::new(
            "outer",
            "",
            vec![g.randn(&[3]), g.randn(&[4])],
            |t| t[0].outer(&t[1]),
        ));
        out.push(OpCheck::new(
            "bmm",
            "",
            vec![g.randn(s), g.randn(&[2, 4, 3])],
            |t| t[0].bmm(&t[1]),
        ));
    }
}
