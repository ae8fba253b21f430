//! Optimizer trajectories on classic test functions (module 1.4's lab):
//! SGD, SGD with momentum, Adam and RMSprop, each the library's own
//! optimizer, started from one point of Rosenbrock's valley, Beale's
//! function and a saddle, and drawn side by side over the function's
//! landscape.
//!
//! ```
//! use micrograd_plus::train::trajectories::{trajectory, Method, Surface};
//! // Adam walks down Rosenbrock's valley towards its minimum at (1, 1).
//! let path = trajectory(Surface::Rosenbrock, Method::Adam, 2000).unwrap();
//! let (x, y) = *path.last().unwrap();
//! assert!((x - 1.0).abs() < 0.05 && (y - 1.0).abs() < 0.1, "{x} {y}");
//! ```

use super::plot::draw_legend;
use crate::canvas::{file_err, register_font, render_png};
use crate::optim::{Adam, AdamConfig, Optimizer, RMSprop, RMSpropConfig, SGDConfig, SGD};
use crate::{no_grad, Result, Tensor};
use plotters::prelude::*;
use std::path::Path;

/// A test function of two variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `(1 - x)² + 100 (y - x²)²`: a curved, flat-bottomed valley; minimum 0 at (1, 1).
    Rosenbrock,
    /// `(1.5 - x + xy)² + (2.25 - x + xy²)² + (2.625 - x + xy³)²`: minimum 0 at (3, 0.5).
    Beale,
    /// `x² - y²`: a saddle at (0, 0), unbounded below along y.
    Saddle,
}

/// An optimizer, with the learning rate each surface gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Plain gradient descent.
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// Adam (β = 0.9, 0.999).
    Adam,
    /// RMSprop (α = 0.99).
    RmsProp,
}

impl Surface {
    /// The three surfaces, in drawing order.
    pub const ALL: [Surface; 3] = [Surface::Rosenbrock, Surface::Beale, Surface::Saddle];

    /// Its name in the picture.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::trajectories::Surface::Beale.name(), "Beale");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Surface::Rosenbrock => "Rosenbrock",
            Surface::Beale => "Beale",
            Surface::Saddle => "saddle x² - y²",
        }
    }

    /// The function at points `(x, y)` (tensors of one shape), in tensor
    /// ops so that autograd gives the optimizers their gradient.
    ///
    /// ```
    /// use micrograd_plus::{train::trajectories::Surface, Tensor};
    /// let (x, y) = (Tensor::new([3.0f64, 0.0]).unwrap(), Tensor::new([0.5f64, 0.0]).unwrap());
    /// assert_eq!(Surface::Beale.value(&x, &y).unwrap().to_vec::<f64>(), vec![0.0, 14.203125]);
    /// ```
    pub fn value(self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Surface::Rosenbrock => (-x + 1.0).square() + (y - &x.square()).square() * 100.0,
            Surface::Beale => {
                let term =
                    |c: f64, power: f64| -> Tensor { (-x + &(x * &y.pow_scalar(power))) + c };
                term(1.5, 1.0).square() + term(2.25, 2.0).square() + term(2.625, 3.0).square()
            }
            Surface::Saddle => x.square() - y.square(),
        })
    }

    fn start(self) -> (f64, f64) {
        match self {
            Surface::Rosenbrock => (-1.5, 2.0),
            Surface::Beale => (0.7, 1.4),
            Surface::Saddle => (-1.5, 0.02),
        }
    }

    /// The (x, y) window drawn.
    fn window(self) -> ([f64; 2], [f64; 2]) {
        match self {
            Surface::Rosenbrock => ([-2.0, 2.0], [-1.0, 3.0]),
            Surface::Beale => ([-1.0, 4.0], [-1.0, 2.0]),
            Surface::Saddle => ([-2.0, 2.0], [-2.0, 2.0]),
        }
    }
}

impl Method {
    /// The four methods, in drawing order.
    pub const ALL: [Method; 4] = [Method::Sgd, Method::Momentum, Method::Adam, Method::RmsProp];

    /// Its name in the legend.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::train::trajectories::Method::RmsProp.name(), "RMSprop");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Method::Sgd => "SGD",
            Method::Momentum => "SGD momentum 0.9",
            Method::Adam => "Adam",
            Method::RmsProp => "RMSprop",
        }
    }

    fn colour(self) -> RGBColor {
        match self {
            Method::Sgd => RGBColor(215, 48, 39),
            Method::Momentum => RGBColor(252, 141, 89),
            Method::Adam => RGBColor(69, 117, 180),
            Method::RmsProp => RGBColor(26, 152, 80),
        }
    }

    fn optimizer(self, surface: Surface, p: Tensor) -> Result<Box<dyn Optimizer>> {
        // Plain SGD needs a step small enough for the steepest wall it
        // meets (Rosenbrock's is ~200 at the start); the adaptive methods
        // scale their own steps.
        let sgd_lr = match surface {
            Surface::Rosenbrock => 5e-4, // its walls curve up to ~2000: 2 / 2000 = 1e-3 diverges
            Surface::Beale => 1e-2,
            Surface::Saddle => 2e-2,
        };
        Ok(match self {
            Method::Sgd => Box::new(SGD::new(
                vec![p],
                SGDConfig {
                    lr: sgd_lr,
                    ..Default::default()
                },
            )?),
            Method::Momentum => Box::new(SGD::new(
                vec![p],
                SGDConfig {
                    lr: sgd_lr,
                    momentum: 0.9,
                    ..Default::default()
                },
            )?),
            Method::Adam => Box::new(Adam::new(
                vec![p],
                AdamConfig {
                    lr: 0.02,
                    ..Default::default()
                },
            )?),
            Method::RmsProp => Box::new(RMSprop::new(
                vec![p],
                RMSpropConfig {
                    lr: 0.005,
                    ..Default::default()
                },
            )?),
        })
    }
}

/// The points `method` visits on `surface` in `steps` steps from the
/// surface's start; it stops early at the first point outside the
/// picture's window (the saddle has no minimum; a step too large leaves).
pub fn trajectory(surface: Surface, method: Method, steps: usize) -> Result<Vec<(f64, f64)>> {
    let (x0, y0) = surface.start();
    let p = Tensor::new([x0, y0])?.requires_grad(true);
    let mut opt = method.optimizer(surface, p.clone())?;
    let mut path = vec![(x0, y0)];
    for _ in 0..steps {
        opt.zero_grad();
        let (x, y) = (p.narrow(0, 0, 1)?, p.narrow(0, 1, 1)?);
        surface.value(&x, &y)?.sum().backward()?;
        opt.step()?;
        let v = p.to_vec::<f64>();
        path.push((v[0], v[1]));
        let ([x0, x1], [y0, y1]) = surface.window();
        if !((x0..=x1).contains(&v[0]) && (y0..=y1).contains(&v[1])) {
            break;
        }
    }
    Ok(path)
}

/// A path: the points an optimizer visited.
type Points = Vec<(f64, f64)>;

/// One landscape cell: left, bottom, width, height and shade (1 = lowest).
type Cell = (f64, f64, f64, f64, f64);

/// Grid cells per axis of the landscape behind the paths.
const GRID: usize = 120;

/// Draws every method's trajectory (`steps` steps) on every surface, one
/// panel per surface over its landscape (`log(1 + f - min)`, darker is
/// lower), and writes the PNG to `path`.
///
/// ```
/// let path = std::env::temp_dir().join(format!("mgp-trajectories-doc-{}.png", std::process::id()));
/// micrograd_plus::train::trajectories::plot(&path, 50).unwrap();
/// assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn plot(path: &Path, steps: usize) -> Result<()> {
    register_font()?;
    let panels: Vec<(Surface, Vec<(Method, Points)>)> = Surface::ALL
        .iter()
        .map(|&s| {
            let paths = Method::ALL
                .iter()
                .map(|&m| Ok((m, trajectory(s, m, steps)?)))
                .collect::<Result<Vec<_>>>()?;
            Ok((s, paths))
        })
        .collect::<Result<_>>()?;
    render_png(path, (1800, 620), |root| {
        let areas = root.split_evenly((1, 3));
        for (area, (surface, paths)) in areas.iter().zip(&panels) {
            let ([x0, x1], [y0, y1]) = surface.window();
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{} ({steps} steps)", surface.name()),
                    ("sans-serif", 20),
                )
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| file_err(path, e))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(|e| file_err(path, e))?;
            let cells = landscape(*surface, [x0, x1], [y0, y1])?;
            chart
                .draw_series(cells.into_iter().map(|(x, y, w, h, shade)| {
                    let c = (255.0 - 150.0 * shade) as u8;
                    Rectangle::new(
                        [(x, y), (x + w, y + h)],
                        RGBColor(c, c, c.saturating_add(20)).filled(),
                    )
                }))
                .map_err(|e| file_err(path, e))?;
            for (method, points) in paths {
                let colour = method.colour();
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        points.clone(),
                        colour.stroke_width(2),
                    )))
                    .map_err(|e| file_err(path, e))?
                    .label(method.name())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                    });
                if let Some(&end) = points.last() {
                    chart
                        .draw_series(std::iter::once(Circle::new(end, 4, colour.filled())))
                        .map_err(|e| file_err(path, e))?;
                }
            }
            let start = surface.start();
            chart
                .draw_series(std::iter::once(Circle::new(start, 5, BLACK.filled())))
                .map_err(|e| file_err(path, e))?;
            draw_legend(&mut chart, 13, path)?;
        }
        Ok(())
    })
}

/// The grid cells of a panel, `(x, y, width, height, shade)` with shade in
/// [0, 1]: `log(1 + f - min f)` scaled to the panel, 1 for the lowest.
fn landscape(surface: Surface, [x0, x1]: [f64; 2], [y0, y1]: [f64; 2]) -> Result<Vec<Cell>> {
    let (w, h) = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
    let centres = |lo: f64, step: f64| (0..GRID).map(move |i| lo + (i as f64 + 0.5) * step);
    let xs: Vec<f64> = centres(x0, w)
        .flat_map(|x| std::iter::repeat_n(x, GRID))
        .collect();
    let ys: Vec<f64> = (0..GRID).flat_map(|_| centres(y0, h)).collect();
    let f = no_grad(|| {
        surface.value(
            &Tensor::from_vec(xs.clone(), &[xs.len()])?,
            &Tensor::from_vec(ys.clone(), &[ys.len()])?,
        )
    })?
    .to_vec::<f64>();
    let lo = f.iter().copied().fold(f64::INFINITY, f64::min);
    let logs: Vec<f64> = f.iter().map(|v| (1.0 + v - lo).ln()).collect();
    let hi = logs
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    Ok(xs
        .iter()
        .zip(&ys)
        .zip(&logs)
        .map(|((&x, &y), &l)| (x - w / 2.0, y - h / 2.0, w, h, 1.0 - l / hi))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_on_the_saddle_follows_the_closed_form() {
        // x ← x - lr·2x shrinks by 1 - 2·lr each step, y ← y + lr·2y grows by 1 + 2·lr.
        let path = trajectory(Surface::Saddle, Method::Sgd, 10).unwrap();
        let (x, y) = path[10];
        assert!((x - -1.5 * 0.96f64.powi(10)).abs() < 1e-12, "{x}");
        assert!((y - 0.02 * 1.04f64.powi(10)).abs() < 1e-12, "{y}");
    }

    #[test]
    fn a_path_ends_at_its_first_point_outside_the_window() {
        let path = trajectory(Surface::Saddle, Method::Adam, 10_000).unwrap();
        assert!(path.len() < 10_001);
        let &(_, y) = path.last().unwrap();
        assert!(y > 2.0, "escapes along y, the saddle's way down: {y}");
        assert!(path[..path.len() - 1].iter().all(|&(_, y)| y <= 2.0));
    }
}
