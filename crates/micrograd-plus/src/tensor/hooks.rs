//! The one switch every op reads for the instruments that may watch it:
//! the profiler ([`crate::profiler`]) and anomaly mode ([`super::anomaly`]).
//!
//! Both hang off the same two places of [`super::autograd`] (where an op
//! records its output, and the loop of the backward pass), and both cost
//! nothing when off, so they share one thread-local byte: an op reads it
//! once, and only when a bit is set does it look at which instrument wants
//! what.

use std::cell::Cell;

/// The profiler records this thread's ops.
pub(crate) const PROFILER: u8 = 1;
/// Anomaly mode checks this thread's outputs and gradients for inf and NaN.
pub(crate) const ANOMALY: u8 = 2;

thread_local! {
    static HOOKS: Cell<u8> = const { Cell::new(0) };
}

/// The instruments switched on for this thread (a set of the bits above).
#[inline(always)]
pub(crate) fn active() -> u8 {
    HOOKS.with(Cell::get)
}

/// Switches `hook` on or off for this thread; returns whether it was on.
pub(crate) fn set(hook: u8, on: bool) -> bool {
    HOOKS.with(|h| {
        let before = h.get();
        h.set(if on { before | hook } else { before & !hook });
        before & hook != 0
    })
}
