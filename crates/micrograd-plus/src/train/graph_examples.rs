//! The two graphs `mgp graph` draws: micrograd's neuron on the scalar
//! engine, and one training step of the milestone-1 MLP on the tensor
//! engine.

use crate::nn::Module;
use crate::train::mlp_mnist::{self, MnistConfig};
use crate::value::{dot, Value};
use crate::viz::{retain_grads, tensor_graph, Graph};
use crate::Result;

/// micrograd's neuron from its lecture, after `backward`: inputs `x1 = 2`,
/// `x2 = 0`, weights `w1 = -3`, `w2 = 1`, bias `b = 6.8813735870195432`,
/// `o = tanh(x1·w1 + x2·w2 + b)`, every value labelled as micrograd labels
/// it.
///
/// ```
/// let g = micrograd_plus::train::graph_examples::neuron();
/// let dot = g.to_dot();
/// assert!(dot.contains("{ o | data 0.7071 | grad 1.0000 }"));
/// assert!(dot.contains("{ x1 | data 2.0000 | grad -1.5000 }"));
/// assert!(dot.contains("{ w1 | data -3.0000 | grad 1.0000 }"));
/// ```
pub fn neuron() -> Graph {
    let x1 = Value::new(2.0);
    let x2 = Value::new(0.0);
    let w1 = Value::new(-3.0);
    let w2 = Value::new(1.0);
    let b = Value::new(6.881_373_587_019_543);
    let x1w1 = &x1 * &w1;
    let x2w2 = &x2 * &w2;
    let sum = &x1w1 + &x2w2;
    let n = &sum + &b;
    let o = n.tanh();
    o.backward();
    dot::graph(
        &o,
        &[
            (&x1, "x1"),
            (&x2, "x2"),
            (&w1, "w1"),
            (&w2, "w2"),
            (&b, "b"),
            (&x1w1, "x1*w1"),
            (&x2w2, "x2*w2"),
            (&sum, "x1*w1 + x2*w2"),
            (&n, "n"),
            (&o, "o"),
        ],
    )
}

/// One training step of the milestone-1 MLP (784-128-64-10, batch
/// `batch`) on the first batch of the embedded MNIST subset: the graph of
/// its loss after `backward`, with the parameters' names and every
/// tensor's gradient norm.
///
/// ```
/// let g = micrograd_plus::train::graph_examples::mlp_step(8).unwrap();
/// let labels: Vec<&str> = g.nodes.iter().map(|n| n.fields[0].as_str()).collect();
/// for want in ["0.weight", "4.bias", "linear", "relu", "nll_loss"] {
///     assert!(labels.contains(&want), "{want} not in {labels:?}");
/// }
/// ```
pub fn mlp_step(batch: usize) -> Result<Graph> {
    let run = mlp_mnist::run(&MnistConfig {
        batch_size: batch,
        epochs: 1,
        ..Default::default()
    })?;
    let first = run
        .train
        .epoch(1)
        .next()
        .ok_or_else(|| crate::Error::argument("mlp_step", "the training set is empty"))??;
    let output = run.trainer.model.forward(&first.inputs)?;
    let loss = (run.trainer.loss)(&output, &first.targets)?;
    retain_grads(&loss);
    loss.backward()?;
    Ok(tensor_graph(&loss, &run.trainer.model.named_parameters()))
}
