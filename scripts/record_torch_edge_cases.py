"""Prints PyTorch's values for the edge cases in
crates/micrograd-plus/tests/pytorch_edge_cases.rs (run with PyTorch 2.15)."""
import torch

x = torch.tensor([float("nan"), -1.0, 2.0], dtype=torch.float64, requires_grad=True)
y = x.relu()
y.sum().backward()
print("relu", y.tolist(), "grad", x.grad.tolist())

x = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
y = x.clamp(0.0, 1.0)
y.sum().backward()
print("clamp(0, 1)", y.tolist(), "grad", x.grad.tolist())

x = torch.zeros(2, 0, dtype=torch.float64, requires_grad=True)
w = torch.zeros(3, 0, dtype=torch.float64, requires_grad=True)
b = torch.ones(3, dtype=torch.float64, requires_grad=True)
y = torch.nn.functional.linear(x, w, b)
y.sum().backward()
print("linear, 0 input features", y.tolist(), "bias grad", b.grad.tolist(),
      "weight grad shape", list(w.grad.shape), "input grad shape", list(x.grad.shape))

x = torch.zeros(0, 4, dtype=torch.float64, requires_grad=True)
w = torch.ones(4, dtype=torch.float64, requires_grad=True)
b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
y = torch.nn.functional.layer_norm(x, [4], w, b)
y.sum().backward()
print("layer_norm, empty batch", list(y.shape), "weight grad", w.grad.tolist(), "bias grad", b.grad.tolist())

q = torch.zeros(1, 2, 0, dtype=torch.float64, requires_grad=True)
k = torch.zeros(1, 3, 0, dtype=torch.float64, requires_grad=True)
v = torch.arange(6.0, dtype=torch.float64).reshape(1, 3, 2).requires_grad_(True)
out = torch.nn.functional.scaled_dot_product_attention(q, k, v)
out.sum().backward()
print("attention, head size 0", out.tolist(), "v grad", v.grad.tolist())

a = torch.tensor([0.0, 2.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
b = torch.tensor([0.0, 0.0, 2.0, 1.0], dtype=torch.float64, requires_grad=True)
y = a.pow(b)
y.backward(torch.full_like(y, float("nan")))
print("pow(a, b), NaN upstream", y.tolist(), "grad a", a.grad.tolist(), "grad b", b.grad.tolist())

# PyTorch's GELU at +inf depends on the path: NaN from the vectorised f32
# kernel (contiguous, two or more elements), inf from a lone element, a
# strided view, or f64.
inf = float("inf")
for name, x in [
    ("f32 contiguous", torch.tensor([inf, -inf, 1.0])),
    ("f32 lone element", torch.tensor([inf])),
    ("f32 strided view", torch.tensor([inf, 0.0, -inf, 0.0, 1.0])[::2]),
    ("f64", torch.tensor([inf, -inf, 1.0], dtype=torch.float64)),
]:
    print("gelu,", name, torch.nn.functional.gelu(x).tolist())
