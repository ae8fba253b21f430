//! Named workloads behind `mgp bench`: each runs after a warm-up and reports
//! the distribution of its run times, so results from different machines and
//! from the PyTorch scripts under `bench/` can be compared side by side.

use crate::tensor::{DType, Tensor};
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

/// `size × size` matrix product (no graph), reporting GFLOP/s (2·n³ flops).
///
/// ```
/// use micrograd_plus::{bench, DType};
/// let r = bench::matmul(8, DType::F32, 3).unwrap();
/// assert!(r.gflops.unwrap() > 0.0);
/// ```
pub fn matmul(size: usize, dtype: DType, runs: usize) -> Result<BenchResult> {
    // Sizes come from the command line: refuse what cannot be allocated.
    let a = Tensor::try_randn(&[size, size], 1)?.to_dtype(dtype);
    let b = Tensor::try_randn(&[size, size], 2)?.to_dtype(dtype);
    let warmup = runs.clamp(1, 3);
    let samples = time_runs(warmup, runs, || a.matmul(&b).map(drop))?;
    let mut r = BenchResult::from_samples("matmul", samples);
    r.gflops = Some(2.0 * (size as f64).powi(3) / (r.median_ms * 1e-3) / 1e9);
    Ok(r.param("size", size).param("dtype", dtype.name()))
}

/// The per-op cost of the graph itself: a chain of `chain` tiny recorded ops
/// (alternating multiply and add on a 4-element tensor), then backward.
/// Mirrors `bench/pytorch_op_overhead.py`.
///
/// ```
/// let r = micrograd_plus::bench::op_overhead(100, 3).unwrap();
/// assert!(r.per_op_us.unwrap() > 0.0);
/// ```
pub fn op_overhead(chain: usize, runs: usize) -> Result<BenchResult> {
    let x = Tensor::new([1.0f32, 2.0, 3.0, 4.0])?.requires_grad(true);
    let (m, a) = (Tensor::full(&[4], 0.999), Tensor::full(&[4], 0.001));
    let step = || -> Result<()> {
        let mut y = x.clone();
        for i in 0..chain {
            y = if i % 2 == 0 { y.mul(&m)? } else { y.add(&a)? };
        }
        y.sum().backward()?;
        x.zero_grad();
        Ok(())
    };
    let samples = time_runs(runs.clamp(1, 3), runs, step)?;
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
/// use micrograd_plus::bench::{conv, ConvShape};
/// let shape = ConvShape { batch: 2, in_channels: 2, out_channels: 3, image: 6, ..ConvShape::default() };
/// assert_eq!(conv(shape, 2).unwrap().runs, 2);
/// ```
pub fn conv(c: ConvShape, runs: usize) -> Result<BenchResult> {
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
    let step = || -> Result<()> {
        x.conv2d(&w, Some(&b), (1, 1), p, (1, 1), 1)?
            .backward_with(&g)?;
        for t in [&x, &w, &b] {
            t.zero_grad();
        }
        Ok(())
    };
    let samples = time_runs(runs.clamp(1, 3), runs, step)?;
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
/// assert_eq!(micrograd_plus::bench::max_pool(2, 3, 8, 2).unwrap().name, "max-pool");
/// ```
pub fn max_pool(batch: usize, channels: usize, image: usize, runs: usize) -> Result<BenchResult> {
    let x = Tensor::randn(&[batch, channels, image, image], 1).requires_grad(true);
    let g = Tensor::randn(&[batch, channels, image / 2, image / 2], 2);
    let step = || -> Result<()> {
        x.max_pool2d((2, 2), (2, 2), (0, 0))?.backward_with(&g)?;
        x.zero_grad();
        Ok(())
    };
    let samples = time_runs(runs.clamp(1, 3), runs, step)?;
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
/// assert_eq!(micrograd_plus::bench::batch_norm(2, 3, 4, 2).unwrap().name, "batch-norm");
/// ```
pub fn batch_norm(batch: usize, channels: usize, image: usize, runs: usize) -> Result<BenchResult> {
    let x = Tensor::randn(&[batch, channels, image, image], 1).requires_grad(true);
    let w = Tensor::ones(&[channels]).requires_grad(true);
    let b = Tensor::zeros(&[channels]).requires_grad(true);
    let (rm, rv) = (Tensor::zeros(&[channels]), Tensor::ones(&[channels]));
    let g = Tensor::randn(x.shape(), 2);
    let step = || -> Result<()> {
        x.batch_norm(Some(&rm), Some(&rv), Some(&w), Some(&b), true, 0.1, 1e-5)?
            .backward_with(&g)?;
        for t in [&x, &w, &b] {
            t.zero_grad();
        }
        Ok(())
    };
    let samples = time_runs(runs.clamp(1, 3), runs, step)?;
    Ok(BenchResult::from_samples("batch-norm", samples)
        .param("batch", batch)
        .param("channels", channels)
        .param("image", image)
        .param("training", true)
        .param("dtype", "float32"))
}

/// Training steps of the milestone-4 CIFAR-10 network
/// ([`crate::train::cifar10::cifar_net`]): SGD with Nesterov momentum and
/// weight decay, batches of `batch` from a loader that crops, flips and
/// normalises on its background thread, exactly as in training. The time of
/// a step includes waiting for its batch. Random pixels stand in for the
/// images (the work does not depend on their values), so no data set is
/// needed. `epoch_seconds` in the parameters extrapolates the median step
/// to CIFAR-10's 50,000 training images. Mirrors `bench/pytorch_cifar10.py`.
///
/// ```
/// let r = micrograd_plus::bench::cifar10(4, 2).unwrap();
/// assert_eq!((r.name.as_str(), r.runs), ("cifar10", 2));
/// assert!(r.params["epoch_seconds"].as_f64().unwrap() > 0.0);
/// ```
pub fn cifar10(batch: usize, runs: usize) -> Result<BenchResult> {
    use crate::data::images::ImageDataset;
    use crate::data::transforms::Transform;
    use crate::data::DataLoader;
    use crate::nn::Module;
    use crate::train::cifar10::{augmentation, cifar_net, optimizer, Cifar10Config};
    use rand::{Rng, SeedableRng};

    let warmup = runs.clamp(1, 3);
    let steps = warmup + runs;
    let n = batch * steps;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let pixels: Vec<u8> = (0..n * 3 * 32 * 32).map(|_| rng.r#gen()).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.gen_range(0..10)).collect();
    let classes = (0..10).map(|c| c.to_string()).collect();
    let images = ImageDataset::new(pixels, labels, [3, 32, 32], classes)?;
    let normalize = images.channel_stats()?;
    let loader = DataLoader::new(std::sync::Arc::new(images), batch)?
        .shuffle(true)
        .transform(augmentation(normalize)?.into_batch_fn());
    crate::manual_seed(0);
    let model = cifar_net();
    let config = Cifar10Config::default();
    let (mut opt, mut sched) = optimizer(&config, model.parameters(), steps)?;
    let ce = crate::nn::loss::CrossEntropyLoss::new();
    let mut batches = loader.epoch(1);
    let step = || -> Result<()> {
        let b = batches.next().expect("enough batches")?;
        opt.zero_grad();
        let loss = ce.forward(&model.forward(&b.inputs)?, &b.targets)?;
        loss.backward()?;
        opt.step()?;
        if let Some(s) = sched.as_mut() {
            s.step(opt.as_mut());
        }
        loss.item().map(drop)
    };
    let samples = time_runs(warmup, runs, step)?;
    let r = BenchResult::from_samples("cifar10", samples);
    let epoch_seconds = r.median_ms * 1e-3 * 50_000f64 / batch as f64;
    Ok(r.param("batch", batch)
        .param("epoch_seconds", epoch_seconds)
        .param("augmentation", "crop 32 pad 4, flip, normalize")
        .param("optimizer", "sgd nesterov momentum 0.9 wd 5e-4")
        .param("dtype", "float32"))
}
