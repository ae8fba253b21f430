//! Matrix views: the operands of [`super::sgemm`] and [`super::dgemm`].
//!
//! A [`MatRef`] is a slice read as a `rows × cols` matrix whose element
//! (i, j) sits at `data[i·row_stride + j·col_stride]`. Strides make a
//! transpose free: [`MatRef::t`] swaps the dims and the strides and copies
//! nothing, so `Gᵀ·x` is written `g.t()` and the kernel's packing gathers
//! the transposed operand. The output, a [`MatMut`], is always row-major
//! and contiguous, as the kernels write it.
//!
//! Each constructor checks once, in O(1), that every element its strides
//! can address lies inside the slice: the kernels rely on that to index
//! without bounds checks.

use std::mem::MaybeUninit;

/// A read-only `rows × cols` matrix over a slice, with any strides.
///
/// ```
/// use micrograd_plus::kernels::matmul::MatRef;
/// // [[1, 2, 3], [4, 5, 6]], row-major.
/// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let a = MatRef::row_major(&data, 2, 3);
/// assert_eq!((a.rows(), a.cols(), a.at(1, 0)), (2, 3, 4.0));
/// // Its transpose reads the same slice: 3 × 2, element (0, 1) is a's (1, 0).
/// let at = a.t();
/// assert_eq!((at.rows(), at.cols(), at.at(0, 1)), (3, 2, 4.0));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    pub(super) data: &'a [T],
    pub(super) rows: usize,
    pub(super) cols: usize,
    /// Distance in the slice between (i, j) and (i + 1, j).
    pub(super) rs: usize,
    /// Distance in the slice between (i, j) and (i, j + 1).
    pub(super) cs: usize,
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// The first `rows · cols` elements of `data`, row by row.
    ///
    /// # Panics
    /// If `data` has fewer than `rows · cols` elements.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatRef;
    /// let a = MatRef::row_major(&[1.0f64, 2.0, 3.0, 4.0], 2, 2);
    /// assert_eq!(a.at(0, 1), 2.0);
    /// ```
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// Element (i, j) at `data[i·row_stride + j·col_stride]`: a padded or
    /// strided part of a bigger buffer. (A column-major matrix is
    /// `row_major(data, cols, rows).t()`.)
    ///
    /// # Panics
    /// If some element lies past the end of `data`.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatRef;
    /// // The middle column of a 2 × 3 row-major buffer, as a 2 × 1 matrix.
    /// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let col = MatRef::strided(&data[1..], 2, 1, 3, 1);
    /// assert_eq!((col.at(0, 0), col.at(1, 0)), (2.0, 5.0));
    /// ```
    pub fn strided(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        // An empty matrix addresses nothing; otherwise the last element's
        // index (if it fits in a usize) must be inside `data`.
        let fits = rows == 0 || cols == 0 || {
            let last = (rows - 1)
                .checked_mul(row_stride)
                .and_then(|r| (cols - 1).checked_mul(col_stride)?.checked_add(r));
            matches!(last, Some(i) if i < data.len())
        };
        assert!(
            fits,
            "matrix view: {rows}x{cols} with strides ({row_stride}, {col_stride}) does not fit in {} elements",
            data.len()
        );
        MatRef {
            data,
            rows,
            cols,
            rs: row_stride,
            cs: col_stride,
        }
    }

    /// The transpose, `cols × rows`, over the same elements (no copy).
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatRef;
    /// let a = MatRef::row_major(&[1.0f32, 2.0, 3.0], 1, 3);
    /// assert_eq!((a.t().rows(), a.t().at(2, 0)), (3, 3.0));
    /// ```
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// Rows `rows.start..rows.end` of the matrix, all its columns, over the
    /// same elements (no copy).
    ///
    /// # Panics
    /// If the range reaches past the last row.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatRef;
    /// let a = MatRef::row_major(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
    /// let last_two = a.rows_in(1..3);
    /// assert_eq!((last_two.rows(), last_two.at(0, 1)), (2, 4.0));
    /// // Of a transpose: rows of Aᵀ are columns of A.
    /// assert_eq!(a.t().rows_in(1..2).at(0, 2), 6.0);
    /// ```
    pub fn rows_in(self, rows: std::ops::Range<usize>) -> Self {
        assert!(
            rows.start <= rows.end && rows.end <= self.rows,
            "matrix view: rows {rows:?} of {}x{}",
            self.rows,
            self.cols
        );
        if rows.is_empty() || self.cols == 0 {
            return MatRef {
                data: &[],
                rows: rows.len(),
                cols: self.cols,
                ..self
            };
        }
        // The first row's start lies inside `data`: row `rows.start` exists.
        MatRef {
            data: &self.data[rows.start * self.rs..],
            rows: rows.len(),
            ..self
        }
    }

    /// Number of rows.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatRef;
    /// assert_eq!(MatRef::row_major(&[0.0f32; 6], 2, 3).rows(), 2);
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatRef;
    /// assert_eq!(MatRef::row_major(&[0.0f32; 6], 2, 3).cols(), 3);
    /// ```
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element (i, j).
    ///
    /// # Panics
    /// If `i ≥ rows` or `j ≥ cols`.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatRef;
    /// assert_eq!(MatRef::row_major(&[1.0f32, 2.0], 1, 2).at(0, 1), 2.0);
    /// ```
    pub fn at(&self, i: usize, j: usize) -> T {
        assert!(
            i < self.rows && j < self.cols,
            "matrix view: ({i}, {j}) is outside {}x{}",
            self.rows,
            self.cols
        );
        self.data[i * self.rs + j * self.cs]
    }
}

/// The output of a product: a `rows × cols` row-major, contiguous matrix
/// over a mutable slice, initialised ([`MatMut::row_major`]) or not
/// ([`MatMut::uninit`], for [`super::Update::Overwrite`] only).
///
/// ```
/// use micrograd_plus::kernels::matmul::MatMut;
/// let mut buf = [0.0f32; 8];
/// let c = MatMut::row_major(&mut buf, 2, 3); // the first 6 elements
/// assert_eq!((c.rows(), c.cols()), (2, 3));
/// ```
#[derive(Debug)]
pub struct MatMut<'a, T> {
    /// Exactly `rows · cols` elements. Every kernel writes only initialised
    /// values here, so a slice that was initialised stays so.
    pub(super) data: &'a mut [MaybeUninit<T>],
    pub(super) rows: usize,
    pub(super) cols: usize,
    /// Whether `data` holds values that the product may add to.
    pub(super) init: bool,
}

impl<'a, T> MatMut<'a, T> {
    /// The first `rows · cols` elements of `data`, row by row.
    ///
    /// # Panics
    /// If `data` has fewer than `rows · cols` elements.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatMut;
    /// let mut buf = [0.0f64; 4];
    /// assert_eq!(MatMut::row_major(&mut buf, 2, 2).cols(), 2);
    /// ```
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        let len = data.len();
        // SAFETY: `MaybeUninit<T>` has `T`'s layout, and nothing writes an
        // uninitialised value through `MatMut::data` (the kernels store
        // only computed values), so `data` stays initialised for its owner.
        let data = unsafe { &mut *(data as *mut [T] as *mut [MaybeUninit<T>]) };
        Self::new(data, len, rows, cols, true)
    }

    /// The first `rows · cols` elements of `data`, row by row, whose values
    /// are never read: the output of a [`super::Update::Overwrite`] product,
    /// which initialises every one of them (so a fresh buffer needs no
    /// zeroing first). A product with [`super::Update::Accumulate`] into it
    /// panics.
    ///
    /// # Panics
    /// If `data` has fewer than `rows · cols` elements.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::{sgemm, MatMut, MatRef, Threads, Update};
    /// let (a, b) = ([1.0f32, 2.0], [3.0f32, 4.0]);
    /// let mut c = Vec::with_capacity(4);
    /// sgemm(
    ///     MatMut::uninit(&mut c.spare_capacity_mut()[..4], 2, 2),
    ///     MatRef::row_major(&a, 2, 1),
    ///     MatRef::row_major(&b, 1, 2),
    ///     Update::Overwrite,
    ///     Threads::Serial,
    /// );
    /// // SAFETY: the overwrite initialised all 2·2 elements.
    /// unsafe { c.set_len(4) };
    /// assert_eq!(c, [3.0, 4.0, 6.0, 8.0]);
    /// ```
    pub fn uninit(data: &'a mut [MaybeUninit<T>], rows: usize, cols: usize) -> Self {
        let len = data.len();
        Self::new(data, len, rows, cols, false)
    }

    fn new(
        data: &'a mut [MaybeUninit<T>],
        len: usize,
        rows: usize,
        cols: usize,
        init: bool,
    ) -> Self {
        let Some(data) = rows.checked_mul(cols).and_then(|n| data.get_mut(..n)) else {
            panic!("matrix view: {rows}x{cols} does not fit in {len} elements");
        };
        MatMut {
            data,
            rows,
            cols,
            init,
        }
    }

    /// Number of rows.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatMut;
    /// assert_eq!(MatMut::row_major(&mut [0.0f32; 6], 2, 3).rows(), 2);
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    ///
    /// ```
    /// use micrograd_plus::kernels::matmul::MatMut;
    /// assert_eq!(MatMut::row_major(&mut [0.0f32; 6], 2, 3).cols(), 3);
    /// ```
    pub fn cols(&self) -> usize {
        self.cols
    }
}
