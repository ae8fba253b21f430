//! Which instruction set the fast paths use, chosen once per process.
//!
//! The crate is compiled for baseline x86-64, and its wide kernels (the
//! AVX-512 matrix kernel, the loops in [`super::simd`]) run only after a
//! check of the CPU at run time. [`isa`] is that check, in one place, and it
//! honours the `MGP_ISA` environment variable (`avx512`, `avx2` or
//! `portable`), which caps the choice so that any machine can measure and
//! test the narrower paths. A cap never enables what the CPU lacks.
//!
//! What each level runs: `avx512` the 12×32 AVX-512 matrix microkernel and
//! 16-lane elementwise loops; `avx2` the 6×16 AVX2 microkernel (the same
//! blocking and threading, `matmul/blocked.rs`) and 8-lane loops with fused
//! multiply-adds; `portable` the baseline build's loops and the
//! `matrixmultiply` crate for products (which still picks its own SIMD
//! kernel from the CPU).

use std::sync::OnceLock;

/// An instruction-set level, from narrowest to widest.
///
/// ```
/// use micrograd_plus::kernels::isa::Isa;
/// assert!(Isa::Portable < Isa::Avx2 && Isa::Avx2 < Isa::Avx512);
/// assert_eq!(Isa::parse("avx2"), Ok(Isa::Avx2));
/// assert!(Isa::parse("sse9").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// The baseline build (SSE2 on x86-64; whatever the target has elsewhere).
    Portable,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512F with FMA.
    Avx512,
}

impl Isa {
    /// The name `MGP_ISA` takes and `mgp bench` prints.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Reads a level's name (as `MGP_ISA` takes it).
    pub fn parse(name: &str) -> Result<Isa, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "portable" => Ok(Isa::Portable),
            "avx2" => Ok(Isa::Avx2),
            "avx512" => Ok(Isa::Avx512),
            other => Err(format!(
                "MGP_ISA={other:?} is not an instruction set: use avx512, avx2 or portable"
            )),
        }
    }

    /// The widest level this CPU supports.
    pub fn detected() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            let fma = std::arch::is_x86_feature_detected!("fma");
            if fma && std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if fma && std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// A value of `MGP_ISA`: `None` when empty (no cap), else the level.
    fn parse_cap(value: &str) -> Result<Option<Isa>, String> {
        if value.trim().is_empty() {
            Ok(None)
        } else {
            Isa::parse(value).map(Some)
        }
    }

    /// `MGP_ISA`'s cap, if the variable is set: an error for a value that is
    /// not a level (callers such as `mgp` report it; [`isa`] warns once and
    /// ignores it). Set but empty (`MGP_ISA= mgp ...`) counts as unset, as
    /// for `RUST_LOG` and most such variables.
    pub fn cap_from_env() -> Result<Option<Isa>, String> {
        match std::env::var("MGP_ISA") {
            Ok(v) => Isa::parse_cap(&v),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err("MGP_ISA is not valid text: use avx512, avx2 or portable".into())
            }
        }
    }
}

/// The level the kernels use in this process: the CPU's, capped by
/// `MGP_ISA`. Decided on first use; later changes to the variable have no
/// effect.
///
/// ```
/// use micrograd_plus::kernels::isa::{isa, Isa};
/// assert!(isa() <= Isa::detected());
/// ```
pub fn isa() -> Isa {
    static CHOSEN: OnceLock<Isa> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let cap = Isa::cap_from_env().unwrap_or_else(|e| {
            eprintln!("warning: {e}; using the CPU's own");
            None
        });
        cap.map_or(Isa::detected(), |c| c.min(Isa::detected()))
    })
}

#[cfg(test)]
mod tests {
    use super::Isa;

    #[test]
    fn an_empty_cap_is_no_cap() {
        assert_eq!(Isa::parse_cap(""), Ok(None));
        assert_eq!(Isa::parse_cap("  "), Ok(None));
        assert_eq!(Isa::parse_cap(" AVX2 "), Ok(Some(Isa::Avx2)));
        assert!(Isa::parse_cap("sse9").unwrap_err().contains("\"sse9\""));
    }
}
