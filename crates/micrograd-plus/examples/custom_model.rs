//! Your own model with `#[derive(Module)]`: a residual MLP whose blocks live
//! in a `Vec`, trained on two moons, saved, and loaded into a fresh copy.
//! The derive registers every layer, so the optimizer sees all parameters
//! and the file holds all of them, under PyTorch's dotted names.
//!
//! `cargo run --release --example custom_model`

use micrograd_plus::data::moons::make_moons;
use micrograd_plus::nn::loss::CrossEntropyLoss;
use micrograd_plus::nn::{LayerNorm, Linear, Module};
use micrograd_plus::optim::{AdamW, AdamWConfig, Optimizer};
use micrograd_plus::{Result, Tensor};

/// `x + fc2(relu(fc1(norm(x))))`: the residual path carries `x` unchanged.
#[derive(Module)]
struct Residual {
    norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl Residual {
    fn new(width: usize) -> Residual {
        Residual {
            norm: LayerNorm::new(&[width]),
            fc1: Linear::new(width, 2 * width, true),
            fc2: Linear::new(2 * width, width, true),
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.fc1.forward(&self.norm.forward(x)?)?.relu();
        x.add(&self.fc2.forward(&h)?)
    }
}

#[derive(Module)]
struct ResNet {
    stem: Linear,
    blocks: Vec<Residual>,
    head: Linear,
}

impl ResNet {
    fn new(inputs: usize, width: usize, depth: usize, classes: usize) -> ResNet {
        ResNet {
            stem: Linear::new(inputs, width, true),
            blocks: (0..depth).map(|_| Residual::new(width)).collect(),
            head: Linear::new(width, classes, true),
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.stem.forward(x)?;
        for block in &self.blocks {
            h = block.forward(&h)?;
        }
        self.head.forward(&h)
    }
}

fn main() -> Result<()> {
    micrograd_plus::manual_seed(0);
    let moons = make_moons(512, 0.1, 0)?;
    let coordinates: Vec<f32> = moons.points.iter().flatten().map(|&c| c as f32).collect();
    let points = Tensor::from_vec(coordinates, &[moons.len(), 2])?;
    let labels = &moons.labels; // integer labels go straight into the loss
    let model = ResNet::new(2, 16, 3, 2);
    println!("{}", model.describe());
    println!(
        "{} parameters in {} tensors",
        model.num_parameters(),
        model.parameters().len()
    );

    let config = AdamWConfig {
        lr: 1e-2,
        ..Default::default()
    };
    let mut optimizer = AdamW::new(model.parameters(), config)?;
    for step in 0..=200 {
        optimizer.zero_grad();
        let loss = CrossEntropyLoss::new().forward(&model.forward(&points)?, labels)?;
        loss.backward()?;
        optimizer.step()?;
        if step % 50 == 0 {
            println!("step {step:3}: loss {:.4}", loss.item()?);
        }
    }

    let path = std::env::temp_dir().join("custom_model.safetensors");
    model.save(&path)?;
    let mut copy = ResNet::new(2, 16, 3, 2);
    copy.load(&path)?;
    let same = model.forward(&points)?.to_vec::<f32>() == copy.forward(&points)?.to_vec::<f32>();
    println!(
        "saved to {} and loaded back: identical outputs: {same}",
        path.display()
    );
    Ok(())
}
