//! One module per subcommand.

pub mod bench;
pub mod eval;
pub mod gpt;
pub mod gradcheck;
pub mod milestone;
pub mod run_dir;
pub mod train_mlp_mnist;
pub mod train_moons;
