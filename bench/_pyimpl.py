"""Shared helpers of the bench/python_*.py scripts: load one implementation of the
course API ('ours' = the installed micrograd_plus package on the Rust engine,
'course' = the course's own pure-NumPy package from a folder, patched at run time
with an identity __hash__ so that it runs), MNIST reading, and host facts."""
import gzip
import os
import platform
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def load_impl(impl, course_dir=None):
    """Return the micrograd_plus module of `impl` ('ours' or 'course')."""
    if impl == "course":
        if not course_dir:
            sys.exit("--impl course needs --course-dir (the folder holding the course's micrograd_plus/)")
        course_dir = str(Path(course_dir).resolve())
        if not (Path(course_dir) / "micrograd_plus" / "__init__.py").exists():
            sys.exit(f"no micrograd_plus/__init__.py under {course_dir}")
        sys.path.insert(0, course_dir)
        import micrograd_plus as mgp
        if not str(Path(mgp.__file__).resolve()).startswith(course_dir):
            sys.exit(f"imported {mgp.__file__}, not the course package under {course_dir}")
        # The course's Tensor defines __eq__ without __hash__, so every op fails with
        # "unhashable type: 'Tensor'": give it the identity hash (at run time, no file edited).
        mgp.tensor.Tensor.__hash__ = object.__hash__
        return mgp
    if impl == "ours":
        import importlib.util
        import micrograd_plus as mgp
        if importlib.util.find_spec("micrograd_plus._core") is None:
            sys.exit(f"{mgp.__file__} is not the Rust-backed package (no micrograd_plus._core)")
        return mgp
    sys.exit(f"unknown --impl {impl}")


def _read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_mnist(data_dir=None):
    """The project's MNIST files (data/mnist: the first 10,000 training images and the
    official 10k test set); the official file names are accepted too. Pixels are scaled to
    [0, 1] exactly as the course's notebooks do: uint8 -> float32 / 255.0; labels int32."""
    d = Path(data_dir) if data_dir else REPO / "data" / "mnist"

    def pick(*names):
        for n in names:
            if (d / n).exists():
                return d / n
        sys.exit(f"none of {names} in {d}")

    xtr = _read_idx(pick("train-10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"), 16)
    ytr = _read_idx(pick("train-10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"), 8)
    xte = _read_idx(pick("t10k-images-idx3-ubyte.gz"), 16)
    yte = _read_idx(pick("t10k-labels-idx1-ubyte.gz"), 8)
    X_train = xtr.reshape(-1, 784).astype(np.float32) / 255.0
    X_test = xte.reshape(-1, 784).astype(np.float32) / 255.0
    return X_train, X_test, ytr.astype(np.int32), yte.astype(np.int32)


def host():
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = open("/proc/cpuinfo").read()
        avx512 = " avx512f " in flags.replace("\n", " ") or " avx512f" in flags
    except OSError:
        avx512 = None
    return {"cpu": cpu, "cores": os.cpu_count(), "avx512f": avx512, "python": platform.python_version(),
            "numpy": np.__version__}


def rss_mb():
    """Resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")
