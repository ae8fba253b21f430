//! Compiling plain loops for the widest vector unit the CPU has.
//!
//! The crate is built for baseline x86-64 (SSE2, 4 f32 lanes) so the binary
//! runs anywhere. A simple elementwise loop (an optimizer update, say) gets
//! 16 lanes instead when it is inlined into a function compiled with
//! AVX-512 enabled and that function is only called after checking the CPU
//! at run time: [`wide`] does exactly that, falling back to the baseline
//! build elsewhere.

/// Runs `f`, compiled for AVX-512 when the CPU has it. `f` should be a
/// small closure over `#[inline(always)]` loops so that it is compiled into
/// the AVX-512 copy.
///
/// ```
/// let mut v = vec![1.0f32; 1000];
/// micrograd_plus::kernels::simd::wide(|| v.iter_mut().for_each(|x| *x = x.sqrt() * 2.0));
/// assert_eq!(v[999], 2.0);
/// ```
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if super::isa::isa() == super::isa::Isa::Avx512 {
            // SAFETY: the CPU supports AVX-512F: `isa` never exceeds what it detects.
            return unsafe { avx512(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}
