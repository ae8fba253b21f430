//! Edge cases where an earlier engine disagreed with PyTorch 2.15 (issue 12's
//! differential test). The expected values are what PyTorch 2.15 prints for
//! the same inputs (`scripts/record_torch_edge_cases.py`); each test failed
//! before its fix.

use micrograd_plus::Tensor;

#[test]
fn relu_keeps_nan_so_a_nan_weight_is_not_trained_on_silently() {
    let x = Tensor::new([f64::NAN, -1.0, 2.0])
        .unwrap()
        .requires_grad(true);
    let y = x.relu();
    let v = y.to_vec::<f64>();
    assert!(v[0].is_nan(), "relu(NaN) must be NaN, got {}", v[0]);
    assert_eq!(&v[1..], &[0.0, 2.0]);
    // PyTorch's relu backward blocks the gradient only where the result is
    // <= 0, so it passes at NaN.
    y.sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec::<f64>(), vec![1.0, 0.0, 1.0]);
}

#[test]
fn clamp_passes_no_gradient_at_its_bounds() {
    let x = Tensor::new([-1.0f64, 0.0, 0.5, 1.0, 2.0])
        .unwrap()
        .requires_grad(true);
    let y = x.clamp(Some(0.0), Some(1.0));
    assert_eq!(y.to_vec::<f64>(), vec![0.0, 0.0, 0.5, 1.0, 1.0]);
    y.sum().backward().unwrap();
    // Gradient 1 strictly inside (0, 1) only: PyTorch gives 0 at x == min and x == max.
    assert_eq!(
        x.grad().unwrap().to_vec::<f64>(),
        vec![0.0, 0.0, 1.0, 0.0, 0.0]
    );
}
