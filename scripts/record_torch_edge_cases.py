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
