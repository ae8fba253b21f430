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

/// The axes of a line panel: what x and y are, the span of x, and of y
/// when it is fixed (accuracy: 0 to 100%) rather than fitted to the data.
#[derive(Default)]
pub(crate) struct Axes<'a> {
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_range: std::ops::Range<f64>,
    pub y_range: Option<std::ops::Range<f64>>,
    /// Ticks on whole numbers only (epochs).
    pub integer_x: bool,
}

/// One panel of lines with points and a legend: the training curves per
/// epoch and the GPT's losses per step. `faint` lines are drawn first,
/// thin and without points (every step's loss under the epoch means).
pub(crate) fn draw_lines(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    path: &Path,
    title: &str,
    axes: Axes<'_>,
    series: Vec<Series<'_>>,
    faint: Vec<Series<'_>>,
) -> Result<()> {
    let y_range = axes.y_range.clone().unwrap_or_else(|| {
        padded_span(
            series
                .iter()
                .chain(&faint)
                .flat_map(|s| s.2.iter().map(|p| p.1)),
        )
    });
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(62)
        .build_cartesian_2d(axes.x_range.clone(), y_range)
        .map_err(|e| file_err(path, e))?;
    let whole = |v: &f64| {
        let r = v.round();
        if (v - r).abs() < 1e-6 {
            format!("{r:.0}")
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15));
    if axes.y_range.is_some() {
        // A fixed axis (accuracy in %) reads best in whole numbers.
        mesh.y_label_formatter(&|v| format!("{v:.0}"));
    } else {
        // A diverged loss of 3,617,664 or an lr of 4e-6 stay narrow.
        mesh.y_label_formatter(&|v| {
            if *v != 0.0 && !(1e-3..1e4).contains(&v.abs()) {
                format!("{v:.1e}")
            } else {
                format!("{}", (v * 1e4).round() / 1e4)
            }
        });
    }
    if axes.integer_x {
        // One tick per whole number (at most 20 of them), labelled as one.
        let span = (axes.x_range.end - axes.x_range.start).ceil() as usize;
        mesh.x_labels(span.clamp(2, 20) + 1)
            .x_label_formatter(&whole);
    }
    mesh.draw().map_err(|e| file_err(path, e))?;
    for (name, colour, data) in faint {
        let light = colour.mix(0.35);
        chart
            .draw_series(std::iter::once(PathElement::new(
                data,
                light.stroke_width(1),
            )))
            .map_err(|e| file_err(path, e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], light.stroke_width(1)));
    }
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

/// Colour of the learning-rate curve.
const LR_COLOUR: RGBColor = RGBColor(26, 152, 80);

/// Writes three panels against the epoch to a PNG at `path`: the loss
/// (every training step, faint, under the epoch means of train and test),
/// the accuracy in % on a 0 to 100 axis (so that chance level, 10% for ten
/// classes, does not look like progress), and the learning rate of every
/// step. A step at position i of n in epoch e sits at e - 1 + i/n, so an
/// epoch's mean sits at the end of its steps.
///
/// ```
/// use micrograd_plus::train::{charts::plot_curves, metrics::{EpochMetrics, History, StepRecord}};
/// let mut h = History::default();
/// for e in 1..=3 {
///     let f = e as f64;
///     for i in 0..4 {
///         let step = (e - 1) * 4 + i + 1;
///         h.steps.push(StepRecord { step, epoch: e, loss: 1.2 / f, lr: 0.1 / step as f64 });
///     }
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
    let steps = step_positions(history);
    let per_step = |f: fn(&super::metrics::StepRecord) -> f64| -> Vec<(f64, f64)> {
        steps.iter().map(|(x, s)| (*x, f(s))).collect()
    };
    let axes = |y_desc, y_range| Axes {
        x_desc: "epoch",
        y_desc,
        x_range: 0.0..last_epoch + 0.25,
        y_range,
        integer_x: true,
    };
    render_png(path, (1500, 460), |root| {
        let root = root
            .titled(title, ("sans-serif", 24))
            .map_err(|e| file_err(path, e))?;
        let panels = root.split_evenly((1, 3));
        draw_lines(
            &panels[0],
            path,
            "loss",
            axes("cross-entropy loss", None),
            vec![
                ("train (epoch mean)", TRAIN_COLOUR, pick(|m| m.train_loss)),
                ("test", TEST_COLOUR, pick(|m| m.test_loss)),
            ],
            vec![("train (each step)", TRAIN_COLOUR, per_step(|s| s.loss))],
        )?;
        draw_lines(
            &panels[1],
            path,
            "accuracy",
            axes("accuracy (%)", Some(0.0..100.0)),
            vec![
                ("train", TRAIN_COLOUR, pick(|m| 100.0 * m.train_acc)),
                ("test", TEST_COLOUR, pick(|m| 100.0 * m.test_acc)),
            ],
            vec![],
        )?;
        draw_lines(
            &panels[2],
            path,
            "learning rate",
            axes("learning rate", None),
            vec![],
            vec![("each step", LR_COLOUR, per_step(|s| s.lr))],
        )
    })
}

/// Each recorded step with its x position: `epoch - 1 + i / n` for the
/// i-th (1-based) of the epoch's n steps.
fn step_positions(history: &History) -> Vec<(f64, &super::metrics::StepRecord)> {
    let mut out = Vec::with_capacity(history.steps.len());
    for epoch_steps in history.steps.chunk_by(|a, b| a.epoch == b.epoch) {
        let n = epoch_steps.len() as f64;
        for (i, s) in epoch_steps.iter().enumerate() {
            out.push((s.epoch as f64 - 1.0 + (i + 1) as f64 / n, s));
        }
    }
    out
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
    plot_confusion_named(path, cm, title, &[])
}

/// [`plot_confusion`] with the classes named on both axes (`names[i]` for
/// class i, e.g. CIFAR-10's `airplane` ... `truck`); classes without a name
/// keep their number.
///
/// ```
/// use micrograd_plus::{train::{charts::plot_confusion_named, metrics::ConfusionMatrix}, Tensor};
/// let mut cm = ConfusionMatrix::new(2);
/// cm.add(&Tensor::eye(2), &Tensor::new([0.0f32, 1.0]).unwrap()).unwrap();
/// let path = std::env::temp_dir().join("mgp_doc_confusion_named.png");
/// plot_confusion_named(&path, &cm, "test set", &["cat", "dog"]).unwrap();
/// assert!(std::fs::metadata(&path).unwrap().len() > 1000);
/// ```
pub fn plot_confusion_named(
    path: &Path,
    cm: &ConfusionMatrix,
    title: &str,
    names: &[&str],
) -> Result<()> {
    let n = cm.classes();
    if n == 0 {
        return Err(Error::argument("plot_confusion", "no classes"));
    }
    register_font()?;
    // Names need room to the left of the rows and under the columns.
    let name_room = if names.is_empty() { 0 } else { 50 };
    // and wider cells, so that "automobile" fits under its column.
    let side = if names.is_empty() { 640 } else { 860 };
    render_png(path, (side, side), |root| {
        // Cell (true t, predicted p) is centred on (p, n-1-t): integer ticks
        // fall on cell centres and row 0 is at the top, as a matrix is read.
        let span = -0.5..n as f64 - 0.5;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{title} (accuracy {:.2}%)", 100.0 * cm.accuracy()),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40 + name_room)
            .y_label_area_size(44 + name_room)
            .build_cartesian_2d(span.clone(), span)
            .map_err(|e| file_err(path, e))?;
        let class_at = |v: f64, flip: bool| {
            let i = v.round();
            if (v - i).abs() > 1e-6 || i < 0.0 || i >= n as f64 {
                return String::new();
            }
            let class = if flip { n - 1 - i as usize } else { i as usize };
            names
                .get(class)
                .map_or_else(|| class.to_string(), |name| name.to_string())
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
            .label_style(("sans-serif", if names.is_empty() { 14 } else { 13 }))
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
