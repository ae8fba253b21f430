//! Decision-boundary pictures for 2-D classifiers, as PNG.
//!
//! A fine grid over the data's range is coloured by the model's predicted
//! class (paler where the score is near 0, i.e. near the boundary), and the
//! training points are drawn on top in their true class colour.
//!
//! Rendering is pure Rust ([`plotters`]' bitmap backend with an embedded
//! DejaVu Sans font), so it works on a machine without any system fonts or
//! graphics libraries.
//!
//! ```
//! use micrograd_plus::data::moons::make_moons;
//! use micrograd_plus::train::plot::plot_decision_boundary;
//!
//! let data = make_moons(40, 0.1, 0)?;
//! let path = std::env::temp_dir().join("mgp_doc_plot_module.png");
//! // A hand-written "model": above the line y = 0.25 is class 0.
//! plot_decision_boundary(&path, &data, "y < 0.25", |_, y| Ok(0.25 - y))?;
//! assert!(std::fs::metadata(&path)?.len() > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use plotters::prelude::*;

use crate::canvas::{file_err, register_font, render_png};
use crate::data::moons::Moons;
use crate::error::{Error, Result};
use crate::value::nn::MLP;

/// Picture size in pixels.
const WIDTH: u32 = 720;
const HEIGHT: u32 = 600;
/// Grid cells per axis; each is one model evaluation.
const GRID: usize = 240;

// Class colours (ColorBrewer RdYlBu ends): class 0 red, class 1 blue.
const CLASS_RGB: [(u8, u8, u8); 2] = [(215, 48, 39), (69, 117, 180)];

/// `c` mixed with white: `t = 0` gives white, `t = 1` the colour.
fn tint((r, g, b): (u8, u8, u8), t: f64) -> RGBColor {
    let mix = |c: u8| (255.0 - (255.0 - f64::from(c)) * t).round() as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// A y axis that fits `values` with 8% to spare at each end (NaN and
/// infinities left out); 0..1 when there is nothing to fit.
pub(crate) fn padded_span(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (lo - pad)..(hi + pad)
}

/// The legend every chart draws: top right, framed, on translucent white.
pub(crate) fn draw_legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    font_size: u32,
    path: &Path,
) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", font_size))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| file_err(path, e))
}

/// Draws `data` over the regions where `score(x, y)` is negative (class 0)
/// or positive (class 1) and writes a PNG to `path`.
///
/// `score` is called once per grid cell; its first error aborts the plot.
/// Errors if the data is empty or the file cannot be written.
///
/// ```
/// use micrograd_plus::data::moons::make_moons;
/// use micrograd_plus::train::plot::plot_decision_boundary;
/// let data = make_moons(20, 0.0, 1)?;
/// let path = std::env::temp_dir().join("mgp_doc_plot_fn.png");
/// plot_decision_boundary(&path, &data, "x > 0.5", |x, _| Ok(x - 0.5))?;
/// let bad = std::env::temp_dir().join("no-such-dir").join("x.png");
/// assert!(plot_decision_boundary(&bad, &data, "", |x, _| Ok(x)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plot_decision_boundary(
    path: &Path,
    data: &Moons,
    title: &str,
    mut score: impl FnMut(f64, f64) -> Result<f64>,
) -> Result<()> {
    if data.is_empty() {
        return Err(Error::argument(
            "plot_decision_boundary",
            "no points to plot",
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(file_err(path, "directory does not exist"));
    }
    register_font()?;

    // Data range plus a one-unit margin, as in micrograd's notebook.
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in &data.points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let (x0, x1, y0, y1) = (x0 - 1.0, x1 + 1.0, y0 - 1.0, y1 + 1.0);
    let (dx, dy) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);

    // Evaluate the model first so its errors surface before any drawing.
    let mut cells = Vec::with_capacity(GRID * GRID);
    for j in 0..GRID {
        for i in 0..GRID {
            let (x, y) = (x0 + (i as f64 + 0.5) * dx, y0 + (j as f64 + 0.5) * dy);
            let s = score(x, y)?;
            let class = usize::from(s > 0.0);
            // Pale near the boundary, stronger with confidence.
            let t = 0.25 + 0.35 * s.abs().min(1.0);
            let rect = [
                (x0 + i as f64 * dx, y0 + j as f64 * dy),
                (x0 + (i + 1) as f64 * dx, y0 + (j + 1) as f64 * dy),
            ];
            cells.push(Rectangle::new(rect, tint(CLASS_RGB[class], t).filled()));
        }
    }

    render_png(path, (WIDTH, HEIGHT), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| file_err(path, e))?;
        chart.draw_series(cells).map_err(|e| file_err(path, e))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x")
            .y_desc("y")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(|e| file_err(path, e))?;
        for class in 0..2u8 {
            let (r, g, b) = CLASS_RGB[usize::from(class)];
            let points = data
                .points
                .iter()
                .zip(&data.labels)
                .filter(|&(_, &l)| l == class)
                .map(|(p, _)| (p[0], p[1]));
            chart
                .draw_series(
                    points
                        .clone()
                        .map(|p| Circle::new(p, 5, RGBColor(r, g, b).filled())),
                )
                .map_err(|e| file_err(path, e))?
                .label(format!("class {class}"))
                .legend(move |(x, y)| Circle::new((x, y), 5, RGBColor(r, g, b).filled()));
            chart
                .draw_series(points.map(|p| Circle::new(p, 5, BLACK.stroke_width(1))))
                .map_err(|e| file_err(path, e))?;
        }
        draw_legend(&mut chart, 14, path)
    })
}

/// [`plot_decision_boundary`] for a trained [`MLP`] with 2 inputs, its
/// first output as the score.
///
/// ```
/// use micrograd_plus::data::moons::make_moons;
/// use micrograd_plus::train::plot::plot_model;
/// use micrograd_plus::value::nn::MLP;
/// let data = make_moons(20, 0.1, 1)?;
/// let path = std::env::temp_dir().join("mgp_doc_plot_model.png");
/// plot_model(&path, &data, &MLP::new(2, &[4, 1], 0), "untrained")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plot_model(path: &Path, data: &Moons, model: &MLP, title: &str) -> Result<()> {
    let frozen = model.freeze();
    plot_decision_boundary(path, data, title, |x, y| {
        frozen
            .predict(&[x, y])?
            .first()
            .copied()
            .ok_or_else(|| Error::argument("plot_model", "model has no outputs"))
    })
}
