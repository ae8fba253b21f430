#!/usr/bin/env python3
"""Record PyTorch reference values for attention and the GPT (tests/gpt_reference.rs).

Writes crates/micrograd-plus/tests/data/torch_attention.json, in float64:

- "sdpa": F.scaled_dot_product_attention on (B, H, T, d) tensors, causal,
  with a boolean attention mask, and with both; the output and the gradients
  of sum(out * grad_output) for q, k and v.
- "mha": multi-head self-attention written out with the same ops as
  MicroGrad+'s MultiHeadAttention (q/k/v/out projections, heads split as
  view + transpose), with a causal mask and with a key padding mask.
- "gpt": a 2-layer pre-norm GPT (learned positions, exact GELU, LayerNorm
  eps 1e-5, no weight tying; and a tied variant), its logits, its
  cross-entropy loss against next tokens, and every parameter's gradient.

Parameter names are MicroGrad+'s (loading checks every name).

Usage: pip install torch && python3 scripts/record_torch_attention.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def flat(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def sdpa_cases():
    cases = []
    B, H, T, d = 2, 3, 5, 4
    for name, causal, use_mask in [("causal", True, False), ("mask", False, True), ("causal+mask", True, True)]:
        q, k, v = (torch.randn(B, H, T, d, requires_grad=True) for _ in range(3))
        mask = torch.rand(B, 1, T, T) > 0.3
        mask[..., 0] = True  # every query may attend to something
        if use_mask and causal:
            # PyTorch refuses both at once: fold the causal rule into the mask.
            both = mask & torch.tril(torch.ones(T, T, dtype=torch.bool))
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=both)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask if use_mask else None, is_causal=causal)
        g = torch.randn_like(out)
        out.backward(g)
        case = {
            "name": name,
            "causal": causal,
            "q": flat(q), "k": flat(k), "v": flat(v),
            "output": flat(out), "grad_output": flat(g),
            "grad_q": flat(q.grad), "grad_k": flat(k.grad), "grad_v": flat(v.grad),
        }
        if use_mask:
            case["mask"] = flat(mask.double())
        cases.append(case)
    return cases


def linear_params(prefix, n_in, n_out, bias=True, std=None):
    p = {}
    w = torch.randn(n_out, n_in) * (std if std else 1 / math.sqrt(n_in))
    p[f"{prefix}.weight"] = w.requires_grad_(True)
    if bias:
        p[f"{prefix}.bias"] = (torch.randn(n_out) * 0.1).requires_grad_(True)
    return p


def mha_params(prefix, C):
    p = {}
    for name in ["q_proj", "k_proj", "v_proj", "out_proj"]:
        p.update(linear_params(f"{prefix}{name}", C, C))
    return p


def mha(p, prefix, x, heads, causal, key_padding_mask=None):
    B, T, C = x.shape
    lin = lambda n, t: F.linear(t, p[f"{prefix}{n}.weight"], p[f"{prefix}{n}.bias"])
    split = lambda t: t.view(B, T, heads, C // heads).transpose(1, 2)
    q, k, v = split(lin("q_proj", x)), split(lin("k_proj", x)), split(lin("v_proj", x))
    att = q @ k.transpose(-2, -1) / math.sqrt(C // heads)
    if causal:
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(future, float("-inf"))
    if key_padding_mask is not None:
        att = att.masked_fill(key_padding_mask.bool().view(B, 1, 1, T), float("-inf"))
    y = att.softmax(-1) @ v
    y = y.transpose(1, 2).reshape(B, T, C)
    return lin("out_proj", y)


def mha_cases():
    cases = []
    B, T, C, H = 2, 5, 8, 2
    for name, causal, pad in [("causal", True, False), ("padding", False, True)]:
        p = mha_params("", C)
        x = torch.randn(B, T, C, requires_grad=True)
        kpm = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]], dtype=torch.float64)
        out = mha(p, "", x, H, causal, kpm if pad else None)
        g = torch.randn_like(out)
        out.backward(g)
        case = {
            "name": name, "causal": causal, "heads": H,
            "params": {n: flat(t) for n, t in p.items()},
            "input": flat(x), "output": flat(out), "grad_output": flat(g),
            "grad_input": flat(x.grad),
            "grad_params": {n: flat(t.grad) for n, t in p.items()},
        }
        if pad:
            case["key_padding_mask"] = flat(kpm)
        cases.append(case)
    return cases


def gpt_case(name, tie):
    V, T, C, H, L = 11, 6, 8, 2, 2
    p = {}
    p["wte.weight"] = torch.randn(V, C) * 0.5
    p["wpe.weight"] = torch.randn(T, C) * 0.5
    for i in range(L):
        b = f"blocks.{i}."
        p[b + "ln1.weight"] = 1 + 0.1 * torch.randn(C)
        p[b + "ln1.bias"] = 0.1 * torch.randn(C)
        p.update(mha_params(b + "attn.", C))
        p[b + "ln2.weight"] = 1 + 0.1 * torch.randn(C)
        p[b + "ln2.bias"] = 0.1 * torch.randn(C)
        p.update(linear_params(b + "mlp.fc", C, 4 * C))
        p.update(linear_params(b + "mlp.proj", 4 * C, C))
    p["ln_f.weight"] = 1 + 0.1 * torch.randn(C)
    p["ln_f.bias"] = 0.1 * torch.randn(C)
    if not tie:
        p["lm_head.weight"] = torch.randn(V, C) * 0.3
    for t in p.values():
        t.requires_grad_(True)

    B = 2
    ids = torch.randint(0, V, (B, T + 1))
    x, y = ids[:, :-1], ids[:, 1:]
    h = p["wte.weight"][x] + p["wpe.weight"][:T]
    for i in range(L):
        b = f"blocks.{i}."
        ln = lambda n, t: F.layer_norm(t, (C,), p[b + n + ".weight"], p[b + n + ".bias"], 1e-5)
        h = h + mha(p, b + "attn.", ln("ln1", h), H, True)
        m = F.gelu(F.linear(ln("ln2", h), p[b + "mlp.fc.weight"], p[b + "mlp.fc.bias"]))
        h = h + F.linear(m, p[b + "mlp.proj.weight"], p[b + "mlp.proj.bias"])
    h = F.layer_norm(h, (C,), p["ln_f.weight"], p["ln_f.bias"], 1e-5)
    logits = F.linear(h, p["wte.weight"] if tie else p["lm_head.weight"])
    loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    loss.backward()
    return {
        "name": name,
        "config": {"vocab_size": V, "block_size": T, "d_model": C, "heads": H, "layers": L,
                   "dropout": 0.0, "tie_weights": tie, "positions": "learned"},
        "params": {n: flat(t) for n, t in p.items()},
        "ids": x.reshape(-1).tolist(), "targets": y.reshape(-1).tolist(), "batch": B, "time": T,
        "logits": flat(logits), "loss": loss.item(),
        "grad_params": {n: flat(t.grad) for n, t in p.items()},
    }


def main():
    out = {
        "torch_version": torch.__version__,
        "sdpa": sdpa_cases(),
        "mha": mha_cases(),
        "gpt": [gpt_case("untied", False), gpt_case("tied", True)],
    }
    path = os.path.join(os.path.dirname(__file__), "..", "crates", "micrograd-plus", "tests", "data", "torch_attention.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
