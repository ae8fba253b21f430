"""Loads the weights written by `cargo run --example export_to_pytorch` into
torch.nn.Sequential with strict=True and compares its logits with ours.

    python3 export_to_pytorch.py EXPORT_DIR

Needs torch and numpy; reads safetensors with a few lines of its own, so the
`safetensors` package is not needed (its safetensors.torch.load_file reads
the same files)."""

import json
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64}


def load_safetensors(path):
    """{name: tensor} from a safetensors file: an 8-byte header length, a
    JSON header of dtypes, shapes and byte offsets, then the raw data."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=DTYPES[info["dtype"]])
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return tensors


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "export"
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    model.load_state_dict(load_safetensors(f"{folder}/mlp.safetensors"), strict=True)
    check = load_safetensors(f"{folder}/mlp_check.safetensors")
    with torch.no_grad():
        logits = model(check["inputs"])
    diff = (logits - check["logits"]).abs().max().item()
    print(f"loaded with strict=True; largest logit difference from MicroGrad+: {diff:.2e}")
    sys.exit(0 if diff < 1e-5 else 1)


if __name__ == "__main__":
    main()
