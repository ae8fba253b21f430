//! Process-wide allocator tuning for training loops.

/// Keeps freed activation buffers in the process instead of returning them
/// to the kernel.
///
/// glibc hands freed blocks above its mmap threshold (128 KiB by default)
/// straight back to the kernel and trims the heap top eagerly, so a training
/// loop that frees and reallocates the same multi-megabyte activations every
/// step page-faults them back in, zeroed, each time (several times slower on
/// big batches). This raises both thresholds: the same tuning PyTorch's
/// reference timings use (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`).
/// Memory then plateaus at the loop's peak instead of shrinking between
/// steps. Does nothing outside Linux/glibc. `mgp` calls it at start-up, the
/// Python package when it is imported.
///
/// ```
/// micrograd_plus::kernels::allocator::keep_freed_buffers();
/// ```
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters.
    unsafe {
        // 32 MiB is glibc's largest allowed mmap threshold on 64-bit.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
