//! The blocked GEMM around a register-tile microkernel: cache blocking,
//! packing, threading, and operands read in place, shared by every
//! instruction set. Each kernel ([`super::avx512`], [`super::avx2`])
//! supplies only its tile size and its microkernel through [`Microkernel`].
//!
//! Only [`sgemm`] is called from outside, and only after the caller has
//! checked at run time that the CPU has the kernel's instruction set (every
//! index an operand's strides can produce lies inside its slice: a
//! [`MatRef`] checks that when it is made).

use std::cell::Cell;
use std::mem::MaybeUninit;

use super::pack::{pack_a, pack_b};
use super::{MatRef, Update};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// One call of a microkernel: an up to `MR × NR` tile of C that `kc` rank-1
/// updates accumulate into (its row count is the kernel instance's, see
/// [`Microkernel::tile_kernel`]).
///
/// A value (i, p) is read at `a + i*a_lane + p*a_step` and the B row of
/// step p at `b + p*b_step`, which covers packed panels and operands read
/// in place (see [`Panels`]). Only the kernel's rows and `cols` columns of C are
/// written (and of B read), so a ragged edge needs no padding; the tile is
/// added to what [`Onto`] says as it is stored.
#[derive(Clone, Copy)]
pub(super) struct Tile {
    pub kc: usize,
    pub a: *const f32,
    pub a_lane: usize,
    pub a_step: usize,
    pub b: *const f32,
    pub b_step: usize,
    pub c: *mut f32,
    pub ldc: usize,
    pub cols: usize,
    pub onto: Onto,
}

/// What a tile of `A·B` is added to as it is stored into C.
#[derive(Clone, Copy)]
pub(super) enum Onto {
    /// Nothing: the tile replaces C, which is only stored to, never read
    /// (it may be uninitialised).
    Nothing,
    /// What C holds (a later k-slice, or an accumulating product).
    C,
    /// A bias row: the `cols` floats from this pointer, added to every row
    /// of the tile (C is not read).
    Row(*const f32),
}

/// A microkernel instance: computes one [`Tile`] (see
/// [`Microkernel::tile_kernel`] for what makes a call safe).
pub(super) type TileKernel = unsafe fn(Tile);

/// What an instruction set contributes to the blocked GEMM: its tile kernels
/// for an `MR × NR` register tile (`MR` rows of C, whose A values are
/// broadcast per k-step; `NR` columns, whole vectors of B per k-step). The
/// packing for that tile is shared (`pack::pack_a::<MR>`, `pack_b::<NR>`).
pub(super) trait Microkernel<const MR: usize, const NR: usize> {
    /// Depth of one packed block: the k-steps a tile of C accumulates
    /// between its loads and stores. Deeper loads and stores C less often
    /// (and, with threads, waits for the slowest thread less often), as long
    /// as the panels a tile reads still stream from the caches at full speed;
    /// each kernel gives its measured value.
    const KC: usize;

    /// The microkernel for tiles of `rows` rows (`1 ≤ rows ≤ MR`): an
    /// instance compiled for that row count, so its accumulators are
    /// registers. [`macro_kernel`] picks it once per block, not per tile.
    ///
    /// Calling the returned function is safe only if the CPU has the
    /// kernel's instruction set; `1 ≤ cols ≤ NR`, `kc ≥ 1`; every A value
    /// (i < rows, p < kc), the first `cols` floats of every B row (p < kc),
    /// of a bias row ([`Onto::Row`]) and of `rows` rows of C, `ldc` apart,
    /// in bounds (C writable).
    fn tile_kernel(rows: usize) -> TileKernel;
}

/// How many k-steps ahead the AVX-512 microkernel prefetches B's row. A B
/// read in place (a small batch's weights, rows a whole weight row apart)
/// comes from L3 or memory once per product, and the hardware prefetchers
/// do not follow rows 1 KiB apart: with this, the course's MNIST MLP in
/// Python ran its 64×784·784×256 forward in 185-191 µs a batch instead of
/// 217-219 (evaluation), and its training epoch 4% faster. 16 and 32 steps
/// measured the same. (The AVX2 kernel, whose B row is one cache line, does
/// not: under `MGP_ISA=avx2` its forward was 2% faster, its backward 3%
/// slower.)
pub(super) const PREFETCH_STEPS: usize = 16;
/// Rows of one packed A block: `MC × KC` floats (≤ 528 KiB with AVX-512's
/// `KC`) stay in the 1 MiB L2 cache while the microkernel sweeps every B
/// panel. (A multiple
/// of every kernel's `MR`, 12 and 6; on one core 48, 132 and 264 measured
/// the same.)
pub(super) const MC: usize = 132;
/// Columns of one packed B block: `KC × NC` floats (4 MiB at most, the size
/// of the thread-local B buffer) stream from L3. A is packed again for
/// every column block, which costs about 1/NC of the arithmetic.
pub(super) const NC: usize = 1024;
/// Largest `m`, `n` and `k` for which both operands are read in place
/// instead of packed: below it packing is a visible share of the time;
/// above it, a B read in place is slower (at 512³ on one core: 181 GFLOP/s
/// with both in place, 201 packed).
pub(super) const SMALL: usize = 256;
/// Deepest B of any width that is read in place when one row block of A
/// sweeps it: each B panel is then read once, from memory either way, and
/// packing it first is a copy of B for nothing. One core, AVX2, µs, packed →
/// in place: a 3×3 convolution's first layer on MNIST, 16 × 9 · 9 × 676:
/// 3.7-3.9 → 2.7-2.9; 32 × 64 · 64 × 1000: 48.7-51.0 → 45.1-45.5. With
/// rows a whole page apart every row of a panel falls into the same L1
/// set, and packing won: 32 × 27 · 27 × 1024, 22.5-23.6 packed against
/// 23.7-25.7 in place.
const SHALLOW_B: usize = 64;
/// Floats in a 4 KiB page (see [`SHALLOW_B`]).
const PAGE_FLOATS: usize = 1024;
/// Longest lines (in floats) of an A of any size that is still read in
/// place: a row-major A's rows or a column-major A's columns. A panel read
/// in place is `MR` such lines side by side (or, column-major, one short run
/// per line), and lines at most 2 KiB apart spread over enough cache sets;
/// further apart they collide (1024³ Aᵀ·B on one core: 180 GFLOP/s in
/// place, 211 packed). Packing an A with short lines costs the most
/// relative to the arithmetic (the product is narrow or shallow): on the
/// GPT's layers (k and n of 128 and 512) reading A in place made a
/// single-threaded training step ~6% faster.
///
/// A column-major A (the `Gᵀ` of a layer's `dW = Gᵀ·X`) is read in place
/// only when it is also shallow (`k ≤ SMALL`): each k-step of its panel is a
/// new cache line, of which the kernel uses `MR` floats, so a deep panel
/// streams many times its size. On the GPT's `dW` (k = 1024 rows of one
/// thread's part, one core, GFLOP/s, AVX2 / AVX-512): with A 512 × 1024,
/// in place 47 / 92, packed 94 / 139; 384 × 1024: 84 / 131 → 94 / 140
/// (128 × 1024: 87 / 165 → 96 / 152, the one shape that lost).
pub(super) const A_IN_PLACE_LINE: usize = 512;

thread_local! {
    // Reusable packing buffers, one pair per thread. Allocating (and zeroing)
    // fresh buffers on every call would cost more than the whole product at
    // small sizes. They are taken out of the cell while in use, so a nested
    // call (a rayon worker stealing another sgemm) simply allocates its own.
    static A_BUF: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    static B_BUF: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on a 64-byte-aligned scratch slice of `len` floats taken from
/// the thread-local `key`, growing it when needed.
fn with_buffer<R>(
    key: &'static std::thread::LocalKey<Cell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    // 16 spare floats so the slice can start on a cache-line boundary.
    let needed = len + 16;
    let mut buf = key.with(Cell::take);
    if buf.len() < needed {
        buf = vec![0.0; needed];
    }
    let offset = buf.as_ptr().align_offset(64).min(16);
    let result = f(&mut buf[offset..offset + len]);
    key.with(|cell| cell.set(buf));
    result
}

/// Problems below this many flops (2·m·n·k) run on one thread. Handing work
/// to a sleeping rayon worker took ~13 µs on the 2-core AMD test machine and
/// 35-45 µs on a 2-core Intel one (a worker falls asleep in the gaps of a
/// Python training loop): there a 64×256×128 layer ran in 41 µs on one
/// thread and 64 µs on two, while back-to-back in a benchmark two threads
/// won (19 vs 27 µs). At 64×784×256 two threads win either way.
pub(super) const PARALLEL_FLOPS: usize = 2 * 160 * 160 * 160;

/// Least arithmetic a thread's share of a product must do per byte it moves
/// between cores for sharing to pay.
///
/// Threads split the rows of C. A helper works on operands the calling
/// thread has just written (a training loop's activations and weights) and
/// leaves its rows of C in its own cache, where the caller reads them next:
/// it pulls its rows of A and all of B from the caller's core, and its rows
/// of C go back. On the 2-vCPU Xeon test machine that traffic cost more than
/// the helper saved on every layer of the course's MNIST MLP at batch 64
/// (13.8 to 22.7 flops per byte: sharing the 784×256 layer's dW alone made
/// the Python training epoch 5% slower, sharing all three of its products
/// 13%), while a 256³ product (32.8) runs 1.7× faster on two threads.
pub(super) const MIN_FLOPS_PER_BYTE: usize = 28;

/// Bytes of B above which it is not counted as moved between cores: it no
/// longer fits the calling core's L2 cache (2 MiB on the test machines, less
/// on many CPUs), so both threads read it from L3 or memory at the same
/// cost. CIFAR-10's 4096→256 layer at batch 128 (a 4 MiB weight, 25 flops
/// per byte counting it) ran on one thread before (`mgp profile
/// cnn-cifar10` under AVX2, ms a step: forward 3.1 → 1.8, backward 4.8 →
/// 4.1); the MNIST MLP's products, whose B are smaller, are unaffected
/// (epoch 0.0671-0.0683 s before, 0.0674-0.0676 after).
pub(super) const UNCACHED_B_BYTES: usize = 2 << 20;

/// Whether a thread's share of a product, `rows` rows of C = A·B with A
/// `rows × k` and B `k × n`, does at least [`MIN_FLOPS_PER_BYTE`] per byte
/// it moves: its rows of A and C, and all of B unless B is larger than
/// [`UNCACHED_B_BYTES`] (f32: 4 bytes each).
pub(crate) fn worth_moving(rows: usize, k: usize, n: usize) -> bool {
    let share_flops = 2usize
        .saturating_mul(rows)
        .saturating_mul(n)
        .saturating_mul(k);
    let b = k.saturating_mul(n);
    let b_moved = if b.saturating_mul(4) > UNCACHED_B_BYTES {
        0
    } else {
        b
    };
    let share_bytes = rows
        .saturating_mul(k)
        .saturating_add(b_moved)
        .saturating_add(rows.saturating_mul(n))
        .saturating_mul(4);
    share_flops >= MIN_FLOPS_PER_BYTE.saturating_mul(share_bytes)
}

/// How many threads are worth using for an `m × k × n` product, with
/// tiles of `MR` rows.
pub(super) fn threads_for<const MR: usize>(m: usize, k: usize, n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let flops = 2usize.saturating_mul(m).saturating_mul(n).saturating_mul(k);
    // Each thread needs a few row panels.
    if flops < PARALLEL_FLOPS || m < 2 * MR || !worth_moving(m.div_ceil(threads), k, n) {
        1
    } else {
        threads
    }
}

/// C = A·B (or C += A·B) with packing, cache blocking and, when `threads > 1`,
/// the packing of B and the row blocks of C shared out among rayon's workers
/// (and the calling thread), around the microkernel `K`.
///
/// # Safety
/// The CPU must support `K`'s instruction set; A (`m × k`) and B (`k × n`)
/// have no empty dim (every element their strides address is in bounds:
/// [`MatRef`]'s constructors check that); `c.len() ≥ m*n`.
///
/// Unless accumulating, C may be uninitialised: its values are never read
/// before this call has stored every one of its first `m*n` elements. A
/// bias ([`Update::Bias`]) has `n` values.
pub(super) unsafe fn sgemm<K: Microkernel<MR, NR>, const MR: usize, const NR: usize>(
    a: MatRef<f32>,
    b: MatRef<f32>,
    c: &mut [MaybeUninit<f32>],
    update: Update<f32>,
    threads: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let (a_rs, a_cs, b_rs, b_cs) = (a.rs, a.cs, b.rs, b.cs);
    let c = &mut c[..m * n];

    // Small operands are read in place when the microkernel can: A with any
    // strides (it broadcasts one value at a time), B when its rows are
    // contiguous (it loads 16 columns at a time). At 64³ packing would cost
    // a fifth of the time; large operands are packed, because rows far
    // apart collide in the caches, except an A with short lines.
    let small = m.max(n).max(k) <= SMALL;
    let row_major_short = a_cs == 1 && a_rs <= A_IN_PLACE_LINE;
    let column_major_shallow = a_rs == 1 && a_cs <= A_IN_PLACE_LINE && k <= SMALL;
    let short_lines = row_major_short || column_major_shallow;
    let direct_a = small || short_lines;
    // A B with short rows (n <= SMALL) is also read in place at any depth
    // when threads share the rows of C (each thread would otherwise wait for
    // the shared packing of all of B, a large share of a small-batch layer:
    // 64×784×256 on 2 threads took 184 µs packed, 112 µs in place) or when
    // one thread has a single row block to sweep it with.
    let short_b_rows = n <= SMALL && (threads > 1 || m <= MC);
    // So is a shallow B swept by a single row block, unless its rows are
    // whole pages apart (see `SHALLOW_B`).
    let shallow_b = k <= SHALLOW_B && m <= MC && !b_rs.is_multiple_of(PAGE_FLOATS);
    let direct_b = (small || short_b_rows || shallow_b) && b_cs == 1;

    let b_len = if direct_b {
        0
    } else {
        K::KC.min(k) * NC.min(n).next_multiple_of(NR)
    };
    with_buffer(&B_BUF, b_len, |b_buf| {
        // Loop 5: column blocks of C (and B).
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            // Loop 4: the shared dimension, one KC-deep slice at a time.
            for pc in (0..k).step_by(K::KC) {
                let kc = K::KC.min(k - pc);
                // The first slice replaces C (adding the bias, if any)
                // unless we accumulate; every later slice adds to what the
                // previous ones left. So an uninitialised C is read only
                // after the first slice (whose row blocks and tiles cover
                // all m × n elements) stored it.
                let start = if pc > 0 { Update::Accumulate } else { update };

                let b_panels = if direct_b {
                    Panels {
                        data: b.data,
                        offset: pc * b_rs + jc,
                        tile_stride: NR,
                        lane: 1,
                        step: b_rs,
                    }
                } else {
                    let b_pack = &mut b_buf[..kc * nc.next_multiple_of(NR)];
                    // Runs of panels, several per thread (so that a late
                    // helper delays nobody long).
                    let panels_per_run = nc.div_ceil(NR).div_ceil(8 * threads);
                    let run_len = panels_per_run * NR * kc;
                    let total = b_pack.len();
                    let runs = (0..total)
                        .step_by(run_len)
                        .map(|at| run_len.min(total - at));
                    share_out(b_pack, runs, threads, |offset, dst| {
                        let col0 = jc + offset / kc;
                        let cols = (panels_per_run * NR).min(jc + nc - col0);
                        // SAFETY: `K`'s instruction set (AVX at least) checked by our caller.
                        unsafe { pack_b::<NR>(dst, b, pc, kc, col0, cols) };
                    });
                    Panels {
                        data: b_pack,
                        offset: 0,
                        tile_stride: NR * kc,
                        lane: 1,
                        step: NR,
                    }
                };

                // Loop 3: row blocks of C (and A), the unit of parallel work.
                let row_block = |offset: usize, c_rows: &mut [MaybeUninit<f32>]| {
                    let (ic, mc) = (offset / n, c_rows.len() / n);
                    // SAFETY (both calls): `K`'s instruction set checked by
                    // our caller; `macro_kernel` asserts that the panels and
                    // `c_rows` cover every index it will touch.
                    if direct_a {
                        let a_panels = Panels {
                            data: a.data,
                            offset: ic * a_rs + pc * a_cs,
                            tile_stride: MR * a_rs,
                            lane: a_rs,
                            step: a_cs,
                        };
                        unsafe {
                            macro_kernel::<K, MR, NR>(
                                mc, nc, kc, a_panels, b_panels, c_rows, n, jc, start,
                            )
                        };
                        return;
                    }
                    with_buffer(&A_BUF, mc.next_multiple_of(MR) * kc, |a_pack| {
                        unsafe { pack_a::<MR>(a_pack, a, ic, mc, pc, kc) };
                        let a_panels = Panels {
                            data: a_pack,
                            offset: 0,
                            tile_stride: MR * kc,
                            lane: 1,
                            step: MR,
                        };
                        unsafe {
                            macro_kernel::<K, MR, NR>(
                                mc, nc, kc, a_panels, b_panels, c_rows, n, jc, start,
                            )
                        };
                    });
                };
                let block_lens = row_blocks::<K, MR, NR>(m, threads).map(|rows| rows * n);
                share_out(c, block_lens, threads, row_block);
            }
        }
    });
}

/// `C = Xᵀ` (or `C += Xᵀ` when `accumulate`) for a row-major `rows × cols`
/// X: C is `cols × rows`, row-major, and may be uninitialised when
/// overwritten. Square tiles keep both sides' cache lines in use.
///
/// # Safety
/// With `accumulate`, the first `rows * cols` elements of `c` are initialised.
pub(super) unsafe fn transpose_into(
    c: &mut [MaybeUninit<f32>],
    x: &[f32],
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    const TILE: usize = 16;
    let (c, x) = (&mut c[..rows * cols], &x[..rows * cols]);
    for i0 in (0..cols).step_by(TILE) {
        for j0 in (0..rows).step_by(TILE) {
            for i in i0..(i0 + TILE).min(cols) {
                let out = &mut c[i * rows..][j0..(j0 + TILE).min(rows)];
                for (j, o) in (j0..).zip(out.iter_mut()) {
                    let v = x[j * cols + i];
                    // SAFETY: with `accumulate` C is initialised (our
                    // contract).
                    *o = MaybeUninit::new(if accumulate {
                        v + unsafe { o.assume_init() }
                    } else {
                        v
                    });
                }
            }
        }
    }
}

/// Where the microkernel finds a block of A (or B), packed or in place.
///
/// Tile `t` (rows `t*MR ..` of the A block, or columns `t*NR ..` of the B
/// block) starts at `data[offset + t * tile_stride]`; inside a tile, lane
/// `l` (row or column) of k-step `p` is at `+ l * lane + p * step`.
///
/// | block                  | `tile_stride` | `lane` | `step` |
/// |------------------------|---------------|--------|--------|
/// | packed A               | `MR·kc`       | 1      | `MR`   |
/// | packed B               | `NR·kc`       | 1      | `NR`   |
/// | A in place, column-major | `MR`        | 1      | `a_cs` |
/// | A in place, row-major  | `MR·a_rs`     | `a_rs` | 1      |
/// | B in place, row-major  | `NR`          | 1      | `b_rs` |
///
/// B's lanes are always contiguous (`lane = 1`): they are loaded as vectors.
#[derive(Clone, Copy)]
struct Panels<'a> {
    data: &'a [f32],
    offset: usize,
    tile_stride: usize,
    lane: usize,
    step: usize,
}

impl Panels<'_> {
    /// Panics unless every element the microkernel will read (lanes
    /// `0..extent` in tiles of `tile` lanes, over `kc` steps) is in `data`.
    fn assert_covers(&self, extent: usize, tile: usize, kc: usize) {
        let tiles = extent.div_ceil(tile);
        let last_lanes = extent - (tiles - 1) * tile;
        // Index of the last lane of the last step of tile `t` with `lanes` lanes.
        let end = |t: usize, lanes: usize| {
            self.offset
                .saturating_add(t.saturating_mul(self.tile_stride))
                .saturating_add((kc - 1).saturating_mul(self.step))
                .saturating_add((lanes - 1).saturating_mul(self.lane))
        };
        let mut last = end(tiles - 1, last_lanes);
        if tiles > 1 {
            last = last.max(end(tiles - 2, tile));
        }
        assert!(last < self.data.len(), "matmul: panel out of bounds");
    }
}

/// Cuts `data` into consecutive chunks of the given lengths and calls
/// `f(offset, chunk)` for each, `offset` being where the chunk starts in
/// `data`, on up to `threads` threads.
///
/// The calling thread starts on the chunks at once while rayon wakes the
/// helpers, and every thread claims the next unclaimed chunk when it is
/// done with one. So when a helper is slow to start (on a machine shared
/// with other work the other core may be busy for a while) the caller
/// simply does more of the chunks itself instead of waiting, as it would
/// for a fixed split.
fn share_out<E: Send, F>(data: &mut [E], lens: impl Iterator<Item = usize>, threads: usize, f: F)
where
    F: Fn(usize, &mut [E]) + Sync,
{
    let (mut rest, mut offset) = (data, 0);
    let chunks = lens.map(|len| {
        let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        offset += len;
        (offset - len, chunk)
    });
    if threads <= 1 {
        // No threads: no bookkeeping either (this path runs at 64³).
        chunks.for_each(|(offset, chunk)| f(offset, chunk));
        return;
    }
    // Each chunk sits in its own slot and is taken out exactly once, which
    // hands out the `&mut` pieces safely; the counter says which is next.
    let slots: Vec<_> = chunks.map(|chunk| Mutex::new(Some(chunk))).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = slots.get(i) else { break };
        let claimed = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some((offset, chunk)) = claimed {
            f(offset, chunk);
        }
    };
    rayon::in_place_scope(|scope| {
        for _ in 1..threads.min(slots.len()) {
            scope.spawn(|_| work());
        }
        work();
    });
}

/// Heights of the row blocks of C. One thread: `MC` rows each. Several:
/// "guided" blocks, each a share of the rows still left, so the first
/// blocks are big (B panels are reused across more A panels) and the last
/// ones are single `MR`-row panels, which keeps the wait for the last
/// thread to finish short.
fn row_blocks<K: Microkernel<MR, NR>, const MR: usize, const NR: usize>(
    m: usize,
    threads: usize,
) -> impl Iterator<Item = usize> {
    let mut left = m;
    std::iter::from_fn(move || {
        let rows = if threads <= 1 {
            MC
        } else {
            left.div_ceil(2 * threads).next_multiple_of(MR).min(MC)
        };
        let rows = rows.min(left);
        left -= rows;
        (rows > 0).then_some(rows)
    })
}

/// Loops 2 and 1: sweeps an `mc × kc` block of A against a `kc × nc` block
/// of B, one `MR × NR` tile of C at a time. `c` holds rows `ic .. ic + mc`
/// of C (row stride `ldc`) and the tile columns start at `jc`.
///
/// Unless `update` accumulates, the tiles store all `mc` rows × columns
/// `jc .. jc + nc` of `c` without reading them, which may then be
/// uninitialised.
///
/// # Safety
/// The CPU has `K`'s instruction set. (Every index is asserted.)
#[allow(clippy::too_many_arguments)]
unsafe fn macro_kernel<K: Microkernel<MR, NR>, const MR: usize, const NR: usize>(
    mc: usize,
    nc: usize,
    kc: usize,
    a: Panels,
    b: Panels,
    c: &mut [MaybeUninit<f32>],
    ldc: usize,
    jc: usize,
    update: Update<f32>,
) {
    // These checks make every pointer below provably in bounds.
    assert!(mc >= 1 && nc >= 1 && kc >= 1);
    a.assert_covers(mc, MR, kc);
    b.assert_covers(nc, NR, kc);
    assert!(b.lane == 1);
    assert!(c.len() >= (mc - 1) * ldc + jc + nc);
    if let Update::Bias(row) = update {
        assert!(row.len() >= jc + nc);
    }

    // The row count of every tile but a ragged last one is MR: pick both
    // kernel instances once.
    let full = K::tile_kernel(MR);
    let last = K::tile_kernel((mc - 1) % MR + 1);
    // B panel outside, A panels inside: one B panel is reused by every A
    // panel of the block while it is hot in L1/L2.
    for (jt, jr) in (0..nc).step_by(NR).enumerate() {
        // SAFETY: tile `jt` of B starts inside `b.data` (`assert_covers`).
        let b_panel = unsafe { b.data.as_ptr().add(b.offset + jt * b.tile_stride) };
        // What this panel's tiles are added to: the same for every A panel.
        let onto = match update {
            Update::Overwrite => Onto::Nothing,
            Update::Accumulate => Onto::C,
            // SAFETY: `jc + jr < jc + nc ≤ row.len()` (asserted).
            Update::Bias(row) => Onto::Row(unsafe { row.as_ptr().add(jc + jr) }),
        };
        for (it, ir) in (0..mc).step_by(MR).enumerate() {
            let rows = MR.min(mc - ir);
            let kernel = if rows == MR { full } else { last };
            // SAFETY: the asserts above put tile `it` of A, B's panel, the
            // bias row's columns and the tile's `rows` rows × `cols` columns
            // of C (ending by `(mc - 1) * ldc + jc + nc`) inside their slices; `1 ≤ rows ≤
            // MR`, `1 ≤ cols ≤ NR`, `kc ≥ 1`; the CPU has `K`'s instruction
            // set (our caller's contract).
            unsafe {
                kernel(Tile {
                    kc,
                    a: a.data.as_ptr().add(a.offset + it * a.tile_stride),
                    a_lane: a.lane,
                    a_step: a.step,
                    b: b_panel,
                    b_step: b.step,
                    c: c.as_mut_ptr().cast::<f32>().add(ir * ldc + jc + jr),
                    ldc,
                    cols: NR.min(nc - jr),
                    onto,
                })
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::threads_for;

    #[test]
    fn products_are_shared_only_when_a_share_outweighs_moving_its_operands() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            // The course MLP's first layer at batch 64: X·W, G·Wᵀ (both 13.8
            // flops per byte) and Xᵀ·G (22.7) stay on one thread.
            assert_eq!(threads_for::<12>(64, 784, 256), 1);
            assert_eq!(threads_for::<12>(64, 256, 784), 1);
            assert_eq!(threads_for::<12>(784, 64, 256), 1);
            // Square products from 256 on (32.8 flops per byte) are shared.
            assert_eq!(threads_for::<12>(256, 256, 256), 2);
            assert_eq!(threads_for::<12>(1024, 1024, 1024), 2);
            // Too little work to wake a helper at all.
            assert_eq!(threads_for::<12>(64, 64, 64), 1);
            // CIFAR-10's 4096→256 layer at batch 128: 25 flops per byte
            // with its 4 MiB weight counted, which is not cached anyway.
            assert_eq!(threads_for::<12>(128, 4096, 256), 2);
        });
    }
}
