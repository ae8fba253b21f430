//! `mgp`: the MicroGrad+ command-line program.

use clap::{Parser, Subcommand};

mod cmd {
    pub mod train_moons;
}

#[derive(Parser)]
#[command(
    name = "mgp",
    version,
    about = "MicroGrad+: a readable, fast deep-learning engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model.
    #[command(subcommand)]
    Train(Train),
}

#[derive(Subcommand)]
enum Train {
    /// micrograd's demo: a scalar-engine MLP on two moons.
    Moons(cmd::train_moons::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train(Train::Moons(args)) => cmd::train_moons::run(args),
    }
}
