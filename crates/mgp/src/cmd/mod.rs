//! One module per subcommand.

pub mod bench;
pub mod gradcheck;
pub mod train_moons;
