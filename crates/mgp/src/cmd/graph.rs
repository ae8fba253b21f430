//! `mgp graph`: pictures of computation graphs, as Graphviz DOT and as a
//! picture: rendered by a system Graphviz when `dot` is on PATH (PNG or
//! SVG), else a PNG drawn by the built-in layout. The graphs and the
//! drawing live in `micrograd_plus::viz`.

use anyhow::Context;
use micrograd_plus::train::graph_examples as examples;
use micrograd_plus::viz::graphviz::{self, Format};
use micrograd_plus::viz::Graph;
use std::path::PathBuf;

/// Which graph to draw.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Which {
    /// micrograd's neuron, tanh(x1*w1 + x2*w2 + b), on the scalar engine: data and grad of every value.
    Neuron,
    /// One training step of the milestone-1 MLP on an MNIST batch: ops, shapes and gradient norms.
    Mlp,
}

/// The picture's format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureFormat {
    /// PNG (Graphviz's, or the built-in layout's without Graphviz).
    Png,
    /// SVG (needs Graphviz's dot).
    Svg,
}

/// Options of `mgp graph`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp graph neuron --out pics   # pics/neuron.dot and pics/neuron.png\n  \
    mgp graph mlp --batch 8")]
pub struct Args {
    /// The graph to draw.
    #[arg(value_enum)]
    pub which: Which,
    /// Folder for NAME.dot and the picture (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Batch size of the MLP step.
    #[arg(long, default_value_t = 64, value_parser = super::args::positive_usize)]
    pub batch: usize,
    /// The picture: png or svg. Rendered by Graphviz's dot when it is on
    /// PATH; without it, a PNG from the built-in layout.
    #[arg(long, value_enum, default_value = "png")]
    pub format: PictureFormat,
    /// Draw with the built-in layout even when Graphviz is installed.
    #[arg(long)]
    pub no_graphviz: bool,
}

/// Builds the graph and writes its DOT and its picture.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let (name, graph): (&str, Graph) = match args.which {
        Which::Neuron => ("neuron", examples::neuron()),
        Which::Mlp => ("mlp-step", examples::mlp_step(args.batch)?),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the folder {}", args.out.display()))?;
    let dot = args.out.join(format!("{name}.dot"));
    graph.write_dot(&dot)?;
    println!("{} nodes, {} edges", graph.nodes.len(), graph.edges.len());
    let graphviz = (!args.no_graphviz).then(graphviz::find_dot).flatten();
    match graphviz {
        Some(program) => {
            let format = match args.format {
                PictureFormat::Png => Format::Png,
                PictureFormat::Svg => Format::Svg,
            };
            let picture = args.out.join(format!("{name}.{}", format.name()));
            graphviz::render(&graph, &program, &picture, format)?;
            println!(
                "wrote {} (rendered by Graphviz: {})",
                picture.display(),
                program.display()
            );
        }
        None => {
            let png = args.out.join(format!("{name}.png"));
            graph.write_png(&png)?;
            let why = if args.no_graphviz {
                "--no-graphviz"
            } else {
                "no Graphviz dot on PATH"
            };
            if args.format == PictureFormat::Svg {
                println!("SVG needs Graphviz's dot ({why}): a PNG instead");
            }
            println!(
                "wrote {} (laid out without Graphviz: {why}; install Graphviz for its layout, \
                 or: dot -Tsvg {} -o {name}.svg)",
                png.display(),
                dot.display()
            );
        }
    }
    println!("wrote {}", dot.display());
    Ok(())
}
