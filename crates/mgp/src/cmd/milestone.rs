//! `mgp milestone NAME`: the course's milestone checks, each printing PASS
//! or FAIL with what it measured.

use micrograd_plus::train::xor::train_xor;

/// Options of `mgp milestone`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which milestone: `1` (MLP on MNIST), `xor`, `attention` (digit reversal) or `5` (GPT on Shakespeare).
    pub name: String,
    /// Seed (milestone 1 and xor).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The course's bar for milestone 1.
const MNIST_BAR: f64 = 0.85;

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

/// Runs the milestone; exits non-zero on FAIL.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let pass = match args.name.as_str() {
        "1" => {
            let train = super::train_mlp_mnist::Args {
                epochs: 10,
                batch_size: 64,
                lr: 1e-3,
                optimizer: micrograd_plus::train::mlp_mnist::OptimizerKind::Adam,
                seed: args.seed,
                threads: None,
                data: None,
                out: None,
                resume: None,
                json: false,
            };
            let eval = super::train_mlp_mnist::run(&train)?;
            let pass = eval.accuracy >= MNIST_BAR;
            println!(
                "milestone 1 (MLP on MNIST): {} test accuracy {:.2}% (bar {:.0}%; PyTorch's median with this recipe 94.8%)",
                verdict(pass),
                100.0 * eval.accuracy,
                100.0 * MNIST_BAR
            );
            pass
        }
        "xor" => {
            let (loss, accuracy) = train_xor(args.seed)?;
            let pass = accuracy == 1.0;
            println!(
                "milestone xor (2-8-2, Adam lr 0.1, 500 iterations): {} accuracy {:.0}%, final loss {loss:.5}",
                verdict(pass),
                100.0 * accuracy
            );
            pass
        }
        "attention" => super::gpt::milestone_attention(args.seed)?,
        "5" => super::gpt::milestone_5(args.seed)?,
        other => anyhow::bail!("unknown milestone {other:?}: expected 1, xor, attention or 5"),
    };
    if !pass {
        std::process::exit(1);
    }
    Ok(())
}
