//! Group and instance normalisation (`F.group_norm`, `F.instance_norm`):
//! normalisation per sample over groups of channels (all the channels of a
//! group and their positions) or per sample and channel, then an optional
//! per-channel scale and shift.
//!
//! Both reuse fused normalisation ops, so their backward rules are those
//! ops' (see [`super::layer_norm`] and [`super::batch_norm`]):
//! - group norm of `(N, C, *)` is layer norm over the last dim of the input
//!   viewed as `(N, G, C/G·∏*)`: each row gets `x̂ = (x − μ)/√(σ² + eps)`
//!   (biased variance), whose gradient is `dx = r·(g − mean(g) − x̂·mean(g·x̂))`;
//! - instance norm of `(N, C, *)` with the input's statistics is batch norm
//!   in training mode over the input viewed as `(1, N·C, *)` (each sample's
//!   channel is its own "channel"), which also folds every instance's
//!   statistics into running averages when given, as PyTorch does; with
//!   running statistics instead (`use_input_stats` false) it is batch norm
//!   in evaluation mode;
//! - the affine part `y = x̂·γ[c] + β[c]` is a broadcast multiply and add,
//!   whose gradients are `dγ[c] = Σ g·x̂` and `dβ[c] = Σ g` over the
//!   samples and positions of channel c.

use crate::tensor::Tensor;
use crate::{Error, Result};

/// `x̂·γ + β` with `γ`, `β` of shape `[C]` broadcast over `(N, C, *)`.
fn affine(x: Tensor, weight: Option<&Tensor>, bias: Option<&Tensor>) -> Result<Tensor> {
    let mut per_channel = vec![x.shape()[1]];
    per_channel.extend(vec![1; x.ndim() - 2]);
    let mut y = x;
    if let Some(w) = weight {
        y = y.mul(&w.reshape(&per_channel)?)?;
    }
    if let Some(b) = bias {
        y = y.add(&b.reshape(&per_channel)?)?;
    }
    Ok(y)
}

/// `(N, C)` of an `(N, C, ...)` shape.
fn batch_and_channels(op: &'static str, shape: &[usize]) -> Result<(usize, usize)> {
    match shape {
        [n, c, ..] => Ok((*n, *c)),
        _ => Err(Error::shape(
            op,
            format!("expected an (N, C, ...) input of at least 2 dims, got shape {shape:?}"),
        )),
    }
}

/// Checks that `t`, if given, has shape `[c]`.
fn check_channels(op: &'static str, name: &str, t: Option<&Tensor>, c: usize) -> Result<()> {
    match t {
        Some(t) if t.shape() != [c] => Err(Error::shape(
            op,
            format!(
                "{name} must have shape [{c}] (one per channel), got {:?}",
                t.shape()
            ),
        )),
        _ => Ok(()),
    }
}

impl Tensor {
    /// `F.group_norm(x, num_groups, weight, bias, eps)` over an `(N, C, *)`
    /// input: the `C` channels are split into `num_groups` groups, and each
    /// sample's group is normalised to mean 0 and (biased) variance 1, then
    /// scaled by `weight` and shifted by `bias` (shape `[C]`, optional).
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[[1.0f64, 3.0], [5.0, 7.0]]]).unwrap(); // (1, 2, 2)
    /// let y = x.group_norm(1, None, None, 0.0).unwrap().to_vec::<f64>();
    /// let s = 5f64.sqrt(); // mean 4, variance 5 over the whole group
    /// let want = [-3.0 / s, -1.0 / s, 1.0 / s, 3.0 / s];
    /// assert!(y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12));
    /// let err = x.group_norm(3, None, None, 1e-5).unwrap_err();
    /// assert!(err.to_string().contains("divisible by num_groups"));
    /// ```
    pub fn group_norm(
        &self,
        num_groups: usize,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<Tensor> {
        let op = "group_norm";
        let shape = self.shape().to_vec();
        let (n, c) = batch_and_channels(op, &shape)?;
        if num_groups == 0 || !c.is_multiple_of(num_groups) {
            return Err(Error::shape(
                op,
                format!("expected number of channels in input to be divisible by num_groups, but got input of shape {shape:?} and num_groups={num_groups}"),
            ));
        }
        check_channels(op, "weight", weight, c)?;
        check_channels(op, "bias", bias, c)?;
        // One row per sample and group: its channels and their positions.
        let row = c / num_groups * shape[2..].iter().product::<usize>();
        let normalised = self
            .reshape(&[n, num_groups, row])?
            .layer_norm(&[row], None, None, eps)?
            .reshape(&shape)?;
        affine(normalised, weight, bias)
    }

    /// `F.instance_norm(x, running_mean, running_var, weight, bias,
    /// use_input_stats, momentum, eps)` over an `(N, C, *)` input: each
    /// sample's channel is normalised over its positions, then scaled and
    /// shifted per channel (`weight`, `bias`: `[C]`, optional).
    ///
    /// With `use_input_stats` each instance's own mean and biased variance
    /// are used, and `running_mean`/`running_var` (`[C]`, if given) move by
    /// `momentum` towards the instances' mean statistics (the unbiased
    /// variance), in place. Otherwise the running statistics are used and
    /// must be given.
    ///
    /// ```
    /// use micrograd_plus::Tensor;
    /// let x = Tensor::new([[[1.0f64, 3.0], [10.0, 30.0]]]).unwrap(); // (1, 2, 2)
    /// let y = x.instance_norm(None, None, None, None, true, 0.1, 0.0).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![-1.0, 1.0, -1.0, 1.0]);
    /// let (rm, rv) = (Tensor::zeros(&[2]).to_dtype(x.dtype()), Tensor::ones(&[2]).to_dtype(x.dtype()));
    /// x.instance_norm(Some(&rm), Some(&rv), None, None, true, 0.5, 0.0).unwrap();
    /// assert_eq!(rm.to_vec::<f64>(), vec![1.0, 10.0]); // 0.5·0 + 0.5·mean
    /// assert!(x.instance_norm(None, None, None, None, false, 0.1, 1e-5).is_err());
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn instance_norm(
        &self,
        running_mean: Option<&Tensor>,
        running_var: Option<&Tensor>,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        use_input_stats: bool,
        momentum: f64,
        eps: f64,
    ) -> Result<Tensor> {
        let op = "instance_norm";
        let shape = self.shape().to_vec();
        let (n, c) = batch_and_channels(op, &shape)?;
        for (name, t) in [
            ("running_mean", running_mean),
            ("running_var", running_var),
            ("weight", weight),
            ("bias", bias),
        ] {
            check_channels(op, name, t, c)?;
        }
        if !use_input_stats {
            if running_mean.is_none() || running_var.is_none() {
                return Err(Error::argument(
                    op,
                    "running_mean and running_var are required when use_input_stats is false",
                ));
            }
            return self.batch_norm(
                running_mean,
                running_var,
                weight,
                bias,
                false,
                momentum,
                eps,
            );
        }
        if shape[2..].iter().product::<usize>() <= 1 {
            return Err(Error::shape(
                op,
                format!("expected more than 1 spatial element when training, got input of shape {shape:?}"),
            ));
        }
        // Every instance is a channel of a batch of one; its running
        // statistics start as copies of its channel's.
        let repeated = |t: Option<&Tensor>| t.map(|t| t.detach().repeat(&[n])).transpose();
        let (rm, rv) = (repeated(running_mean)?, repeated(running_var)?);
        let mut flat = vec![1, n * c];
        flat.extend(&shape[2..]);
        let normalised = self
            .reshape(&flat)?
            .batch_norm(rm.as_ref(), rv.as_ref(), None, None, true, momentum, eps)?
            .reshape(&shape)?;
        // Each channel's running statistic: the mean over the instances.
        for (running, updated) in [(running_mean, rm), (running_var, rv)] {
            if let (Some(running), Some(updated)) = (running, updated) {
                let mean = updated.reshape(&[n, c])?.mean_dims(&[0], false)?;
                running.copy_from(&mean)?;
            }
        }
        affine(normalised, weight, bias)
    }
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    /// group norm, and instance norm with input and running statistics.
    pub(crate) fn group_norm_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        for (shape, groups) in [(&[2, 6, 5][..], 3), (&[2, 4, 3, 3], 2), (&[3, 4], 1)] {
            let c = shape[1];
            out.push(OpCheck::new(
                "group_norm",
                format!("num_groups={groups}"),
                vec![g.randn(shape), g.positive(&[c]), g.randn(&[c])],
                move |t| t[0].group_norm(groups, Some(&t[1]), Some(&t[2]), 1e-5),
            ));
        }
        out.push(OpCheck::new(
            "instance_norm",
            "input statistics, affine",
            vec![g.randn(&[2, 3, 4, 3]), g.positive(&[3]), g.randn(&[3])],
            |t| t[0].instance_norm(None, None, Some(&t[1]), Some(&t[2]), true, 0.1, 1e-5),
        ));
        let (rm, rv) = (g.randn(&[3]), g.positive(&[3]));
        out.push(OpCheck::new(
            "instance_norm",
            "running statistics",
            vec![g.randn(&[2, 3, 5])],
            move |t| t[0].instance_norm(Some(&rm), Some(&rv), None, None, false, 0.1, 1e-5),
        ));
    }
}
