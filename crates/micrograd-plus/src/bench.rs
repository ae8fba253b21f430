//! The named workloads, defined once: `mgp bench NAME` times them and
//! reports the distribution of their run times (so results from different
//! machines and from the PyTorch scripts under `bench/` can be compared side
//! by side), and the criterion benches (`crates/micrograd-plus/benches`)
//! iterate the same steps.
//!
//! Each workload `X` comes twice: `X_step` sets it up and returns its step,
//! a closure whose every call is one run (what a criterion bench iterates),
//! and `X` times `runs` of those steps after a warm-up into a
//! [`BenchResult`] with the workload's parameters (what `mgp bench` prints).
//! This module sits above [`crate::train`]: the training workloads use the
//! recipes' own networks and optimizers, and nothing below calls back up.

use crate::tensor::{DType, Tensor};
use crate::train::gpt::TrainConfig;
use crate::Result;
use serde::Serialize;
use std::time::Instant;

/// Timing summary of one workload, printed as JSON by `mgp bench --json`.
///
/// ```
/// let r = micrograd_plus::bench::BenchResult::from_samples("x", vec![2.0, 1.0, 3.0]);
/// assert_eq!((r.median_ms, r.min_ms, r.max_ms, r.runs), (2.0, 1.0, 3.0, 3));
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Workload name, e.g. `matmul`.
    pub name: String,
    /// Median time of one run, in milliseconds.
    pub median_ms: f64,
    /// Fastest run.
    pub min_ms: f64,
    /// Slowest run.
    pub max_ms: f64,
    /// Number of timed runs.
    pub runs: usize,
    /// Floating-point throughput at the median, where it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gflops: Option<f64>,
    /// Median time per recorded op (forward + backward), for overhead workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_op_us: Option<f64>,
    /// Workload parameters (size, dtype, chain length, ...).
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl BenchResult {
    /// Summarises run times given in milliseconds.
    ///
    /// ```
    /// let r = micrograd_plus::bench::BenchResult::from_samples("x", vec![1.0]);
    /// assert_eq!(r.runs, 1);
    /// ```
    pub fn from_samples(name: &str, mut samples_ms: Vec<f64>) -> BenchResult {
        samples_ms.sort_by(f64::total_cmp);
        let n = samples_ms.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            samples_ms[n / 2]
        } else {
            (samples_ms[n / 2 - 1] + samples_ms[n / 2]) / 2.0
        };
        BenchResult {
            name: name.to_string(),
            median_ms: median,
            min_ms: samples_ms.first().copied().unwrap_or(f64::NAN),
            max_ms: samples_ms.last().copied().unwrap_or(f64::NAN),
            runs: n,
            gflops: None,
            per_op_us: None,
            // Every figure says which kernels produced it.
            params: serde_json::Map::from_iter([(
                "isa".to_string(),
                crate::kernels::isa::isa().name().into(),
            )]),
        }
    }

    fn param(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }
}

/// Runs `f` `warmup` times untimed, then `runs` times timed (milliseconds).
///
/// ```
/// let times = micrograd_plus::bench::time_runs(1, 3, || Ok(())).unwrap();
/// assert_eq!(times.len(), 3);
/// ```
pub fn time_runs(
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(samples)
}

/// `size × size` matrix product (no graph): one step computes `a·b` of two
/// fixed random matrices.
///
/// ```
/// let mut step = micrograd_plus::bench::matmul_step(8, micrograd_plus::DType::F32).unwrap();
/// step().unwrap();
/// ```
pub fn matmul_step(size: usize, dtype: DType) -> Result<impl FnMut() -> Result<()>> {
    // Sizes come from the command line: refuse what cannot be allocated.
    let a = Tensor::try_randn(&[size, size], 1)?.to_dtype(dtype);
    let b = Tensor::try_randn(&[size, size], 2)?.to_dtype(dtype);
    Ok(move || a.matmul(&b).map(drop))
}

/// [`matmul_step`] timed, reporting GFLOP/s (2·n³ flops).
///
/// Timed as `bench/matmul_timing.py` times PyTorch and NumPy: each of the
/// `runs` samples loops over enough products to take about 50 ms, and a
/// sample's time is divided by its product count. (One product a sample made
/// the whole 256³ measurement 3 ms long, so a few milliseconds in which the
/// other core was busy elsewhere decided its median: 116-225 GFLOP/s between
/// two runs of the same binary.)
///
/// ```
/// use micrograd_plus::{bench, DType};
/// let r = bench::matmul(8, DType::F32, 3).unwrap();
/// assert!(r.gflops.unwrap() > 0.0);
/// ```
pub fn matmul(size: usize, dtype: DType, runs: usize) -> Result<BenchResult> {
    const SAMPLE_MS: f64 = 50.0;
    let mut step = matmul_step(size, dtype)?;
    let warmup = time_runs(0, 3, &mut step)?;
    let per_call_ms = warmup.iter().copied().fold(f64::INFINITY, f64::min);
    // At least one product a sample; a 0 ms reading (a coarse clock) counts as tiny.
    let calls = (SAMPLE_MS / per_call_ms.max(1e-6)).clamp(1.0, 1e7) as usize;
    let samples = time_runs(0, runs, || (0..calls).try_for_each(|_| step()))?;
    let per_call: Vec<f64> = samples.iter().map(|ms| ms / calls as f64).collect();
    let mut r = BenchResult::from_samples("matmul", per_call);
    r.gflops = Some(2.0 * (size as f64).powi(3) / (r.median_ms * 1e-3) / 1e9);
    Ok(r.param("size", size)
        .param("dtype", dtype.name())
        .param("products_per_run", calls))
}

/// The per-op cost of the graph itself: one step records a chain of
/// `chain` tiny ops (alternating multiply and add on a 4-element tensor),
/// then runs backward. Mirrors `bench/pytorch_op_overhead.py`.
///
/// ```
/// let mut step = micrograd_plus::bench::op_overhead_step(10).unwrap();
/// step().unwrap();
/// ```
pub fn op_overhead_step(chain: usize) -> Result<impl FnMut() -> Result<()>> {
    let x = Tensor::new([1.0f32, 2.0, 3.0, 4.0])?.requires_grad(true);
    let (m, a) = (Tensor::full(&[4], 0.999), Tensor::full(&[4], 0.001));
    Ok(move || -> Result<()> {
        let mut y = x.clone();
        for i in 0..chain {
            y = if i % 2 == 0 { y.mul(&m)? } else { y.add(&a)? };
        }
        y.sum().backward()?;
        x.zero_grad();
        Ok(())
    })
}

/// [`op_overhead_step`] timed, reporting the time per op.
///
/// ```
/// let r = micrograd_plus::bench::op_overhead(100, 3).unwrap();
/// assert!(r.per_op_us.unwrap() > 0.0);
/// ```
pub fn op_overhead(chain: usize, runs: usize) -> Result<BenchResult> {
    let samples = time_runs(runs.clamp(1, 3), runs, op_overhead_step(chain)?)?;
    let mut r = BenchResult::from_samples("op-overhead", samples);
    r.per_op_us = Some(r.median_ms * 1e3 / chain as f64);
    Ok(r.param("chain", chain).param("numel", 4))
}

/// Shape of the `conv` workload: a batch of square images through one
/// convolution (stride 1).
///
/// ```
/// let c = micrograd_plus::bench::ConvShape::default();
/// assert_eq!((c.batch, c.in_channels, c.out_channels, c.image), (32, 3, 64, 32));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ConvShape {
    /// Images per batch.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Height and width of the images.
    pub image: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Whether the input needs a gradient (a first layer's does not).
    pub input_grad: bool,
}

impl Default for ConvShape {
    /// The issue's case: `Conv2d(3, 64, 3, padding=1)` on `(32, 3, 32, 32)`.
    fn default() -> Self {
        ConvShape {
            batch: 32,
            in_channels: 3,
            out_channels: 64,
            image: 32,
            kernel: 3,
            padding: 1,
            input_grad: true,
        }
    }
}

/// f32 conv2d forward plus backward (gradients for weight, bias and, if
/// `input_grad`, the input) from a fixed random upstream gradient.
/// Mirrors `bench/pytorch_conv.py`.
///
/// ```
/// use micrograd_plus::bench::{conv_step, ConvShape};
/// let shape = ConvShape { batch: 2, in_channels: 2, out_channels: 3, image: 6, ..ConvShape::default() };
/// conv_step(shape).unwrap()().unwrap();
/// ```
pub fn conv_step(c: ConvShape) -> Result<impl FnMut() -> Result<()>> {
    // Shapes come from the command line: refuse what cannot be allocated.
    let x = Tensor::try_randn(&[c.batch, c.in_channels, c.image, c.image], 1)?
        .requires_grad(c.input_grad);
    let w = Tensor::try_randn(&[c.out_channels, c.in_channels, c.kernel, c.kernel], 2)?
        .mul_scalar(0.1)
        .detach()
        .requires_grad(true);
    let b = Tensor::randn(&[c.out_channels], 3).requires_grad(true);
    let out = c.image + 2 * c.padding + 1 - c.kernel.min(c.image + 2 * c.padding);
    let g = Tensor::try_randn(&[c.batch, c.out_channels, out, out], 4)?;
    let p = (c.padding, c.padding);
    Ok(move || -> Result<()> {
        x.conv2d(&w, Some(&b), (1, 1), p, (1, 1), 1)?
            .backward_with(&g)?;
        for t in [&x, &w, &b] {
            t.zero_grad();
        }
        Ok(())
    })
}

/// [`conv_step`] timed.
///
/// ```
/// use micrograd_plus::bench::{conv, ConvShape};
/// let shape = ConvShape { batch: 2, in_channels: 2, out_channels: 3, image: 6, ..ConvShape::default() };
/// assert_eq!(conv(shape, 2).unwrap().runs, 2);
/// ```
pub fn conv(c: ConvShape, runs: usize) -> Result<BenchResult> {
    let samples = time_runs(runs.clamp(1, 3), runs, conv_step(c)?)?;
    Ok(BenchResult::from_samples("conv", samples)
        .param("batch", c.batch)
        .param("in_channels", c.in_channels)
        .param("out_channels", c.out_channels)
        .param("image", c.image)
        .param("kernel", c.kernel)
        .param("padding", c.padding)
        .param("input_grad", c.input_grad)
        .param("dtype", "float32"))
}

/// f32 `max_pool2d(2, 2)` forward plus backward on `(batch, channels,
/// image, image)`. Mirrors `bench/pytorch_conv.py`.
///
/// ```
/// micrograd_plus::bench::max_pool_step(2, 3, 8)().unwrap();
/// ```
pub fn max_pool_step(batch: usize, channels: usize, image: usize) -> impl FnMut() -> Result<()> {
    let x = Tensor::randn(&[batch, channels, image, image], 1).requires_grad(true);
    let g = Tensor::randn(&[batch, channels, image / 2, image / 2], 2);
    move || -> Result<()> {
        x.max_pool2d((2, 2), (2, 2), (0, 0))?.backward_with(&g)?;
        x.zero_grad();
        Ok(())
    }
}

/// [`max_pool_step`] timed.
///
/// ```
/// assert_eq!(micrograd_plus::bench::max_pool(2, 3, 8, 2).unwrap().name, "max-pool");
/// ```
pub fn max_pool(batch: usize, channels: usize, image: usize, runs: usize) -> Result<BenchResult> {
    let samples = time_runs(
        runs.clamp(1, 3),
        runs,
        max_pool_step(batch, channels, image),
    )?;
    Ok(BenchResult::from_samples("max-pool", samples)
        .param("batch", batch)
        .param("channels", channels)
        .param("image", image)
        .param("kernel", 2)
        .param("stride", 2)
        .param("dtype", "float32"))
}

/// f32 `batch_norm` in training (affine, running statistics) forward plus
/// backward on `(batch, channels, image, image)`. Mirrors
/// `bench/pytorch_conv.py`.
///
/// ```
/// micrograd_plus::bench::batch_norm_step(2, 3, 4)().unwrap();
/// ```
pub fn batch_norm_step(batch: usize, channels: usize, image: usize) -> impl FnMut() -> Result<()> {
    let x = Tensor::randn(&[batch, channels, image, image], 1).requires_grad(true);
    let w = Tensor::ones(&[channels]).requires_grad(true);
    let b = Tensor::zeros(&[channels]).requires_grad(true);
    let (rm, rv) = (Tensor::zeros(&[channels]), Tensor::ones(&[channels]));
    let g = Tensor::randn(x.shape(), 2);
    move || -> Result<()> {
        x.batch_norm(Some(&rm), Some(&rv), Some(&w), Some(&b), true, 0.1, 1e-5)?
            .backward_with(&g)?;
        for t in [&x, &w, &b] {
            t.zero_grad();
        }
        Ok(())
    }
}

/// [`batch_norm_step`] timed.
///
/// ```
/// assert_eq!(micrograd_plus::bench::batch_norm(2, 3, 4, 2).unwrap().name, "batch-norm");
/// ```
pub fn batch_norm(batch: usize, channels: usize, image: usize, runs: usize) -> Result<BenchResult> {
    let samples = time_runs(
        runs.clamp(1, 3),
        runs,
        batch_norm_step(batch, channels, image),
    )?;
    Ok(BenchResult::from_samples("batch-norm", samples)
        .param("batch", batch)
        .param("channels", channels)
        .param("image", image)
        .param("training", true)
        .param("dtype", "float32"))
}

/// `n` random 3×32×32 byte images with random labels of 10 classes:
/// CIFAR-10's shape without its files (the work of a step does not depend
/// on the pixel values).
///
/// ```
/// use micrograd_plus::data::Dataset;
/// assert_eq!(micrograd_plus::bench::random_cifar(5, 0).unwrap().len(), 5);
/// ```
pub fn random_cifar(n: usize, seed: u64) -> Result<crate::data::images::ImageDataset> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let pixels: Vec<u8> = (0..n * 3 * 32 * 32).map(|_| rng.r#gen()).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.gen_range(0..10)).collect();
    let classes = (0..10).map(|c| c.to_string()).collect();
    crate::data::images::ImageDataset::new(pixels, labels, [3, 32, 32], classes)
}

/// Training steps of the milestone-4 CIFAR-10 network
/// ([`crate::train::cifar10::cifar_net`]): SGD with Nesterov momentum and
/// weight decay, batches of `batch` from a loader over `images`
/// [`random_cifar`] images that crops, flips and normalises on its
/// background thread, exactly as in training (a new epoch starts when one
/// ends). The time of a step includes waiting for its batch. The one-cycle
/// schedule is laid out over one epoch.
///
/// ```
/// // 4 batches an epoch: the fifth step starts the second epoch.
/// let mut step = micrograd_plus::bench::cifar10_step(2, 8).unwrap();
/// for _ in 0..5 { step().unwrap(); }
/// ```
pub fn cifar10_step(batch: usize, images: usize) -> Result<impl FnMut() -> Result<()>> {
    use crate::data::transforms::Transform;
    use crate::data::DataLoader;
    use crate::nn::Module;
    use crate::train::cifar10::{augmentation, cifar_net, optimizer, Cifar10Config};

    let images = random_cifar(images, 0)?;
    let normalize = images.channel_stats()?;
    let loader = DataLoader::new(std::sync::Arc::new(images), batch)?
        .shuffle(true)
        .transform(augmentation(normalize)?.into_batch_fn());
    crate::manual_seed(0);
    let model = cifar_net();
    let config = Cifar10Config::default();
    let (mut opt, mut sched) = optimizer(&config, model.parameters(), loader.num_batches())?;
    let ce = crate::nn::loss::CrossEntropyLoss::new();
    let mut epoch = 1;
    let mut batches = loader.epoch(epoch);
    Ok(move || -> Result<()> {
        let b = match batches.next() {
            Some(b) => b?,
            None => {
                epoch += 1;
                batches = loader.epoch(epoch);
                batches
                    .next()
                    .expect("a loader yields at least one batch")?
            }
        };
        opt.zero_grad();
        let loss = ce.forward(&model.forward(&b.inputs)?, &b.targets)?;
        loss.backward()?;
        opt.step()?;
        if let Some(s) = sched.as_mut() {
            s.step(opt.as_mut());
        }
        loss.item().map(drop)
    })
}

/// [`cifar10_step`] timed over one epoch of exactly the steps it takes;
/// `epoch_seconds` in the parameters extrapolates the median step to
/// CIFAR-10's 50,000 training images. Mirrors `bench/pytorch_cifar10.py`.
///
/// ```
/// let r = micrograd_plus::bench::cifar10(4, 2).unwrap();
/// assert_eq!((r.name.as_str(), r.runs), ("cifar10", 2));
/// assert!(r.params["epoch_seconds"].as_f64().unwrap() > 0.0);
/// ```
pub fn cifar10(batch: usize, runs: usize) -> Result<BenchResult> {
    let warmup = runs.clamp(1, 3);
    let step = cifar10_step(batch, batch * (warmup + runs))?;
    let samples = time_runs(warmup, runs, step)?;
    let r = BenchResult::from_samples("cifar10", samples);
    let epoch_seconds = r.median_ms * 1e-3 * 50_000f64 / batch as f64;
    Ok(r.param("batch", batch)
        .param("epoch_seconds", epoch_seconds)
        .param("augmentation", "crop 32 pad 4, flip, normalize")
        .param("optimizer", "sgd nesterov momentum 0.9 wd 5e-4")
        .param("dtype", "float32"))
}

/// The `gpt` workload's configuration: the milestone-5 recipe (batch 32,
/// context 64, C 128, 4 heads, 4 layers, AdamW) with `batch` windows per
/// step and tiny Shakespeare's vocabulary of 65.
///
/// ```
/// let c = micrograd_plus::bench::gpt_config(16);
/// assert_eq!((c.batch_size, c.model.vocab_size, c.model.block_size), (16, 65, 64));
/// ```
pub fn gpt_config(batch: usize) -> TrainConfig {
    TrainConfig {
        batch_size: batch,
        ..TrainConfig::shakespeare(65)
    }
}

/// One GPT training step of `config` (forward, backward, AdamW) on a
/// random window batch of random token ids; returns the step and the
/// model's parameter count.
///
/// ```
/// use micrograd_plus::{bench::gpt_step, models::GPTConfig, train::gpt::TrainConfig};
/// let config = TrainConfig { model: GPTConfig { block_size: 8, d_model: 16, heads: 2, layers: 1, ..GPTConfig::shakespeare(10) }, batch_size: 2, ..TrainConfig::shakespeare(10) };
/// let (mut step, parameters) = gpt_step(&config).unwrap();
/// step().unwrap();
/// assert!(parameters > 0);
/// ```
pub fn gpt_step(config: &TrainConfig) -> Result<(impl FnMut() -> Result<()> + use<>, usize)> {
    use crate::models::GPT;
    use crate::nn::Module;
    use crate::train::gpt::{optimizer, random_windows, train_step};
    use rand::{rngs::StdRng, Rng, SeedableRng};

    crate::manual_seed(config.seed);
    let model = GPT::new(config.model.clone())?;
    let mut opt = optimizer(&model, config)?;
    let (b, t, v) = (
        config.batch_size,
        config.model.block_size,
        config.model.vocab_size,
    );
    let ids: Vec<usize> = {
        let mut rng = StdRng::seed_from_u64(config.seed);
        (0..(b * t * 4).max(t + 2))
            .map(|_| rng.gen_range(0..v))
            .collect()
    };
    let mut rng = StdRng::seed_from_u64(config.seed);
    let parameters = model.num_parameters();
    let step = move || -> Result<()> {
        let (x, y) = random_windows(&ids, b, t, &mut rng)?;
        train_step(&model, &mut opt, &x, &y, b, t).map(drop)
    };
    Ok((step, parameters))
}

/// [`gpt_step`] timed after `warmup` steps: the workload of `mgp bench gpt`.
///
/// ```
/// use micrograd_plus::{bench::gpt, models::GPTConfig, train::gpt::TrainConfig};
/// let config = TrainConfig { model: GPTConfig { block_size: 8, d_model: 16, heads: 2, layers: 1, ..GPTConfig::shakespeare(10) }, batch_size: 2, ..TrainConfig::shakespeare(10) };
/// let r = gpt(&config, 1, 3).unwrap();
/// assert_eq!((r.name.as_str(), r.runs), ("gpt", 3));
/// ```
pub fn gpt(config: &TrainConfig, warmup: usize, runs: usize) -> Result<BenchResult> {
    let (step, parameters) = gpt_step(config)?;
    let samples = time_runs(warmup, runs, step)?;
    let c = &config.model;
    let mut r = BenchResult::from_samples("gpt", samples);
    for (k, val) in [
        ("batch", config.batch_size),
        ("context", c.block_size),
        ("d_model", c.d_model),
        ("heads", c.heads),
        ("layers", c.layers),
        ("vocab", c.vocab_size),
        ("parameters", parameters),
    ] {
        r = r.param(k, val);
    }
    Ok(r)
}
