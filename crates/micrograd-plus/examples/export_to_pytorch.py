"""Loads the model written by `cargo run --example export_to_pytorch` with
its own model.py (torch.nn.Sequential, load_state_dict strict=True) and
compares its logits with ours.

    python3 export_to_pytorch.py EXPORT_DIR

Needs torch only (model.py reads the safetensors files itself)."""

import sys

import torch


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "export"
    sys.path.insert(0, f"{folder}/pytorch")
    from model import load, load_safetensors

    model = load()
    check = load_safetensors(f"{folder}/mlp_check.safetensors")
    with torch.no_grad():
        logits = model(check["inputs"])
    diff = (logits - check["logits"]).abs().max().item()
    print(f"loaded with strict=True; largest logit difference from MicroGrad+: {diff:.2e}")
    sys.exit(0 if diff < 1e-5 else 1)


if __name__ == "__main__":
    main()
