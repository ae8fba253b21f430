//! `exp` and `erfc` for f32 written without branches or library calls.
//!
//! glibc's `expf` and libm's `erff` are scalar functions with branches, so a
//! loop that calls them runs one element at a time. These two are plain
//! arithmetic (a range reduction, a polynomial, a blend for the sign), so
//! inside [`super::simd::wide`] a loop over them runs 16 lanes at a time.
//! GELU's forward and backward and the softmaxes are built on them.
//!
//! Each also comes in a `_with(.., fused)` form whose polynomials use fused
//! multiply-adds when `fused` is true: one instruction and one rounding
//! instead of two. Pass the flag [`super::simd::wide_fused`] hands its
//! loop (true only where the CPU has the instruction, where `mul_add` would
//! otherwise be a library call), so it is a constant in every compiled copy.

/// `a·b + c`, fused (one rounding) when `fused`.
#[inline(always)]
fn mul_add(fused: bool, a: f32, b: f32, c: f32) -> f32 {
    if fused {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// e^x for f32, within 2 ulp of the exact value over the whole range:
/// subnormal results below x ≈ −87.3, 0 below −103.98, ∞ above 88.72,
/// NaN for NaN.
///
/// x = n·ln 2 + r with |r| ≤ ln 2 / 2, so e^x = 2^n · e^r: e^r is a degree-7
/// polynomial (Cephes' coefficients) and 2^n is built from its exponent bits.
///
/// ```
/// use micrograd_plus::kernels::math::exp_f32;
/// assert!((exp_f32(1.0) - std::f32::consts::E).abs() <= f32::EPSILON * 4.0);
/// assert_eq!(exp_f32(-200.0), 0.0);
/// assert_eq!(exp_f32(100.0), f32::INFINITY);
/// ```
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_f32_with(x, false)
}

/// [`exp_f32`] with fused multiply-adds in its polynomial when `fused`
/// (see the module docs); the same accuracy bound holds either way.
///
/// ```
/// use micrograd_plus::kernels::math::exp_f32_with;
/// assert!((exp_f32_with(1.0, true) - std::f32::consts::E).abs() <= f32::EPSILON * 4.0);
/// ```
#[inline(always)]
pub fn exp_f32_with(x: f32, fused: bool) -> f32 {
    // Adding −0.0 changes nothing (not even the sign of a zero), so the
    // compiler drops it: this is exactly the one-part reduction.
    exp_of_sum(x.clamp(-104.0, 89.0), -0.0, fused)
}

/// e^(hi + lo) with the range reduction done on `hi` and `lo` added to the
/// reduced argument only: when `hi` is exact but `hi + lo` would round (a
/// large `hi`), the sum's rounding error never reaches the exponent, so the
/// result keeps f32 accuracy. Valid for −150 < hi + lo < 89.
#[inline(always)]
fn exp_of_sum(hi: f32, lo: f32, fused: bool) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two, so that n·LN2_HI is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds to an integer and leaves it in the low
    // mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let shifted = (hi + lo) * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = hi - n * LN2_HI - n * LN2_LO + lo;
    // 1 + r + r²·Q(r), Q of degree 5 evaluated by Estrin's scheme: pairs
    // of terms and powers of r² in parallel, so the chain of dependent
    // operations is 5 long instead of Horner's 10. Without fused
    // multiply-adds every step of that chain costs a multiply's and an add's
    // latency, and a loop of GELUs ran at the speed of the chain, not of
    // the vector units.
    let fma = |a, b, c| mul_add(fused, a, b, c);
    let r2 = r * r;
    let q = fma(
        r2 * r2,
        fma(1.987_569_1e-4, r, 1.398_2e-3),
        fma(
            r2,
            fma(8.333_452e-3, r, 4.166_579_6e-2),
            fma(0.166_666_65, r, 0.5),
        ),
    );
    let poly = fma(r2, q, r) + 1.0;
    // 2^n as two factors, each a normal number for every n in [−150, 129],
    // so results that are subnormal or infinite come out right.
    let half = n_int >> 1;
    let pow2 = |e: i32| f32::from_bits(((e + 127) as u32) << 23);
    poly * pow2(half) * pow2(n_int - half)
}

/// The complementary error function `erfc(x) = 1 − erf(x)` for f32, with a
/// relative error below 1e-6 wherever the result is a normal f32, so it
/// stays accurate deep in the tail where `1 − erf(x)` would cancel to 0.
///
/// For z = |x| ≥ 0 this is the Chebyshev fit from Numerical Recipes
/// (`erfcc`, fractional error below 1.2e-7): with t = 1/(1 + z/2),
/// `erfc(z) = t·exp(−z² + P(t))`, P of degree 9; then erfc(−z) = 2 − erfc(z).
///
/// ```
/// use micrograd_plus::kernels::math::erfc_f32;
/// assert!((erfc_f32(0.0) - 1.0).abs() < 1e-6);
/// assert!((erfc_f32(3.0) / 2.209_05e-5 - 1.0).abs() < 1e-5);
/// assert!((erfc_f32(-1.0) - 1.842_700_8).abs() < 1e-6);
/// ```
#[inline(always)]
pub fn erfc_f32(x: f32) -> f32 {
    erfc_f32_with(x, false)
}

/// [`erfc_f32`] with fused multiply-adds in its polynomial when `fused`
/// (see the module docs); the same accuracy bound holds either way.
///
/// ```
/// use micrograd_plus::kernels::math::erfc_f32_with;
/// assert!((erfc_f32_with(3.0, true) / 2.209_05e-5 - 1.0).abs() < 1e-5);
/// ```
#[inline(always)]
pub fn erfc_f32_with(x: f32, fused: bool) -> f32 {
    let fma = |a, b, c| mul_add(fused, a, b, c);
    // erfc(10.5) ≈ 7e-50 is 0 in f32; capping z there keeps ∞ − ∞ out of
    // the arithmetic below (a NaN input stays NaN: the comparison is false).
    let z = x.abs();
    let z = if z > 10.5 { 10.5 } else { z };
    let t = 1.0 / fma(0.5, z, 1.0);
    // The polynomial by Estrin's scheme (see `exp_of_sum`): a chain of 7
    // dependent operations instead of Horner's 18.
    let (t2, t4) = (t * t, (t * t) * (t * t));
    let low = fma(
        t2,
        fma(0.096_784_18, t, 0.374_091_96),
        fma(1.000_023_7, t, -1.265_512_2),
    );
    let mid = fma(
        t2,
        fma(1.488_515_9, t, -1.135_204),
        fma(0.278_868_07, t, -0.186_288_06),
    );
    let p = fma(
        t4 * t4,
        fma(0.170_872_77, t, -0.822_152_23),
        fma(t4, mid, low),
    );
    // e^(−z² + p) with −z² + p = −z_hi² + (p − (z − z_hi)(z + z_hi)): z_hi
    // keeps 12 significant bits of z, so z_hi² is exact, and the exponent
    // is never rounded at the magnitude of z² (which would cost 1e-5 in the
    // tail). The sum lies in (−113, 0.1], inside `exp_of_sum`'s range.
    let z_hi = f32::from_bits(z.to_bits() & 0xffff_f000);
    let tail = t * exp_of_sum(-z_hi * z_hi, fma(z_hi - z, z + z_hi, p), fused);
    if x < 0.0 {
        2.0 - tail
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 997th f32 bit pattern in [lo, hi] (a dense, deterministic sweep).
    fn sweep(lo: f32, hi: f32) -> impl Iterator<Item = f32> {
        let positive = (0u32..0x7f80_0000).step_by(997).map(f32::from_bits);
        positive
            .flat_map(|v| [v, -v])
            .filter(move |v| *v >= lo && *v <= hi)
    }

    /// Both forms, plain and fused (whose `mul_add` is a library call
    /// here, where the test is not compiled for FMA: slow, but exact).
    #[test]
    fn exp_is_within_two_ulp_of_the_exact_value() {
        for fused in [false, true] {
            let mut worst = 0.0f64;
            for x in sweep(-87.3, 88.7) {
                let exact = (x as f64).exp();
                let ulp = (exact as f32).abs() * f32::EPSILON;
                worst = worst.max((exp_f32_with(x, fused) as f64 - exact).abs() / ulp as f64);
            }
            assert!(worst <= 2.0, "fused {fused}: worst error {worst} ulp");
        }
    }

    #[test]
    fn exp_handles_the_ends_of_the_range() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-104.0), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(88.8), f32::INFINITY);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
        // Subnormal results, not flushed to zero: within one step of the
        // smallest subnormal (2^-149) of the exact value.
        let tiny = exp_f32(-100.0) as f64;
        assert!(
            (tiny - (-100.0f64).exp()).abs() <= 2f64.powi(-149),
            "{tiny}"
        );
        // The largest finite result.
        let big = exp_f32(88.72) as f64;
        assert!((big / (88.72f32 as f64).exp() - 1.0).abs() < 1e-6, "{big}");
    }

    #[test]
    fn erfc_has_small_relative_error_into_the_tail() {
        for fused in [false, true] {
            let erfc = |x| erfc_f32_with(x, fused);
            let mut worst = 0.0f64;
            for x in sweep(-10.0, 9.0) {
                let exact = libm::erfc(x as f64);
                worst = worst.max((erfc(x) as f64 - exact).abs() / exact);
            }
            assert!(worst < 1e-6, "fused {fused}: worst relative error {worst}");
            assert_eq!(erfc(20.0), 0.0);
            assert_eq!(erfc(-20.0), 2.0);
            assert_eq!(erfc(f32::INFINITY), 0.0);
            assert_eq!(erfc(f32::NEG_INFINITY), 2.0);
            assert!(erfc(f32::NAN).is_nan());
        }
    }

    /// The fused forms and the plain ones are the same functions: within a
    /// few rounding errors of each other everywhere.
    #[test]
    fn fused_and_plain_forms_agree() {
        for x in sweep(-80.0, 80.0) {
            let (e0, e1) = (exp_f32(x), exp_f32_with(x, true));
            assert!(
                (e0 - e1).abs() <= 4.0 * f32::EPSILON * e0.abs(),
                "exp({x}): {e0} vs {e1}"
            );
        }
        for x in sweep(-9.0, 9.0) {
            let (c0, c1) = (erfc_f32(x), erfc_f32_with(x, true));
            assert!(
                (c0 - c1).abs() <= 2e-6 * c0.abs(),
                "erfc({x}): {c0} vs {c1}"
            );
        }
    }
}
