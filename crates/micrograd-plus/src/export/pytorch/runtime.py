

def load_safetensors(path):
    """{name: tensor} of a safetensors file, with torch alone: an 8-byte
    header length, a JSON header of dtypes, shapes and byte offsets, then
    the raw little-endian data (safetensors.torch.load_file reads the same)."""
    dtypes = {"F32": torch.float32, "F64": torch.float64}
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = bytearray(f.read())
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = dtypes[info["dtype"]]
        start, end = info["data_offsets"]
        flat = torch.frombuffer(data[start:end], dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def load(path=WEIGHTS):
    """The model with the exported weights (load_state_dict strict=True), in eval mode."""
    model = build()
    model.load_state_dict(load_safetensors(path), strict=True)
    return model.eval()


def main():
    model = load(sys.argv[1] if len(sys.argv) > 1 else WEIGHTS)
    print(model)
    count = sum(p.numel() for p in model.parameters())
    print(f"{ARCHITECTURE}: {count} parameters loaded with strict=True")
    print(f"input: {INPUT}")


if __name__ == "__main__":
    main()
