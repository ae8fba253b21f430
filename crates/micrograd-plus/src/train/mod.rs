//! Training: the demos' loops, metrics, pictures and checkpoints.
pub mod charts;
pub mod gpt;
pub mod metrics;
pub mod moons;
pub mod plot;
pub mod reversal;
