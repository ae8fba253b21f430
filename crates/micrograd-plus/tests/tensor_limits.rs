//! Shapes that cannot exist: every constructor and op says so (an error, or
//! for the infallible constructors a panic naming the shape) instead of
//! wrapping a size around or aborting the process on a failed allocation
//! (issue 12). The shapes overflow the address space, so the answer does not
//! depend on the machine's memory or overcommit policy.

use micrograd_plus::{DType, Tensor};
use std::panic::catch_unwind;

/// 2^61 · 2 elements: fine as a count, but 2^65 bytes of f64.
const HUGE: [usize; 2] = [1 << 61, 2];

#[test]
fn fallible_constructors_and_ops_return_an_error_naming_the_shape() {
    let err = Tensor::try_full_dtype(&HUGE, 0.0, DType::F32).unwrap_err();
    assert_eq!(
        err.to_string(),
        "full: the result of shape [2305843009213693952, 2] is too large to allocate"
    );
    assert!(Tensor::try_randn(&HUGE, 0).is_err());
    let err = Tensor::from_vec(vec![1.0f32; 6], &[2, (1 << 63) + 3]).unwrap_err();
    assert!(
        err.to_string()
            .contains("more elements than memory can address"),
        "{err}"
    );
    let classes = Tensor::new([0.0f32, 1.0]).unwrap();
    assert!(Tensor::one_hot(&classes, 1 << 62).is_err());
    let row = Tensor::zeros(&[1, 1]);
    assert!(row.expand(&[1 << 62, 4]).is_err());
    assert!(Tensor::zeros(&[3]).narrow(0, usize::MAX, 2).is_err());
}

#[test]
fn infallible_constructors_panic_with_the_shape_instead_of_aborting() {
    let zeros = catch_unwind(|| Tensor::zeros(&HUGE)).unwrap_err();
    let msg = zeros.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("too large to allocate"), "{msg}");
    assert!(catch_unwind(|| Tensor::randn(&HUGE, 1)).is_err());
    assert!(catch_unwind(|| Tensor::rand(&HUGE, 1)).is_err());
    assert!(catch_unwind(|| Tensor::eye(1 << 40)).is_err());
    assert!(catch_unwind(|| Tensor::arange(0.0, 1e30, 1.0)).is_err());
    assert!(catch_unwind(|| Tensor::linspace(0.0, 1.0, usize::MAX)).is_err());
}

/// Attention's scores grow as T² beyond its operands: empty operands with
/// 2^33 positions ask for 2^66 scores, an error naming the op, not a wrapped
/// length. A head count whose 3·H overflows is an error too.
#[test]
fn attention_scores_too_large_are_an_error() {
    let long = Tensor::zeros(&[1, 1 << 33, 0]);
    let err = Tensor::scaled_dot_product_attention(&long, &long, &long, None, true, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("scaled_dot_product_attention: the result of shape [1, 8589934592, 8589934592] is too large"),
        "{err}"
    );
    let err = Tensor::qkv_packed_attention(&long, 1, None, true, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "qkv_packed_attention: the result of shape [1, 1, 8589934592, 8589934592] is too large"
        ),
        "{err}"
    );
    // 3·(usize::MAX / 3 + 1) wraps around to 2, which divides 12.
    let qkv = Tensor::zeros(&[2, 3, 12]);
    let err =
        Tensor::qkv_packed_attention(&qkv, usize::MAX / 3 + 1, None, false, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("do not split into query, key and value"),
        "{err}"
    );
}
