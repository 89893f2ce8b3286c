#!/usr/bin/env python
"""Regenerate the shipped tiny checkpoints in attnlab/tiny/checkpoints/.

    .venv/bin/python scripts/train_tiny.py                  # all of them
    .venv/bin/python scripts/train_tiny.py tiny-induction   # one (or a few)

    .venv/bin/python scripts/train_tiny.py tiny-parity-cot --dir /tmp/run1 --set seed=1 --set steps=4000

    # several seeds trained with --dir: ship one, and record every seed's metrics in the shipped json
    .venv/bin/python scripts/train_tiny.py tiny-parity-cot --ship /tmp/s0 --seed-runs /tmp/s0=mixed /tmp/s1=mixed

Same seed, same machine, same torch: same weights. Prints each model's final metrics.
"""
import argparse
import ast
import json
from pathlib import Path

from attnlab.tiny.checkpoints import (
    CHECKPOINT_DIR,
    TINY_MODELS,
    load_history,
    load_tiny,
    metrics,
    save_tiny,
    train_and_save,
)

SEED_COLUMNS = ("test_acc", "iteration_argmax", "iteration_peaky", "colon_argmax", "test_acc_iteration_head_ablated",
                "test_acc_colon_head_ablated")


def ship(name: str, run: Path, seed_runs: list[tuple[Path, str]]) -> dict:
    """Copy the run in ``run`` into the package, its metrics measured again with the current code, with
    one row per run of ``seed_runs`` (its recipe label, seed, steps and recorded metrics) under ``seed_runs``."""
    model, tok, meta = load_tiny(name, directory=run)
    meta["description"] = TINY_MODELS[name]
    meta["metrics"] = metrics(name, model, tok)
    rows = []
    for other, recipe in seed_runs:
        m = json.loads((other / f"{name}.json").read_text())
        rows.append({"recipe": recipe, "seed": m["training"]["seed"], "steps": m["training"]["steps"],
                     "shipped": other.resolve() == run.resolve(),
                     **{k: m["metrics"][k] for k in SEED_COLUMNS if k in m["metrics"]}})
    meta["seed_runs"] = rows
    save_tiny(name, model, load_history(name, directory=run), meta, CHECKPOINT_DIR)
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"any of {', '.join(TINY_MODELS)} (default: all)")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--dir", type=Path, default=None, help="save here instead of the package's checkpoints")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="replace one keyword argument of the recipe (a Python literal), for experiments")
    ap.add_argument("--ship", type=Path, default=None, help="a --dir run to copy into the package (one name)")
    ap.add_argument("--seed-runs", nargs="*", default=[], metavar="DIR=RECIPE",
                    help="with --ship: runs to record, each with a short label of its recipe")
    args = ap.parse_args()
    if args.ship:
        if len(args.names) != 1:
            ap.error("--ship takes exactly one model name")
        runs = [(Path(d), label) for d, _, label in (item.partition("=") for item in args.seed_runs)]
        print(json.dumps(ship(args.names[0], args.ship, runs or [(args.ship, "")]), indent=1))
        return
    overrides = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    extra = {"directory": args.dir} if args.dir else {}
    for name in args.names or TINY_MODELS:
        meta = train_and_save(name, device=args.device, **extra, **overrides)
        print(f"{name}: {meta['training']['seconds']} s")
        print(json.dumps(meta["metrics"], indent=1))


if __name__ == "__main__":
    main()
