//! Value parsers for numeric flags, so that a zero, negative, NaN or absurd
//! value is a usage error naming the flag before any work starts (a bench
//! with `--runs 0` used to print NaN timings and exit 0; `--threads 100000`
//! looked hung).

use std::path::PathBuf;

/// A count that must be at least 1 (`--runs`, `--batch-size`, `--epochs`).
pub fn positive_usize(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if n == 0 {
        return Err("must be at least 1".to_string());
    }
    Ok(n)
}

/// A finite number greater than 0 (learning rates, minutes).
pub fn positive_f64(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !x.is_finite() || x <= 0.0 {
        return Err(format!("must be a finite number above 0, got {s}"));
    }
    Ok(x)
}

/// A finite number at least 0 (momentum, weight decay, temperature).
pub fn non_negative_f64(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !x.is_finite() || x < 0.0 {
        return Err(format!("must be a finite number of at least 0, got {s}"));
    }
    Ok(x)
}

/// The most worker threads `--threads` accepts: 8 per core this machine
/// offers, and never fewer than 64. More threads than that only add
/// switching (100,000 spent minutes creating threads before any work).
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (8 * cores).max(64)
}

/// `--threads`: from 1 to [`max_threads`].
pub fn threads(s: &str) -> Result<usize, String> {
    let n = positive_usize(s)?;
    let max = max_threads();
    if n > max {
        return Err(format!(
            "{n} is more threads than this machine can use (at most {max})"
        ));
    }
    Ok(n)
}

/// A flag's help with its default, `what [default: default]`, for a flag
/// whose absence means more than one value (on `--resume`, the run's own),
/// so clap cannot show the default itself; `default` comes from the
/// recipe's preset.
pub fn with_default(what: &str, default: impl std::fmt::Display) -> String {
    format!("{what} [default: {default}]")
}

/// `--data` as an absolute path, so that `config.json` records where the
/// data was and `--resume` finds it from any directory. A path that cannot
/// be resolved (an empty one) is kept as given: loading it says why.
pub fn absolute_data(data: &Option<PathBuf>) -> Option<PathBuf> {
    data.as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_nan_negative_and_huge_values_are_refused() {
        assert_eq!(positive_usize("3"), Ok(3));
        assert_eq!(positive_usize("0"), Err("must be at least 1".to_string()));
        assert!(positive_usize("-1").is_err());
        assert_eq!(positive_f64("0.5"), Ok(0.5));
        for bad in ["0", "-1", "NaN", "inf", "x"] {
            assert!(positive_f64(bad).is_err(), "{bad}");
        }
        assert_eq!(non_negative_f64("0"), Ok(0.0));
        assert!(non_negative_f64("-0.1").is_err());
        assert!(non_negative_f64("NaN").is_err());
        assert_eq!(threads("2"), Ok(2));
        let err = threads("100000").unwrap_err();
        assert!(err.starts_with("100000 is more threads"), "{err}");
    }
}
