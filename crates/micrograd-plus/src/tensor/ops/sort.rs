//! `sort` and `topk` along one dim, returning values and indices.
//!
//! Both order NaN above every number, as PyTorch does. The values are the
//! input [`Tensor::gather`]ed at the indices, so the backward puts each
//! output's gradient at the element it came from and nothing elsewhere.
//!
//! Which of several tied elements comes first is PyTorch's CPU choice,
//! made by libstdc++'s algorithms, whose tie order is not stable: `sort`
//! runs `std::sort` (`std::stable_sort` when asked for a stable sort), and
//! `topk` runs `nth_element` then `sort` on the first `k − 1` (or
//! `partial_sort` when `64·k <= n`). Those are reproduced step for step in
//! the private `stl` module (a stable sort's order is unique: Rust's serves).

use super::softmax::split_at_dim;
use crate::tensor::shape::normalize_dim;
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};

/// `a` before `b` in descending order: NaN first, then larger numbers.
fn above<T: Element>(a: T, b: T) -> bool {
    (a.is_nan() && !b.is_nan()) || a > b
}

/// `a` before `b` in ascending order: smaller numbers first, NaN last.
fn below<T: Element>(a: T, b: T) -> bool {
    (!a.is_nan() && b.is_nan()) || a < b
}

/// For every line along `dim`, `pick(line)` returns the positions (within
/// the line) to output; they are written as index values, line by line, in
/// a buffer of `out_len` per line.
fn line_indices(
    v: &[f64],
    (outer, len, inner): (usize, usize, usize),
    out_len: usize,
    pick: impl Fn(Vec<(f64, usize)>) -> Vec<usize>,
) -> Vec<f64> {
    let mut out = vec![0.0; outer * out_len * inner];
    for o in 0..outer {
        for i in 0..inner {
            let line = (0..len)
                .map(|j| (v[(o * len + j) * inner + i], j))
                .collect();
            for (k, j) in pick(line).into_iter().enumerate() {
                out[(o * out_len + k) * inner + i] = j as f64;
            }
        }
    }
    out
}

impl Tensor {
    /// Sorts along `dim` (ascending unless `descending`), returning the
    /// values and their indices in the input. NaN sorts above every number.
    /// Ties keep their order when `stable`; otherwise they come in the
    /// order PyTorch's CPU sort (`std::sort`) leaves them, which is their
    /// original order for rows of up to 16 elements.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([3.0f32, f32::NAN, 1.0, 3.0]).unwrap();
    /// let (values, indices) = x.sort(0, true, false).unwrap();
    /// assert!(values.to_vec::<f32>()[0].is_nan());
    /// assert_eq!(indices.to_vec::<f32>(), vec![1.0, 0.0, 3.0, 2.0]);
    /// ```
    pub fn sort(&self, dim: isize, descending: bool, stable: bool) -> Result<(Tensor, Tensor)> {
        let d = normalize_dim("sort", dim, self.ndim())?;
        let len = self.shape().get(d).copied().unwrap_or(1);
        self.pick_along(d, len, |mut line| {
            let before = |a: &(f64, usize), b: &(f64, usize)| {
                if descending {
                    above(a.0, b.0)
                } else {
                    below(a.0, b.0)
                }
            };
            if stable {
                line.sort_by(|a, b| order(before(a, b), before(b, a)));
            } else {
                stl::sort(&mut line, before);
            }
            line.into_iter().map(|(_, j)| j).collect()
        })
    }

    /// The `k` largest (or smallest) elements along `dim` and their
    /// indices, sorted when `sorted` (otherwise in PyTorch's selection
    /// order). NaN counts as the largest. Ties are resolved exactly as
    /// PyTorch's CPU kernel resolves them.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([1.0f32, 3.0, 3.0, 2.0, 3.0, 1.0, 1.0]).unwrap();
    /// let (values, indices) = x.topk(2, -1, true, true).unwrap();
    /// assert_eq!(values.to_vec::<f32>(), vec![3.0, 3.0]);
    /// assert_eq!(indices.to_vec::<f32>(), vec![2.0, 4.0]); // PyTorch's choice among the ties
    /// assert!(x.topk(8, 0, true, true).is_err());
    /// ```
    pub fn topk(
        &self,
        k: usize,
        dim: isize,
        largest: bool,
        sorted: bool,
    ) -> Result<(Tensor, Tensor)> {
        let d = normalize_dim("topk", dim, self.ndim())?;
        let len = self.shape().get(d).copied().unwrap_or(1);
        if k > len {
            return Err(Error::index(
                "topk",
                format!(
                    "selected index k ({k}) out of range for dim {d} of size {len} (shape {:?})",
                    self.shape()
                ),
            ));
        }
        self.pick_along(d, k, |mut line| {
            if k > 0 {
                if largest {
                    stl::top_k(&mut line, k, sorted, |a, b| above(a.0, b.0));
                } else {
                    stl::top_k(&mut line, k, sorted, |a, b| below(a.0, b.0));
                }
            }
            line[..k].iter().map(|&(_, j)| j).collect()
        })
    }

    /// Values and indices of `out_len` elements per line along `dim`, the
    /// positions chosen by `pick`; a 0-d tensor is a line of one.
    fn pick_along<F>(&self, dim: usize, out_len: usize, pick: F) -> Result<(Tensor, Tensor)>
    where
        F: Fn(Vec<(f64, usize)>) -> Vec<usize>,
    {
        let x = self.at_least_1d();
        let lines = split_at_dim(x.shape(), dim);
        let mut out_shape = x.shape().to_vec();
        out_shape[dim] = out_len;
        // The choice is made on f64 copies (exact for f32 too), so one
        // closure serves both dtypes.
        let wide = x.to_vec::<f64>();
        let idx = line_indices(&wide, lines, out_len, &pick);
        let indices = Tensor::from_vec(idx, &out_shape)?.to_dtype(self.dtype());
        let values = x.gather(dim as isize, &indices)?;
        let shape = if self.ndim() == 0 {
            Vec::new()
        } else {
            out_shape
        };
        Ok((
            values.reshape_unchecked(shape.clone()),
            indices.reshape_unchecked(shape),
        ))
    }
}

/// The `Ordering` of a strict "comes before" relation.
fn order(before: bool, after: bool) -> std::cmp::Ordering {
    match (before, after) {
        (true, _) => std::cmp::Ordering::Less,
        (_, true) => std::cmp::Ordering::Greater,
        _ => std::cmp::Ordering::Equal,
    }
}

/// libstdc++'s `nth_element`, `sort` and `partial_sort` (GCC's
/// `bits/stl_algo.h` and `bits/stl_heap.h`), step for step, so that ties
/// land where PyTorch's `topk` puts them. `comp(a, b)` is "a comes first".
mod stl {
    /// PyTorch's CPU `topk` on one line: the first `k` of `v` become the
    /// top `k`, sorted when `sorted` (always, on the partial-sort path).
    pub(super) fn top_k<E: Copy>(
        v: &mut [E],
        k: usize,
        sorted: bool,
        comp: impl Fn(&E, &E) -> bool,
    ) {
        let n = v.len();
        let mut s = Stl { v, comp };
        if k * 64 <= n {
            s.partial_sort(0, k, n);
        } else {
            s.nth_element(0, k - 1, n);
            if sorted {
                s.sort(0, k - 1);
            }
        }
    }

    /// `std::sort` of the whole of `v`.
    pub(super) fn sort<E: Copy>(v: &mut [E], comp: impl Fn(&E, &E) -> bool) {
        let n = v.len();
        Stl { v, comp }.sort(0, n);
    }

    struct Stl<'a, E, C> {
        v: &'a mut [E],
        comp: C,
    }

    /// ⌊log₂ n⌋ for n ≥ 1.
    fn lg(n: usize) -> usize {
        (usize::BITS - 1 - n.leading_zeros()) as usize
    }

    impl<E: Copy, C: Fn(&E, &E) -> bool> Stl<'_, E, C> {
        fn less(&self, a: usize, b: usize) -> bool {
            (self.comp)(&self.v[a], &self.v[b])
        }

        fn nth_element(&mut self, first: usize, nth: usize, last: usize) {
            if first == last || nth == last {
                return;
            }
            self.introselect(first, nth, last, lg(last - first) * 2);
        }

        fn introselect(&mut self, mut first: usize, nth: usize, mut last: usize, mut depth: usize) {
            while last - first > 3 {
                if depth == 0 {
                    self.heap_select(first, nth + 1, last);
                    self.v.swap(first, nth);
                    return;
                }
                depth -= 1;
                let cut = self.partition_pivot(first, last);
                if cut <= nth {
                    first = cut;
                } else {
                    last = cut;
                }
            }
            self.insertion_sort(first, last);
        }

        fn sort(&mut self, first: usize, last: usize) {
            if first != last {
                self.introsort_loop(first, last, lg(last - first) * 2);
                self.final_insertion_sort(first, last);
            }
        }

        fn introsort_loop(&mut self, first: usize, mut last: usize, mut depth: usize) {
            while last - first > 16 {
                if depth == 0 {
                    self.partial_sort(first, last, last);
                    return;
                }
                depth -= 1;
                let cut = self.partition_pivot(first, last);
                self.introsort_loop(cut, last, depth);
                last = cut;
            }
        }

        fn final_insertion_sort(&mut self, first: usize, last: usize) {
            if last - first > 16 {
                self.insertion_sort(first, first + 16);
                for i in first + 16..last {
                    self.linear_insert(i);
                }
            } else {
                self.insertion_sort(first, last);
            }
        }

        fn partial_sort(&mut self, first: usize, middle: usize, last: usize) {
            self.heap_select(first, middle, last);
            let mut end = middle;
            while end - first > 1 {
                end -= 1;
                self.pop_heap(first, end, end);
            }
        }

        fn partition_pivot(&mut self, first: usize, last: usize) -> usize {
            let mid = first + (last - first) / 2;
            self.median_to_first(first, first + 1, mid, last - 1);
            self.partition(first + 1, last, first)
        }

        fn median_to_first(&mut self, result: usize, a: usize, b: usize, c: usize) {
            let pick = if self.less(a, b) {
                if self.less(b, c) {
                    b
                } else if self.less(a, c) {
                    c
                } else {
                    a
                }
            } else if self.less(a, c) {
                a
            } else if self.less(b, c) {
                c
            } else {
                b
            };
            self.v.swap(result, pick);
        }

        fn partition(&mut self, mut first: usize, mut last: usize, pivot: usize) -> usize {
            loop {
                while self.less(first, pivot) {
                    first += 1;
                }
                last -= 1;
                while self.less(pivot, last) {
                    last -= 1;
                }
                if first >= last {
                    return first;
                }
                self.v.swap(first, last);
                first += 1;
            }
        }

        fn insertion_sort(&mut self, first: usize, last: usize) {
            for i in (first + 1)..last {
                if self.less(i, first) {
                    let val = self.v[i];
                    self.v.copy_within(first..i, first + 1);
                    self.v[first] = val;
                } else {
                    self.linear_insert(i);
                }
            }
        }

        /// Moves `v[i]` down past every element it comes before.
        fn linear_insert(&mut self, mut i: usize) {
            let val = self.v[i];
            while (self.comp)(&val, &self.v[i - 1]) {
                self.v[i] = self.v[i - 1];
                i -= 1;
            }
            self.v[i] = val;
        }

        fn heap_select(&mut self, first: usize, middle: usize, last: usize) {
            self.make_heap(first, middle);
            for i in middle..last {
                if self.less(i, first) {
                    self.pop_heap(first, middle, i);
                }
            }
        }

        fn make_heap(&mut self, first: usize, last: usize) {
            let len = last - first;
            if len < 2 {
                return;
            }
            let mut parent = (len - 2) / 2;
            loop {
                let value = self.v[first + parent];
                self.adjust_heap(first, parent, len, value);
                if parent == 0 {
                    return;
                }
                parent -= 1;
            }
        }

        fn pop_heap(&mut self, first: usize, last: usize, result: usize) {
            let value = self.v[result];
            self.v[result] = self.v[first];
            self.adjust_heap(first, 0, last - first, value);
        }

        fn adjust_heap(&mut self, first: usize, mut hole: usize, len: usize, value: E) {
            let top = hole;
            let mut child = hole;
            while child < len.saturating_sub(1) / 2 {
                child = 2 * (child + 1);
                if self.less(first + child, first + child - 1) {
                    child -= 1;
                }
                self.v[first + hole] = self.v[first + child];
                hole = child;
            }
            if len & 1 == 0 && len >= 2 && child == (len - 2) / 2 {
                child = 2 * (child + 1);
                self.v[first + hole] = self.v[first + child - 1];
                hole = child - 1;
            }
            // push_heap: move the value back up towards `top`.
            while hole > top {
                let parent = (hole - 1) / 2;
                if !(self.comp)(&self.v[first + parent], &value) {
                    break;
                }
                self.v[first + hole] = self.v[first + parent];
                hole = parent;
            }
            self.v[first + hole] = value;
        }
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// sort and topk, on distinct, separated values.
    pub(crate) fn sort_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[2, 3, 4];
        for (dim, descending) in [(1, false), (-1, true)] {
            let x = g.spread(&[s]).remove(0);
            out.push(OpCheck::new(
                "sort",
                format!("dim={dim}, descending={descending}"),
                vec![x],
                move |t| Ok(t[0].sort(dim, descending, false)?.0),
            ));
        }
        for (k, largest, sorted) in [(2, true, true), (3, false, true), (2, true, false)] {
            let x = g.spread(&[s]).remove(0);
            out.push(OpCheck::new(
                "topk",
                format!("k={k}, largest={largest}, sorted={sorted}"),
                vec![x],
                move |t| Ok(t[0].topk(k, -1, largest, sorted)?.0),
            ));
        }
    }
}
