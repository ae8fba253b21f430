"""The course's MNIST example recipe (examples/mnist_example.ipynb of the course) timed
per epoch, for three implementations of the same Python code path:

  --impl ours    the micrograd_plus package on the Rust engine (installed in this Python)
  --impl course  the course's own NumPy package, from --course-dir, with only an identity
                 __hash__ added to its Tensor at run time (it cannot run without one)
  --impl torch   PyTorch driven from Python, same model, batches, init and optimizer

Recipe, as in the notebook: set_seed(seed) (NumPy's global generator); MLP 784-256-128-10
with ReLU and Dropout(0.2) after each hidden layer; Linear weights (in, out) drawn with
np.random.randn(in, out) * sqrt(2 / (in + out)) and zero biases, in layer order, right after
the seed; CrossEntropyLoss; Adam lr 1e-3; DataLoader(X_train[:10000], batch_size=64,
shuffle=True) shuffling with np.random.shuffle, the test set in order in batches of 64;
pixels uint8 / 255.0 as float32. Each epoch: train_epoch (model.train(); per batch
Tensor(X, requires_grad=True), forward, loss, zero_grad, backward, step; the loss/accuracy
bookkeeping of the notebook) then evaluate (model.eval(), loss and accuracy on the 10k test
images). torch uses the same NumPy-drawn initial weights and the same NumPy shuffles; its
dropout masks come from torch's generator (seeded with the same seed).

Prints one JSON object per epoch: train_s (the training pass), eval_s (the test pass),
epoch_s (both), losses and accuracies. Example:
  python bench/python_mnist.py --impl ours --epochs 10 --seed 42
  python bench/python_mnist.py --impl course --course-dir /path/to/module-1.7-capstone-micrograd
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pyimpl import host, load_impl, load_mnist  # noqa: E402

TRAIN_SIZE = 10000
BATCH_SIZE = 64
LR = 1e-3


def course_init(sizes):
    """The course's Linear init, drawn in layer order from NumPy's global generator."""
    out = []
    for fan_in, fan_out in sizes:
        scale = np.sqrt(2.0 / (fan_in + fan_out))
        w = np.random.randn(fan_in, fan_out).astype(np.float32) * scale
        out.append((w, np.zeros(fan_out, dtype=np.float32)))
    return out


def batches(n, batch_size, shuffle):
    """The course DataLoader's order: np.random.shuffle of arange(n), then slices."""
    idx = np.arange(n)
    if shuffle:
        np.random.shuffle(idx)
    for start in range(0, n, batch_size):
        yield idx[start:start + batch_size]


def run_mgp(mgp, args, data):
    X_train, X_test, y_train, y_test = data
    Tensor = mgp.Tensor
    mgp.utils.set_seed(args.seed)
    model = mgp.Sequential(
        mgp.Linear(784, 256), mgp.ReLU(), mgp.Dropout(0.2),
        mgp.Linear(256, 128), mgp.ReLU(), mgp.Dropout(0.2),
        mgp.Linear(128, 10),
    )
    loss_fn = mgp.CrossEntropyLoss()
    optimizer = mgp.Adam(model.parameters(), lr=LR)
    train_loader = mgp.utils.DataLoader(X_train[:TRAIN_SIZE], y_train[:TRAIN_SIZE],
                                        batch_size=BATCH_SIZE, shuffle=True)
    test_loader = mgp.utils.DataLoader(X_test, y_test, batch_size=BATCH_SIZE, shuffle=False)

    def train_epoch():
        model.train()
        total_loss, correct, total = 0.0, 0, 0
        for X_batch, y_batch in train_loader:
            X = Tensor(X_batch, requires_grad=True)
            y = Tensor(y_batch)
            logits = model(X)
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y_batch)
            correct += np.sum(np.argmax(logits.data, axis=1) == y_batch)
            total += len(y_batch)
        return total_loss / total, correct / total

    def evaluate():
        model.eval()
        total_loss, correct, total = 0.0, 0, 0
        for X_batch, y_batch in test_loader:
            X = Tensor(X_batch)
            y = Tensor(y_batch)
            logits = model(X)
            loss = loss_fn(logits, y)
            total_loss += loss.item() * len(y_batch)
            correct += np.sum(np.argmax(logits.data, axis=1) == y_batch)
            total += len(y_batch)
        return total_loss / total, correct / total

    return train_epoch, evaluate


def run_torch(args, data):
    import torch
    import torch.nn as nn
    X_train, X_test, y_train, y_test = data
    if args.threads:
        torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    lin = [nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)]
    with torch.no_grad():
        for layer, (w, b) in zip(lin, course_init([(784, 256), (256, 128), (128, 10)])):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            layer.bias.copy_(torch.from_numpy(b))
    model = nn.Sequential(lin[0], nn.ReLU(), nn.Dropout(0.2), lin[1], nn.ReLU(), nn.Dropout(0.2), lin[2])
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    Xtr = X_train[:TRAIN_SIZE]
    ytr = y_train[:TRAIN_SIZE]

    def train_epoch():
        model.train()
        total_loss, correct, total = 0.0, 0, 0
        for idx in batches(len(Xtr), BATCH_SIZE, True):
            X_batch, y_batch = Xtr[idx], ytr[idx]
            X = torch.from_numpy(X_batch).requires_grad_(True)
            y = torch.from_numpy(y_batch).long()
            logits = model(X)
            loss = loss_fn(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y_batch)
            correct += np.sum(np.argmax(logits.detach().numpy(), axis=1) == y_batch)
            total += len(y_batch)
        return total_loss / total, correct / total

    def evaluate():
        model.eval()
        total_loss, correct, total = 0.0, 0, 0
        for idx in batches(len(X_test), BATCH_SIZE, False):
            X_batch, y_batch = X_test[idx], y_test[idx]
            logits = model(torch.from_numpy(X_batch))
            loss = loss_fn(logits, torch.from_numpy(y_batch).long())
            total_loss += loss.item() * len(y_batch)
            correct += np.sum(np.argmax(logits.detach().numpy(), axis=1) == y_batch)
            total += len(y_batch)
        return total_loss / total, correct / total

    return train_epoch, evaluate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", choices=["ours", "course", "torch"], required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--course-dir", help="folder holding the course's micrograd_plus/ (for --impl course)")
    ap.add_argument("--data", help="MNIST folder (default: the repository's data/mnist)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (torch only; 0 = default)")
    args = ap.parse_args()

    data = load_mnist(args.data)
    info = {"bench": "python_mnist", "impl": args.impl, "seed": args.seed, **host()}
    if args.impl == "torch":
        import torch
        train_epoch, evaluate = run_torch(args, data)
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    else:
        mgp = load_impl(args.impl, args.course_dir)
        info["package"] = str(Path(mgp.__file__).parent)
        train_epoch, evaluate = run_mgp(mgp, args, data)
    print(json.dumps(info), flush=True)

    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        train_loss, train_acc = train_epoch()
        t1 = time.perf_counter()
        test_loss, test_acc = evaluate()
        t2 = time.perf_counter()
        print(json.dumps({
            "impl": args.impl, "epoch": epoch,
            "train_s": round(t1 - t0, 4), "eval_s": round(t2 - t1, 4), "epoch_s": round(t2 - t0, 4),
            "train_loss": round(float(train_loss), 6), "train_acc": round(float(train_acc), 6),
            "test_loss": round(float(test_loss), 6), "test_acc": round(float(test_acc), 6),
        }), flush=True)


if __name__ == "__main__":
    main()
