//! Compiling plain loops for the widest vector unit the CPU has.
//!
//! The crate is built for baseline x86-64 (SSE2, 4 f32 lanes) so the binary
//! runs anywhere. A simple elementwise loop (an optimizer update, say) gets
//! 16 lanes instead when it is inlined into a function compiled with
//! AVX-512 enabled, or 8 lanes and fused multiply-adds with AVX2 and FMA,
//! and that function is only called after checking the CPU at run time:
//! [`wide`] does exactly that, falling back to the baseline build
//! elsewhere (aarch64's baseline already has 4-lane NEON).

/// Runs `f`, compiled for AVX-512 or else AVX2+FMA when the CPU has them
/// (and `MGP_ISA` allows, see [`super::isa`]). `f` should be a
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
    // The same copies; `f` just has no use for the flag.
    wide_fused(
        #[inline(always)]
        |_| f(),
    )
}

/// [`wide`] for loops that can use fused multiply-adds: `f` is told whether
/// the copy it runs in has them, `true` in the AVX-512 and AVX2+FMA copies
/// (and on aarch64, where every CPU has them), `false` in the portable x86
/// one. The flag is a constant in each copy, so a `mul_add` behind it
/// becomes one instruction where the CPU has it and is never the slow
/// library call that stands in for it where it has not.
///
/// ```
/// let mut v = vec![1.5f32; 100];
/// micrograd_plus::kernels::simd::wide_fused(|fused| {
///     v.iter_mut().for_each(|x| *x = if fused { x.mul_add(2.0, 1.0) } else { *x * 2.0 + 1.0 })
/// });
/// assert_eq!(v[99], 4.0);
/// ```
#[inline(always)]
pub fn wide_fused<R>(f: impl FnOnce(bool) -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match super::isa::isa() {
            // SAFETY: the CPU supports the set: `isa` never exceeds what it detects.
            super::isa::Isa::Avx512 => return unsafe { avx512(|| f(true)) },
            // SAFETY: as above.
            super::isa::Isa::Avx2 => return unsafe { avx2(|| f(true)) },
            super::isa::Isa::Portable => {}
        }
    }
    f(cfg!(target_arch = "aarch64"))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
