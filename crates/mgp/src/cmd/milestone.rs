//! `mgp milestone NAME`: the course's milestone checks, each printing PASS
//! or FAIL with what it measured.

use super::train_common::RunArgs;
use micrograd_plus::train::xor::train_xor;

/// Options of `mgp milestone`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which milestone: `1` (MLP on MNIST), `2` (CNN on MNIST), `3` (the
    /// CIFAR-10 CNN, short run), `4` (the CIFAR-10 CNN, 30 epochs), `xor`,
    /// `attention` (digit reversal) or `5` (GPT on tiny Shakespeare).
    pub name: String,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CIFAR-10 data for milestones 3 and 4 (default: the shared archive
    /// beside the repository).
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

/// The course's bar for milestone 1.
const MNIST_BAR: f64 = 0.85;
/// The course's bar for milestone 2.
const CNN_MNIST_BAR: f64 = 0.95;
/// Milestone 3: a short CIFAR-10 run must pass this test accuracy.
const CIFAR_SHORT_BAR: f64 = 0.50;
/// The course's bar for milestone 4 (its "exemplary" is 80%).
const CIFAR_BAR: f64 = 0.75;

/// Milestones 3 and 4: the CIFAR-10 recipe for `epochs` epochs.
fn cifar(args: &Args, epochs: usize) -> anyhow::Result<(f64, Vec<f64>)> {
    let train = super::train_cifar10::Args {
        epochs: Some(epochs),
        batch_size: 128,
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 5e-4,
        schedule: micrograd_plus::train::cifar10::Schedule::OneCycle,
        seed: args.seed,
        data: super::args::absolute_data(&args.data),
        train_limit: None,
        test_limit: None,
        run: RunArgs::default(),
    };
    let (eval, history) = super::train_cifar10::run(&train)?;
    let losses = history.epochs.iter().map(|m| m.train_loss).collect();
    Ok((eval.accuracy, losses))
}

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
                epochs: Some(10),
                batch_size: 64,
                lr: 1e-3,
                optimizer: micrograd_plus::train::mlp_mnist::OptimizerKind::Adam,
                seed: args.seed,
                data: None,
                run: RunArgs::default(),
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
        "2" => {
            let train = super::train_cnn_mnist::Args {
                epochs: Some(3),
                batch_size: 64,
                lr: 1e-3,
                seed: args.seed,
                data: None,
                limit: None,
                run: RunArgs::default(),
            };
            let eval = super::train_cnn_mnist::run(&train)?;
            let pass = eval.accuracy >= CNN_MNIST_BAR;
            println!(
                "milestone 2 (CNN on MNIST, 3 epochs): {} test accuracy {:.2}% (bar {:.0}%; PyTorch's median with this recipe 96.4%)",
                verdict(pass),
                100.0 * eval.accuracy,
                100.0 * CNN_MNIST_BAR
            );
            pass
        }
        "3" => {
            let (accuracy, losses) = cifar(args, 2)?;
            let falling = losses.windows(2).all(|w| w[1] < w[0]);
            let pass = falling && accuracy >= CIFAR_SHORT_BAR;
            println!(
                "milestone 3 (CIFAR-10 CNN, 2 epochs one-cycle): {} test accuracy {:.2}% (bar {:.0}%), train loss per epoch {:?} ({})",
                verdict(pass),
                100.0 * accuracy,
                100.0 * CIFAR_SHORT_BAR,
                losses.iter().map(|l| (l * 1e4).round() / 1e4).collect::<Vec<_>>(),
                if falling { "falling" } else { "not falling" }
            );
            pass
        }
        "4" => {
            let (accuracy, _) = cifar(args, 30)?;
            let pass = accuracy >= CIFAR_BAR;
            println!(
                "milestone 4 (CIFAR-10 CNN, 30 epochs): {} test accuracy {:.2}% (bar {:.0}%, exemplary 80%)",
                verdict(pass),
                100.0 * accuracy,
                100.0 * CIFAR_BAR
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
        other => {
            anyhow::bail!("unknown milestone {other:?}: expected 1, 2, 3, 4, xor, attention or 5")
        }
    };
    if !pass {
        std::process::exit(1);
    }
    Ok(())
}
