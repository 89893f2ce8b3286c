#!/usr/bin/env python
"""Regenerate the shipped tiny checkpoints in attnlab/tiny/checkpoints/.

    .venv/bin/python scripts/train_tiny.py                  # all of them
    .venv/bin/python scripts/train_tiny.py tiny-induction   # one (or a few)

Same seed, same machine, same torch: same weights. Prints each model's final metrics.
"""
import argparse
import json

from attnlab.tiny.checkpoints import TINY_MODELS, train_and_save


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"any of {', '.join(TINY_MODELS)} (default: all)")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    args = ap.parse_args()
    for name in args.names or TINY_MODELS:
        meta = train_and_save(name, device=args.device)
        print(f"{name}: {meta['training']['seconds']} s")
        print(json.dumps(meta["metrics"], indent=1))


if __name__ == "__main__":
    main()
