//! The default random generator, like `torch.manual_seed`'s: parameter
//! initialisation and dropout draw from it, so one call to [`manual_seed`]
//! makes a whole run repeatable.
//!
//! The generator is per thread, so tests running in parallel (or a data
//! loader's worker) never disturb each other's sequences. A thread that
//! never calls `manual_seed` starts from a fixed seed: runs are repeatable by
//! default.

use rand::{rngs::StdRng, SeedableRng};
use std::cell::RefCell;

/// The seed a thread's generator starts from until [`manual_seed`] is called.
pub const DEFAULT_SEED: u64 = 0x6d67_702b; // "mgp+"

thread_local! {
    static GENERATOR: RefCell<StdRng> = RefCell::new(StdRng::seed_from_u64(DEFAULT_SEED));
}

/// Reseeds this thread's default generator.
///
/// ```
/// use micrograd_plus::{manual_seed, nn::Linear};
/// manual_seed(7);
/// let a = Linear::new(3, 2, true).weight().to_vec::<f32>();
/// manual_seed(7);
/// assert_eq!(Linear::new(3, 2, true).weight().to_vec::<f32>(), a);
/// ```
pub fn manual_seed(seed: u64) {
    GENERATOR.with(|g| *g.borrow_mut() = StdRng::seed_from_u64(seed));
}

/// Runs `f` with this thread's default generator.
///
/// ```
/// use rand::Rng;
/// micrograd_plus::manual_seed(1);
/// let x: f64 = micrograd_plus::random::with_rng(|rng| rng.r#gen());
/// assert!((0.0..1.0).contains(&x));
/// ```
pub fn with_rng<R>(f: impl FnOnce(&mut StdRng) -> R) -> R {
    GENERATOR.with(|g| f(&mut g.borrow_mut()))
}

pub mod mt19937;
pub use mt19937::Mt19937;
