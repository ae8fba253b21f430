//! Each failure the doctor knows, reproduced on purpose (`mgp train ...
//! --break NAME`), so a learner can see it happen and see it caught.

use super::diagnosis::Cause;
use crate::data::Batch;
use crate::nn::loss::{ClassTarget, NLLLoss};
use crate::nn::Module;
use crate::optim::Optimizer;
use crate::tensor::{SliceMut, Tensor};
use crate::train::trainer::TrainingRun;
use crate::{Error, Result};
use std::sync::Arc;

/// A way to break a classifier recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Breakage {
    /// The learning rate times 10,000 (Adam's 1e-3 becomes 10).
    LrHigh,
    /// The learning rate divided by 10,000 (Adam's 1e-3 becomes 1e-7).
    LrLow,
    /// The loop never clears the gradients.
    NoZeroGrad,
    /// The first layer's biases start so negative that its ReLUs never fire.
    DeadRelu,
    /// Every weight matrix starts 10x too large.
    BadInit,
    /// The loss is `log(softmax(z / 0.001))` written by hand, without
    /// subtracting the largest logit.
    UnstableSoftmax,
    /// Pixels in [0, 255] instead of [0, 1].
    Unnormalised,
}

impl Breakage {
    /// Every breakage, in a fixed order.
    pub const ALL: [Breakage; 7] = [
        Breakage::LrHigh,
        Breakage::LrLow,
        Breakage::NoZeroGrad,
        Breakage::DeadRelu,
        Breakage::BadInit,
        Breakage::UnstableSoftmax,
        Breakage::Unnormalised,
    ];

    /// The flag's name (`"lr-high"`).
    ///
    /// ```
    /// use micrograd_plus::train::doctor::Breakage;
    /// assert_eq!(Breakage::NoZeroGrad.name(), "no-zero-grad");
    /// assert_eq!("no-zero-grad".parse::<Breakage>().unwrap(), Breakage::NoZeroGrad);
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Breakage::LrHigh => "lr-high",
            Breakage::LrLow => "lr-low",
            Breakage::NoZeroGrad => "no-zero-grad",
            Breakage::DeadRelu => "dead-relu",
            Breakage::BadInit => "bad-init",
            Breakage::UnstableSoftmax => "unstable-softmax",
            Breakage::Unnormalised => "unnormalised",
        }
    }

    /// What the doctor should name.
    ///
    /// ```
    /// use micrograd_plus::train::doctor::{Breakage, Cause};
    /// assert_eq!(Breakage::UnstableSoftmax.expected_cause(), Cause::NumericalInstability);
    /// ```
    pub fn expected_cause(self) -> Cause {
        match self {
            Breakage::LrHigh => Cause::LearningRateTooHigh,
            Breakage::LrLow => Cause::LearningRateTooLow,
            Breakage::NoZeroGrad => Cause::ForgottenZeroGrad,
            Breakage::DeadRelu => Cause::DyingRelu,
            Breakage::BadInit => Cause::BadInitialisation,
            Breakage::UnstableSoftmax => Cause::NumericalInstability,
            Breakage::Unnormalised => Cause::UnnormalisedInputs,
        }
    }

    /// One line saying what was broken.
    pub fn describe(self) -> &'static str {
        match self {
            Breakage::LrHigh => "learning rate x 10,000",
            Breakage::LrLow => "learning rate / 10,000",
            Breakage::NoZeroGrad => "gradients never cleared between steps",
            Breakage::DeadRelu => {
                "first layer's biases below minus the sum of its |weights|: its ReLUs never fire on inputs in [0, 1]"
            }
            Breakage::BadInit => "every weight matrix initialised 10x too large",
            Breakage::UnstableSoftmax => {
                "loss = log(softmax(logits / 0.001)) by hand, without subtracting the largest logit"
            }
            Breakage::Unnormalised => "pixels in [0, 255] instead of [0, 1]",
        }
    }

    /// The factor a learning-rate breakage multiplies every learning rate
    /// by (a schedule's whole curve, its peak included).
    ///
    /// ```
    /// use micrograd_plus::train::doctor::Breakage;
    /// assert_eq!(Breakage::LrHigh.lr_factor(), Some(1e4));
    /// assert_eq!(Breakage::BadInit.lr_factor(), None);
    /// ```
    pub fn lr_factor(self) -> Option<f64> {
        match self {
            Breakage::LrHigh => Some(1e4),
            Breakage::LrLow => Some(1e-4),
            _ => None,
        }
    }

    /// Whether the breakage means something for the GPT recipes: a
    /// transformer has GELUs, not ReLUs, and token ids, not pixels, so
    /// `dead-relu` and `unnormalised` do not apply.
    ///
    /// ```
    /// use micrograd_plus::train::doctor::Breakage;
    /// assert!(Breakage::UnstableSoftmax.applies_to_gpt());
    /// assert!(!Breakage::DeadRelu.applies_to_gpt());
    /// ```
    pub fn applies_to_gpt(self) -> bool {
        !matches!(self, Breakage::DeadRelu | Breakage::Unnormalised)
    }

    /// Breaks a freshly built classifier recipe. `DeadRelu` needs a first
    /// layer (weight then bias) feeding a ReLU and inputs in [0, 1];
    /// `Unnormalised` replaces the loaders' transforms, so it is for recipes
    /// without augmentation. (MLP and CNN on MNIST meet both.)
    pub fn apply(self, run: &mut TrainingRun) -> Result<()> {
        let trainer = &mut run.trainer;
        match self {
            Breakage::LrHigh | Breakage::LrLow => {
                let factor = self.lr_factor().unwrap_or(1.0);
                // A scheduler sets the lr at every step: the factor must
                // sit below it, on every lr it sets, not on the first one.
                let placeholder = Box::new(crate::optim::SGD::new(vec![], Default::default())?);
                let inner = std::mem::replace(&mut trainer.optimizer, placeholder);
                trainer.optimizer = Box::new(ScaledLr::new(inner, factor));
            }
            Breakage::NoZeroGrad => trainer.zero_grad = false,
            Breakage::DeadRelu => kill_first_layer(trainer.model.as_ref())?,
            Breakage::BadInit => scale_weight_matrices(trainer.model.as_ref()),
            Breakage::UnstableSoftmax => trainer.loss = Box::new(unstable_softmax_loss),
            Breakage::Unnormalised => {
                let scale = Arc::new(|b: Batch, _: &mut rand::rngs::StdRng| {
                    Ok(Batch {
                        inputs: &b.inputs * 255.0,
                        targets: b.targets,
                    })
                });
                run.train = run.train.clone().transform(scale.clone());
                run.test = run.test.clone().transform(scale);
            }
        }
        Ok(())
    }
}

/// `--break bad-init`: every weight matrix (parameters of 2 or more
/// dimensions) times 10.
pub fn scale_weight_matrices(model: &dyn Module) {
    for p in model.parameters().iter().filter(|p| p.ndim() >= 2) {
        p.update_any(|v| match v {
            SliceMut::F32(v) => v.iter_mut().for_each(|x| *x *= 10.0),
            SliceMut::F64(v) => v.iter_mut().for_each(|x| *x *= 10.0),
        });
    }
}

/// `--break unstable-softmax`: the negative log-likelihood of
/// `softmax(logits / 0.001)` written by hand, without subtracting the
/// largest logit, so `exp` overflows to inf and the log of `inf / inf` is
/// NaN (`logits` are `(N, C)`).
///
/// ```
/// use micrograd_plus::train::doctor::breakage::unstable_softmax_loss;
/// use micrograd_plus::Tensor;
/// let logits = Tensor::new([[0.5f32, 0.1]]).unwrap();
/// let loss = unstable_softmax_loss(&logits, &[0usize][..]).unwrap();
/// assert!(loss.item().unwrap().is_nan());
/// ```
pub fn unstable_softmax_loss(
    logits: &Tensor,
    targets: &(impl ClassTarget + ?Sized),
) -> Result<Tensor> {
    let e = (logits * 1000.0).exp();
    let p = e.div(&e.sum_dims(&[-1], true)?)?;
    NLLLoss::new().forward(&p.log(), targets)
}

/// An optimizer whose learning rate is `factor` times what it is set to
/// (`--break lr-high` and `lr-low`): under a scheduler, which sets the lr
/// at every step, the whole schedule is scaled, its peak included.
struct ScaledLr {
    inner: Box<dyn Optimizer>,
    factor: f64,
}

impl ScaledLr {
    fn new(mut inner: Box<dyn Optimizer>, factor: f64) -> ScaledLr {
        let lr = inner.lr();
        inner.set_lr(lr * factor);
        ScaledLr { inner, factor }
    }
}

impl Optimizer for ScaledLr {
    fn step(&mut self) -> Result<()> {
        self.inner.step()
    }
    fn zero_grad(&self) {
        self.inner.zero_grad()
    }
    /// The lr in use (scaled), as the run's lr column records it.
    fn lr(&self) -> f64 {
        self.inner.lr()
    }
    fn set_lr(&mut self, lr: f64) {
        self.inner.set_lr(lr * self.factor)
    }
    fn params(&self) -> &[Tensor] {
        self.inner.params()
    }
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        self.inner.state_dict()
    }
    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.inner.load_state_dict(state)
    }
}

/// Sets each first-layer bias to `-(Σ|w| + 1)` over that unit's weights:
/// with inputs in [0, 1] its output is at most -1, so the ReLU after it is
/// 0 for every input and no gradient ever reaches it.
fn kill_first_layer(model: &dyn Module) -> Result<()> {
    let params = model.named_parameters();
    let refuse = || {
        Error::argument(
            "--break dead-relu",
            "needs a model whose first layer has a weight and a bias",
        )
    };
    let [(w_name, w), (b_name, b), ..] = &params[..] else {
        return Err(refuse());
    };
    if !(w_name.ends_with("weight") && b_name.ends_with("bias") && b.numel() == w.shape()[0]) {
        return Err(refuse());
    }
    let per_unit = w.numel() / b.numel().max(1);
    let weights = w.to_vec::<f64>();
    b.update(|bias: &mut [f32]| {
        for (unit, bias) in bias.iter_mut().enumerate() {
            let sum: f64 = weights[unit * per_unit..(unit + 1) * per_unit]
                .iter()
                .map(|x| x.abs())
                .sum();
            *bias = -(sum as f32 + 1.0);
        }
    })
    .map_err(|_| refuse())
}

impl std::str::FromStr for Breakage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Breakage::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Breakage::ALL.iter().map(|b| b.name()).collect();
                Error::argument(
                    "--break",
                    format!(
                        "unknown breakage {s:?}: expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

impl std::fmt::Display for Breakage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
