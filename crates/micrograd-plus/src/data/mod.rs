//! data
pub mod moons;
