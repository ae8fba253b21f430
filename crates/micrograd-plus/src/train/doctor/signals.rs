//! The numbers the doctor measures, how it measures them from a model's
//! parameters and gradients, and how they are kept: one [`Signal`] per
//! (step, name, layer), written as the run folder's `doctor.csv`.

use crate::nn::Module;
use crate::tensor::{with_slice, Tensor};
use crate::{Error, Result};

/// The loss of the step (layer empty).
pub const LOSS: &str = "loss";
/// The loss of uniform guessing, `ln C` (step 0, layer empty).
pub const CHANCE_LEVEL: &str = "chance_level";
/// A gradient norm: all parameters (layer empty) or one layer's.
pub const GRAD_NORM: &str = "grad_norm";
/// `‖Δw‖ / ‖w‖` of a layer's weight matrix in one step.
pub const UPDATE_RATIO: &str = "update_ratio";
/// `‖g_t − g_{t−1}‖ / ‖g_t‖`: the new part of the gradient.
pub const FRESH_GRAD_RATIO: &str = "fresh_grad_ratio";
/// Fraction of a ReLU layer's units never positive over a window of batches.
pub const DEAD_FRACTION: &str = "dead_fraction";
/// Fraction of a sigmoid/tanh layer's outputs in its flat tails.
pub const SATURATED_FRACTION: &str = "saturated_fraction";
/// Mean of a batch's inputs.
pub const INPUT_MEAN: &str = "input_mean";
/// Standard deviation of a batch's inputs.
pub const INPUT_STD: &str = "input_std";

/// One measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// 1-based training step (0 for run constants such as the chance level).
    pub step: usize,
    /// What was measured (one of this module's constants).
    pub name: String,
    /// The layer, or empty for the whole model.
    pub layer: String,
    /// The value (may be inf or NaN).
    pub value: f64,
}

const CSV_HEADER: &str = "step,signal,layer,value";

/// The signals as CSV (`step,signal,layer,value`, one row each).
///
/// ```
/// use micrograd_plus::train::doctor::signals::{signals_from_csv, signals_to_csv, Signal};
/// let s = vec![Signal { step: 3, name: "grad_norm".into(), layer: "0".into(), value: f64::INFINITY }];
/// let csv = signals_to_csv(&s);
/// assert_eq!(csv, "step,signal,layer,value\n3,grad_norm,0,inf\n");
/// assert_eq!(signals_from_csv(&csv).unwrap(), s);
/// ```
pub fn signals_to_csv(signals: &[Signal]) -> String {
    let mut out = String::with_capacity(32 * (signals.len() + 1));
    out.push_str(CSV_HEADER);
    out.push('\n');
    for s in signals {
        out.push_str(&format!("{},{},{},{}\n", s.step, s.name, s.layer, s.value));
    }
    out
}

/// Reads CSV written by [`signals_to_csv`]; errors name the line.
pub fn signals_from_csv(text: &str) -> Result<Vec<Signal>> {
    let err = |line: usize, msg: &str| Error::argument("doctor.csv", format!("line {line}: {msg}"));
    let mut lines = text.lines();
    if lines.next() != Some(CSV_HEADER) {
        return Err(err(1, &format!("expected the header {CSV_HEADER:?}")));
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            let [step, name, layer, value] = fields[..] else {
                return Err(err(i + 2, "expected 4 fields"));
            };
            Ok(Signal {
                step: step.parse().map_err(|_| err(i + 2, "bad step"))?,
                name: name.to_string(),
                layer: layer.to_string(),
                value: value.parse().map_err(|_| err(i + 2, "bad value"))?,
            })
        })
        .collect()
}

/// The layer a parameter belongs to: its path without the last part
/// (`"0.weight"` → `"0"`, `"blocks.1.attn.qkv.bias"` → `"blocks.1.attn.qkv"`).
pub fn layer_of(parameter: &str) -> &str {
    parameter.rsplit_once('.').map_or("", |(layer, _)| layer)
}

/// `Σ f(a[i], b[i])` in f64 over 8 independent partial sums: one running
/// sum is a chain of dependent additions (4 cycles each), which made the
/// doctor's passes over the gradients 10% of an MLP step.
fn lane_sum<A: Copy, B: Copy>(a: &[A], b: &[B], f: impl Fn(A, B) -> f64) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    let rest: f64 = a
        .remainder()
        .iter()
        .zip(b.remainder())
        .map(|(x, y)| f(*x, *y))
        .sum();
    let mut lanes = [0.0f64; 8];
    for (xs, ys) in a.zip(b) {
        for ((lane, x), y) in lanes.iter_mut().zip(xs).zip(ys) {
            *lane += f(*x, *y);
        }
    }
    lanes.iter().sum::<f64>() + rest
}

/// Sum of squares, in f64.
fn sum_sq(t: &Tensor) -> f64 {
    with_slice!(&*t.storage(), |v: T| lane_sum(v, v, |x, _| x.as_f64()
        * x.as_f64()))
}

/// `(Σ (now − before)², Σ square)` of a tensor against a copy of its
/// earlier values (`square` of the values before, or now).
fn diff_and_norm(now: &Tensor, before: &[f64], square_before: bool) -> (f64, f64) {
    with_slice!(&*now.storage(), |v: T| {
        let diff = lane_sum(v, before, |x, o| (x.as_f64() - o) * (x.as_f64() - o));
        let norm = if square_before {
            lane_sum(before, before, |o, _| o * o)
        } else {
            lane_sum(v, v, |x, _| x.as_f64() * x.as_f64())
        };
        (diff, norm)
    })
}

/// The norm of all gradients together and per layer (in the model's order;
/// layers without any gradient are left out).
pub fn grad_norms(model: &dyn Module) -> (f64, Vec<(String, f64)>) {
    let mut per_layer: Vec<(String, f64)> = Vec::new();
    model.visit_parameters(&mut |name, p| {
        if let Some(g) = p.grad() {
            let layer = layer_of(name);
            let s = sum_sq(&g);
            match per_layer.last_mut() {
                Some((l, sum)) if l == layer => *sum += s,
                _ => per_layer.push((layer.to_string(), s)),
            }
        }
    });
    let total = per_layer.iter().map(|(_, s)| s).sum::<f64>().sqrt();
    for (_, s) in &mut per_layer {
        *s = s.sqrt();
    }
    (total, per_layer)
}

/// Copies of the weight matrices (parameters of 2 or more dimensions) by layer.
pub fn weights(model: &dyn Module) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    model.visit_parameters(&mut |name, p| {
        if p.ndim() >= 2 {
            out.push((layer_of(name).to_string(), p.to_vec::<f64>()));
        }
    });
    out
}

/// `‖w_now − w_before‖ / ‖w_before‖` per weight matrix, `before` from
/// [`weights`] on the same model (a layer with a zero weight is skipped).
pub fn update_ratios(model: &dyn Module, before: &[(String, Vec<f64>)]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut before = before.iter();
    model.visit_parameters(&mut |_, p| {
        if p.ndim() < 2 {
            return;
        }
        let Some((layer, old)) = before.next() else {
            return;
        };
        let (diff, norm) = diff_and_norm(p, old, true);
        if norm > 0.0 {
            out.push((layer.clone(), (diff / norm).sqrt()));
        }
    });
    out
}

/// Copies of every gradient, in parameter order (empty where none).
pub fn gradients(model: &dyn Module) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    model.visit_parameters(&mut |_, p| {
        out.push(p.grad().map(|g| g.to_vec::<f64>()).unwrap_or_default())
    });
    out
}

/// `‖g_now − g_before‖ / ‖g_now‖` over all parameters, `before` from
/// [`gradients`]; `None` when the gradients are all zero or do not match.
pub fn fresh_grad_ratio(model: &dyn Module, before: &[Vec<f64>]) -> Option<f64> {
    let (mut diff, mut norm, mut matched) = (0.0, 0.0, true);
    let mut before = before.iter();
    model.visit_parameters(&mut |_, p| {
        let old = before.next();
        let Some(g) = p.grad() else {
            return;
        };
        match old {
            Some(old) if old.len() == g.numel() => {
                let (d, n) = diff_and_norm(&g, old, false);
                diff += d;
                norm += n;
            }
            _ => matched = false,
        }
    });
    (matched && norm > 0.0).then(|| (diff / norm).sqrt())
}

/// Mean and standard deviation of a tensor's elements.
pub fn mean_std(t: &Tensor) -> (f64, f64) {
    let n = t.numel().max(1) as f64;
    let (sum, sq) = with_slice!(&*t.storage(), |v: T| (
        lane_sum(v, v, |x, _| x.as_f64()),
        lane_sum(v, v, |x, _| x.as_f64() * x.as_f64())
    ));
    let mean = sum / n;
    (mean, (sq / n - mean * mean).max(0.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Linear, ReLU, Sequential};

    #[test]
    fn norms_and_ratios_are_measured_per_layer() {
        let w = |v: [[f32; 2]; 1]| Tensor::new(v).unwrap();
        let net = Sequential::new()
            .layer(Linear::from_parts(
                w([[3.0, 4.0]]),
                Some(Tensor::new([0.0f32]).unwrap()),
            ))
            .layer(ReLU)
            .layer(Linear::from_parts(w([[1.0, 0.0]]), None));
        let p = net.parameters();
        p[0].set_grad(Some(w([[3.0, 0.0]])));
        p[1].set_grad(Some(Tensor::new([4.0f32]).unwrap()));
        p[2].set_grad(Some(w([[0.0, 12.0]])));
        let (total, layers) = grad_norms(&net);
        assert_eq!(total, 13.0);
        assert_eq!(layers, [("0".to_string(), 5.0), ("2".to_string(), 12.0)]);

        let before = weights(&net);
        let grads = gradients(&net);
        // w0 (norm 5) moves by (0.3, 0.4): ratio 0.1; w2 does not move.
        p[0].update(|v: &mut [f32]| v.copy_from_slice(&[3.3, 4.4]))
            .unwrap();
        let ratios = update_ratios(&net, &before);
        assert_eq!(ratios[0].0, "0");
        assert!((ratios[0].1 - 0.1).abs() < 1e-6, "{ratios:?}");
        assert_eq!(ratios[1], ("2".to_string(), 0.0));

        // The same gradients: nothing new; then layer 2's grows by 13.
        assert_eq!(fresh_grad_ratio(&net, &grads), Some(0.0));
        p[2].set_grad(Some(w([[0.0, 25.0]])));
        let fresh = fresh_grad_ratio(&net, &grads).unwrap();
        let expected = 13.0 / (9.0f64 + 16.0 + 625.0).sqrt();
        assert!((fresh - expected).abs() < 1e-12, "{fresh}");
        assert_eq!(mean_std(&Tensor::new([1.0f32, 3.0]).unwrap()), (2.0, 1.0));
        assert_eq!(layer_of("blocks.1.attn.qkv.bias"), "blocks.1.attn.qkv");
    }

    #[test]
    fn a_damaged_csv_names_its_line() {
        let err = signals_from_csv("step,signal,layer,value\n1,loss,,2.3\n2,loss,x\n").unwrap_err();
        assert_eq!(err.to_string(), "doctor.csv: line 3: expected 4 fields");
        assert!(signals_from_csv("nonsense").is_err());
    }
}
