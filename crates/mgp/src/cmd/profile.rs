//! `mgp profile RECIPE`: where the time of a training step goes. Runs a few
//! steps of a recipe under the library's profiler, prints the table of ops
//! sorted by self time and writes a Chrome trace (Perfetto,
//! chrome://tracing). The recipes and the profiler live in
//! `micrograd_plus::train::profile` and `micrograd_plus::profiler`.

use super::args::positive_usize;
use anyhow::Context;
use micrograd_plus::profiler::Report;
use micrograd_plus::train::corpus::{Corpus, TextSource};
use micrograd_plus::train::{cifar10, cnn_mnist, mlp_mnist, profile};
use std::path::PathBuf;

/// Which recipe to profile.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Recipe {
    /// Milestone 1: MLP 784-128-64-10, batch 64.
    MlpMnist,
    /// Milestone 2: the small CNN on MNIST, batch 64.
    CnnMnist,
    /// Milestone 4: the BatchNorm CNN on CIFAR-10, batch 128, augmentation on the loader thread.
    CnnCifar10,
    /// Milestone 5: the character GPT on tiny Shakespeare, batch 32.
    GptShakespeare,
}

/// Options of `mgp profile`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp profile mlp-mnist\n  \
    mgp profile gpt-shakespeare --steps 10 --trace gpt.json   # open in Perfetto or chrome://tracing\n  \
    mgp profile cnn-cifar10 --data cifar-10-binary.tar.gz --off")]
pub struct Args {
    /// The recipe whose training steps are profiled.
    #[arg(value_enum)]
    pub recipe: Recipe,
    /// Steps recorded.
    #[arg(long, default_value_t = 20, value_parser = positive_usize)]
    pub steps: usize,
    /// Steps run first and not recorded (buffers, thread pool).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// The data: an MNIST folder, a CIFAR-10 archive or folder, or a text
    /// file for the GPT [default: the recipe's own].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to write the Chrome trace [default: profile-RECIPE.json].
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Run the same steps without the profiler and print only their time
    /// (what profiling costs is the ratio to a profiled run).
    #[arg(long)]
    pub off: bool,
    /// Rows of the table.
    #[arg(long, default_value_t = 25)]
    pub rows: usize,
}

impl Recipe {
    fn name(self) -> &'static str {
        match self {
            Recipe::MlpMnist => "mlp-mnist",
            Recipe::CnnMnist => "cnn-mnist",
            Recipe::CnnCifar10 => "cnn-cifar10",
            Recipe::GptShakespeare => "gpt-shakespeare",
        }
    }
}

/// Profiles the recipe, prints the table and writes the trace.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let (w, s) = (args.warmup, args.steps);
    let report: Report = match args.recipe {
        Recipe::MlpMnist => {
            let config = mlp_mnist::MnistConfig {
                epochs: 1,
                data: args.data.clone(),
                ..Default::default()
            };
            profile::classifier_steps(&mut mlp_mnist::run(&config)?, w, s, !args.off)?
        }
        Recipe::CnnMnist => {
            let config = cnn_mnist::CnnMnistConfig {
                epochs: 1,
                data: args.data.clone(),
                ..Default::default()
            };
            profile::classifier_steps(&mut cnn_mnist::run(&config)?, w, s, !args.off)?
        }
        Recipe::CnnCifar10 => {
            let defaults = cifar10::Cifar10Config::default();
            // Only the images the steps use are kept (the statistics are
            // still the whole training set's); a short test set is unused.
            // The one-cycle schedule spans at least as many epochs as
            // steps, and at least 10 (its warm-up phase is 30% of them and
            // must hold a step), so even a set of one batch is enough.
            let config = cifar10::Cifar10Config {
                epochs: (w + s).max(10),
                data: args.data.clone(),
                train_limit: Some(defaults.batch_size * (w + s)),
                test_limit: Some(1),
                ..defaults
            };
            profile::classifier_steps(&mut cifar10::run(&config)?, w, s, !args.off)?
        }
        Recipe::GptShakespeare => {
            let source = TextSource::new(args.data.as_deref(), Corpus::Shakespeare)?;
            let (_, data) = source.load()?;
            let config = Corpus::Shakespeare.preset(data.tokenizer.vocab_size());
            profile::gpt_steps(&config, &data, w, s, !args.off)?
        }
    };
    println!(
        "{}: {} training steps after {} warm-up steps, {} ({:.2} ms per step)\n",
        args.recipe.name(),
        s,
        w,
        if args.off { "profiler off" } else { "profiled" },
        report.wall_ns() as f64 * 1e-6 / s as f64
    );
    if args.off {
        return Ok(());
    }
    print!("{}", report.table(args.rows));
    let trace = args
        .trace
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("profile-{}.json", args.recipe.name())));
    report
        .write_chrome_trace(&trace)
        .with_context(|| format!("cannot write the trace {}", trace.display()))?;
    println!(
        "trace: {} (open it in ui.perfetto.dev or chrome://tracing)",
        trace.display()
    );
    Ok(())
}
