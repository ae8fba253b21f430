//! Training: the demos' loops, metrics, pictures and checkpoints.
pub mod charts;
pub mod metrics;
pub mod moons;
pub mod plot;
