//! Training pictures as PNG: loss and accuracy curves per epoch, and the
//! confusion matrix as a heat map. Pure Rust with the embedded font (see
//! [`super::plot`]), so they render on a bare machine.

use super::metrics::{ConfusionMatrix, History};
use super::plot::{draw_legend, padded_span};
use crate::canvas::{file_err, register_font, render_png};
use crate::error::{Error, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

pub(crate) const TRAIN_COLOUR: RGBColor = RGBColor(69, 117, 180);
pub(crate) const TEST_COLOUR: RGBColor = RGBColor(215, 48, 39);

/// A named, coloured line of (x, y) points.
pub(crate) type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// The axes of a line panel: what x and y are and the span of x.
pub(crate) struct Axes<'a> {
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_range: std::ops::Range<f64>,
}

/// One panel of lines with points and a legend (the y span fits the data):
/// the training curves per epoch and the GPT's losses per step.
pub(crate) fn draw_lines(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    path: &Path,
    title: &str,
    axes: Axes<'_>,
    series: Vec<Series<'_>>,
) -> Result<()> {
    let y_range = padded_span(series.iter().flat_map(|s| s.2.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .build_cartesian_2d(axes.x_range, y_range)
        .map_err(|e| file_err(path, e))?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| file_err(path, e))?;
    for (name, colour, data) in series {
        chart
            .draw_series(std::iter::once(PathElement::new(
                data.clone(),
                colour.stroke_width(2),
            )))
            .map_err(|e| file_err(path, e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
        chart
            .draw_series(data.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| file_err(path, e))?;
    }
    draw_legend(&mut chart, 13, path)
}

/// Writes loss (left) and accuracy (right) against the epoch, train and
/// test, to a PNG at `path`.
///
/// ```
/// use micrograd_plus::train::{charts::plot_curves, metrics::{EpochMetrics, History}};
/// let mut h = History::default();
/// for e in 1..=3 {
///     let f = e as f64;
///     h.push(EpochMetrics { epoch: e, train_loss: 1.0 / f, train_acc: 1.0 - 0.3 / f,
///         test_loss: 1.1 / f, test_acc: 1.0 - 0.35 / f, epoch_seconds: 0.1, samples_per_second: 1e5 });
/// }
/// let path = std::env::temp_dir().join("mgp_doc_curves.png");
/// plot_curves(&path, &h, "MLP on MNIST").unwrap();
/// assert!(std::fs::metadata(&path).unwrap().len() > 1000);
/// ```
pub fn plot_curves(path: &Path, history: &History, title: &str) -> Result<()> {
    if history.epochs.is_empty() {
        return Err(Error::argument("plot_curves", "no epochs to plot"));
    }
    register_font()?;
    render_png(path, (1100, 460), |root| {
        let root = root
            .titled(title, ("sans-serif", 24))
            .map_err(|e| file_err(path, e))?;
        let (left, right) = root.split_horizontally(550);
        let pick = |f: fn(&super::metrics::EpochMetrics) -> f64| -> Vec<(f64, f64)> {
            history
                .epochs
                .iter()
                .map(|m| (m.epoch as f64, f(m)))
                .collect()
        };
        let last_epoch = history
            .epochs
            .iter()
            .map(|m| m.epoch as f64)
            .fold(1.0, f64::max);
        // The panel titles say what y is.
        let axes = || Axes {
            x_desc: "epoch",
            y_desc: "",
            x_range: 0.5..last_epoch + 0.5,
        };
        draw_lines(
            &left,
            path,
            "loss",
            axes(),
            vec![
                ("train", TRAIN_COLOUR, pick(|m| m.train_loss)),
                ("test", TEST_COLOUR, pick(|m| m.test_loss)),
            ],
        )?;
        draw_lines(
            &right,
            path,
            "accuracy",
            axes(),
            vec![
                ("train", TRAIN_COLOUR, pick(|m| m.train_acc)),
                ("test", TEST_COLOUR, pick(|m| m.test_acc)),
            ],
        )
    })
}

/// Writes the confusion matrix as a heat map (rows: true class, columns:
/// predicted), each cell shaded by its share of the row and labelled with
/// its count.
///
/// ```
/// use micrograd_plus::{train::{charts::plot_confusion, metrics::ConfusionMatrix}, Tensor};
/// let mut cm = ConfusionMatrix::new(3);
/// cm.add(&Tensor::eye(3), &Tensor::new([0.0f32, 1.0, 1.0]).unwrap()).unwrap();
/// let path = std::env::temp_dir().join("mgp_doc_confusion.png");
/// plot_confusion(&path, &cm, "test set").unwrap();
/// assert!(std::fs::metadata(&path).unwrap().len() > 1000);
/// ```
pub fn plot_confusion(path: &Path, cm: &ConfusionMatrix, title: &str) -> Result<()> {
    let n = cm.classes();
    if n == 0 {
        return Err(Error::argument("plot_confusion", "no classes"));
    }
    register_font()?;
    render_png(path, (640, 640), |root| {
        // Cell (true t, predicted p) is centred on (p, n-1-t): integer ticks
        // fall on cell centres and row 0 is at the top, as a matrix is read.
        let span = -0.5..n as f64 - 0.5;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{title} (accuracy {:.2}%)", 100.0 * cm.accuracy()),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(44)
            .build_cartesian_2d(span.clone(), span)
            .map_err(|e| file_err(path, e))?;
        let class_at = |v: f64, flip: bool| {
            let i = v.round();
            if (v - i).abs() > 1e-6 || i < 0.0 || i >= n as f64 {
                return String::new();
            }
            let i = i as usize;
            (if flip { n - 1 - i } else { i }).to_string()
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n)
            .y_labels(n)
            .x_desc("predicted")
            .y_desc("true")
            .x_label_formatter(&|v| class_at(*v, false))
            .y_label_formatter(&|v| class_at(*v, true))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(|e| file_err(path, e))?;
        let mut cells = Vec::new();
        let mut labels = Vec::new();
        for t in 0..n {
            let row: u64 = (0..n).map(|p| cm.count(t, p)).sum();
            for p in 0..n {
                let count = cm.count(t, p);
                let share = count as f64 / row.max(1) as f64;
                // White to dark blue by share of the row; the text flips to white on dark cells.
                let shade = |c: u8| (255.0 - (255.0 - f64::from(c)) * share.sqrt()).round() as u8;
                let colour = RGBColor(shade(8), shade(48), shade(107));
                let (x, y) = (p as f64, (n - 1 - t) as f64);
                cells.push(Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    colour.filled(),
                ));
                let text_colour = if share > 0.5 { WHITE } else { BLACK };
                labels.push(Text::new(
                    count.to_string(),
                    (x, y),
                    ("sans-serif", 13)
                        .into_font()
                        .color(&text_colour)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ));
            }
        }
        chart.draw_series(cells).map_err(|e| file_err(path, e))?;
        chart.draw_series(labels).map_err(|e| file_err(path, e))?;
        Ok(())
    })
}
