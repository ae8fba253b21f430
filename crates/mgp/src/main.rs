//! `mgp`: the MicroGrad+ command-line program. Argument parsing and printing
//! only; every capability it shows lives in the `micrograd_plus` library.

mod cmd;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use micrograd_plus::train::corpus::Corpus;
use std::process::ExitCode;

/// MicroGrad+: a deep-learning engine you can read end to end.
#[derive(Parser)]
#[command(
    name = "mgp",
    version,
    about,
    after_help = "Examples:\n  \
        mgp train mlp-mnist                     # milestone 1: an MLP on the embedded MNIST subset\n  \
        mgp train gpt-shakespeare --minutes 5   # a character GPT on tiny Shakespeare\n  \
        mgp milestone list                      # the milestones: what each trains, its bar, its duration\n  \
        mgp eval runs/mlp-mnist-20260101-120000 # a run's test accuracy, loss and confusion matrix\n  \
        mgp train mlp-mnist --help              # every command has its options, defaults and examples"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
            mgp train mlp-mnist --epochs 3\n  \
            mgp train cnn-cifar10 --data cifar-10-binary.tar.gz\n  \
            mgp train gpt-shakespeare --steps 2000 > train.log   # epoch and evaluation lines reach the file"
    )]
    Train(Train),
    /// Run a named benchmark workload and print its timings.
    Bench(cmd::bench::Args),
    /// Check every differentiable op's gradient against finite differences.
    Gradcheck(cmd::gradcheck::Args),
    /// Evaluate a checkpoint (classifiers: test accuracy, loss, confusion;
    /// GPT: validation loss, perplexity); the model is read from its metadata.
    Eval(cmd::eval::Args),
    /// Export a checkpoint for PyTorch (state dict + model.py) or ONNX.
    Export(cmd::export::Args),
    /// Run a course milestone and print PASS or FAIL.
    Milestone(cmd::milestone::Args),
    /// Continue a text with a trained GPT checkpoint (streams the output).
    Generate(cmd::gpt::GenerateArgs),
    /// The training doctor's report on a run folder: text, and doctor.png.
    Doctor(cmd::doctor::Args),
    /// Where the time of a training step goes: a table by op and a Chrome trace.
    Profile(cmd::profile::Args),
    /// Draw a computation graph (a Value neuron, an MLP step) as DOT and SVG.
    Graph(cmd::graph::Args),
    /// SGD, momentum, Adam and RMSprop on Rosenbrock, Beale and a saddle (PNG).
    Trajectories(cmd::trajectories::Args),
    /// The loss around an mlp-mnist run's weights along two filter-normalised directions (PNG).
    Landscape(cmd::landscape::Args),
}

impl Command {
    /// The `--threads` of a training command.
    fn threads(&self) -> Option<usize> {
        let Command::Train(train) = self else {
            return None;
        };
        match train {
            Train::Moons(_) => None,
            Train::MlpMnist(a) => a.run.threads,
            Train::CnnMnist(a) => a.run.threads,
            Train::CnnCifar10(a) => a.run.threads,
            Train::GptShakespeare(a) | Train::GptTinytalks(a) => a.run.threads,
        }
    }
}

#[derive(Subcommand)]
enum Train {
    /// micrograd's demo: a scalar-engine MLP on two moons.
    Moons(cmd::train_moons::Args),
    /// Milestone 1: MLP 784-128-64-10 on MNIST.
    MlpMnist(cmd::train_mlp_mnist::Args),
    /// Milestone 2: a small CNN on MNIST.
    CnnMnist(cmd::train_cnn_mnist::Args),
    /// Milestone 4: the BatchNorm CNN on CIFAR-10 with augmentation.
    CnnCifar10(cmd::train_cifar10::Args),
    /// Milestone 5: a character-level GPT on tiny Shakespeare.
    GptShakespeare(cmd::gpt::TrainArgs),
    /// A small GPT on the TinyTalks Q&A corpus.
    GptTinytalks(cmd::gpt::TrainArgs),
}

/// Runs the command; prints a failure as one `error: ...` line and exits 1.
///
/// Returning `anyhow::Result` from `main` would print the error's Debug
/// form, which includes a stack backtrace whenever `RUST_BACKTRACE` is set:
/// noise for a user error such as a missing file. The error chain is printed
/// with `{:#}` instead (`outer: cause: cause`); a real bug still panics and
/// gets its backtrace from the panic hook.
fn main() -> ExitCode {
    restore_default_sigpipe();
    micrograd_plus::kernels::allocator::keep_freed_buffers();
    // The GPT recipes share their flags; each shows its own defaults.
    let command = Cli::command().mut_subcommand("train", |train| {
        train
            .mut_subcommand("gpt-shakespeare", |c| {
                cmd::gpt::with_defaults(c, Corpus::Shakespeare)
            })
            .mut_subcommand("gpt-tinytalks", |c| {
                cmd::gpt::with_defaults(c, Corpus::TinyTalks)
            })
    });
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    // The main thread works in the kernels' pool (`--threads`, else one
    // worker per core); nothing has built the pool before this.
    if let Err(e) = micrograd_plus::kernels::set_num_threads(cli.command.threads().unwrap_or(0)) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command: success, or failure without an error (a milestone's
/// FAIL), or an error.
fn run(command: Command) -> anyhow::Result<ExitCode> {
    // A misspelt MGP_ISA is the user's error, not something to run past.
    micrograd_plus::kernels::isa::Isa::cap_from_env().map_err(anyhow::Error::msg)?;
    let done = match command {
        Command::Train(Train::Moons(args)) => cmd::train_moons::run(args),
        Command::Bench(args) => cmd::bench::run(&args),
        Command::Gradcheck(args) => cmd::gradcheck::run(&args),
        Command::Train(Train::MlpMnist(args)) => cmd::train_mlp_mnist::run(&args).map(|_| ()),
        Command::Train(Train::CnnMnist(args)) => cmd::train_cnn_mnist::run(&args).map(|_| ()),
        Command::Train(Train::CnnCifar10(args)) => cmd::train_cifar10::run(&args).map(|_| ()),
        Command::Eval(args) => cmd::eval::run(&args),
        Command::Export(args) => cmd::export::run(&args),
        Command::Milestone(args) => {
            let passed = cmd::milestone::run(&args)?;
            return Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Train(Train::GptShakespeare(args)) => {
            cmd::gpt::train(Corpus::Shakespeare, &args).map(|_| ())
        }
        Command::Train(Train::GptTinytalks(args)) => {
            cmd::gpt::train(Corpus::TinyTalks, &args).map(|_| ())
        }
        Command::Generate(args) => cmd::gpt::generate(&args),
        Command::Doctor(args) => cmd::doctor::run(&args),
        Command::Profile(args) => cmd::profile::run(&args),
        Command::Graph(args) => cmd::graph::run(&args),
        Command::Trajectories(args) => cmd::trajectories::run(&args),
        Command::Landscape(args) => cmd::landscape::run(&args),
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// `mgp ... | head` ends quietly when `head` closes the pipe, as other
/// command-line tools do. Rust ignores SIGPIPE, so every later `println!`
/// would panic ("failed printing to stdout"); the default action instead
/// ends the process without a word.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default, before any
    // thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
