//! `mgp milestone NAME`: the course's milestone checks, each printing PASS
//! or FAIL with what it measured; `mgp milestone list`: the table of them.
//!
//! [`milestones`] is the one table: each milestone's name, TinyTorch's
//! number for it, what it trains (from the library's presets, the same
//! settings `mgp train` uses by default), its bar and its typical duration.

use anyhow::Context;
use micrograd_plus::train::cifar10::Cifar10Config;
use micrograd_plus::train::cnn_mnist::CnnMnistConfig;
use micrograd_plus::train::corpus::Corpus;
use micrograd_plus::train::gpt::TrainConfig;
use micrograd_plus::train::mlp_mnist::MnistConfig;
use micrograd_plus::train::reversal::{self, ReversalConfig};
use micrograd_plus::train::xor::train_xor;

/// Options of `mgp milestone`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp milestone list                  # every milestone: what it trains, its bar, how long it takes\n  \
    mgp milestone 1                     # MLP on MNIST: PASS or FAIL against its bar\n  \
    mgp milestone tinytorch-03          # the same, by TinyTorch's number\n  \
    mgp milestone 4 --data cifar-10-binary.tar.gz --seed 1")]
pub struct Args {
    /// Which milestone: `1` (MLP on MNIST), `2` (CNN on MNIST), `3` (the
    /// CIFAR-10 CNN, short run), `4` (the CIFAR-10 CNN, 30 epochs), `xor`,
    /// `attention` (digit reversal) or `5` (GPT on tiny Shakespeare);
    /// TinyTorch's numbers as `tinytorch-02` ... `tinytorch-05`; `list`
    /// prints the table.
    pub name: String,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CIFAR-10 data for milestones 3 and 4 (any form `mgp train
    /// cnn-cifar10 --data` takes) [default: the shared archive beside the
    /// repository].
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

/// What a milestone must reach to PASS.
#[derive(Debug, Clone, Copy)]
pub enum Bar {
    /// Test accuracy of at least this fraction.
    Accuracy(f64),
    /// Every training point classified right.
    AllCorrect,
    /// Test accuracy of at least this fraction, with the training loss
    /// falling every epoch.
    AccuracyLossFalling(f64),
    /// Sequence accuracy of at least this fraction within this many seconds.
    AccuracyWithin(f64, f64),
    /// Best validation loss of at most this value.
    ValLoss(f64),
}

impl std::fmt::Display for Bar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Bar::Accuracy(a) => write!(f, "test accuracy >= {:.0}%", 100.0 * a),
            Bar::AllCorrect => write!(f, "all four points right (accuracy 100%)"),
            Bar::AccuracyLossFalling(a) => write!(
                f,
                "test accuracy >= {:.0}%, training loss falling every epoch",
                100.0 * a
            ),
            Bar::AccuracyWithin(a, s) => {
                write!(f, "sequence accuracy >= {:.0}% within {s:.0} s", 100.0 * a)
            }
            Bar::ValLoss(l) => write!(f, "validation loss <= {l:.2}"),
        }
    }
}

/// One milestone: a row of `mgp milestone list` and how to run it.
#[derive(Debug)]
pub struct Milestone {
    /// Its name on the command line.
    pub name: &'static str,
    /// TinyTorch's number for the same milestone, where it has one.
    pub tinytorch: Option<u8>,
    /// What it trains, with the preset's settings.
    pub trains: String,
    /// What it must reach.
    pub bar: Bar,
    /// How long it takes, measured with a release build on a 2-core
    /// Intel Xeon (README, Milestones).
    pub typical: &'static str,
    /// Runs it: whether it passed.
    run: fn(&Args, Bar) -> anyhow::Result<bool>,
}

/// TinyTorch's milestones that have no counterpart here.
const TINYTORCH_ONLY: [(u8, &str); 2] = [(1, "the 1957 perceptron"), (6, "MLPerf")];

/// The milestones, in the order of the course.
pub fn milestones() -> Vec<Milestone> {
    let mlp = MnistConfig::default();
    let cnn = CnnMnistConfig::default();
    let (short, full) = (Cifar10Config::milestone3(), Cifar10Config::default());
    let reversal = ReversalConfig::default();
    // The vocabulary does not change the settings described.
    let gpt = TrainConfig::shakespeare(0);
    let cifar = |c: &Cifar10Config| {
        format!(
            "the BatchNorm CNN on CIFAR-10 with augmentation, {} epochs, one-cycle SGD lr {} (batch {})",
            c.epochs, c.lr, c.batch_size
        )
    };
    vec![
        Milestone {
            name: "1",
            tinytorch: Some(3),
            trains: format!(
                "MLP 784-128-64-10 on MNIST, {} epochs, {:?} lr {} (batch {})",
                mlp.epochs, mlp.optimizer, mlp.lr, mlp.batch_size
            ),
            bar: Bar::Accuracy(0.85),
            typical: "3 s",
            run: mlp_mnist,
        },
        Milestone {
            name: "xor",
            tinytorch: Some(2),
            trains: "MLP 2-8-2 (tanh) on XOR, full batch, Adam lr 0.1, 500 iterations".into(),
            bar: Bar::AllCorrect,
            typical: "under 1 s",
            run: xor,
        },
        Milestone {
            name: "2",
            tinytorch: None,
            trains: format!(
                "a small CNN on MNIST, {} epochs, Adam lr {} (batch {})",
                cnn.epochs, cnn.lr, cnn.batch_size
            ),
            bar: Bar::Accuracy(0.95),
            typical: "15 s",
            run: cnn_mnist,
        },
        Milestone {
            name: "3",
            tinytorch: None,
            trains: cifar(&short),
            bar: Bar::AccuracyLossFalling(0.50),
            typical: "2 min",
            run: cifar10_short,
        },
        Milestone {
            name: "4",
            tinytorch: Some(4),
            trains: cifar(&full),
            bar: Bar::Accuracy(0.75),
            typical: "27 min",
            run: cifar10_full,
        },
        Milestone {
            name: "attention",
            tinytorch: Some(5),
            trains: format!(
                "one transformer block (d_model {}, {} heads) reversing {} digits",
                reversal.d_model, reversal.heads, reversal.length
            ),
            bar: Bar::AccuracyWithin(0.95, reversal.max_seconds),
            typical: "under 1 s",
            run: attention,
        },
        Milestone {
            name: "5",
            tinytorch: None,
            trains: format!(
                "a character GPT on tiny Shakespeare ({} layers, d_model {}, context {}), AdamW lr {}, for {:.0} minutes",
                gpt.model.layers,
                gpt.model.d_model,
                gpt.model.block_size,
                gpt.lr,
                gpt.max_seconds.unwrap_or_default() / 60.0
            ),
            bar: Bar::ValLoss(1.70),
            typical: "15 min (the bar is reached after about 5)",
            run: gpt_shakespeare,
        },
    ]
}

/// The milestone `name` names: ours, or TinyTorch's `tinytorch-NN`.
pub fn find(name: &str) -> anyhow::Result<Milestone> {
    let table = milestones();
    let choices = || {
        let names: Vec<&str> = table.iter().map(|m| m.name).collect();
        format!(
            "expected {}, TinyTorch's tinytorch-02 ... tinytorch-05, or list",
            names.join(", ")
        )
    };
    let tinytorch = name
        .strip_prefix("tinytorch-")
        .and_then(|n| n.parse::<u8>().ok());
    let found = match tinytorch {
        Some(n) => {
            if let Some((_, what)) = TINYTORCH_ONLY.iter().find(|(t, _)| *t == n) {
                anyhow::bail!("TinyTorch's milestone {n:02} ({what}) has no counterpart in mgp");
            }
            table.iter().position(|m| m.tinytorch == Some(n))
        }
        None => table.iter().position(|m| m.name == name),
    };
    match found {
        Some(i) => Ok(table.into_iter().nth(i).expect("found in the table")),
        None => {
            // TinyTorch writes its numbers as 01 ... 06; ours are not padded.
            let hint = match tinytorch {
                None if name.starts_with('0') && name.parse::<u8>().is_ok() => {
                    format!(" (TinyTorch's milestone {name} is tinytorch-{name})")
                }
                _ => String::new(),
            };
            anyhow::bail!("unknown milestone {name:?}: {}{hint}", choices())
        }
    }
}

/// `mgp milestone list`: one block per milestone.
fn list() {
    for m in milestones() {
        let alias = m
            .tinytorch
            .map(|n| format!(" (TinyTorch: tinytorch-{n:02})"))
            .unwrap_or_default();
        println!("{}{alias}", m.name);
        println!("  trains   {}", m.trains);
        println!("  bar      {}", m.bar);
        println!("  typical  {}", m.typical);
    }
}

/// PASS or FAIL.
fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

/// Whether `accuracy` clears an accuracy bar.
fn reaches(bar: Bar, accuracy: f64) -> bool {
    match bar {
        Bar::Accuracy(a) | Bar::AccuracyLossFalling(a) | Bar::AccuracyWithin(a, _) => accuracy >= a,
        Bar::AllCorrect => accuracy == 1.0,
        Bar::ValLoss(_) => false,
    }
}

fn mlp_mnist(args: &Args, bar: Bar) -> anyhow::Result<bool> {
    let train = super::train_mlp_mnist::Args {
        seed: Some(args.seed),
        ..Default::default()
    };
    let eval = super::train_mlp_mnist::run(&train)?;
    let pass = reaches(bar, eval.accuracy);
    println!(
        "milestone 1 (MLP on MNIST): {} test accuracy {:.2}% (bar: {bar}; PyTorch's median with this recipe 94.8%)",
        verdict(pass),
        100.0 * eval.accuracy,
    );
    Ok(pass)
}

fn cnn_mnist(args: &Args, bar: Bar) -> anyhow::Result<bool> {
    let train = super::train_cnn_mnist::Args {
        seed: Some(args.seed),
        ..Default::default()
    };
    let eval = super::train_cnn_mnist::run(&train)?;
    let pass = reaches(bar, eval.accuracy);
    println!(
        "milestone 2 (CNN on MNIST, {} epochs): {} test accuracy {:.2}% (bar: {bar}; PyTorch's median with this recipe 96.4%)",
        CnnMnistConfig::default().epochs,
        verdict(pass),
        100.0 * eval.accuracy,
    );
    Ok(pass)
}

fn cifar10_short(args: &Args, bar: Bar) -> anyhow::Result<bool> {
    cifar10(args, bar, 3, Cifar10Config::milestone3())
}

fn cifar10_full(args: &Args, bar: Bar) -> anyhow::Result<bool> {
    cifar10(args, bar, 4, Cifar10Config::default())
}

/// Milestones 3 and 4: the CIFAR-10 recipe with `preset`'s settings (the
/// data from `--data`); a falling training loss is part of milestone 3's
/// bar.
fn cifar10(args: &Args, bar: Bar, number: u8, preset: Cifar10Config) -> anyhow::Result<bool> {
    let epochs = preset.epochs;
    let train = super::train_cifar10::Args {
        seed: Some(args.seed),
        data: args.data.clone(),
        ..Default::default()
    };
    let (eval, history) = super::train_cifar10::run_preset(&train, preset)?;
    let losses: Vec<f64> = history.epochs.iter().map(|m| m.train_loss).collect();
    let falling = losses.windows(2).all(|w| w[1] < w[0]);
    let needs_falling = matches!(bar, Bar::AccuracyLossFalling(_));
    let pass = reaches(bar, eval.accuracy) && (falling || !needs_falling);
    println!(
        "milestone {number} (CIFAR-10 CNN, {epochs} epochs one-cycle): {} test accuracy {:.2}% (bar: {bar}), train loss per epoch {:?} ({})",
        verdict(pass),
        100.0 * eval.accuracy,
        losses.iter().map(|l| (l * 1e4).round() / 1e4).collect::<Vec<_>>(),
        if falling { "falling" } else { "not falling" }
    );
    Ok(pass)
}

fn xor(args: &Args, bar: Bar) -> anyhow::Result<bool> {
    let (loss, accuracy) = train_xor(args.seed)?;
    let pass = reaches(bar, accuracy);
    println!(
        "milestone xor (2-8-2, Adam lr 0.1, 500 iterations): {} accuracy {:.0}%, final loss {loss:.5}",
        verdict(pass),
        100.0 * accuracy
    );
    Ok(pass)
}

/// Reverse digit sequences: PASS at a sequence accuracy of at least the
/// bar's within its time (the preset's time limit).
fn attention(args: &Args, bar: Bar) -> anyhow::Result<bool> {
    let Bar::AccuracyWithin(accuracy, seconds) = bar else {
        anyhow::bail!("the attention milestone's bar is an accuracy within a time");
    };
    let config = ReversalConfig {
        seed: args.seed,
        ..ReversalConfig::default()
    };
    let (_, records) = reversal::train(&config, |r| {
        eprintln!(
            "step {:>5}  loss {:.4}  sequence accuracy {:.1}%  digit accuracy {:.1}%  {:.1} s",
            r.step,
            r.loss,
            100.0 * r.sequence_accuracy,
            100.0 * r.token_accuracy,
            r.elapsed_s
        );
    })?;
    let last = records.last().context("no evaluation")?;
    let pass = last.sequence_accuracy >= accuracy && last.elapsed_s <= seconds;
    println!(
        "milestone attention (reverse 8 digits, one transformer block): {} sequence accuracy {:.1}% after {} steps in {:.1} s (bar {:.0}% within {seconds:.0} s)",
        verdict(pass),
        100.0 * last.sequence_accuracy,
        last.step,
        last.elapsed_s,
        100.0 * accuracy
    );
    Ok(pass)
}

/// The Shakespeare recipe (its preset's step and time limits): PASS at a
/// best validation loss of at most the bar.
fn gpt_shakespeare(args: &Args, bar: Bar) -> anyhow::Result<bool> {
    let Bar::ValLoss(loss) = bar else {
        anyhow::bail!("milestone 5's bar is a validation loss");
    };
    let train = super::gpt::TrainArgs {
        seed: Some(args.seed),
        ..Default::default()
    };
    let trained = super::gpt::train(Corpus::Shakespeare, &train)?;
    let best = trained
        .records
        .iter()
        .map(|r| r.val_loss)
        .fold(f64::INFINITY, f64::min);
    let last = trained.records.last().context("no evaluation")?;
    let pass = best <= loss;
    println!(
        "milestone 5 (character GPT on tiny Shakespeare): {} best validation loss {best:.4} (bar {loss}) after {} steps in {:.0} s; checkpoint {}",
        verdict(pass),
        last.step,
        last.elapsed_s,
        trained.checkpoint.display()
    );
    Ok(pass)
}

/// Runs the milestone (or prints the list): whether it passed (`mgp` then
/// exits 1 on FAIL, without an error line: the verdict says why).
pub fn run(args: &Args) -> anyhow::Result<bool> {
    if args.name == "list" {
        list();
        return Ok(true);
    }
    let milestone = find(&args.name)?;
    (milestone.run)(args, milestone.bar)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tinytorch_numbers_find_one_milestone_each() {
        let table = milestones();
        for m in &table {
            assert_eq!(find(m.name).unwrap().name, m.name);
            if let Some(n) = m.tinytorch {
                assert_eq!(find(&format!("tinytorch-{n:02}")).unwrap().name, m.name);
                assert_eq!(find(&format!("tinytorch-{n}")).unwrap().name, m.name);
            }
            assert_eq!(table.iter().filter(|o| o.name == m.name).count(), 1);
        }
        assert_eq!(find("tinytorch-03").unwrap().name, "1");
        assert_eq!(find("tinytorch-05").unwrap().name, "attention");
        let err = find("tinytorch-01").unwrap_err().to_string();
        assert_eq!(
            err,
            "TinyTorch's milestone 01 (the 1957 perceptron) has no counterpart in mgp"
        );
        let err = find("03").unwrap_err().to_string();
        assert!(err.starts_with("unknown milestone \"03\": expected 1, xor, 2, 3, 4, attention, 5"));
    }

    #[test]
    fn descriptions_come_from_the_presets() {
        let table = milestones();
        let one = &table[0];
        assert!(one
            .trains
            .contains(&format!("{} epochs", MnistConfig::default().epochs)));
        let four = find("4").unwrap();
        assert!(four
            .trains
            .contains(&format!("{} epochs", Cifar10Config::default().epochs)));
        let three = find("3").unwrap();
        assert!(three
            .trains
            .contains(&format!("{} epochs", Cifar10Config::milestone3().epochs)));
    }
}
