#!/usr/bin/env python3
"""PyTorch side of `mgp bench gpt`: training steps of the milestone-5 GPT.

Same model as MicroGrad+'s (context 64, d_model 128, 4 heads of 32, 4 layers,
MLP 4x with exact GELU, pre-norm LayerNorm eps 1e-5, learned positions, no
dropout, no weight tying, N(0, 0.02) weights and zero biases), written out by
hand with the same ops (no fused attention kernel), AdamW lr 3e-4 weight decay
0.01 on every parameter, batch 32 random windows of a random 65-token text.

Prints the same JSON as `mgp bench gpt --json` (median/min/max ms per step).
Run side by side with it:

    python3 bench/pytorch_gpt.py --threads 2
    target/release/mgp bench gpt --json

With --loss-check it instead trains on tiny Shakespeare for 500 steps and
prints the mean loss on 20 fixed training batches (the learning-curve check).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(c, c) for _ in range(4))

    def forward(self, x):
        B, T, C = x.shape
        split = lambda t: t.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        att = q @ k.transpose(-2, -1) / math.sqrt(C // self.heads)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.out_proj(y)


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.attn = Attention(c, heads)
        self.fc, self.proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab=65, block=64, c=128, heads=4, layers=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, c), nn.Embedding(block, c)
        self.blocks = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c)
        self.lm_head = nn.Linear(c, vocab, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, idx, targets):
        B, T = idx.shape
        h = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            h = b(h)
        logits = self.lm_head(self.ln_f(h))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def batch(data, b, t, gen):
    ix = torch.randint(len(data) - t, (b,), generator=gen)
    x = torch.stack([data[i:i + t] for i in ix])
    y = torch.stack([data[i + 1:i + t + 1] for i in ix])
    return x, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--loss-check", action="store_true")
    ap.add_argument("--data", default="data/tinyshakespeare/input.txt")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    if args.loss_check:
        text = open(args.data).read()
        chars = sorted(set(text))
        index = {c: i for i, c in enumerate(chars)}
        data = torch.tensor([index[c] for c in text], dtype=torch.long)
        train = data[: int(0.9 * len(data))]
        model = GPT(vocab=len(chars))
    else:
        train = torch.randint(0, 65, (args.batch * 64 * 4,), generator=gen)
        model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), weight_decay=0.01)
    steps = 500 if args.loss_check else args.warmup + args.runs
    times = []
    for i in range(steps):
        x, y = batch(train, args.batch, 64, gen)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        opt.step()
        if i >= args.warmup:
            times.append((time.perf_counter() - start) * 1e3)
    if args.loss_check:
        eval_gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            losses = [model(*batch(train, args.batch, 64, eval_gen)).item() for _ in range(20)]
        print(json.dumps({"name": "pytorch_gpt_loss_after_500", "loss": sum(losses) / len(losses), "seed": args.seed}))
        return
    print(json.dumps({
        "name": "pytorch_gpt",
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "runs": len(times),
        "params": {"batch": args.batch, "context": 64, "d_model": 128, "heads": 4, "layers": 4, "vocab": 65,
                   "threads": torch.get_num_threads(), "torch": torch.__version__},
    }))


if __name__ == "__main__":
    main()
