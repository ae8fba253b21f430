//! Trains micrograd's moons demo for seeds 0..N (default 50) and reports
//! which end at 100% training accuracy.
//!
//! `cargo run --release --example moons_seeds -- 50`

use micrograd_plus::train::moons::{train_moons, MoonsConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 50,
    };
    let mut perfect = Vec::new();
    for seed in 0..n {
        let run = train_moons(
            &MoonsConfig {
                seed,
                ..Default::default()
            },
            |_| {},
        )?;
        let accuracy = run.history.last().map_or(0.0, |s| s.accuracy);
        if accuracy == 1.0 {
            perfect.push(seed);
        }
        println!("seed {seed:3}: final accuracy {:5.1}%", 100.0 * accuracy);
    }
    println!("{} of {n} seeds reach 100%: {perfect:?}", perfect.len());
    Ok(())
}
