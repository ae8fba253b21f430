//! MT19937, the Mersenne Twister (Matsumoto and Nishimura, 1998): the
//! generator behind NumPy's legacy `np.random.*` functions, which the
//! course's code draws its initial weights and dropout masks from.
//!
//! It is here so the Python package can draw exactly NumPy's numbers (same
//! state, same outputs, same state afterwards) without NumPy's per-number
//! call overhead: `np.random.rand` of a 64×256 dropout mask costs about
//! 120 µs, most of a step of the course's MNIST model at that layer.
//! [`Mt19937`] has the memory layout of NumPy's `mt19937_state`, so the
//! binding can use NumPy's own state in place.
//!
//! ```
//! use micrograd_plus::random::Mt19937;
//! // np.random.seed(42); np.random.rand(3)
//! let mut mt = Mt19937::new(42);
//! let drawn: Vec<f64> = (0..3).map(|_| mt.next_f64()).collect();
//! assert_eq!(drawn, [0.3745401188473625, 0.9507143064099162, 0.7319939418114051]);
//! ```

/// Words of state.
const N: usize = 624;
/// The twist's middle offset.
const M: usize = 397;
/// The twist matrix's last row.
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// A Mersenne Twister's state: 624 words and the position of the next one
/// to hand out (624: all used, twist first).
///
/// `#[repr(C)]` with NumPy's field types (`uint32_t key[624]; int pos;`).
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mt19937 {
    key: [u32; N],
    pos: i32,
}

impl Mt19937 {
    /// The state `init_genrand(seed)` makes: NumPy's `np.random.seed(seed)`
    /// for a seed below 2³².
    ///
    /// ```
    /// use micrograd_plus::random::Mt19937;
    /// // The reference implementation's first outputs for its default seed.
    /// let mut mt = Mt19937::new(5489);
    /// assert_eq!([mt.next_u32(), mt.next_u32()], [3499211612, 581869302]);
    /// ```
    pub fn new(seed: u32) -> Mt19937 {
        let mut key = [0u32; N];
        key[0] = seed;
        for i in 1..N {
            let prev = key[i - 1];
            key[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { key, pos: N as i32 }
    }

    /// The next 32 random bits (NumPy's `random_raw`).
    pub fn next_u32(&mut self) -> u32 {
        let pos = self.take_position();
        self.pos = pos as i32 + 1;
        temper(self.key[pos])
    }

    /// A uniform double in `[0, 1)` from 53 random bits, as NumPy's
    /// `random_sample`/`rand` make it: 27 bits of one word, 26 of the next.
    ///
    /// ```
    /// use micrograd_plus::random::Mt19937;
    /// let mut mt = Mt19937::new(0);
    /// assert!((0..1000).map(|_| mt.next_f64()).all(|u| (0.0..1.0).contains(&u)));
    /// ```
    pub fn next_f64(&mut self) -> f64 {
        let a = self.next_u32();
        let b = self.next_u32();
        double(a, b)
    }

    /// Fills `out` with [`Mt19937::next_f64`]'s numbers, in order. The same
    /// numbers several times faster: whole runs of the state between twists
    /// are tempered in one loop, which the compiler vectorises.
    ///
    /// ```
    /// use micrograd_plus::random::Mt19937;
    /// let (mut a, mut b) = (Mt19937::new(3), Mt19937::new(3));
    /// let mut filled = vec![0.0; 1000];
    /// a.fill_f64(&mut filled);
    /// assert!(filled.iter().all(|&u| u == b.next_f64()));
    /// assert_eq!(a, b);
    /// ```
    pub fn fill_f64(&mut self, out: &mut [f64]) {
        let mut done = 0;
        while done < out.len() {
            let pos = self.take_position();
            let pairs = ((N - pos) / 2).min(out.len() - done);
            if pairs == 0 {
                // One word left before a twist: this double straddles it.
                self.pos = pos as i32;
                out[done] = self.next_f64();
                done += 1;
                continue;
            }
            let words = &self.key[pos..pos + 2 * pairs];
            let run = &mut out[done..done + pairs];
            crate::kernels::simd::wide(
                #[inline(always)]
                || {
                    for (o, w) in run.iter_mut().zip(words.chunks_exact(2)) {
                        *o = double(temper(w[0]), temper(w[1]));
                    }
                },
            );
            self.pos = (pos + 2 * pairs) as i32;
            done += pairs;
        }
    }

    /// The index of the next word to hand out, twisting first when all are
    /// used. A position outside `0..=624` (a state written by hand) counts
    /// as 624, as NumPy would find it after a valid draw.
    fn take_position(&mut self) -> usize {
        match usize::try_from(self.pos) {
            Ok(p) if p < N => p,
            _ => {
                self.twist();
                0
            }
        }
    }

    /// Regenerates all 624 words from the previous ones (in three runs, so
    /// no index wraps around inside a loop).
    fn twist(&mut self) {
        let k = &mut self.key;
        // A new word reads only old words and new ones at least 227 places
        // back, so the loops vectorise (16 words at a time with AVX-512).
        crate::kernels::simd::wide(
            #[inline(always)]
            || {
                for i in 0..N - M {
                    k[i] = mix(k[i], k[i + 1], k[i + M]);
                }
                for i in N - M..N - 1 {
                    k[i] = mix(k[i], k[i + 1], k[i + M - N]);
                }
                k[N - 1] = mix(k[N - 1], k[0], k[M - 1]);
            },
        );
        self.pos = 0;
    }
}

/// One word of the twist, from the word it replaces (`upper`), the next
/// (`lower`) and the one `M` places on (`far`).
#[inline(always)]
fn mix(upper: u32, lower: u32, far: u32) -> u32 {
    let y = (upper & UPPER_MASK) | (lower & LOWER_MASK);
    far ^ (y >> 1) ^ if y & 1 == 1 { MATRIX_A } else { 0 }
}

/// MT19937's output tempering of one state word.
#[inline(always)]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^ (y >> 18)
}

/// NumPy's double from two outputs: `(a >> 5) · 2²⁶ + (b >> 6)`, over 2⁵³.
#[inline(always)]
fn double(a: u32, b: u32) -> f64 {
    // 2⁻⁵³ is exact, so the product is the quotient NumPy computes.
    (f64::from(a >> 5) * 67_108_864.0 + f64::from(b >> 6)) * (1.0 / 9_007_199_254_740_992.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_what_numpy_draws_across_a_twist() {
        // python -c "import numpy as np; np.random.seed(42);
        //   [np.random.rand() for _ in range(700)]; print(np.random.rand(2).tolist())"
        // (700 doubles use 1,400 words: two twists in).
        let mut mt = Mt19937::new(42);
        for _ in 0..700 {
            mt.next_f64();
        }
        assert_eq!(
            [mt.next_f64(), mt.next_f64()],
            [0.5325894325515859, 0.05182353682242691]
        );
    }

    #[test]
    fn filling_gives_the_numbers_one_by_one_from_any_position() {
        // Start at every parity and near each twist, fill odd and even runs.
        for skip in [0usize, 1, 311, 312, 313, 623] {
            let (mut filled, mut single) = (Mt19937::new(9), Mt19937::new(9));
            for _ in 0..skip {
                filled.next_u32();
                single.next_u32();
            }
            for len in [1usize, 2, 311, 312, 313, 1000] {
                let mut out = vec![0.0; len];
                filled.fill_f64(&mut out);
                assert!(
                    out.iter().all(|&u| u == single.next_f64()),
                    "skip {skip} len {len}"
                );
                assert_eq!(filled, single);
            }
        }
    }

    #[test]
    fn the_layout_is_numpys_state_struct() {
        assert_eq!(std::mem::size_of::<Mt19937>(), 624 * 4 + 4);
        assert_eq!(std::mem::offset_of!(Mt19937, pos), 624 * 4);
    }

    #[test]
    fn a_hand_written_position_out_of_range_twists_instead_of_panicking() {
        let mut mt = Mt19937::new(5489);
        mt.pos = -3;
        let mut fresh = Mt19937::new(5489);
        assert_eq!(mt.next_u32(), fresh.next_u32());
        mt.pos = 10_000;
        assert_eq!(mt.next_u32(), {
            fresh.pos = N as i32;
            fresh.next_u32()
        });
    }
}
