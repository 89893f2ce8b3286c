"""Runner overhead, load times and long-prompt memory, measured in one run.

    .venv/bin/python benchmarks/runner_bench.py [--quick]

Prints: load time of SmolLM2 (first load in a process, from the safetensors cache), forward latency at
32/128/512/2048 tokens (``--full``: also 4096) of ``model.run`` (which records queries, keys, head outputs
and residuals and computes per-token losses) next to a plain transformers forward of the same weights
(SDPA, ``model(ids).logits``), interleaved round-robin with medians, and the peak memory of viewing one
head of a 4096-token prompt.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument("--full", action="store_true", help="also 4096 tokens (slow)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    from transformers import AutoModelForCausalLM

    import attnlab
    from attnlab.runner.embedded import model_dir

    t0 = time.perf_counter()
    model = attnlab.load("smollm2")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = AutoModelForCausalLM.from_pretrained(model_dir("smollm2"), dtype=torch.float32,
                                                 attn_implementation="sdpa").eval()
    plain_load_s = time.perf_counter() - t0
    print(f"load smollm2 with attnlab (cached safetensors, tokenizer included): {load_s:.2f} s; "
          f"plain transformers model only: {plain_load_s:.2f} s")

    g = torch.Generator().manual_seed(0)
    rounds = {32: 11, 128: 9, 512: 7, 2048: 3}
    if args.full:
        rounds[4096] = 3
    if args.quick:
        rounds = {n: 3 for n in rounds}
    print(f"\n{'tokens':>6} {'plain ms':>9} {'attnlab ms':>11} {'ratio':>6}")
    for n, r in rounds.items():
        ids = torch.randint(1000, 20000, (n,), generator=g).tolist()
        for _ in range(2):  # warm-up
            model.run(ids)
            with torch.no_grad():
                _ = plain(torch.tensor([ids])).logits
        times = {"plain": [], "attnlab": []}
        for _ in range(r):
            s = time.perf_counter()
            with torch.no_grad():
                _ = plain(torch.tensor([ids])).logits
            times["plain"].append(time.perf_counter() - s)
            s = time.perf_counter()
            model.run(ids)
            times["attnlab"].append(time.perf_counter() - s)
        p, a = (statistics.median(times[k]) * 1000 for k in ("plain", "attnlab"))
        print(f"{n:>6} {p:>9.0f} {a:>11.0f} {a / p:>6.2f}")

    del plain
    ids = torch.randint(1000, 20000, (4096,), generator=g).tolist()
    before = rss_mib()
    s = time.perf_counter()
    t = model.run(ids)
    p = t.pattern(18, 6)
    took = time.perf_counter() - s
    print(f"\n4096 tokens: run + one head's pattern {took:.1f} s; RSS before {before:.0f} MiB, "
          f"peak {peak_mib():.0f} MiB (model weights included); pattern {p.nbytes / 2**20:.0f} MiB")
    every = model.n_layers * model.n_heads * 4096 * 4096 * 4
    print(f"(all {model.n_layers * model.n_heads} patterns at once, as output_attentions returns them: "
          f"{every / 2**30:.1f} GiB)")


if __name__ == "__main__":
    main()
