"""One head's attention pattern on a long prompt: attnlab vs transformers ``output_attentions=True`` (eager).

    .venv/bin/python benchmarks/long_prompt_bench.py [--tokens 1024 2048 4096] [--eager-max 2048]

The prompt is attnlab's shipped prose, repeated until it is long enough. Each measurement runs in a fresh
process and reports wall time and the process's peak resident memory (``ru_maxrss``) above what it held
after loading the model:

  attnlab   ``model.run(ids)`` then ``t.pattern(18, 6)``: attention runs with SDPA; queries and keys are
            recorded (about 0.3 MB per token for SmolLM2) and the one pattern is computed on demand.
  eager     a plain transformers SmolLM2 with ``attn_implementation="eager"`` and ``output_attentions=True``,
            which materialises every layer's [heads, T, T] weights, then picks the same head.

Eager at 4,096 tokens would hold 30 x 9 x 4096^2 x 4 bytes = 18.1 GB of attention weights alone; it is run
only up to ``--eager-max`` tokens and otherwise reported as computed, not run.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

LAYER, HEAD = 18, 6


def prompt(n: int) -> list[int]:
    import attnlab
    from attnlab.heads.probes import long_text
    model = attnlab.load("smollm2")
    ids = model._encode_str(long_text())
    return (ids * (n // len(ids) + 1))[:n]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(kind: str, n: int) -> dict:
    import numpy as np
    import torch
    ids = prompt(n)
    if kind == "attnlab":
        import attnlab
        model = attnlab.load("smollm2")
        model.run(ids[:16])                                     # warm-up: lazy imports, allocator
        base = rss_mb()
        t0 = time.perf_counter()
        p = model.run(ids).pattern(LAYER, HEAD)
    else:
        from transformers import AutoModelForCausalLM

        from attnlab.runner.embedded import model_dir
        model = AutoModelForCausalLM.from_pretrained(model_dir("smollm2"), dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        with torch.no_grad():
            model(torch.tensor([ids[:16]]), output_attentions=True)
        base = rss_mb()
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_attentions=True, logits_to_keep=1)
        p = out.attentions[LAYER][0, HEAD].numpy()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": rss_mb() - base, "shape": list(p.shape),
            "row_sum": float(np.asarray(p)[-1].sum()), "checksum": float(np.asarray(p)[-1, :64].sum())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--eager-max", type=int, default=2048)
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "TOKENS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return
    print(f"SmolLM2-135M, pattern of L{LAYER}H{HEAD}; peak RSS above the loaded model, fresh process per row")
    print(f"{'tokens':>7}  {'method':<34}{'seconds':>9}{'peak MB':>10}  pattern check")
    results = {}
    for n in args.tokens:
        for kind in ("attnlab", "eager"):
            label = "attnlab run + t.pattern" if kind == "attnlab" else "transformers eager output_attentions"
            if kind == "eager" and n > args.eager_max:
                need = 30 * 9 * n * n * 4 / 1e6
                print(f"{n:>7}  {label:<34}{'not run':>9}{need:>10.0f}  (attention weights alone, computed)")
                continue
            out = subprocess.run([sys.executable, __file__, "--worker", kind, str(n)], capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{n:>7}  {label:<34}  failed: {out.stderr.strip().splitlines()[-1][:80]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[(n, kind)] = r
            print(f"{n:>7}  {label:<34}{r['seconds']:9.2f}{r['peak_mb']:10.0f}  shape {r['shape']}, "
                  f"last row sums to {r['row_sum']:.4f}", flush=True)
        both = results.get((n, "attnlab")), results.get((n, "eager"))
        if all(both):
            diff = abs(both[0]["checksum"] - both[1]["checksum"])
            print(f"{'':>7}  same pattern: |checksum difference| = {diff:.1e}")


if __name__ == "__main__":
    main()
