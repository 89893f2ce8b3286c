"""The shipped tiny checkpoints: how each is trained, how it is saved, and how it is loaded.

Each model is ``checkpoints/<name>.safetensors`` (weights), ``<name>.json`` (architecture,
training recipe, final metrics) and ``<name>.history.csv.gz`` (the training history).
``scripts/train_tiny.py`` regenerates them with :func:`train_and_save`.

>>> model, tok, meta = load_tiny("tiny-induction")
>>> meta["metrics"]["induction_score"] > 0.9
True
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from ..errors import AttnlabError
from . import induction, parity, registers
from .model import TinyConfig, TinyTransformer
from .tokenizer import TinyTokenizer

CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"

TINY_MODELS = {
    "tiny-induction": "2-layer attention-only decoder trained on repeated random segments: "
                      "a previous-token head (layer 0) and induction heads (layer 1)",
    "tiny-parity-cot": "2-layer decoder (1 head per layer) trained on parity with a chain of thought "
                       "('0010101001:0011001110'): a ':' head in layer 0, an iteration head in layer 1",
    "tiny-parity-direct": "the same decoder trained to answer parity directly "
                          "('0010101001:0'); at chance on unseen strings",
    "tiny-registers-0": "2-layer bidirectional encoder (partner-letter task) without register tokens",
    "tiny-registers-8": "the same encoder with 8 register tokens <reg0>..<reg7> after <cls>",
}

# name -> (training function, its keyword arguments) for the shipped (longer) runs
RECIPES: dict[str, tuple[Callable[..., tuple[TinyTransformer, TinyTokenizer, pd.DataFrame]], dict]] = {
    "tiny-induction": (induction.train_induction, dict(steps=6000, seed=0)),
    # the best of four runs for the iteration head (the seed table in its json records all four)
    "tiny-parity-cot": (parity.train_parity, dict(cot=True, steps=24000, max_train_len=16, eval_every=500,
                                                  mix_lengths=False, seed=1)),
    "tiny-parity-direct": (parity.train_parity, dict(cot=False, steps=8000, max_train_len=16, eval_every=500,
                                                     mix_lengths=True, seed=0)),
    "tiny-registers-0": (registers.train_registers, dict(n_registers=0, steps=3000, seed=0)),
    "tiny-registers-8": (registers.train_registers, dict(n_registers=8, steps=3000, seed=0)),
}


def _check(name: str) -> None:
    if name not in TINY_MODELS:
        raise AttnlabError(f"unknown tiny model {name!r}; choose one of: {', '.join(TINY_MODELS)}")


def metrics(name: str, model: TinyTransformer, tokenizer: TinyTokenizer,
            history: pd.DataFrame | None = None) -> dict:
    """The final metrics of a model of the kind ``name`` names, measured from the model."""
    _check(name)
    if name == "tiny-induction":
        return induction.summary(model, tokenizer, history)
    if name.startswith("tiny-parity"):
        return parity.summary(model, cot=name == "tiny-parity-cot")
    return registers.summary(model)


def save_tiny(name: str, model: TinyTransformer, history: pd.DataFrame, meta: dict,
              directory: Path = CHECKPOINT_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{name}.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(weights))
    weights.chmod(0o644)  # package data: readable by all, like the json next to it
    (directory / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    history.to_csv(directory / f"{name}.history.csv.gz", index=False, float_format="%.5g")


def train_and_save(name: str, device=None, progress: bool = True, directory: Path = CHECKPOINT_DIR,
                   **overrides) -> dict:
    """Train ``name`` with its recipe (``overrides`` replace its keyword arguments, for experiments),
    measure it, save it; returns the metadata."""
    _check(name)
    fn, kwargs = RECIPES[name]
    kwargs = {**kwargs, **overrides}
    start = time.perf_counter()
    model, tok, history = fn(device=device, progress=progress, **kwargs)
    seconds = time.perf_counter() - start
    model = model.cpu().eval()
    meta = {"name": name, "description": TINY_MODELS[name], "config": model.config.to_dict(),
            "training": {"function": f"{fn.__module__}.{fn.__name__}", **kwargs,
                         "device": str(device or ("cuda" if torch.cuda.is_available() else "cpu")),
                         "torch": torch.__version__, "seconds": round(seconds, 1)},
            "metrics": metrics(name, model, tok, history)}
    save_tiny(name, model, history, meta, directory)
    return meta


def load_tiny(name: str, device="cpu", directory: Path = CHECKPOINT_DIR):
    """(model in eval mode, tokenizer, metadata) of a shipped tiny model."""
    _check(name)
    path = directory / f"{name}.safetensors"
    if not path.exists():
        raise AttnlabError(f"the checkpoint {path} is missing; run scripts/train_tiny.py {name}")
    meta = json.loads((directory / f"{name}.json").read_text())
    config = TinyConfig.from_dict(meta["config"])
    model = TinyTransformer(config)
    model.load_state_dict(load_file(str(path)))
    model.task = name
    return model.to(device).eval(), TinyTokenizer(config.vocab), meta


def load_history(name: str, directory: Path = CHECKPOINT_DIR) -> pd.DataFrame:
    """The training history recorded when the shipped checkpoint ``name`` was trained."""
    _check(name)
    return pd.read_csv(directory / f"{name}.history.csv.gz")
