//! Reading a run folder's doctor files back: a text report and a PNG page
//! (`doctor.png`) with the loss against the chance level, per-layer gradient
//! norms, update ratios and dead-unit fractions over the steps, and every
//! warning at its step. Behind `mgp doctor RUN_DIR`.
//!
//! ```
//! use micrograd_plus::train::doctor::report::DoctorReport;
//! use micrograd_plus::train::doctor::signals::Signal;
//! let signal = |step, name: &str, layer: &str, value| Signal { step, name: name.into(), layer: layer.into(), value };
//! let report = DoctorReport {
//!     signals: (1..=50).map(|s| signal(s, "loss", "", 2.3 / s as f64))
//!         .chain([signal(0, "chance_level", "", 2.3), signal(10, "grad_norm", "0", 0.5)])
//!         .collect(),
//!     diagnoses: vec![],
//! };
//! let text = report.text();
//! assert!(text.contains("50 steps"), "{text}");
//! assert!(text.contains("no warnings"), "{text}");
//! let path = std::env::temp_dir().join(format!("mgp-doc-doctor-{}.png", std::process::id()));
//! report.plot(&path, "a run")?;
//! assert!(std::fs::metadata(&path)?.len() > 1000);
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::diagnosis::Diagnosis;
use super::signals::{self, signals_from_csv, Signal};
use crate::canvas::{file_err, register_font, render_png, Canvas};
use crate::train::plot::{draw_legend, padded_span};
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// The signals file of a run folder.
pub const SIGNALS_FILE: &str = "doctor.csv";
/// The warnings file of a run folder (one JSON diagnosis per line).
pub const WARNINGS_FILE: &str = "warnings.jsonl";
/// The picture `mgp doctor` writes.
pub const PICTURE_FILE: &str = "doctor.png";

/// What a run's doctor recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoctorReport {
    /// Every measurement.
    pub signals: Vec<Signal>,
    /// Every warning, in order.
    pub diagnoses: Vec<Diagnosis>,
}

/// Colours for the layers' lines (ColorBrewer Dark2), cycled.
const PALETTE: [RGBColor; 8] = [
    RGBColor(27, 158, 119),
    RGBColor(217, 95, 2),
    RGBColor(117, 112, 179),
    RGBColor(231, 41, 138),
    RGBColor(102, 166, 30),
    RGBColor(230, 171, 2),
    RGBColor(166, 118, 29),
    RGBColor(102, 102, 102),
];
const WARNING_COLOUR: RGBColor = RGBColor(200, 30, 30);
/// Most legend rows in a panel: beyond it the first four layers and the last
/// three are listed, with a row counting the others.
const LEGEND_ROWS: usize = 8;

impl DoctorReport {
    /// Reads `doctor.csv` and `warnings.jsonl` from a run folder; errors name
    /// the file (a run trained with `--doctor off` has neither).
    pub fn load(dir: &Path) -> Result<DoctorReport> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| Error::File {
                path: path.display().to_string(),
                msg: format!("cannot read ({e}); was the run trained with the doctor on?"),
            })
        };
        let in_file = |name: &str| {
            let path = dir.join(name).display().to_string();
            move |e: Error| Error::File {
                path: path.clone(),
                msg: e.to_string(),
            }
        };
        let signals = signals_from_csv(&read(SIGNALS_FILE)?).map_err(in_file(SIGNALS_FILE))?;
        let diagnoses = read(WARNINGS_FILE)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(Diagnosis::from_json)
            .collect::<Result<Vec<_>>>()
            .map_err(in_file(WARNINGS_FILE))?;
        Ok(DoctorReport { signals, diagnoses })
    }

    /// `(step, value)` of one signal of one layer.
    fn series(&self, name: &str, layer: &str) -> Vec<(f64, f64)> {
        self.signals
            .iter()
            .filter(|s| s.name == name && s.layer == layer)
            .map(|s| (s.step as f64, s.value))
            .collect()
    }

    /// The layers that have a signal `name` (other than the whole model), in order of appearance.
    fn layers(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self
            .signals
            .iter()
            .filter(|s| s.name == name && !s.layer.is_empty())
        {
            if !out.contains(&s.layer) {
                out.push(s.layer.clone());
            }
        }
        out
    }

    fn chance_level(&self) -> Option<f64> {
        self.signals
            .iter()
            .find(|s| s.name == signals::CHANCE_LEVEL)
            .map(|s| s.value)
    }

    /// The report as text: the loss's course against chance, the last
    /// measurements per layer, and every warning with its step.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let loss = self.series(signals::LOSS, "");
        let finite: Vec<f64> = loss.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
        match (loss.first(), loss.last()) {
            (Some(first), Some(last)) => {
                out.push_str(&format!(
                    "{} steps; loss {:.4} at step {} -> {:.4} at step {} (lowest {:.4})",
                    loss.len(),
                    first.1,
                    first.0,
                    last.1,
                    last.0,
                    finite.iter().copied().fold(f64::INFINITY, f64::min)
                ));
                if let Some(c) = self.chance_level() {
                    out.push_str(&format!("; chance level {c:.4}"));
                }
                out.push('\n');
            }
            _ => out.push_str("no steps recorded\n"),
        }
        let last = |name: &str, layer: &str| self.series(name, layer).last().map(|p| p.1);
        let layers = self.layers(signals::GRAD_NORM);
        if !layers.is_empty() {
            out.push_str("\nlast probe, per layer:\n");
            out.push_str(&format!(
                "  {:<24} {:>12} {:>14}\n",
                "layer", "grad norm", "update ratio"
            ));
            for l in &layers {
                let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3e}"));
                out.push_str(&format!(
                    "  {l:<24} {:>12} {:>14}\n",
                    fmt(last(signals::GRAD_NORM, l)),
                    fmt(last(signals::UPDATE_RATIO, l))
                ));
            }
        }
        for (name, what) in [
            (signals::DEAD_FRACTION, "dead units"),
            (signals::SATURATED_FRACTION, "saturated outputs"),
        ] {
            for l in self.layers(name) {
                if let Some(v) = last(name, &l) {
                    out.push_str(&format!(
                        "  {what} in layer {l}: {:.1}% (last window)\n",
                        100.0 * v
                    ));
                }
            }
        }
        out.push('\n');
        if self.diagnoses.is_empty() {
            out.push_str("no warnings: none of the failures the doctor knows was seen\n");
        } else {
            out.push_str(&format!("{} warning(s):\n", self.diagnoses.len()));
            for d in &self.diagnoses {
                out.push_str(&format!("{d}\n"));
            }
        }
        out
    }

    /// Writes the report's picture (PNG, atomically): loss against the chance
    /// level, gradient norms and update ratios per layer (log scale), dead
    /// and saturated fractions, with each warning marked at its step and
    /// listed below.
    pub fn plot(&self, path: &Path, title: &str) -> Result<()> {
        register_font()?;
        let last_step = self
            .signals
            .iter()
            .map(|s| s.step)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let warnings: Vec<(f64, String)> = self
            .diagnoses
            .iter()
            .map(|d| (d.step as f64, d.cause.name().to_string()))
            .collect();
        let listed = self.diagnoses.len().min(8);
        let height = 820 + 30 * listed.max(1) as u32 + 40;
        render_png(path, (1300, height), |root| {
            let root = root
                .titled(title, ("sans-serif", 24))
                .map_err(|e| file_err(path, e))?;
            let (panels, footer) = root.split_vertically(800);
            let cells = panels.split_evenly((2, 2));
            let x_range = 0.0..last_step + 1.0;
            // A value with no logarithm (a zero gradient) becomes a gap in
            // its line (NaN, see `draw`), not a point that is left out and bridged.
            let log = |v: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
                v.into_iter()
                    .map(|(x, y)| (x, if y > 0.0 { y.log10() } else { f64::NAN }))
                    .collect()
            };

            // Loss, in log10 when it spans orders of magnitude.
            let loss: Vec<(f64, f64)> = self
                .series(signals::LOSS, "")
                .into_iter()
                .filter(|p| p.1.is_finite())
                .collect();
            let (lo, hi) = loss
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.1), h.max(p.1)));
            let spans = lo > 0.0 && hi / lo > 100.0;
            let chance = self.chance_level();
            let (loss, chance, loss_title) = if spans {
                (
                    log(loss),
                    chance.map(f64::log10),
                    "loss per step (log10), dashed: chance level",
                )
            } else {
                (loss, chance, "loss per step, dashed: chance level")
            };
            let panel = Panel {
                path,
                x_range: x_range.clone(),
                warnings: &warnings,
            };
            panel.draw(
                &cells[0],
                loss_title,
                vec![("loss".into(), PALETTE[0], loss)],
                chance,
            )?;

            let layered = |name: &str, transform: &dyn Fn(Points) -> Points| {
                self.layers(name)
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let label = format!("layer {l}");
                        (
                            label,
                            PALETTE[i % PALETTE.len()],
                            transform(self.series(name, &l)),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            let mut norms = vec![(
                "all layers".to_string(),
                RGBColor(150, 150, 150),
                log(self.series(signals::GRAD_NORM, "")),
            )];
            norms.extend(layered(signals::GRAD_NORM, &log));
            panel.draw(&cells[1], "gradient norm per layer (log10)", norms, None)?;
            panel.draw(
                &cells[2],
                "update / weight ratio per layer (log10), dashed: 1e-3",
                layered(signals::UPDATE_RATIO, &log),
                Some(-3.0),
            )?;
            let mut fractions = layered(signals::DEAD_FRACTION, &|v| v);
            for (label, _, _) in &mut fractions {
                *label = format!("dead, {label}");
            }
            let saturated = layered(signals::SATURATED_FRACTION, &|v| v);
            let offset = fractions.len();
            fractions.extend(
                saturated
                    .into_iter()
                    .enumerate()
                    .map(|(i, (label, _, data))| {
                        (
                            format!("saturated, {label}"),
                            PALETTE[(offset + i) % PALETTE.len()],
                            data,
                        )
                    }),
            );
            panel.draw(
                &cells[3],
                "fraction of dead ReLU units / saturated outputs",
                fractions,
                None,
            )?;

            // The warnings, in words.
            let style = ("sans-serif", 16).into_font().color(&WARNING_COLOUR);
            let lines: Vec<String> = if self.diagnoses.is_empty() {
                vec!["no warnings: none of the failures the doctor knows was seen".to_string()]
            } else {
                self.diagnoses
                    .iter()
                    .take(listed)
                    .map(|d| {
                        let layer = d
                            .layer
                            .as_ref()
                            .map_or(String::new(), |l| format!(" (layer {l})"));
                        let mut line =
                            format!("step {}: {}{layer}: {}", d.step, d.cause, d.message);
                        if line.chars().count() > 150 {
                            line = line.chars().take(147).collect::<String>() + "...";
                        }
                        line
                    })
                    .collect()
            };
            for (i, line) in lines.iter().enumerate() {
                footer
                    .draw(&Text::new(
                        line.as_str(),
                        (20, 10 + 30 * i as i32),
                        style.clone(),
                    ))
                    .map_err(|e| file_err(path, e))?;
            }
            Ok(())
        })
    }
}

/// Shared settings of the picture's panels.
struct Panel<'a> {
    path: &'a Path,
    x_range: std::ops::Range<f64>,
    warnings: &'a [(f64, String)],
}

/// `(step, value)` pairs.
type Points = Vec<(f64, f64)>;

/// A named, coloured line.
type Line = (String, RGBColor, Points);

impl Panel<'_> {
    /// One panel: lines against the step, an optional dashed horizontal
    /// reference, and a red vertical line at each warning's step.
    fn draw(
        &self,
        area: &Canvas<'_>,
        title: &str,
        lines: Vec<Line>,
        reference: Option<f64>,
    ) -> Result<()> {
        let path = self.path;
        let values = lines
            .iter()
            .flat_map(|l| l.2.iter().map(|p| p.1))
            .chain(reference);
        let y_range = padded_span(values);
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(self.x_range.clone(), y_range.clone())
            .map_err(|e| file_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| file_err(path, e))?;
        for (step, _) in self.warnings {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    [(*step, y_range.start), (*step, y_range.end)],
                    WARNING_COLOUR.mix(0.6).stroke_width(2),
                )))
                .map_err(|e| file_err(path, e))?;
        }
        if let Some(y) = reference {
            let (x0, x1) = (self.x_range.start, self.x_range.end);
            let dashes = plotters::element::DashedPathElement::new(
                [(x0, y), (x1, y)],
                8,
                6,
                BLACK.stroke_width(1),
            );
            chart
                .draw_series(std::iter::once(dashes))
                .map_err(|e| file_err(path, e))?;
        }
        let any = !lines.is_empty();
        // A deep model's middle layers are drawn but not listed: a GPT's
        // 30 legend rows would cover the plot and the panel beside it.
        let (rows, shown) = (lines.len(), LEGEND_ROWS / 2);
        let listed = |i: usize| rows <= LEGEND_ROWS || i < shown || i >= rows - (shown - 1);
        for (i, (name, colour, data)) in lines.into_iter().enumerate() {
            if rows > LEGEND_ROWS && i == shown {
                chart
                    .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                    .map_err(|e| file_err(path, e))?
                    .label(format!("... {} more layers", rows - LEGEND_ROWS + 1))
                    .legend(|(x, y)| PathElement::new([(x, y)], TRANSPARENT));
            }
            // NaN or infinite points break the line into segments.
            let segments: Vec<Vec<(f64, f64)>> = data
                .split(|p| !p.1.is_finite())
                .filter(|s| !s.is_empty())
                .map(<[_]>::to_vec)
                .collect();
            let series = chart
                .draw_series(
                    segments
                        .into_iter()
                        .map(|s| PathElement::new(s, colour.stroke_width(2))),
                )
                .map_err(|e| file_err(path, e))?;
            if listed(i) {
                series.label(name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            }
        }
        if any {
            draw_legend(&mut chart, 13, path)?;
        }
        Ok(())
    }
}
