"""``attnlab.tiny``: small transformers trained from scratch, to watch attention heads form.

The shipped checkpoints load like any model (``attnlab.load("tiny-induction")``); this module trains
new ones in about a minute on a laptop CPU, returns their training history, and measures them.

>>> import attnlab
>>> history = attnlab.tiny.history("tiny-induction")              # what the shipped checkpoint recorded
>>> attnlab.tiny.phase_change_step(history)                        # the step where induction appears
276
>>> round(attnlab.tiny.measure(attnlab.load("tiny-induction"))["induction_score"], 2)
0.93
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import torch

from ..errors import AttnlabError
from . import induction, parity, registers
from .checkpoints import CHECKPOINT_DIR, TINY_MODELS, load_history, metrics
from .induction import phase_change_step
from .probe import ablate_heads
from .training import pick_device

MODELS = TINY_MODELS
"""name -> what the model is and what it was trained on."""

# name -> (training function, keyword arguments of the lesson-sized run, about a minute on a 2-core CPU)
_LESSON_RUNS: dict[str, tuple[Callable[..., tuple[Any, Any, pd.DataFrame]], dict[str, Any]]] = {
    "tiny-induction": (induction.train_induction, dict(steps=600)),
    "tiny-parity-cot": (parity.train_parity, dict(cot=True, steps=parity.DEFAULTS["steps"], eval_every=50,
                                                  eval_strings=128)),
    "tiny-parity-direct": (parity.train_parity, dict(cot=False, steps=parity.DEFAULTS["steps"], eval_every=50,
                                                     eval_strings=128)),
    "tiny-registers-0": (registers.train_registers, dict(n_registers=0, steps=registers.DEFAULTS["steps"])),
    "tiny-registers-8": (registers.train_registers, dict(n_registers=8, steps=registers.DEFAULTS["steps"])),
}


def _check_name(name) -> str:
    if not isinstance(name, str) or name not in MODELS:
        raise AttnlabError(f"unknown tiny model {name!r}; choose one of: {', '.join(MODELS)}")
    return name


def train(name: str, *, steps: int | None = None, seed: int = 0, device=None, progress: bool = True,
          start_from=None, reset: tuple[str, ...] = ()):
    """Train the tiny model ``name`` from scratch; returns ``(model, history)``.

    ``model`` is an :class:`attnlab.Model` (every view, score and ablation works on it); ``history``
    is a DataFrame with one row per step (loss, and the task's own columns: see the shipped
    ``attnlab.tiny.history(name)``). ``steps`` defaults to a lesson-sized run (about a minute on a
    2-core CPU); the shipped checkpoints were trained longer (``recorded_metrics(name)["training"]``).
    Same seed, same machine: same weights.

    ``start_from`` (parity models only): go on training a copy of that model instead, with the
    parameters named by ``reset`` (prefixes such as ``"blocks.1.attn"``) drawn afresh, to watch a
    removed part grow back in a short run.

    >>> import attnlab
    >>> model, history = attnlab.tiny.train("tiny-induction", steps=20, progress=False)
    >>> model
    <attnlab.Model tiny-induction (trained here, 20 steps): attnlab_tiny decoder, 2 layers x 2 heads, ...>
    >>> len(history), list(history.columns[:4])
    (20, ['step', 'loss', 'loss_first', 'loss_repeat'])
    """
    from ..runner import Model, is_int

    fn, kwargs = _LESSON_RUNS[_check_name(name)]
    if not is_int(seed) or seed < 0:
        raise AttnlabError(f"seed must be a non-negative int (the same seed gives the same weights), got {seed!r}")
    if device is not None:
        device = pick_device(device)
    if not isinstance(progress, bool):
        raise AttnlabError(f"progress must be True or False, got {progress!r}")
    if steps is not None:
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise AttnlabError(f"steps must be a positive int, got {steps!r}")
        kwargs = {**kwargs, "steps": steps}
    if start_from is not None or reset:
        if not name.startswith("tiny-parity"):
            raise AttnlabError(f"start_from and reset work for the parity models only, not {name}")
        if start_from is None:
            raise AttnlabError("reset names parameters of start_from: pass the model to start from as well")
        start, task = _module(start_from)
        if task != name:
            raise AttnlabError(f"start_from is a {task} model; train({task!r}, start_from=...) continues it")
        names = [n for n, _ in start.named_parameters()]
        if isinstance(reset, str):
            reset = (reset,)
        unknown = [r for r in reset if not isinstance(r, str) or not any(n.startswith(r) for n in names)]
        if unknown:
            raise AttnlabError(f"reset {unknown[0]!r} names no parameter; the parameters are: {', '.join(names)}")
        kwargs = {**kwargs, "start_from": start, "reset": tuple(reset)}
    module, tok, hist = fn(seed=seed, device=device, progress=progress, **kwargs)
    module.task = name
    return Model(module, tok, f"{name} (trained here, {kwargs['steps']} steps)"), hist


def history(name: str) -> pd.DataFrame:
    """The per-step training history recorded when the shipped checkpoint ``name`` was trained."""
    return load_history(_check_name(name))


def recorded_metrics(name: str) -> dict:
    """What the shipped checkpoint ``name`` recorded: ``config``, ``training`` (recipe, seconds) and ``metrics``."""
    return json.loads((CHECKPOINT_DIR / f"{_check_name(name)}.json").read_text())


def _module(model):
    module = getattr(model, "module", model)
    task = getattr(module, "task", None)
    if task not in MODELS:
        raise AttnlabError("this function reads attnlab's tiny models only: pass attnlab.load('tiny-...') "
                           "or a model from attnlab.tiny.train(...)")
    return module, task


def measure(model) -> dict:
    """Measure a tiny model (shipped or trained here) the way its checkpoint's metrics were measured.

    tiny-induction: ``induction_score``, ``prev_score``, ``loss_first``/``loss_repeat``, the ablation of the
    previous-token head (K-composition) and the seed example "P Q A B X Y S T A"; parity: held-out
    accuracy (``test_acc``, ``test_acc_by_length``) and, with CoT, the ":" head and the iteration head;
    registers: accuracy, where attention with no content target goes, token-state norms.
    """
    module, task = _module(model)
    with torch.no_grad():
        return metrics(task, module, model.tokenizer)


def parity_accuracy(model, lengths=None, ablate=()) -> dict:
    """Final-answer accuracy of a parity model on held-out strings: ``{"all": pooled, length: accuracy}``,
    with the heads ``ablate`` ((layer, head) pairs) switched off while it writes."""
    module, task = _module(model)
    if not task.startswith("tiny-parity"):
        raise AttnlabError(f"parity_accuracy needs a parity model, not {task}")
    heads: dict[int, list[int]] = {}
    from ..runner import Model, check_heads
    for layer, head in (check_heads(model, ablate) if isinstance(model, Model) else ablate):
        heads.setdefault(int(layer), []).append(int(head))
    with ablate_heads(module, heads):
        return parity.accuracy(module, task == "tiny-parity-cot", lengths)


def iteration_stats(model, lengths=None) -> pd.DataFrame:
    """Per head of a CoT parity model, over held-out strings (``lengths``: default 4 to the longest
    trained), at each position whose next token is s_t: how often its attention argmax is the input
    bit x_t (``iteration``), how often its weight there is above 0.5 (``iteration_peaky``, the
    authors' peakiness), its mean weight there (``iteration_mass``), and the same for ":"
    (``colon``, ``colon_peaky``, ``colon_mass``)."""
    module, task = _module(model)
    if task != "tiny-parity-cot":
        raise AttnlabError(
            f"iteration_stats needs tiny-parity-cot (a model that writes a chain of thought), not {task}")
    stats = parity.head_stats(module, lengths)
    n_layers, n_heads = stats["iteration"].shape
    return pd.DataFrame([{"layer": l, "head": h, **{k: float(v[l, h]) for k, v in stats.items()}}
                         for l in range(n_layers) for h in range(n_heads)])


def position_probe(model, lengths=None) -> pd.DataFrame:
    """How well a linear probe reads t, the step being processed, from the stream of a CoT parity model
    at each tape position: entering layer 0, after its attention, after its MLP (one row per site:
    ``r2`` and ``exact``, the share of held-out positions whose rounded prediction is t)."""
    module, task = _module(model)
    if task != "tiny-parity-cot":
        raise AttnlabError(f"position_probe needs tiny-parity-cot, not {task}")
    return pd.DataFrame(parity.position_probe(module, lengths)).T.rename_axis("site")


def register_stats(model) -> dict:
    """Attention mass by key kind (``mass``) and token-state norms (``norms``) of a registers model,
    as DataFrames ready for altair, plus ``letter_acc`` and ``cls_acc``."""
    module, task = _module(model)
    if not task.startswith("tiny-registers"):
        raise AttnlabError(f"register_stats needs a registers model, not {task}")
    return registers.register_stats(module)


__all__ = ["MODELS", "history", "iteration_stats", "measure", "parity_accuracy", "phase_change_step",
           "position_probe", "recorded_metrics", "register_stats", "train"]
