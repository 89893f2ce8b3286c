"""Per-head zero-ablation sweep over all 270 heads of SmolLM2: plain hooks vs batched hooks vs attnlab.

One process, one loaded SmolLM2, one 64-token prompt (2 x 32 repeated random tokens, ids 1000-20000,
seed 0), metric = mean loss on the second copy (positions 32..62 predicting tokens 33..63).

    .venv/bin/python benchmarks/sweep_bench.py [--rounds 2]

Methods (each produces the 30 x 9 table of ablated losses):
  plain hooks     a pre-hook on o_proj zeroes one head's slice; one full forward per head
  batched hooks   9 rows per forward, row h zeroes head h of the layer; full model every time
  attnlab exact   attnlab.ablation_sweep: cached residual + start at the ablated layer, batched,
                  logits only at the metric positions
  attnlab attrib. attnlab.attribution: one forward + one backward (an estimate)
  nnsight         only if nnsight is installed: one batched trace per layer (as the batched hooks)

The methods run round-robin ``--rounds`` times, in reversed order every other round, and each reports
its fastest round (wall clock, and CPU time of this process), so that other load on a shared machine
hurts them alike. Ratios compare with the fastest peer loop.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F

import attnlab
from attnlab import metrics
from attnlab.heads.attribution import attribution
from attnlab.heads.sweep import ablation_sweep

N, SEED = 32, 0


def prompt() -> list[int]:
    g = torch.Generator().manual_seed(SEED)
    r = torch.randint(1000, 20000, (N,), generator=g).tolist()
    return r + r


def second_copy_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean CE of positions N..2N-2 predicting tokens N+1..2N-1, per batch row."""
    pred = logits[:, N:2 * N - 1].float()
    tgt = ids[:, N + 1:2 * N].expand(pred.shape[0], -1)
    return F.cross_entropy(pred.flatten(0, 1), tgt.flatten(), reduction="none").view(pred.shape[0], -1).mean(1)


def o_projs(model):
    return [block.self_attn.o_proj for block in model.module.model.layers]


def plain_hooks(model, ids):
    out = np.zeros((model.n_layers, model.n_heads))
    d = model.head_dim
    for layer, proj in enumerate(o_projs(model)):
        for head in range(model.n_heads):
            def zero(mod, args, head=head):
                x = args[0].clone()
                x[..., head * d:(head + 1) * d] = 0
                return (x,)
            handle = proj.register_forward_pre_hook(zero)
            try:
                with torch.no_grad():
                    out[layer, head] = float(second_copy_loss(model.module(ids).logits, ids)[0])
            finally:
                handle.remove()
    return out


def batched_hooks(model, ids):
    out = np.zeros((model.n_layers, model.n_heads))
    d, H = model.head_dim, model.n_heads
    x = ids.expand(H, -1)
    for layer, proj in enumerate(o_projs(model)):
        def zero(mod, args):
            z = args[0].clone()
            for row in range(H):
                z[row, :, row * d:(row + 1) * d] = 0
            return (z,)
        handle = proj.register_forward_pre_hook(zero)
        try:
            with torch.no_grad():
                out[layer] = second_copy_loss(model.module(x).logits, ids).numpy()
        finally:
            handle.remove()
    return out


def nnsight_batched(model, ids):
    from nnsight import NNsight
    lm = NNsight(model.module)
    out = np.zeros((model.n_layers, model.n_heads))
    d, H = model.head_dim, model.n_heads
    x = ids.expand(H, -1)
    for layer in range(model.n_layers):
        with torch.no_grad(), lm.trace(x):
            inp = lm.model.layers[layer].self_attn.o_proj.input
            for row in range(H):
                inp[row, :, row * d:(row + 1) * d] = 0
            logits = lm.lm_head.output.save()
        out[layer] = second_copy_loss(getattr(logits, "value", logits), ids).numpy()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    model = attnlab.load("smollm2")
    ids = torch.tensor([prompt()])
    metric = metrics.loss(positions=range(N, 2 * N - 1))

    def exact(model, ids):
        e = ablation_sweep(model, ids[0].tolist(), metric, progress=False)
        return e.values + e.clean

    methods = {"plain hooks (1 head/forward)": plain_hooks, "batched hooks (9 heads/forward)": batched_hooks}
    try:
        import nnsight  # noqa: F401
        methods["nnsight (9 heads/trace)"] = nnsight_batched
    except ImportError:
        pass
    methods["attnlab exact sweep"] = exact
    peers = [m for m in methods if not m.startswith("attnlab")]

    print(f"SmolLM2-135M, {model.n_layers * model.n_heads} heads, prompt 2 x {N} tokens; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    with torch.no_grad():
        clean = float(second_copy_loss(model.module(ids).logits, ids)[0])
    print(f"clean loss on the 2nd copy: {clean:.4f}")
    exact(model, ids)  # warm-up (first-call allocations)
    times = {m: [] for m in methods}
    cpu = {m: [] for m in methods}
    tables = {}
    attr_times, attr = [], None
    for r in range(args.rounds):
        order = list(methods) if r % 2 == 0 else list(methods)[::-1]   # alternate to cancel load drift
        for name in order:
            w0, c0 = time.perf_counter(), time.process_time()
            tables[name] = methods[name](model, ids)
            times[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
            print(f"  round {r + 1}: {name:<32} {times[name][-1]:7.2f} s wall {cpu[name][-1]:7.2f} s cpu", flush=True)
        t0 = time.perf_counter()
        attr = attribution(model, ids[0].tolist(), metric)
        attr_times.append(time.perf_counter() - t0)
        print(f"  round {r + 1}: {'attnlab attribution':<32} {attr_times[-1]:7.2f} s wall", flush=True)

    n_heads = model.n_layers * model.n_heads
    best_peer = min(min(times[m]) for m in peers)
    best_peer_cpu = min(min(cpu[m]) for m in peers)
    ref = tables["plain hooks (1 head/forward)"]
    print()
    print(f"{'method':<34}{'best s':>8}{'median s':>10}{'ms/head':>9}{'vs best peer':>14}{'cpu s':>8}"
          f"{'cpu vs peer':>13}{'max |diff| vs plain':>22}")
    for name in methods:
        t, c = min(times[name]), min(cpu[name])
        print(f"{name:<34}{t:8.2f}{np.median(times[name]):10.2f}{1000 * t / n_heads:9.1f}{t / best_peer:13.2f}x"
              f"{c:8.1f}{c / best_peer_cpu:12.2f}x{np.abs(tables[name] - ref).max():22.2e}")
    exact_effect = tables["attnlab exact sweep"] - clean
    ta = min(attr_times)
    print(f"{'attnlab attribution (estimate)':<34}{ta:8.2f}{np.median(attr_times):10.2f}{1000 * ta / n_heads:9.1f}"
          f"{ta / best_peer:13.2f}x")
    print()
    print(f"attribution vs exact sweep: Spearman {attr.agreement(exact_effect):.3f}; "
          f"top-5 exact {fmt(top(exact_effect))}; top-5 attribution {fmt(top(attr.values))}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def top(a, k=5):
    order = np.argsort(-a, axis=None)[:k]
    return [(int(i) // a.shape[1], int(i) % a.shape[1], float(a.flat[i])) for i in order]


def fmt(items):
    return ", ".join(f"L{l}H{h} {v:+.2f}" for l, h, v in items)


if __name__ == "__main__":
    main()
