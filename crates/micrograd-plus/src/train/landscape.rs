//! The loss landscape around trained weights (module 1.4's lab, after Li et
//! al., "Visualizing the Loss Landscape of Neural Nets", 2018): the loss at
//! `θ + a·d₁ + b·d₂` over a grid of `(a, b)`, for two random directions
//! `d₁`, `d₂` that are filter-normalised: each row of a weight matrix (one
//! unit's incoming weights) is scaled to the norm of the same row of the
//! weights, so that a step of 1 changes every unit by as much as it holds.
//! 1-D parameters (biases) get no direction, as in the paper.

use crate::canvas::{file_err, register_font, render_png};
use crate::data::Batch;
use crate::nn::Module;
use crate::tensor::SliceMut;
use crate::{no_grad, Error, Result, Tensor};
use plotters::prelude::*;
use std::path::Path;

/// A random direction with the shape of `w`, filter-normalised against
/// it (rows of the last dims; zero for a 1-D `w`), as f64 values.
fn filter_normalised(w: &Tensor, seed: u64) -> Vec<f64> {
    let values = w.to_vec::<f64>();
    if w.ndim() < 2 || values.is_empty() {
        return vec![0.0; values.len()];
    }
    let mut d = Tensor::randn(w.shape(), seed).to_vec::<f64>();
    let row = values.len() / w.shape()[0];
    for (dr, wr) in d.chunks_mut(row).zip(values.chunks(row)) {
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let scale = norm(wr) / norm(dr).max(f64::MIN_POSITIVE);
        dr.iter_mut().for_each(|x| *x *= scale);
    }
    d
}

/// `loss(a, b)` on a `grid × grid` square of `(a, b)` in `[-span, span]²`
/// (rows: b from -span up; columns: a), for `model` on `batch` in
/// evaluation mode, directions drawn from `seed`. The weights are put back
/// afterwards, also after an error.
///
/// ```
/// use micrograd_plus::data::Batch;
/// use micrograd_plus::nn::{loss::CrossEntropyLoss, Linear, Module};
/// use micrograd_plus::{train::landscape::loss_grid, Tensor};
/// let mut model = Linear::new(3, 2, true);
/// let before = model.parameters()[0].to_vec::<f32>();
/// let batch = Batch { inputs: Tensor::randn(&[8, 3], 1), targets: Tensor::new([0.0f32, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]).unwrap() };
/// let ce = CrossEntropyLoss::new();
/// let g = loss_grid(&mut model, &|y, t| ce.forward(y, t), &batch, 1.0, 5, 0).unwrap();
/// assert_eq!((g.len(), g[0].len()), (5, 5));
/// let centre = ce.forward(&model.forward(&batch.inputs).unwrap(), &batch.targets).unwrap().item().unwrap();
/// assert!((g[2][2] - centre).abs() < 1e-6); // (0, 0) is the model itself
/// assert_eq!(model.parameters()[0].to_vec::<f32>(), before); // weights restored
/// ```
pub fn loss_grid(
    model: &mut dyn Module,
    loss: &dyn Fn(&Tensor, &Tensor) -> Result<Tensor>,
    batch: &Batch,
    span: f64,
    grid: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    if grid < 2 || !(span > 0.0 && span.is_finite()) {
        return Err(Error::argument(
            "landscape",
            "the grid needs at least 2 points a side and a positive span",
        ));
    }
    let was_training = model.is_training();
    model.eval();
    let params = model.parameters();
    let theta: Vec<Vec<f64>> = params.iter().map(|p| p.to_vec::<f64>()).collect();
    let d1: Vec<Vec<f64>> = params
        .iter()
        .enumerate()
        .map(|(i, p)| filter_normalised(p, seed + 2 * i as u64))
        .collect();
    let d2: Vec<Vec<f64>> = params
        .iter()
        .enumerate()
        .map(|(i, p)| filter_normalised(p, seed + 2 * i as u64 + 1))
        .collect();
    let set = |a: f64, b: f64| {
        for (((p, t), u), v) in params.iter().zip(&theta).zip(&d1).zip(&d2) {
            let moved = t.iter().zip(u).zip(v).map(|((t, u), v)| t + a * u + b * v);
            p.update_any(|p| match p {
                SliceMut::F32(p) => p.iter_mut().zip(moved).for_each(|(p, m)| *p = m as f32),
                SliceMut::F64(p) => p.iter_mut().zip(moved).for_each(|(p, m)| *p = m),
            });
        }
    };
    let at = |i: usize| -span + 2.0 * span * i as f64 / (grid - 1) as f64;
    let result = no_grad(|| -> Result<Vec<Vec<f64>>> {
        (0..grid)
            .map(|r| {
                (0..grid)
                    .map(|c| {
                        set(at(c), at(r));
                        loss(&model.forward(&batch.inputs)?, &batch.targets)?.item()
                    })
                    .collect()
            })
            .collect()
    });
    set(0.0, 0.0);
    if was_training {
        model.train();
    }
    result
}

/// Draws `grid` (from [`loss_grid`] over `[-span, span]²`) as a heat map,
/// lower loss darker (log scale from its lowest to its highest value), with the trained weights marked at the centre, and
/// writes the PNG to `path`.
///
/// ```
/// let path = std::env::temp_dir().join(format!("mgp-landscape-doc-{}.png", std::process::id()));
/// let grid = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
/// micrograd_plus::train::landscape::plot(&path, &grid, 1.0, "demo").unwrap();
/// assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn plot(path: &Path, grid: &[Vec<f64>], span: f64, title: &str) -> Result<()> {
    register_font()?;
    let n = grid.len();
    let finite = grid.iter().flatten().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    // Each cell is centred on its grid point (the corner points included).
    let cell = 2.0 * span / n.saturating_sub(1).max(1) as f64;
    render_png(path, (720, 680), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-span..span, -span..span)
            .map_err(|e| file_err(path, e))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("direction 1 (filter-normalised)")
            .y_desc("direction 2")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| file_err(path, e))?;
        let cells = grid.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, &v)| {
                // Log scale: the basin's shape shows, not only its walls.
                let t = if v.is_finite() && hi > lo {
                    ((v - lo).ln_1p() / (hi - lo).ln_1p()).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let shade = |dark: f64, light: f64| (dark + (light - dark) * t) as u8;
                let (x, y) = (
                    -span + (c as f64 - 0.5) * cell,
                    -span + (r as f64 - 0.5) * cell,
                );
                Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(shade(30.0, 253.0), shade(60.0, 231.0), shade(120.0, 37.0)).filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(|e| file_err(path, e))?;
        chart
            .draw_series(std::iter::once(Cross::new(
                (0.0, 0.0),
                7,
                WHITE.stroke_width(2),
            )))
            .map_err(|e| file_err(path, e))?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_have_each_rows_norm_and_skip_biases() {
        let w = Tensor::new([[3.0f32, 4.0, 0.0], [0.0, 0.0, 2.0]]).unwrap();
        let d = filter_normalised(&w, 7);
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm(&d[..3]) - 5.0).abs() < 1e-9, "{d:?}");
        assert!((norm(&d[3..]) - 2.0).abs() < 1e-9, "{d:?}");
        assert_ne!(d, filter_normalised(&w, 8)); // the seed draws the direction
        assert_eq!(filter_normalised(&Tensor::ones(&[4]), 7), vec![0.0; 4]);
    }
}
