//! Draws a laid-out [`Graph`] as a PNG (plotters' bitmap backend and the
//! embedded font, so no Graphviz and no system fonts): records as boxes
//! with their fields side by side, ops as ovals, arrows as curves from an
//! output's right side to an input's left side.

use super::layout::{layout, Layout, FIELD_PAD, FONT_PX, LINE_H};
use super::{Graph, Shape};
use crate::canvas::{file_err, register_font, render_png, Canvas};
use crate::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const RECORD_FILL: RGBColor = RGBColor(238, 244, 251);
const RECORD_LINE: RGBColor = RGBColor(52, 73, 94);
const OVAL_FILL: RGBColor = RGBColor(253, 242, 224);
const OVAL_LINE: RGBColor = RGBColor(185, 119, 14);
const EDGE: RGBColor = RGBColor(90, 90, 90);
/// Points per curve and per oval outline.
const SEGMENTS: usize = 24;

/// The width of `text` in the picture's font, in pixels.
pub(super) fn text_width(text: &str) -> f64 {
    let font = ("sans-serif", FONT_PX).into_font();
    match font.box_size(text) {
        Ok((w, _)) => f64::from(w),
        // Only if the embedded font failed to load: an average glyph width.
        Err(_) => text.chars().count() as f64 * FONT_PX * 0.6,
    }
}

/// Lays `graph` out and writes it to `path` as a PNG.
pub(super) fn write(graph: &Graph, path: &Path) -> Result<()> {
    register_font()?;
    let l = layout(graph, &text_width);
    let size = (l.width.ceil() as u32, l.height.ceil() as u32);
    render_png(path, size, |area| {
        draw(area, graph, &l).map_err(|e| file_err(path, e))
    })
}

type DrawResult = std::result::Result<
    (),
    DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>,
>;

fn draw(area: &Canvas<'_>, graph: &Graph, l: &Layout) -> DrawResult {
    let px = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
    for &(a, b) in &graph.edges {
        let (p, q) = (l.boxes[a], l.boxes[b]);
        let (x1, y1) = (p.x + p.w, p.y + p.h / 2.0);
        let (x2, y2) = (q.x - 1.0, q.y + q.h / 2.0);
        // A cubic curve leaving and entering horizontally.
        let bend = ((x2 - x1) / 2.0).max(20.0);
        let points: Vec<(i32, i32)> = (0..=SEGMENTS)
            .map(|i| {
                let t = i as f64 / SEGMENTS as f64;
                let u = 1.0 - t;
                let x = u * u * u * x1
                    + 3.0 * u * u * t * (x1 + bend)
                    + 3.0 * u * t * t * (x2 - bend)
                    + t * t * t * x2;
                let y =
                    u * u * u * y1 + 3.0 * u * u * t * y1 + 3.0 * u * t * t * y2 + t * t * t * y2;
                px(x, y)
            })
            .collect();
        area.draw(&PathElement::new(points, EDGE.stroke_width(1)))?;
        let head = vec![px(x2, y2), px(x2 - 8.0, y2 - 4.0), px(x2 - 8.0, y2 + 4.0)];
        area.draw(&Polygon::new(head, EDGE.filled()))?;
    }
    let text_style = ("sans-serif", FONT_PX)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    for (node, r) in graph.nodes.iter().zip(&l.boxes) {
        let cy = r.y + r.h / 2.0;
        match node.shape {
            Shape::Record => {
                let corners = [px(r.x, r.y), px(r.x + r.w, r.y + r.h)];
                area.draw(&Rectangle::new(corners, RECORD_FILL.filled()))?;
                area.draw(&Rectangle::new(corners, RECORD_LINE.stroke_width(1)))?;
                let mut x = r.x;
                for (i, field) in node.fields.iter().enumerate() {
                    let w = text_width(field) + 2.0 * FIELD_PAD;
                    if i > 0 {
                        area.draw(&PathElement::new(
                            vec![px(x, r.y), px(x, r.y + r.h)],
                            RECORD_LINE.stroke_width(1),
                        ))?;
                    }
                    area.draw(&Text::new(
                        field.clone(),
                        px(x + w / 2.0, cy),
                        text_style.clone(),
                    ))?;
                    x += w;
                }
            }
            Shape::Oval => {
                let (cx, rx, ry) = (r.x + r.w / 2.0, r.w / 2.0, r.h / 2.0);
                let outline: Vec<(i32, i32)> = (0..=4 * SEGMENTS)
                    .map(|i| {
                        let a = i as f64 / (4 * SEGMENTS) as f64 * std::f64::consts::TAU;
                        px(cx + rx * a.cos(), cy + ry * a.sin())
                    })
                    .collect();
                area.draw(&Polygon::new(outline.clone(), OVAL_FILL.filled()))?;
                area.draw(&PathElement::new(outline, OVAL_LINE.stroke_width(1)))?;
                let lines = node.fields.len() as f64;
                for (i, line) in node.fields.iter().enumerate() {
                    let y = cy + (i as f64 - (lines - 1.0) / 2.0) * LINE_H;
                    area.draw(&Text::new(line.clone(), px(cx, y), text_style.clone()))?;
                }
            }
        }
    }
    Ok(())
}
