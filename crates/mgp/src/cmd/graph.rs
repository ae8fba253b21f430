//! `mgp graph`: pictures of computation graphs, as Graphviz DOT and as an
//! PNG drawn without Graphviz. The graphs and the drawing live in
//! `micrograd_plus::viz`.

use anyhow::Context;
use micrograd_plus::train::graph_examples as examples;
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

/// Options of `mgp graph`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    mgp graph neuron --out pics   # pics/neuron.dot and pics/neuron.png\n  \
    mgp graph mlp --batch 8")]
pub struct Args {
    /// The graph to draw.
    #[arg(value_enum)]
    pub which: Which,
    /// Folder for NAME.dot and NAME.png (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Batch size of the MLP step.
    #[arg(long, default_value_t = 64, value_parser = super::args::positive_usize)]
    pub batch: usize,
}

/// Builds the graph and writes its DOT and PNG.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let (name, graph): (&str, Graph) = match args.which {
        Which::Neuron => ("neuron", examples::neuron()),
        Which::Mlp => ("mlp-step", examples::mlp_step(args.batch)?),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the folder {}", args.out.display()))?;
    let dot = args.out.join(format!("{name}.dot"));
    let png = args.out.join(format!("{name}.png"));
    graph.write_dot(&dot)?;
    graph.write_png(&png)?;
    println!(
        "{} nodes, {} edges\nwrote {} (laid out without Graphviz)\nwrote {} (Graphviz draws it too: dot -Tsvg {} -o {name}.svg)",
        graph.nodes.len(),
        graph.edges.len(),
        png.display(),
        dot.display(),
        dot.display()
    );
    Ok(())
}
