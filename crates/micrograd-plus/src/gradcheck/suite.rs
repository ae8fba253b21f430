//! The gradient-check catalogue: one [`OpCheck`] for every differentiable op
//! of the tensor engine and every shape case worth checking, shared by the
//! test suite (`tests/gradcheck_ops.rs`) and the `mgp gradcheck` command.
//!
//! This is the upper half of the catalogue: it imports the ops (and the nn
//! losses) and joins their lists. Each op's checks live with the op, in a
//! `gradchecks` module at the end of its file (under `tensor/ops/`, the
//! dtype conversion in `tensor/mod.rs`, the losses of issue 14 under
//! `nn/loss/`), built from the case types and generator of [`super::case`],
//! which depends only on the tensor engine. [`op_checks`] concatenates the
//! lists in a fixed order, since the inputs' seeds run on from one list to
//! the next. What is left here spans the whole engine rather than one op:
//! the composites (a tensor reused across several ops) and the tie cases.
//!
//! ```
//! use micrograd_plus::gradcheck::{op_checks, tie_checks};
//! let checks = op_checks();
//! assert!(checks.iter().any(|c| c.op == "matmul" && c.shapes == "(2,1,3,4)+(3,4,2)"));
//! let report = checks.iter().find(|c| c.op == "softmax").unwrap().run().unwrap();
//! assert!(report.passed, "{report:?}");
//! assert!(tie_checks().iter().all(|t| t.run().unwrap() < 1e-12));
//! ```

pub use super::case::{OpCheck, TieCheck};

use super::case::{f64_tensor, Gen};
use crate::nn::loss;
use crate::tensor;
use crate::tensor::ops;
use crate::tensor::ops::padding::PadMode;

/// Composites that reuse a tensor across several ops, so the gradients
/// reaching it along each path must add up: they check the graph, not one
/// op, and so live here rather than in an op file.
fn composite_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
    out.push(OpCheck::new(
        "composite",
        "x*x + exp(x)*x",
        vec![g.randn(&[3, 4])],
        |t| {
            let x = &t[0];
            x.mul(x)?.add(&x.exp().mul(x)?)
        },
    ));
    out.push(OpCheck::new(
        "composite",
        "x ** x",
        vec![g.positive(&[2, 3])],
        |t| t[0].pow(&t[0]),
    ));
    out.push(OpCheck::new(
        "composite",
        "x · xᵀ",
        vec![g.randn(&[3, 4])],
        |t| t[0].matmul(&t[0].t()?),
    ));
    out.push(OpCheck::new(
        "composite",
        "sigmoid(x)·tanh(x) + sum(x)",
        vec![g.randn(&[2, 3])],
        |t| {
            let x = &t[0];
            x.sigmoid().mul(&x.tanh())?.add(&x.sum())
        },
    ));
    out.push(OpCheck::new(
        "composite",
        "2-layer MLP: log_softmax(tanh(x·W1 + b1)·W2 + b2)",
        vec![
            g.randn(&[4, 3]),
            g.randn(&[3, 5]),
            g.randn(&[5]),
            g.randn(&[5, 2]),
            g.randn(&[2]),
        ],
        |t| {
            let h = t[0].matmul(&t[1])?.add(&t[2])?.tanh();
            h.matmul(&t[3])?.add(&t[4])?.log_softmax(-1)
        },
    ));
    out.push(OpCheck::new(
        "composite",
        "layer norm over the last dim, with gain and bias",
        vec![g.randn(&[3, 4]), g.randn(&[4]), g.randn(&[4])],
        |t| {
            let x = &t[0];
            let centred = x.sub(&x.mean_dims(&[-1], true)?)?;
            let scale = x.var_dims(&[-1], 0, true)?.add_scalar(1e-5).sqrt();
            centred.div(&scale)?.mul(&t[1])?.add(&t[2])
        },
    ));
    let targets = f64_tensor(vec![2.0, 0.0, 1.0, 2.0], &[4, 1]);
    out.push(OpCheck::new(
        "composite",
        "cross-entropy: -mean(gather(log_softmax(x), targets))",
        vec![g.randn(&[4, 3])],
        move |t| Ok(t[0].log_softmax(1)?.gather(1, &targets)?.mean().neg()),
    ));
    out.push(OpCheck::new(
        "composite",
        "attention: softmax(q·kᵀ/2)·v",
        vec![g.randn(&[3, 4]), g.randn(&[3, 4]), g.randn(&[3, 4])],
        |t| {
            let scores = t[0].matmul(&t[1].t()?)?.div_scalar(2.0);
            scores.softmax(-1)?.matmul(&t[2])
        },
    ));
}

/// Every gradient check of the catalogue, in a fixed order with fixed seeds.
///
/// Covers each differentiable op of the engine: binary ops with every kind of
/// broadcasting, scalar arithmetic, unary math and activations, reductions
/// over every dim with and without keepdim, softmax, all matmul shape rules,
/// layout and indexing ops, `where_`/`masked_fill`, dtype conversion,
/// composites that reuse a tensor several times, and the layers and
/// losses of issue 14.
///
/// ```
/// use micrograd_plus::gradcheck::op_checks;
/// let checks = op_checks();
/// assert!(checks.len() > 200);
/// let sum_checks = checks.iter().filter(|c| c.op == "sum").count();
/// assert!(sum_checks >= 11);
/// ```
pub fn op_checks() -> Vec<OpCheck> {
    let g = &mut Gen::new();
    let mut out = Vec::new();
    ops::binary::gradchecks::binary_checks(g, &mut out);
    ops::unary::gradchecks::scalar_checks(g, &mut out);
    ops::unary::gradchecks::unary_checks(g, &mut out);
    ops::unary::gradchecks::activation_checks(g, &mut out);
    ops::reduce::gradchecks::reduction_checks(g, &mut out);
    // Scans and sorts.
    ops::scan::gradchecks::scan_checks(g, &mut out);
    ops::norm::gradchecks::vector_norm_checks(g, &mut out);
    ops::reduce::gradchecks::max_min_dim_checks(g, &mut out);
    ops::sort::gradchecks::sort_checks(g, &mut out);
    ops::softmax::gradchecks::softmax_checks(g, &mut out);
    ops::matmul::gradchecks::matmul_checks(g, &mut out);
    ops::linear::gradchecks::linear_checks(g, &mut out);
    ops::layout::gradchecks::layout_checks(g, &mut out);
    // Rearrangements.
    ops::rearrange::gradchecks::rearrange_checks(g, &mut out);
    ops::matmul::gradchecks::outer_bmm_checks(g, &mut out);
    ops::rearrange::gradchecks::pixel_shuffle_checks(g, &mut out);
    ops::norm::gradchecks::normalize_checks(g, &mut out);
    ops::softmax::gradchecks::glu_checks(g, &mut out);
    ops::padding::gradchecks::pad_checks(g, &mut out);
    ops::index::gradchecks::index_checks(g, &mut out);
    ops::select::gradchecks::select_checks(g, &mut out);
    tensor::gradchecks::dtype_checks(g, &mut out);
    composite_checks(g, &mut out);
    ops::conv::gradchecks::conv_checks(g, &mut out);
    ops::pool::gradchecks::pool_checks(g, &mut out);
    ops::batch_norm::gradchecks::batch_norm_checks(g, &mut out);
    // The losses of issue 14: inputs kept off the hinges' kinks, variances
    // and rates positive.
    loss::margin_ranking::gradchecks::margin_ranking_checks(g, &mut out);
    loss::cosine_embedding::gradchecks::cosine_embedding_checks(g, &mut out);
    loss::triplet_margin::gradchecks::triplet_margin_checks(g, &mut out);
    loss::soft_margin::gradchecks::soft_margin_checks(g, &mut out);
    loss::multilabel_soft_margin::gradchecks::multilabel_soft_margin_checks(g, &mut out);
    loss::poisson_nll::gradchecks::poisson_nll_checks(g, &mut out);
    loss::gaussian_nll::gradchecks::gaussian_nll_checks(g, &mut out);
    ops::similarity::gradchecks::similarity_checks(g, &mut out);
    ops::dropout::gradchecks::dropout_checks(g, &mut out);
    ops::attention::gradchecks::scale_checks(g, &mut out);
    // The layers of issue 14.
    ops::conv1d::gradchecks::conv1d_checks(g, &mut out);
    ops::conv_padding::gradchecks::same_padding_checks(g, &mut out);
    ops::conv_transpose::gradchecks::conv_transpose_checks(g, &mut out);
    ops::pool::gradchecks::pool_option_checks(g, &mut out);
    ops::interpolate::gradchecks::interpolate_checks(g, &mut out);
    ops::group_norm::gradchecks::group_norm_checks(g, &mut out);
    out
}

/// Gradients at ties and kinks, with the expected values worked out by hand
/// (PyTorch's conventions): ties in max/min reductions and in
/// maximum/minimum split the gradient evenly; relu and abs have gradient 0
/// at 0; clamp passes the gradient at its bounds; leaky_relu and elu take
/// the negative side's slope (alpha) at 0.
///
/// ```
/// use micrograd_plus::gradcheck::tie_checks;
/// for tie in tie_checks() {
///     assert_eq!(tie.run().unwrap(), 0.0, "{}", tie.name());
/// }
/// ```
pub fn tie_checks() -> Vec<TieCheck> {
    let t = |v: Vec<f64>, shape: &[usize]| f64_tensor(v, shape);
    let third = 1.0 / 3.0;
    vec![
        TieCheck::new(
            "max",
            "two-way tie, all elements",
            vec![t(vec![1.0, 3.0, 3.0, 2.0], &[2, 2])],
            |x| x[0].max(),
            vec![vec![0.0, 0.5, 0.5, 0.0]],
        ),
        TieCheck::new(
            "min",
            "three-way tie, all elements",
            vec![t(vec![2.0, 1.0, 1.0, 1.0, 5.0, 4.0], &[2, 3])],
            |x| x[0].min(),
            vec![vec![0.0, third, third, third, 0.0, 0.0]],
        ),
        TieCheck::new(
            "max",
            "ties in each row, dims=[1]",
            vec![t(vec![1.0, 3.0, 3.0, 2.0, 2.0, 2.0], &[2, 3])],
            |x| x[0].max_dims(&[1], false),
            vec![vec![0.0, 0.5, 0.5, third, third, third]],
        ),
        TieCheck::new(
            "min",
            "tie in one column, dims=[0], keepdim",
            vec![t(vec![1.0, 2.0, 1.0, 3.0], &[2, 2])],
            |x| x[0].min_dims(&[0], true),
            vec![vec![0.5, 1.0, 0.5, 0.0]],
        ),
        TieCheck::new(
            "max",
            "ties over dims=[0, 2]",
            // [[[4, 1], [3, 3]], [[4, 0], [3, -1]]]: for dim-1 index 0 the
            // candidates are {4, 1, 4, 0} (two-way tie), for index 1 they are
            // {3, 3, 3, -1} (three-way tie).
            vec![t(vec![4.0, 1.0, 3.0, 3.0, 4.0, 0.0, 3.0, -1.0], &[2, 2, 2])],
            |x| x[0].max_dims(&[0, 2], false),
            vec![vec![0.5, 0.0, third, third, 0.5, 0.0, third, 0.0]],
        ),
        TieCheck::new(
            "maximum",
            "equal elements split",
            vec![t(vec![1.0, 2.0, 3.0], &[3]), t(vec![1.0, 5.0, 0.0], &[3])],
            |x| x[0].maximum(&x[1]),
            vec![vec![0.5, 0.0, 1.0], vec![0.5, 1.0, 0.0]],
        ),
        TieCheck::new(
            "minimum",
            "equal elements split, broadcast 0-d",
            vec![t(vec![1.0, 2.0, 2.0, 3.0], &[2, 2]), t(vec![2.0], &[])],
            |x| x[0].minimum(&x[1]),
            vec![vec![1.0, 0.5, 0.5, 0.0], vec![2.0]],
        ),
        TieCheck::new(
            "relu",
            "gradient 0 at 0",
            vec![t(vec![-1.0, 0.0, 2.0], &[3])],
            |x| Ok(x[0].relu()),
            vec![vec![0.0, 0.0, 1.0]],
        ),
        TieCheck::new(
            "abs",
            "gradient 0 at 0",
            vec![t(vec![-1.0, 0.0, 2.0], &[3])],
            |x| Ok(x[0].abs()),
            vec![vec![-1.0, 0.0, 1.0]],
        ),
        TieCheck::new(
            "clamp",
            "no gradient at the bounds (PyTorch 2.15)",
            vec![t(vec![-1.0, 0.0, 0.5, 1.0, 2.0], &[5])],
            |x| Ok(x[0].clamp(Some(0.0), Some(1.0))),
            vec![vec![0.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "leaky_relu",
            "slope alpha at 0",
            vec![t(vec![-1.0, 0.0, 2.0], &[3])],
            |x| Ok(x[0].leaky_relu(0.1)),
            vec![vec![0.1, 0.1, 1.0]],
        ),
        TieCheck::new(
            "elu",
            "slope alpha at 0",
            vec![t(vec![0.0, 1.0], &[2])],
            |x| Ok(x[0].elu(0.5)),
            vec![vec![0.5, 1.0]],
        ),
        TieCheck::new(
            "relu6",
            "gradient 0 at 0 and at 6",
            vec![t(vec![-1.0, 0.0, 3.0, 6.0, 7.0], &[5])],
            |x| Ok(x[0].relu6()),
            vec![vec![0.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "hardtanh",
            "gradient 0 at the bounds",
            vec![t(vec![-2.0, -1.0, 0.0, 1.0, 2.0], &[5])],
            |x| x[0].hardtanh(-1.0, 1.0),
            vec![vec![0.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "hardswish",
            "0 at -3, 1 at 3 (PyTorch 2.15)",
            vec![t(vec![-3.0, 0.0, 3.0], &[3])],
            |x| Ok(x[0].hardswish()),
            vec![vec![0.0, 0.5, 1.0]],
        ),
        TieCheck::new(
            "hardsigmoid",
            "0 at ±3",
            vec![t(vec![-3.0, 0.0, 3.0], &[3])],
            |x| Ok(x[0].hardsigmoid()),
            vec![vec![0.0, 1.0 / 6.0, 0.0]],
        ),
        TieCheck::new(
            "sign",
            "gradient 0 everywhere",
            vec![t(vec![-2.0, 0.0, 3.0], &[3])],
            |x| Ok(x[0].sign()),
            vec![vec![0.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "clamp",
            "tensor bounds: a tie with a bound splits, equal bounds give x all",
            vec![
                t(vec![0.0, 1.0, 0.5, 2.0], &[4]),
                t(vec![0.0, 0.0, 0.5, 1.0], &[4]),
                t(vec![1.0, 1.0, 0.5, 0.0], &[4]),
            ],
            |x| x[0].clamp_tensor(Some(&x[1]), Some(&x[2])),
            vec![
                vec![0.5, 0.5, 1.0, 0.0],
                vec![0.5, 0.0, 0.0, 0.0],
                vec![0.0, 0.5, 0.0, 1.0],
            ],
        ),
        TieCheck::new(
            "prod",
            "one zero: its gradient is the product of the others",
            vec![t(vec![2.0, 0.0, 3.0, 4.0], &[4])],
            |x| Ok(x[0].prod()),
            vec![vec![0.0, 24.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "prod",
            "two zeros in a row: all 0; one zero in the other",
            vec![t(vec![0.0, 2.0, 0.0, 5.0, 0.0, 3.0], &[2, 3])],
            |x| x[0].prod_dim(1, false),
            vec![vec![0.0, 0.0, 0.0, 0.0, 15.0, 0.0]],
        ),
        TieCheck::new(
            "cumprod",
            "a zero: the sum stops before it, 0 after it",
            vec![t(vec![2.0, 0.0, 3.0, 4.0], &[4])],
            |x| x[0].cumprod(0),
            // y = [2, 0, 0, 0]: dx0 = 1; dx1 = 2·(1 + 3 + 3·4) = 32.
            vec![vec![1.0, 32.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "vector_norm",
            "2-norm of zeros: gradient 0",
            vec![t(vec![0.0, 0.0, 3.0, -4.0], &[2, 2])],
            |x| x[0].vector_norm(2.0, &[1], false),
            vec![vec![0.0, 0.0, 0.6, -0.8]],
        ),
        TieCheck::new(
            "vector_norm",
            "∞-norm tie: split between the largest |x|",
            vec![t(vec![3.0, -3.0, 1.0], &[3])],
            |x| x[0].vector_norm(f64::INFINITY, &[], false),
            vec![vec![0.5, -0.5, 0.0]],
        ),
        TieCheck::new(
            "max_dim",
            "tie: the first index gets it all",
            vec![t(vec![1.0, 3.0, 3.0, 2.0, 2.0, 0.0], &[2, 3])],
            |x| Ok(x[0].max_dim(1, false)?.0),
            vec![vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "topk",
            "ties: PyTorch's choice (indices 2 and 4)",
            vec![t(vec![1.0, 3.0, 3.0, 2.0, 3.0, 1.0, 1.0], &[7])],
            |x| Ok(x[0].topk(2, 0, true, true)?.0),
            vec![vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "pad",
            "reflect: a mirrored element collects its copies' gradients",
            vec![t(vec![1.0, 2.0, 3.0], &[1, 3])],
            |x| x[0].pad_with(&[2, 1], PadMode::Reflect),
            // [3, 2, 1, 2, 3, 2]: element 1 appears 3 times, 2 once, 3 twice.
            vec![vec![1.0, 3.0, 2.0]],
        ),
        TieCheck::new(
            "embedding",
            "padding_idx=-1: the padding row is read but gets no gradient",
            vec![t(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])],
            |x| {
                let ids = f64_tensor(vec![0.0, 2.0, 2.0, 1.0], &[4]);
                crate::nn::embedding::embedding(&ids, &x[0], Some(-1))
            },
            vec![vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0]],
        ),
        TieCheck::new(
            "cosine_similarity",
            "‖a‖ below eps: PyTorch's gradient, as if the norm were not clamped",
            vec![t(vec![0.25, 0.0], &[2]), t(vec![1.0, 0.0], &[2])],
            |x| x[0].cosine_similarity(&x[1], 0, 0.5),
            // â = a/0.5 = [0.5, 0]; d/da = b̂/0.5 − (a·b̂)/0.5² · a/‖a‖ = [2, 0] − [1, 0]
            // (the derivative of the clamped value would be [2, 0]); d/db = 0 (parallel)
            vec![vec![1.0, 0.0], vec![0.0, 0.0]],
        ),
    ]
}
