//! `sgemm` / `dgemm` against a naive triple loop computed in f64, over odd
//! shapes, every stride layout and every [`Update`] (overwrite, accumulate,
//! bias).

use micrograd_plus::kernels::matmul::{dgemm, sgemm, MatMut, MatRef, Threads, Update};

/// A small deterministic generator (xorshift) so the tests need no seed
/// plumbing and values are varied, signed and not all representable exactly.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn vec(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// How an operand is laid out in its slice.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Row-major, contiguous.
    RowMajor,
    /// Column-major: the transpose of a row-major matrix, as the engine
    /// passes `x.t()` without copying.
    ColMajor,
    /// Row-major with padding at the end of each row and a stride of 2
    /// between elements: a strided view of a bigger buffer.
    Padded,
}

/// (row stride, column stride, slice length) of a `rows × cols` operand.
fn strides(layout: Layout, rows: usize, cols: usize) -> (usize, usize, usize) {
    match layout {
        Layout::RowMajor => (cols, 1, rows * cols),
        Layout::ColMajor => (1, rows, rows * cols),
        Layout::Padded => (2 * cols + 3, 2, rows * (2 * cols + 3)),
    }
}

/// Lays out the row-major `values` in a slice with the given strides; unused
/// slots get a poison value that would show up in any result that read them.
fn place(values: &[f64], rows: usize, cols: usize, rs: usize, cs: usize, len: usize) -> Vec<f64> {
    let mut out = vec![1.0e30; len];
    for i in 0..rows {
        for j in 0..cols {
            out[i * rs + j * cs] = values[i * cols + j];
        }
    }
    out
}

fn naive(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    c
}

const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 5, 1),
    (2, 3, 4),
    (7, 13, 5),
    (12, 1, 32),
    (13, 17, 33),
    (11, 64, 31),
    (65, 33, 129),
    (300, 1, 2),
    (1, 300, 2),
    (2, 1, 300),
    (64, 64, 64),
    (18, 9, 17),
    (20, 8, 48),
    (21, 40, 16),
    (100, 300, 47),
    (130, 270, 140),
    (3, 0, 4),
    (0, 3, 4),
    (3, 4, 0),
];

const LAYOUTS: [Layout; 3] = [Layout::RowMajor, Layout::ColMajor, Layout::Padded];

/// How a product starts from C, as each test runs it.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// [`Update::Overwrite`] into C filled with NaN garbage, which must be
    /// ignored.
    Overwrite,
    /// [`Update::Accumulate`] onto C's values `c0`.
    Accumulate,
    /// [`Update::Bias`] with the row `bias`, into C filled with NaN.
    Bias,
}

const STARTS: [Start; 3] = [Start::Overwrite, Start::Accumulate, Start::Bias];

impl Start {
    /// C before the product and the update to run, in `T` (`of` converts),
    /// for an `m × n` C whose accumulated values are `c0`.
    fn prepare<'a, T: Copy>(
        self,
        c0: &[f64],
        bias: &'a [T],
        of: fn(f64) -> T,
    ) -> (Vec<T>, Update<'a, T>) {
        match self {
            Start::Overwrite => (vec![of(f64::NAN); c0.len()], Update::Overwrite),
            Start::Accumulate => (c0.iter().map(|&x| of(x)).collect(), Update::Accumulate),
            Start::Bias => (vec![of(f64::NAN); c0.len()], Update::Bias(bias)),
        }
    }

    /// What element `idx` of an `_ × n` C gets on top of `A·B`.
    fn addend(self, c0: &[f64], bias: &[f64], idx: usize, n: usize) -> f64 {
        match self {
            Start::Overwrite => 0.0,
            Start::Accumulate => c0[idx],
            Start::Bias => bias[idx % n],
        }
    }
}

/// Runs `sgemm` with `threads` on `shape` with every pair of layouts and
/// every start, comparing with the f64 reference.
fn check_f32(threads: Threads, (m, k, n): (usize, usize, usize), rng: &mut Rng) {
    let a = rng.vec(m * k);
    let b = rng.vec(k * n);
    let c0 = rng.vec(m * n);
    let bias = rng.vec(n);
    let bias32: Vec<f32> = bias.iter().map(|&x| x as f32).collect();
    let want = naive(m, k, n, &a, &b);
    for la in LAYOUTS {
        for lb in LAYOUTS {
            let (a_rs, a_cs, a_len) = strides(la, m, k);
            let (b_rs, b_cs, b_len) = strides(lb, k, n);
            let a32: Vec<f32> = place(&a, m, k, a_rs, a_cs, a_len)
                .iter()
                .map(|&x| x as f32)
                .collect();
            let b32: Vec<f32> = place(&b, k, n, b_rs, b_cs, b_len)
                .iter()
                .map(|&x| x as f32)
                .collect();
            for start in STARTS {
                let (mut c, update) = start.prepare(&c0, &bias32, |x| x as f32);
                sgemm(
                    MatMut::row_major(&mut c, m, n),
                    MatRef::strided(&a32, m, k, a_rs, a_cs),
                    MatRef::strided(&b32, k, n, b_rs, b_cs),
                    update,
                    threads,
                );
                for idx in 0..m * n {
                    let expect = want[idx] + start.addend(&c0, &bias, idx, n);
                    // f32 rounding grows with the length of the dot product;
                    // the sum of |terms| bounds the size of those errors.
                    let (i, j) = (idx / n, idx % n);
                    let scale: f64 = (0..k)
                        .map(|p| (a[i * k + p] * b[p * n + j]).abs())
                        .sum::<f64>()
                        + 1.0;
                    let tol = 1e-6 * scale * (k as f64 + 2.0).sqrt() * 4.0;
                    assert!(
                        (c[idx] as f64 - expect).abs() <= tol,
                        "{m}x{k}x{n} {la:?}·{lb:?} {start:?}: C[{i},{j}] = {} want {expect}",
                        c[idx]
                    );
                }
            }
        }
    }
}

#[test]
fn sgemm_matches_naive_on_odd_shapes_and_strides() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for &shape in SHAPES {
        check_f32(Threads::Shared, shape, &mut rng);
    }
}

#[test]
fn sgemm_serial_matches_naive() {
    let mut rng = Rng(12345);
    for &shape in SHAPES {
        check_f32(Threads::Serial, shape, &mut rng);
    }
}

/// Sizes past the in-place limit (256) and across the cache-block edges
/// (KC = 1024, NC = 1024, MC = 132), where packing, the blocking loops, the
/// accumulation across k-slices and (for `sgemm`) threading are exercised;
/// B with short rows (n <= 256) is read in place at any depth when threads
/// share C or one row block covers it (the first three, and MNIST's layer),
/// and a shallow B of any width under one row block (the last two).
const BIG_SHAPES: &[(usize, usize, usize)] = &[
    (257, 513, 97),
    (64, 784, 256),
    (64, 256, 784),
    (200, 600, 290),
    (37, 1030, 45),
    (400, 260, 33),
    (270, 20, 2100),
    (16, 9, 676),
    (50, 64, 1030),
];

#[test]
fn sgemm_matches_naive_across_block_edges() {
    let mut rng = Rng(777);
    for &shape in BIG_SHAPES {
        check_f32(Threads::Shared, shape, &mut rng);
    }
}

#[test]
fn sgemm_serial_matches_naive_across_block_edges() {
    let mut rng = Rng(778);
    for &shape in BIG_SHAPES {
        check_f32(Threads::Serial, shape, &mut rng);
    }
}

#[test]
fn k_zero_zeroes_keeps_or_biases_c() {
    let (a, b) = (MatRef::row_major(&[], 2, 0), MatRef::row_major(&[], 0, 3));
    let mut c = vec![3.0f32; 6];
    let (acc, over, threads) = (Update::Accumulate, Update::Overwrite, Threads::Shared);
    sgemm(MatMut::row_major(&mut c, 2, 3), a, b, acc, threads);
    assert_eq!(c, vec![3.0; 6]);
    sgemm(MatMut::row_major(&mut c, 2, 3), a, b, over, threads);
    assert_eq!(c, vec![0.0; 6]);
    sgemm(
        MatMut::row_major(&mut c, 2, 3),
        a,
        b,
        Update::Bias(&[1.0, 2.0, 3.0]),
        threads,
    );
    assert_eq!(c, vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    let (a, b) = (MatRef::row_major(&[], 2, 0), MatRef::row_major(&[], 0, 3));
    let mut d = vec![3.0f64; 6];
    dgemm(
        MatMut::row_major(&mut d, 2, 3),
        a,
        b,
        Update::Overwrite,
        threads,
    );
    assert_eq!(d, vec![0.0; 6]);
    dgemm(
        MatMut::row_major(&mut d, 2, 3),
        a,
        b,
        Update::Bias(&[1.0, 2.0, 3.0]),
        threads,
    );
    assert_eq!(d, vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
}

#[test]
fn only_the_first_m_times_n_elements_of_c_are_written() {
    let a = [1.0f32; 4];
    let b = [1.0f32; 4];
    let mut c = [7.0f32; 6];
    sgemm(
        MatMut::row_major(&mut c, 2, 2),
        MatRef::row_major(&a, 2, 2),
        MatRef::row_major(&b, 2, 2),
        Update::Overwrite,
        Threads::Shared,
    );
    assert_eq!(c, [2.0, 2.0, 2.0, 2.0, 7.0, 7.0]);
}

#[test]
fn dgemm_matches_naive() {
    let mut rng = Rng(42);
    for &(m, k, n) in SHAPES {
        let a = rng.vec(m * k);
        let b = rng.vec(k * n);
        let c0 = rng.vec(m * n);
        let bias = rng.vec(n);
        let want = naive(m, k, n, &a, &b);
        for la in LAYOUTS {
            for lb in LAYOUTS {
                let (a_rs, a_cs, a_len) = strides(la, m, k);
                let (b_rs, b_cs, b_len) = strides(lb, k, n);
                let ap = place(&a, m, k, a_rs, a_cs, a_len);
                let bp = place(&b, k, n, b_rs, b_cs, b_len);
                for start in STARTS {
                    let (mut c, update) = start.prepare(&c0, &bias, |x| x);
                    dgemm(
                        MatMut::row_major(&mut c, m, n),
                        MatRef::strided(&ap, m, k, a_rs, a_cs),
                        MatRef::strided(&bp, k, n, b_rs, b_cs),
                        update,
                        Threads::Shared,
                    );
                    for idx in 0..m * n {
                        let expect = want[idx] + start.addend(&c0, &bias, idx, n);
                        assert!(
                            (c[idx] - expect).abs() <= 1e-12 * (k as f64 + 1.0),
                            "{m}x{k}x{n} {start:?}"
                        );
                    }
                }
            }
        }
    }
}

// The views check their slices when made, so a too-short operand panics
// there, naming the view's shape and strides, before any product runs.

#[test]
#[should_panic(expected = "matrix view: 2x2 with strides (2, 1) does not fit in 3 elements")]
fn too_short_a_panics_with_a_clear_message() {
    let _ = MatRef::row_major(&[1.0f32; 3], 2, 2);
}

#[test]
#[should_panic(expected = "matrix view: 2x2 does not fit in 3 elements")]
fn too_short_c_panics_with_a_clear_message() {
    let _ = MatMut::row_major(&mut [0.0f32; 3], 2, 2);
}

#[test]
#[should_panic(expected = "matrix view: 3x2 with strides (1, 3) does not fit in 5 elements")]
fn too_short_b_panics_with_a_clear_message() {
    // B is 2x2 column-major and fits; now a transposed view that does not:
    let _ = MatRef::strided(&[1.0f32; 4], 2, 2, 1, 2);
    let _ = MatRef::strided(&[1.0f32; 5], 3, 2, 1, 3);
}

#[test]
#[should_panic(expected = "sgemm: C (2x2) = A (2x3) · B (2x2): dims do not agree")]
fn disagreeing_dims_panic_with_a_clear_message() {
    let mut c = [0.0f32; 4];
    sgemm(
        MatMut::row_major(&mut c, 2, 2),
        MatRef::row_major(&[1.0; 6], 2, 3),
        MatRef::row_major(&[1.0; 4], 2, 2),
        Update::Overwrite,
        Threads::Shared,
    );
}

/// The engine may call `sgemm` from inside rayon's workers (a batch of
/// products in parallel): the nested work sharing and the per-thread
/// packing buffers must neither deadlock nor mix up results.
#[test]
fn sgemm_inside_rayon_workers() {
    use rayon::prelude::*;
    let (m, k, n) = (150, 1100, 70); // threaded, packed, two k-slices
    let mut rng = Rng(99);
    let a = rng.vec(m * k);
    let b = rng.vec(k * n);
    let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
    let bt: Vec<f32> = (0..k * n).map(|idx| b32[(idx % k) * n + idx / k]).collect();
    // Alternate plain and transposed B, threaded and serial calls.
    let product = |i: usize| {
        let mut c = vec![0.0f32; m * n];
        let (cm, a) = (
            MatMut::row_major(&mut c, m, n),
            MatRef::row_major(&a32, m, k),
        );
        if i.is_multiple_of(2) {
            let b = MatRef::row_major(&b32, k, n);
            sgemm(cm, a, b, Update::Overwrite, Threads::Shared);
        } else {
            let b = MatRef::row_major(&bt, n, k).t();
            sgemm(cm, a, b, Update::Overwrite, Threads::Serial);
        }
        c
    };
    // Outside rayon first: the reference each call inside must reproduce
    // exactly (threads split rows and columns, never a sum over k).
    let outside = [product(0), product(1)];
    let want = naive(m, k, n, &a, &b);
    for c in &outside {
        for (got, want) in c.iter().zip(&want) {
            // f32 rounding over k = 1100 terms of size <= 1: a few ulps of the partial sums.
            assert!(
                (*got as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "{got} vs {want}"
            );
        }
    }
    let inside: Vec<Vec<f32>> = (0..6).into_par_iter().map(product).collect();
    for (i, c) in inside.iter().enumerate() {
        assert_eq!(c, &outside[i % 2], "call {i} inside a rayon worker");
    }
}

/// Every row count of the microkernel (1..=12, and 13..=26 for two
/// panels), every kind of column mask (below, at and above 16 and 32), and
/// depths on both sides of the in-place limit and of a single step.
#[test]
fn sgemm_sweeps_microkernel_edges() {
    let mut rng = Rng(2024);
    for m in 1..=26 {
        for n in [1, 15, 16, 17, 31, 32, 33, 47, 64, 65] {
            for k in [1, 7, 256, 257] {
                let a = rng.vec(m * k);
                let b = rng.vec(k * n);
                let want = naive(m, k, n, &a, &b);
                let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
                let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
                let mut c = vec![f32::NAN; m * n];
                sgemm(
                    MatMut::row_major(&mut c, m, n),
                    MatRef::row_major(&a32, m, k),
                    MatRef::row_major(&b32, k, n),
                    Update::Overwrite,
                    Threads::Shared,
                );
                for (idx, (&got, &want)) in c.iter().zip(&want).enumerate() {
                    let tol = 1e-5 * (k as f64).sqrt() * 4.0 + 1e-6;
                    assert!(
                        (got as f64 - want).abs() <= tol,
                        "{m}x{k}x{n} C[{idx}] = {got} want {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_instruction_set_in_use_is_the_cpus_capped_by_mgp_isa() {
    use micrograd_plus::kernels::isa::{isa, Isa};
    // scripts/test-all runs this file under MGP_ISA=avx2 and =portable too.
    let cap = Isa::cap_from_env().expect("MGP_ISA, if set, names a level");
    let want = cap.map_or(Isa::detected(), |c| c.min(Isa::detected()));
    assert_eq!(isa(), want);
    if std::env::var("MGP_ISA").as_deref() == Ok("portable") {
        assert_eq!(isa(), Isa::Portable);
    }
}

/// Shapes for overwrites into uninitialised memory: the odd ones above
/// (ragged edges, k = 0, empty C) plus k past one packed block (`KC` =
/// 1024), where later k-blocks add to what the first one stored, and
/// sizes that are packed and threaded.
fn uninit_shapes() -> Vec<(usize, usize, usize)> {
    let mut shapes = SHAPES.to_vec();
    shapes.extend([(0, 0, 0), (13, 1100, 37), (280, 1030, 300), (5, 2049, 3)]);
    shapes
}

/// `C = A·B` written through [`MatMut::uninit`] into a buffer of NaN
/// garbage (standing for uninitialised memory, but readable afterwards)
/// must equal, bit for bit, the same product into an initialised C, store
/// all `m·n` elements and nothing past them. (`scripts/test-all` runs this
/// file under each `MGP_ISA`, so every kernel path is covered.)
#[test]
fn overwrite_into_uninitialised_memory_writes_every_element() {
    let mut rng = Rng(7);
    for (m, k, n) in uninit_shapes() {
        let a = rng.vec(m * k);
        let b = rng.vec(k * n);
        for (la, lb) in [
            (Layout::RowMajor, Layout::RowMajor),
            (Layout::ColMajor, Layout::ColMajor),
            (Layout::Padded, Layout::RowMajor),
        ] {
            let (a_rs, a_cs, a_len) = strides(la, m, k);
            let (b_rs, b_cs, b_len) = strides(lb, k, n);
            let (ap, bp) = (
                place(&a, m, k, a_rs, a_cs, a_len),
                place(&b, k, n, b_rs, b_cs, b_len),
            );
            let (av, bv) = (
                MatRef::strided(&ap, m, k, a_rs, a_cs),
                MatRef::strided(&bp, k, n, b_rs, b_cs),
            );
            let a32: Vec<f32> = ap.iter().map(|&x| x as f32).collect();
            let b32: Vec<f32> = bp.iter().map(|&x| x as f32).collect();
            let (a32, b32) = (
                MatRef::strided(&a32, m, k, a_rs, a_cs),
                MatRef::strided(&b32, k, n, b_rs, b_cs),
            );
            for threads in [Threads::Shared, Threads::Serial] {
                let zeros =
                    overwrite_uninit(sgemm, a32, b32, threads, f32::NAN, |x| x.to_bits().into());
                let zeros64 = overwrite_uninit(dgemm, av, bv, threads, f64::NAN, f64::to_bits);
                assert!(k > 0 || (zeros && zeros64), "{m}x0x{n}: C not zeroed");
            }
        }
    }
}

/// `sgemm` or `dgemm`.
type Gemm<T> = fn(MatMut<T>, MatRef<T>, MatRef<T>, Update<T>, Threads);

/// One product of [`overwrite_into_uninitialised_memory_writes_every_element`]:
/// checks it and says whether C came out all zeros.
fn overwrite_uninit<T: Copy + Default + PartialEq>(
    gemm: Gemm<T>,
    a: MatRef<T>,
    b: MatRef<T>,
    threads: Threads,
    nan: T,
    bits: fn(T) -> u64,
) -> bool {
    use std::mem::MaybeUninit;
    let (m, n, over) = (a.rows(), b.cols(), Update::Overwrite);
    let mut want = vec![T::default(); m * n];
    gemm(MatMut::row_major(&mut want, m, n), a, b, over, threads);
    let mut c = vec![MaybeUninit::new(nan); m * n + 3];
    gemm(MatMut::uninit(&mut c, m, n), a, b, over, threads);
    // SAFETY: every element was initialised (to NaN) before the product.
    let got: Vec<T> = c.iter().map(|x| unsafe { x.assume_init() }).collect();
    let (got, past) = got.split_at(m * n);
    let k = a.cols();
    assert!(
        got.iter()
            .map(|&x| bits(x))
            .eq(want.iter().map(|&x| bits(x))),
        "{m}x{k}x{n}: an overwrite into garbage differs from one into zeros"
    );
    assert!(
        past.iter().all(|&x| bits(x) == bits(nan)),
        "{m}x{k}x{n}: wrote past C"
    );
    got.iter().all(|&x| x == T::default())
}

#[test]
#[should_panic(expected = "sgemm: C (2x3) = A·B + bias: the bias has 2 values, not one per column")]
fn a_bias_of_the_wrong_length_panics() {
    let mut c = [0.0f32; 6];
    sgemm(
        MatMut::row_major(&mut c, 2, 3),
        MatRef::row_major(&[1.0; 4], 2, 2),
        MatRef::row_major(&[1.0; 6], 2, 3),
        Update::Bias(&[1.0, 2.0]),
        Threads::Serial,
    );
}

#[test]
#[should_panic(expected = "sgemm: C (2x3) is uninitialised and can only be overwritten")]
fn accumulating_into_uninitialised_memory_panics() {
    let mut c = [std::mem::MaybeUninit::<f32>::uninit(); 6];
    sgemm(
        MatMut::uninit(&mut c, 2, 3),
        MatRef::row_major(&[1.0; 4], 2, 2),
        MatRef::row_major(&[1.0; 6], 2, 3),
        Update::Accumulate,
        Threads::Serial,
    );
}
