//! Where every picture is drawn: plotters' in-memory bitmap with an
//! embedded font, encoded as PNG and written atomically. Shared by the
//! training charts ([`crate::train::plot`], the doctor's page) and the graph
//! pictures ([`crate::viz`]), so it sits below both.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// plotters looks fonts up by family name in a global table; fill it once.
pub(crate) fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| Error::argument("plot", "embedded font could not be parsed"));
    });
    result
}

/// An error writing the picture at `path`.
pub(crate) fn file_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

/// The drawing surface [`render_png`] hands out.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Draws a `width × height` picture in memory with `draw`, encodes it as PNG
/// and writes it to `path` atomically ([`crate::io::write_atomic`]): a full
/// disk or a kill leaves the previous picture (or none), never a truncated
/// file, which plotters' own file backend would.
pub(crate) fn render_png(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Canvas<'_>) -> Result<()>,
) -> Result<()> {
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| file_err(path, e))?;
        draw(&root)?;
        root.present().map_err(|e| file_err(path, e))?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &pixels,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| file_err(path, format!("cannot encode PNG: {e}")))?;
    crate::io::write_atomic(path, &png)
}
