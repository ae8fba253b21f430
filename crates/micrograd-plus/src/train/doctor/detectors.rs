//! The rules: from the numbers measured at each step ([`Observation`]) to
//! [`Diagnosis`] values, each cause reported once, the first time it is
//! seen. Pure arithmetic on plain numbers, so every rule is tested with
//! made-up sequences.
//!
//! The thresholds are deliberately far from what healthy runs show (the
//! course's recipes never trip them), so a warning means something.

use super::diagnosis::{Cause, Diagnosis};
use crate::nn::observe::ActivationKind;
use crate::tensor::anomaly::Anomaly;
use std::collections::{BTreeSet, VecDeque};

/// Steps whose losses make "the initial loss".
const INITIAL_STEPS: usize = 5;
/// Steps in the "recent loss" window.
const RECENT_STEPS: usize = 20;
/// Steps before a loss that has not moved counts as stuck.
const STUCK_AFTER_STEPS: usize = 100;
/// A loss within this fraction of its initial value has not moved...
const STUCK_TOLERANCE: f64 = 0.01;
/// ...if it never went below this fraction of it either (a loss that fell
/// and came back up is not stuck). With tiny steps, a recent loss above this
/// fraction of the initial one has not really fallen.
const STUCK_LOWEST: f64 = 0.9;
/// One step changing a weight tensor by more than this fraction of its norm
/// overwrites it (healthy training: about 1e-3; Adam's very first step at
/// its usual 1e-3 reaches 0.05 on MNIST's first layer).
const UPDATE_RATIO_HIGH: f64 = 0.3;
/// Below this, steps are too small to move the loss in any reasonable time.
const UPDATE_RATIO_LOW: f64 = 1e-4;
/// A recent loss this many times above max(initial, chance) has diverged.
const LOSS_RISE: f64 = 2.0;
/// A first loss this many times the chance level, and at least
/// [`BAD_INIT_EXCESS`] above it, comes from too large weights. Healthy
/// initialisations start within a few percent of chance (logits of standard
/// deviation σ add about σ²/2 nats); a GPT whose weight matrices are 10x too
/// large starts at 1.9x, LayerNorm having absorbed part of the scale.
const BAD_INIT_FACTOR: f64 = 1.5;
/// Nats above the chance level a first loss must also exceed: with two
/// classes (chance ln 2 = 0.69) 1.5x is only 0.35 nats, within what a
/// healthy but less calibrated start gives.
const BAD_INIT_EXCESS: f64 = 1.0;
/// Inputs with a mean or standard deviation beyond this are not normalised.
const INPUT_SCALE_LIMIT: f64 = 5.0;
/// Gradient norm this many times its early median: exploding.
const EXPLODING_FACTOR: f64 = 100.0;
/// First layer's gradient norm below this fraction of the last layer's: vanishing.
const VANISHING_RATIO: f64 = 1e-4;
/// A layer with this fraction of dead units (or saturated outputs) is reported.
const DEAD_OR_SATURATED: f64 = 0.5;
/// Below this fraction of a gradient being new since the step before, the
/// gradient is accumulating...
const FRESH_GRAD_LOW: f64 = 0.25;
/// ...when it is seen at this many probes in a row...
const FRESH_GRAD_PROBES: usize = 3;
/// ...while the norm grew this much (full-batch steps with a small learning
/// rate give nearly equal consecutive gradients too, at a steady norm).
const ACCUMULATED_GROWTH: f64 = 1.5;

/// A watched activation layer over a window of batches.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationSummary {
    /// The activation module's path.
    pub layer: String,
    /// Which activation.
    pub kind: ActivationKind,
    /// Number of units (features or channels).
    pub units: usize,
    /// Batches in the window.
    pub batches: usize,
    /// Units that were never positive in any batch of the window.
    pub dead_fraction: f64,
    /// Outputs in a flat tail (sigmoid, tanh), over the window.
    pub saturated_fraction: f64,
}

/// What the doctor measured at one step. `loss` and `grad_norm` come every
/// step, the rest on probe steps only (empty or `None` otherwise).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// 1-based training step.
    pub step: usize,
    /// The step's loss.
    pub loss: f64,
    /// Norm of all gradients together.
    pub grad_norm: f64,
    /// Gradient norm per layer, in the model's order.
    pub layer_grad_norms: Vec<(String, f64)>,
    /// Per layer with a weight matrix: `‖w_after − w_before‖ / ‖w_before‖`.
    pub update_ratios: Vec<(String, f64)>,
    /// `‖g_t − g_{t−1}‖ / ‖g_t‖`: the part of this step's gradient that is
    /// new (near 0 when gradients are summed across steps).
    pub fresh_grad_ratio: Option<f64>,
    /// Mean and standard deviation of the batch's inputs.
    pub input_mean_std: Option<(f64, f64)>,
    /// Activation windows completed at this step.
    pub activations: Vec<ActivationSummary>,
}

/// The rules' memory across steps.
#[derive(Debug, Clone, Default)]
pub struct Detectors {
    classes: Option<usize>,
    reported: BTreeSet<Cause>,
    steps: usize,
    first_losses: Vec<f64>,
    recent_losses: VecDeque<f64>,
    lowest_loss: f64,
    first_grad_norms: Vec<f64>,
    last_update_ratio: Option<(String, f64)>,
    low_fresh_probes: usize,
    fresh_start: Option<(usize, f64)>,
    inputs_unnormalised: bool,
}

/// A number for a message: fixed-point in the usual range, scientific outside it.
fn num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e4).contains(&v.abs()) {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n.max(1) as f64
}

/// Builds a diagnosis; non-finite numbers are left out (the message has them).
fn diagnosis(
    cause: Cause,
    step: usize,
    layer: Option<&str>,
    numbers: &[(&str, f64)],
    message: String,
) -> Diagnosis {
    Diagnosis {
        cause,
        step,
        layer: layer.map(str::to_string),
        numbers: numbers
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        message,
    }
}

impl Detectors {
    /// Rules for a classifier over `classes` classes (chance level
    /// `ln classes`), or for any loss when `None` (no chance-level rules).
    pub fn new(classes: Option<usize>) -> Detectors {
        Detectors {
            classes: classes.filter(|&c| c >= 2),
            ..Default::default()
        }
    }

    /// The loss of uniform guessing, `ln C`, when the classes are known.
    pub fn chance_level(&self) -> Option<f64> {
        self.classes.map(|c| (c as f64).ln())
    }

    /// Marks `cause` as already reported (a resumed run's earlier warnings).
    pub fn mark_reported(&mut self, cause: Cause) {
        self.reported.insert(cause);
    }

    /// Applies every rule to one step's observation; returns the causes seen
    /// for the first time.
    pub fn check(&mut self, o: &Observation) -> Vec<Diagnosis> {
        let mut found = Vec::new();
        self.check_inputs(o, &mut found);
        if !(o.loss.is_finite() && o.grad_norm.is_finite()) {
            self.check_non_finite(o, &mut found);
        } else {
            self.steps += 1;
            if self.first_losses.len() < INITIAL_STEPS {
                self.first_losses.push(o.loss);
            }
            if self.recent_losses.len() == RECENT_STEPS {
                self.recent_losses.pop_front();
            }
            self.recent_losses.push_back(o.loss);
            self.lowest_loss = if self.steps == 1 {
                o.loss
            } else {
                self.lowest_loss.min(o.loss)
            };
            if self.steps == 1 {
                self.check_first_loss(o, &mut found);
            }
            self.check_updates(o, &mut found);
            self.check_loss_rise(o, &mut found);
            self.check_gradients(o, &mut found);
            self.check_activations(o, &mut found);
            self.check_accumulation(o, &mut found);
            self.check_stuck(o, &mut found);
        }
        found.retain(|d| self.reported.insert(d.cause));
        found
    }

    fn initial_loss(&self) -> f64 {
        mean(self.first_losses.iter().copied())
    }

    fn check_inputs(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        let Some((m, s)) = o.input_mean_std else {
            return;
        };
        if m.abs() > INPUT_SCALE_LIMIT || s > INPUT_SCALE_LIMIT {
            self.inputs_unnormalised = true;
            found.push(diagnosis(
                Cause::UnnormalisedInputs,
                o.step,
                None,
                &[("input_mean", m), ("input_std", s)],
                format!(
                    "the inputs have mean {m:.3} and standard deviation {s:.3}. Inputs this large make \
                     the first layer's outputs and the logits huge: a large first loss, dead or saturated \
                     units, wild gradients. Fix: scale the inputs to mean 0 and standard deviation 1 \
                     (or pixels to [0, 1]) before training, with the training set's statistics."
                ),
            ));
        }
    }

    fn check_non_finite(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        let initial = self.initial_loss();
        let last = self.recent_losses.back().copied();
        let what = if o.loss.is_finite() {
            format!("the gradient norm became {}", o.grad_norm)
        } else {
            format!("the loss became {}", o.loss)
        };
        match last {
            Some(last) if last > LOSS_RISE * initial.max(self.chance_level().unwrap_or(0.0)) => {
                found.push(diagnosis(
                    Cause::LearningRateTooHigh,
                    o.step,
                    None,
                    &[("initial_loss", initial), ("last_finite_loss", last)],
                    format!(
                        "the loss rose from {initial:.4} to {last:.4}, then {what}: training diverged. \
                         Fix: lower the learning rate 10x to 100x, or clip the gradient norm."
                    ),
                ))
            }
            _ => found.push(diagnosis(
                Cause::NumericalInstability,
                o.step,
                None,
                &[("last_finite_loss", last.unwrap_or(f64::NAN))],
                format!(
                    "{what} at once, without a rising loss before it ({}). An exp overflowed (e^x is \
                     inf above x = 88 in f32) or a log was given 0: typically a softmax followed by a \
                     log written by hand on large logits. Fix: use log_softmax or cross_entropy, which \
                     subtract the largest logit first, or clamp probabilities before taking their log.",
                    match last {
                        Some(l) => format!("the loss before was {l:.4}"),
                        None => "it was the first step".to_string(),
                    }
                ),
            )),
        }
    }

    /// The first op that made an inf or a NaN, found by anomaly mode
    /// during `step`: a numerical-instability diagnosis naming the op, or
    /// `None` when that cause was already reported.
    pub fn anomaly(&mut self, step: usize, a: &Anomaly) -> Option<Diagnosis> {
        if !self.reported.insert(Cause::NumericalInstability) {
            return None;
        }
        let why = match (a.likely_cause(), a.given_finite) {
            (_, false) => "it was handed a value that was already inf or NaN: the inputs or \
                           the weights are not finite (bad data, or an earlier diverging step)"
                .to_string(),
            (Some(cause), true) => format!("the likely cause: {cause}"),
            (None, true) => "this op cannot take the values it was given".to_string(),
        };
        Some(diagnosis(
            Cause::NumericalInstability,
            step,
            None,
            &[],
            format!(
                "anomaly mode: {a}; {why}. Fix: use log_softmax or cross_entropy instead of a \
                 softmax and a log written by hand (they subtract the largest logit first), clamp \
                 what goes into a log, sqrt or division away from 0, or lower the learning rate \
                 if the values grew over the steps before."
            ),
        ))
    }

    fn check_first_loss(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        let (Some(chance), Some(classes)) = (self.chance_level(), self.classes) else {
            return;
        };
        if o.loss > BAD_INIT_FACTOR * chance
            && o.loss - chance > BAD_INIT_EXCESS
            && !self.inputs_unnormalised
        {
            found.push(diagnosis(
                Cause::BadInitialisation,
                o.step,
                None,
                &[("first_loss", o.loss), ("chance_level", chance)],
                format!(
                    "the first loss is {:.4}, {:.1}x the chance level ln {classes} = {chance:.4}. An \
                     untrained network should guess about uniformly; a first loss this high means the \
                     initial weights are too large, so the logits are huge and confidently wrong. Fix: \
                     use the default initialisation (Kaiming/He for ReLU, Xavier for tanh), or scale \
                     the last layer's weights down.",
                    o.loss,
                    o.loss / chance
                ),
            ));
        }
    }

    fn check_updates(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        let Some((layer, ratio)) = o
            .update_ratios
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .cloned()
        else {
            return;
        };
        if ratio > UPDATE_RATIO_HIGH {
            found.push(diagnosis(
                Cause::LearningRateTooHigh,
                o.step,
                Some(&layer),
                &[("update_ratio", ratio)],
                format!(
                    "one step changed this layer's weights by {:.0}% of their size (healthy steps change \
                     them by about 0.1%): the weights are being overwritten, not tuned. Fix: lower the \
                     learning rate 10x to 100x (Adam usually works at 1e-3, SGD at 0.01 to 0.1), or \
                     add a warm-up.",
                    100.0 * ratio
                ),
            ));
        }
        self.last_update_ratio = Some((layer, ratio));
    }

    fn check_loss_rise(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        if self.recent_losses.len() < RECENT_STEPS || self.steps < 2 * RECENT_STEPS {
            return;
        }
        let (initial, recent) = (
            self.initial_loss(),
            mean(self.recent_losses.iter().copied()),
        );
        let reference = initial.max(self.chance_level().unwrap_or(0.0));
        if recent > LOSS_RISE * reference {
            found.push(diagnosis(
                Cause::LearningRateTooHigh,
                o.step,
                None,
                &[("initial_loss", initial), ("recent_loss", recent)],
                format!(
                    "the loss rose from {initial:.4} to {recent:.4} over the last {RECENT_STEPS} steps: \
                     each step overshoots. Fix: lower the learning rate 10x to 100x."
                ),
            ));
        }
    }

    fn check_gradients(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        if self.first_grad_norms.len() < 10 {
            self.first_grad_norms.push(o.grad_norm);
            return;
        }
        let mut early = self.first_grad_norms.clone();
        early.sort_by(f64::total_cmp);
        let median = early[early.len() / 2];
        if o.grad_norm > EXPLODING_FACTOR * median && o.grad_norm > 1.0 {
            found.push(diagnosis(
                Cause::ExplodingGradients,
                o.step,
                None,
                &[("grad_norm", o.grad_norm), ("early_grad_norm", median)],
                format!(
                    "the gradient norm is {}, {:.0}x its value over the first steps ({}): \
                     each step makes the next one bigger. Fix: clip the gradient norm (clip_grad_norm, \
                     e.g. to 1.0), lower the learning rate, or add normalisation layers.",
                    num(o.grad_norm),
                    o.grad_norm / median,
                    num(median)
                ),
            ));
        }
        if let (Some((first, g_first)), Some((last, g_last))) =
            (o.layer_grad_norms.first(), o.layer_grad_norms.last())
        {
            // An exactly zero gradient is dead units, not vanishing ones.
            if o.layer_grad_norms.len() >= 3
                && *g_first > 0.0
                && *g_last > 0.0
                && g_first / g_last < VANISHING_RATIO
            {
                found.push(diagnosis(
                    Cause::VanishingGradients,
                    o.step,
                    Some(first),
                    &[("first_layer_grad_norm", *g_first), ("last_layer_grad_norm", *g_last)],
                    format!(
                        "this first layer's gradient norm is {}, {:.1e} of the last layer's \
                         ({last}: {}): the signal fades on its way back and the first layers \
                         barely learn. Fix: ReLU-family activations instead of sigmoid/tanh, Kaiming \
                         initialisation, normalisation layers or residual connections.",
                        num(*g_first),
                        g_first / g_last,
                        num(*g_last)
                    ),
                ));
            }
        }
    }

    fn check_activations(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        for a in &o.activations {
            let kind = format!("{:?}", a.kind);
            if a.kind == ActivationKind::ReLU && a.dead_fraction >= DEAD_OR_SATURATED {
                found.push(diagnosis(
                    Cause::DyingRelu,
                    o.step,
                    Some(&a.layer),
                    &[("dead_fraction", a.dead_fraction), ("units", a.units as f64)],
                    format!(
                        "{:.0}% of this ReLU layer's {} units output 0 for every input of the last {} \
                         batches: they get no gradient and cannot recover. Usual causes: a learning rate \
                         too high (one big step pushed their inputs negative) or a bad initialisation. \
                         Fix: lower the learning rate, use Kaiming (He) initialisation, or LeakyReLU/GELU.",
                        100.0 * a.dead_fraction,
                        a.units,
                        a.batches
                    ),
                ));
            }
            if a.kind != ActivationKind::ReLU && a.saturated_fraction >= DEAD_OR_SATURATED {
                found.push(diagnosis(
                    Cause::SaturatedActivation,
                    o.step,
                    Some(&a.layer),
                    &[("saturated_fraction", a.saturated_fraction)],
                    format!(
                        "{:.0}% of this {kind} layer's outputs sit in its flat tails, where its slope is \
                         almost 0: the gradient through it vanishes. Usual causes: inputs or weights too \
                         large. Fix: normalise the inputs, Xavier initialisation, a lower learning rate, \
                         or ReLU-family activations.",
                        100.0 * a.saturated_fraction
                    ),
                ));
            }
        }
    }

    fn check_accumulation(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        let Some(fresh) = o.fresh_grad_ratio else {
            return;
        };
        if fresh >= FRESH_GRAD_LOW {
            self.low_fresh_probes = 0;
            self.fresh_start = None;
            return;
        }
        self.low_fresh_probes += 1;
        let (start_step, start_norm) = *self.fresh_start.get_or_insert((o.step, o.grad_norm));
        if self.low_fresh_probes >= FRESH_GRAD_PROBES
            && o.grad_norm >= ACCUMULATED_GROWTH * start_norm
        {
            found.push(diagnosis(
                Cause::ForgottenZeroGrad,
                o.step,
                None,
                &[
                    ("fresh_grad_ratio", fresh),
                    ("grad_norm", o.grad_norm),
                    ("grad_norm_before", start_norm),
                ],
                format!(
                    "only {:.0}% of this step's gradient is new; the rest is the previous steps' \
                     gradients, and the norm went from {} at step {start_step} to {}: \
                     gradients are being summed across steps instead of cleared. Fix: call \
                     optimizer.zero_grad() (or model.zero_grad()) before every backward().",
                    100.0 * fresh,
                    num(start_norm),
                    num(o.grad_norm)
                ),
            ));
        }
    }

    fn check_stuck(&mut self, o: &Observation, found: &mut Vec<Diagnosis>) {
        if self.steps < STUCK_AFTER_STEPS {
            return;
        }
        let (initial, recent) = (
            self.initial_loss(),
            mean(self.recent_losses.iter().copied()),
        );
        let ratio = self.last_update_ratio.as_ref().map(|(_, r)| *r);
        // Steps too small to matter, and the loss has not really fallen: the
        // learning rate. The loss may still wander (dropout, batches of two),
        // so this asks only that it did not fall by a tenth. Normal-sized
        // steps that do not move the loss at all: stuck.
        let cause =
            if ratio.is_some_and(|r| r < UPDATE_RATIO_LOW) && recent > STUCK_LOWEST * initial {
                Cause::LearningRateTooLow
            } else if (recent - initial).abs() <= STUCK_TOLERANCE * initial.abs().max(1e-12)
                && self.lowest_loss >= STUCK_LOWEST * initial
            {
                Cause::LossStuck
            } else {
                return;
            };
        // A long stuck run stays stuck: say it (and build the words) once.
        if self.reported.contains(&cause) {
            return;
        }
        let chance = match (self.chance_level(), self.classes) {
            (Some(c), Some(n)) => format!("; chance level ln {n} = {c:.4}"),
            _ => String::new(),
        };
        let still = format!(
            "the loss is still {recent:.4} after {} steps (it started at {initial:.4}{chance})",
            self.steps
        );
        let losses = [("initial_loss", initial), ("recent_loss", recent)];
        found.push(match (cause, &self.last_update_ratio) {
            (Cause::LearningRateTooLow, Some((layer, ratio))) => diagnosis(
                cause,
                o.step,
                Some(layer),
                &[losses[0], losses[1], ("update_ratio", *ratio)],
                format!(
                    "{still} and each step changes the weights by only {ratio:.1e} of their size \
                     (healthy: about 1e-3). Fix: raise the learning rate 10x to 100x (Adam usually \
                     works at 1e-3)."
                ),
            ),
            (_, update) => diagnosis(
                cause,
                o.step,
                None,
                &losses,
                format!(
                    "{still}{}: the updates do not reach the loss. Check that the optimizer holds \
                     this model's parameters, that the labels match the inputs, and that no layer \
                     is dead.",
                    match update {
                        Some((_, r)) => {
                            format!(
                                " although each step changes the weights by {r:.1e} of their size"
                            )
                        }
                        None => String::new(),
                    }
                ),
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(step: usize, loss: f64, grad_norm: f64) -> Observation {
        Observation {
            step,
            loss,
            grad_norm,
            ..Default::default()
        }
    }

    /// Runs the observations through fresh 10-class rules; every diagnosis.
    /// Every diagnosis of a classifier over ten classes.
    fn run(observations: impl IntoIterator<Item = Observation>) -> Vec<Diagnosis> {
        run_with(10, observations)
    }

    fn run_with(
        classes: usize,
        observations: impl IntoIterator<Item = Observation>,
    ) -> Vec<Diagnosis> {
        let mut d = Detectors::new(Some(classes));
        observations.into_iter().flat_map(|o| d.check(&o)).collect()
    }

    fn causes(found: &[Diagnosis]) -> Vec<(Cause, usize)> {
        found.iter().map(|d| (d.cause, d.step)).collect()
    }

    /// A healthy run: loss falling from chance, noisy gradients, small updates.
    fn healthy(steps: usize) -> impl Iterator<Item = Observation> {
        (1..=steps).map(|s| {
            let mut o = step(
                s,
                2.3 * (-(s as f64) / 200.0).exp() + 0.1,
                1.0 + 0.3 * ((s % 7) as f64),
            );
            if s.is_multiple_of(10) {
                o.update_ratios = vec![("0".into(), 2e-3), ("2".into(), 1e-3)];
                o.fresh_grad_ratio = Some(1.2);
                o.layer_grad_norms = vec![("0".into(), 0.5), ("2".into(), 0.8)];
            }
            o
        })
    }

    #[test]
    fn a_healthy_run_gets_no_warning() {
        assert_eq!(causes(&run(healthy(1000))), []);
    }

    #[test]
    fn huge_updates_are_a_learning_rate_too_high_once() {
        let found = run((1..=50).map(|s| Observation {
            update_ratios: vec![("0".into(), 0.01), ("2".into(), 4.5)],
            ..step(s, 2.3, 1.0)
        }));
        assert_eq!(causes(&found), [(Cause::LearningRateTooHigh, 1)]);
        assert_eq!(found[0].layer.as_deref(), Some("2"));
        assert_eq!(found[0].numbers["update_ratio"], 4.5);
        assert!(found[0].message.contains("450%"), "{}", found[0].message);
    }

    #[test]
    fn a_rising_loss_is_a_learning_rate_too_high() {
        let found = run((1..=60).map(|s| step(s, 2.3 + 0.2 * s as f64, 1.0)));
        // Recent mean (steps 21..40: 6.5..10.3, mean 8.4) passes 2 x 2.9 at step 40.
        assert_eq!(causes(&found), [(Cause::LearningRateTooHigh, 40)]);
    }

    #[test]
    fn a_flat_loss_with_tiny_updates_is_a_learning_rate_too_low_and_with_normal_updates_stuck() {
        let flat = |ratio: f64| {
            (1..=150usize).map(move |s| Observation {
                update_ratios: if s.is_multiple_of(10) {
                    vec![("0".into(), ratio)]
                } else {
                    vec![]
                },
                ..step(s, std::f64::consts::LN_10 + 1e-4 * ((s % 3) as f64), 0.1)
            })
        };
        let low = run(flat(3e-7));
        assert_eq!(causes(&low), [(Cause::LearningRateTooLow, 100)]);
        assert_eq!(low[0].numbers["update_ratio"], 3e-7);
        assert!(
            low[0].message.contains("chance level ln 10 = 2.3026"),
            "{}",
            low[0].message
        );
        assert_eq!(causes(&run(flat(1e-3))), [(Cause::LossStuck, 100)]);
        // A loss that fell to 1.0 and came back is not stuck.
        let returned = flat(1e-3).map(|o| Observation {
            loss: if (40..60).contains(&o.step) {
                1.0
            } else {
                o.loss
            },
            ..o
        });
        assert_eq!(causes(&run(returned)), []);
    }

    #[test]
    fn tiny_updates_under_a_noisy_loss_are_still_a_learning_rate_too_low() {
        // Dropout or batches of two make the loss wander by ±5% around
        // ln 65 (a character model's chance level): not flat to 1%, but
        // it never falls by a tenth.
        let noisy = |ratio: f64| {
            (1..=120usize).map(move |s| Observation {
                update_ratios: vec![("head".into(), ratio)],
                ..step(
                    s,
                    65f64.ln() * (1.0 + 0.05 * ((s * 7 % 5) as f64 - 2.0) / 2.0),
                    0.1,
                )
            })
        };
        let found = run_with(65, noisy(2e-7));
        assert_eq!(causes(&found), [(Cause::LearningRateTooLow, 100)]);
        assert_eq!(found[0].layer.as_deref(), Some("head"));
        // The same loss under normal-sized steps is stuck for another reason.
        assert_eq!(
            causes(&run_with(65, noisy(1e-3))),
            [(Cause::LossStuck, 100)]
        );
        // Tiny steps at the end of a run whose loss fell (a decayed
        // schedule) are not a learning rate too low either.
        let fell = (1..=120usize).map(|s| Observation {
            update_ratios: vec![("head".into(), 1e-6)],
            ..step(s, 4.0 / s as f64, 0.1)
        });
        assert_eq!(causes(&run_with(65, fell)), []);
    }

    #[test]
    fn a_sudden_nan_is_numerical_instability_and_after_a_rise_divergence() {
        let sudden = run((1..=5).map(|s| step(s, if s == 3 { f64::NAN } else { 2.3 }, 1.0)));
        assert_eq!(causes(&sudden), [(Cause::NumericalInstability, 3)]);
        assert!(
            sudden[0].message.contains("the loss became NaN"),
            "{}",
            sudden[0].message
        );
        let first = run([step(1, f64::INFINITY, f64::NAN)]);
        assert_eq!(causes(&first), [(Cause::NumericalInstability, 1)]);
        assert!(
            first[0].numbers.is_empty(),
            "non-finite numbers are left out"
        );
        let diverged = run((1..=7).map(|s| match s {
            6 => step(s, 50.0, 10.0),
            7 => step(s, f64::NAN, 1.0),
            _ => step(s, 2.3, 1.0),
        }));
        assert_eq!(causes(&diverged), [(Cause::LearningRateTooHigh, 7)]);
    }

    #[test]
    fn a_first_loss_far_above_chance_is_bad_initialisation_unless_the_inputs_explain_it() {
        let found = run([step(1, 40.0, 1.0), step(2, 30.0, 1.0)]);
        assert_eq!(causes(&found), [(Cause::BadInitialisation, 1)]);
        assert!(
            found[0]
                .message
                .contains("17.4x the chance level ln 10 = 2.3026"),
            "{}",
            found[0].message
        );
        let unnormalised = run([Observation {
            input_mean_std: Some((33.3, 78.6)),
            ..step(1, 40.0, 1.0)
        }]);
        assert_eq!(causes(&unnormalised), [(Cause::UnnormalisedInputs, 1)]);
        assert_eq!(unnormalised[0].numbers["input_std"], 78.6);
        // A GPT's 10x weights under LayerNorm start at 1.9x ln 65.
        let gpt = run_with(65, [step(1, 7.9, 1.0)]);
        assert_eq!(causes(&gpt), [(Cause::BadInitialisation, 1)]);
        // Two classes: 1.2 is 1.7x ln 2 but only 0.5 nats above it, what
        // logits of standard deviation 1 give; a healthy start.
        assert_eq!(causes(&run_with(2, [step(1, 1.2, 1.0)])), []);
        assert_eq!(
            causes(&run_with(2, [step(1, 1.8, 1.0)])),
            [(Cause::BadInitialisation, 1)]
        );
        // MNIST pixels in [0, 1] are fine.
        assert_eq!(
            causes(&run([Observation {
                input_mean_std: Some((0.13, 0.31)),
                ..step(1, 2.3, 1.0)
            }])),
            []
        );
    }

    #[test]
    fn gradients_growing_100x_explode_and_fading_ones_vanish() {
        let found = run((1..=30).map(|s| step(s, 2.0, if s > 20 { 500.0 } else { 2.0 })));
        assert_eq!(causes(&found), [(Cause::ExplodingGradients, 21)]);
        let vanishing = run((1..=12).map(|s| Observation {
            layer_grad_norms: vec![("0".into(), 1e-9), ("2".into(), 1e-3), ("4".into(), 1.0)],
            ..step(s, 2.0, 1.0)
        }));
        assert_eq!(causes(&vanishing), [(Cause::VanishingGradients, 11)]);
        assert_eq!(vanishing[0].layer.as_deref(), Some("0"));
    }

    #[test]
    fn dead_relus_and_saturated_sigmoids_name_their_layer() {
        let summary = |layer: &str, kind, dead, saturated| ActivationSummary {
            layer: layer.into(),
            kind,
            units: 128,
            batches: 5,
            dead_fraction: dead,
            saturated_fraction: saturated,
        };
        let found = run([
            Observation {
                activations: vec![
                    summary("1", ActivationKind::ReLU, 0.1, 0.0),
                    summary("3", ActivationKind::ReLU, 127.0 / 128.0, 0.0),
                ],
                ..step(1, 2.3, 1.0)
            },
            Observation {
                activations: vec![summary("5", ActivationKind::Sigmoid, 0.0, 0.9)],
                ..step(2, 2.3, 1.0)
            },
        ]);
        assert_eq!(
            causes(&found),
            [(Cause::DyingRelu, 1), (Cause::SaturatedActivation, 2)]
        );
        assert_eq!(found[0].layer.as_deref(), Some("3"));
        assert!(
            found[0]
                .message
                .starts_with("99% of this ReLU layer's 128 units"),
            "{}",
            found[0].message
        );
        assert_eq!(found[1].layer.as_deref(), Some("5"));
    }

    #[test]
    fn gradients_that_are_mostly_old_are_a_forgotten_zero_grad() {
        let accumulating = (1..=40usize).map(|s| Observation {
            fresh_grad_ratio: s.is_multiple_of(10).then_some(1.0 / s as f64),
            ..step(s, 2.3, s as f64)
        });
        let found = run(accumulating);
        // Probes at 10 (0.10), 20, 30: the third low one in a row reports.
        assert_eq!(causes(&found), [(Cause::ForgottenZeroGrad, 30)]);
        assert_eq!(found[0].numbers["grad_norm_before"], 10.0);
        // Equal gradients at a steady norm: full-batch steps, not a sum.
        let full_batch = (1..=60usize).map(|s| Observation {
            fresh_grad_ratio: s.is_multiple_of(10).then_some(0.01),
            ..step(s, 2.3 - s as f64 / 100.0, 3.0)
        });
        assert_eq!(causes(&run(full_batch)), []);
        // A low ratio now and then (two consecutive gradients alike) is not enough.
        let noisy = (1..=100usize).map(|s| Observation {
            fresh_grad_ratio: s
                .is_multiple_of(10)
                .then_some(if s % 30 == 0 { 0.1 } else { 1.0 }),
            ..step(s, 2.3 - s as f64 / 100.0, 1.0)
        });
        assert_eq!(causes(&run(noisy)), []);
    }

    #[test]
    fn resumed_runs_do_not_repeat_earlier_warnings() {
        let mut d = Detectors::new(Some(10));
        d.mark_reported(Cause::BadInitialisation);
        assert_eq!(d.check(&step(1, 40.0, 1.0)), []);
    }
}
