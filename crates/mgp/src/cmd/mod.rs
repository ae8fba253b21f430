//! One module per subcommand.

pub mod args;
pub mod bench;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod gpt;
pub mod gradcheck;
pub mod graph;
pub mod landscape;
pub mod milestone;
pub mod profile;
pub mod run_dir;
pub mod train_cifar10;
pub mod train_cnn_mnist;
pub mod train_common;
pub mod train_mlp_mnist;
pub mod train_moons;
pub mod trajectories;
