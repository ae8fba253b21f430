//! train
pub mod moons;
pub mod plot;
