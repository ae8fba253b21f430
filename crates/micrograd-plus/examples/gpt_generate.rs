//! A character-level GPT on tiny Shakespeare: a thousand training steps
//! of a small model, then text sampled from it with the key/value cache.
//! (`mgp gpt` runs the full milestone-5 recipe.)
//!
//! `cargo run --release --example gpt_generate`  (about 30 s on 2 cores)

use micrograd_plus::data::text::read_text;
use micrograd_plus::models::{GPTConfig, GPT};
use micrograd_plus::nn::Module;
use micrograd_plus::train::gpt::{
    estimate_loss, optimizer, random_windows, train_step, TextData, TrainConfig,
};
use micrograd_plus::Result;
use rand::{rngs::StdRng, SeedableRng};
use std::path::Path;

fn main() -> Result<()> {
    micrograd_plus::manual_seed(0);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/tinyshakespeare/input.txt");
    let data = TextData::new(&read_text(&path)?, 0.9)?;
    let vocab = data.tokenizer.vocab_size();

    // Smaller than the milestone's model so that it trains in a minute.
    let model = GPT::new(GPTConfig {
        block_size: 32,
        d_model: 64,
        heads: 4,
        layers: 2,
        ..GPTConfig::shakespeare(vocab)
    })?;
    let config = TrainConfig {
        lr: 3e-3,
        ..TrainConfig::shakespeare(vocab)
    };
    let mut opt = optimizer(&model, &config)?;
    println!(
        "{} parameters; loss at chance: ln {vocab} = {:.3}",
        model.num_parameters(),
        (vocab as f64).ln()
    );

    let (batch, time) = (32, 32);
    let mut rng = StdRng::seed_from_u64(0);
    for step in 0..=1000 {
        let (x, y) = random_windows(&data.train, batch, time, &mut rng)?;
        let loss = train_step(&model, &mut opt, &x, &y, batch, time)?;
        if step % 250 == 0 {
            let val = estimate_loss(&model, &data.val, batch, 10, 0)?;
            println!("step {step:3}: train loss {loss:.3}, validation loss {val:.3}");
        }
    }

    let prompt = data.tokenizer.encode("ROMEO:\n")?;
    let ids = model.generate(&prompt, 200, 0.8, Some(10), 0)?;
    println!("\n{}", data.tokenizer.decode(&ids)?);
    Ok(())
}
