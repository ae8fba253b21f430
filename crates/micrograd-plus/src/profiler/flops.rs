//! Floating-point operation counts of the ops whose cost is dominated by
//! multiply-adds, from their shapes alone (one multiply-add = 2 FLOPs, the
//! convention of `torch.utils.flop_counter`). Other ops have no count: their
//! time is memory traffic, and a FLOP rate would mislead.
//!
//! Backward counts follow from the products the backward rule computes: for
//! `C = A·B`, `dA = dC·Bᵀ` and `dB = Aᵀ·dC` each cost what the forward did,
//! and only the gradients an input wants are computed.

use crate::tensor::shape::numel;

/// The forward FLOPs of `op` with inputs of shapes `inputs` and an output of
/// shape `out`, or `None` where no count is defined.
pub(crate) fn forward(op: &str, inputs: &[&[usize]], out: &[usize]) -> Option<u64> {
    let out_n = numel(out) as u64;
    Some(match op {
        "matmul" | "bmm" => 2 * out_n * *inputs.first()?.last()? as u64,
        "linear" | "conv2d" => product_flops(op, inputs, out)? + bias_flops(inputs, out_n),
        "scaled_dot_product_attention" => {
            let (qk, pv) = attention_products(inputs)?;
            qk + pv
        }
        // Q·Kᵀ and P·V per head, each `2·T·T·d`; the heads' `d`s sum to C.
        "qkv_packed_attention" => 2 * packed_attention_product(out)?,
        _ => return None,
    })
}

/// The backward FLOPs of `op`, given which inputs want a gradient.
pub(crate) fn backward(
    op: &str,
    inputs: &[&[usize]],
    out: &[usize],
    wants: &[bool],
) -> Option<u64> {
    let want = |i: usize| wants.get(i).copied().unwrap_or(false);
    let wanted = |i: usize| u64::from(want(i));
    let out_n = numel(out) as u64;
    Some(match op {
        "matmul" | "bmm" => (wanted(0) + wanted(1)) * forward(op, inputs, out)?,
        "linear" | "conv2d" => {
            (wanted(0) + wanted(1)) * product_flops(op, inputs, out)? + wanted(2) * out_n
        }
        // dP = dO·Vᵀ (for q or k), dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q.
        "scaled_dot_product_attention" => {
            let (qk, pv) = attention_products(inputs)?;
            u64::from(want(0) || want(1)) * pv + wanted(2) * pv + (wanted(0) + wanted(1)) * qk
        }
        // dV, dP, dQ and dK, each the size of one forward product.
        "qkv_packed_attention" => wanted(0) * 4 * packed_attention_product(out)?,
        _ => return None,
    })
}

/// The multiply-adds of linear (`x·Wᵀ`) and conv2d (im2col times the
/// weight): every output element is a dot product over one weight row.
fn product_flops(op: &str, inputs: &[&[usize]], out: &[usize]) -> Option<u64> {
    let w = inputs.get(1)?;
    let row = match op {
        "linear" => *w.last()?,
        _ => numel(&w[1..]), // conv2d: (C/groups)·kh·kw per output channel
    };
    Some(2 * numel(out) as u64 * row as u64)
}

/// One addition per output element when a bias is the third input.
fn bias_flops(inputs: &[&[usize]], out_n: u64) -> u64 {
    if inputs.len() > 2 {
        out_n
    } else {
        0
    }
}

/// Attention's two products over `q (…, T, d)`, `k (…, S, d)`,
/// `v (…, S, dv)`: `(Q·Kᵀ, P·V)`, each summed over the batch and heads.
fn attention_products(inputs: &[&[usize]]) -> Option<(u64, u64)> {
    let (q, v) = (inputs.first()?, inputs.get(2)?);
    let (t, d) = (q[q.len().checked_sub(2)?], *q.last()?);
    let (s, dv) = (v[v.len().checked_sub(2)?], *v.last()?);
    let heads = numel(&q[..q.len() - 2]) as u64;
    Some((
        2 * heads * (t * s * d) as u64,
        2 * heads * (t * s * dv) as u64,
    ))
}

/// One of packed attention's products, `2·T·T·C` over its output
/// `(…, T, C)`: every head's `(T×d)·(d×T)`, whose `d`s sum to `C`.
fn packed_attention_product(out: &[usize]) -> Option<u64> {
    let t = out[out.len().checked_sub(2)?];
    Some(2 * numel(out) as u64 * t as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_and_linear_follow_the_closed_form() {
        // (5, 3)·(3, 4): 5·4 dot products of length 3.
        assert_eq!(
            forward("matmul", &[&[5, 3], &[3, 4]], &[5, 4]),
            Some(2 * 5 * 4 * 3)
        );
        assert_eq!(
            backward("matmul", &[&[5, 3], &[3, 4]], &[5, 4], &[true, false]),
            Some(2 * 5 * 4 * 3)
        );
        // linear 784 -> 128 on 64 rows, with bias.
        let f = forward("linear", &[&[64, 784], &[128, 784], &[128]], &[64, 128]);
        assert_eq!(f, Some(2 * 64 * 128 * 784 + 64 * 128));
        let b = backward(
            "linear",
            &[&[64, 784], &[128, 784], &[128]],
            &[64, 128],
            &[false, true, true],
        );
        assert_eq!(b, Some(2 * 64 * 128 * 784 + 64 * 128));
        assert_eq!(forward("relu", &[&[4]], &[4]), None);
    }

    #[test]
    fn conv2d_counts_one_dot_product_per_output_element() {
        // Conv2d(3, 64, 3, padding 1) on (32, 3, 32, 32), no bias.
        let f = forward(
            "conv2d",
            &[&[32, 3, 32, 32], &[64, 3, 3, 3]],
            &[32, 64, 32, 32],
        );
        assert_eq!(f, Some(2 * 32 * 64 * 32 * 32 * 27));
        // Groups shrink the weight's second dim and so the count.
        let g = forward("conv2d", &[&[1, 4, 5, 5], &[4, 1, 3, 3]], &[1, 4, 3, 3]);
        assert_eq!(g, Some(2 * 4 * 9 * 9));
    }

    #[test]
    fn attention_backward_counts_the_four_products() {
        let shapes: [&[usize]; 3] = [&[2, 4, 8, 16], &[2, 4, 8, 16], &[2, 4, 8, 16]];
        let one = 2 * 8 * (8 * 8 * 16); // one (T×d)·(d×S) product over 8 heads
        assert_eq!(
            forward("scaled_dot_product_attention", &shapes, &[2, 4, 8, 16]),
            Some(2 * one)
        );
        assert_eq!(
            backward(
                "scaled_dot_product_attention",
                &shapes,
                &[2, 4, 8, 16],
                &[true; 3]
            ),
            Some(4 * one)
        );
        assert_eq!(
            backward(
                "scaled_dot_product_attention",
                &shapes,
                &[2, 4, 8, 16],
                &[false, false, true]
            ),
            Some(one)
        );
        // The same attention packed: qkv (2, 8, 3·64) with 4 heads of 16.
        let packed: [&[usize]; 1] = [&[2, 8, 192]];
        assert_eq!(
            forward("qkv_packed_attention", &packed, &[2, 8, 64]),
            Some(2 * one)
        );
        assert_eq!(
            backward("qkv_packed_attention", &packed, &[2, 8, 64], &[true]),
            Some(4 * one)
        );
    }
}
