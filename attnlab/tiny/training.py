"""The training loop the three tiny tasks share: seeded, AdamW, tqdm bar, one history row per step.

>>> import torch
>>> from attnlab.tiny.model import TinyConfig, TinyTransformer
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> m = TinyTransformer(TinyConfig(["<bos>", "A", "B"], 1, 1, 8, 0, 4, True))
>>> ids = torch.tensor([[0, 1, 2, 1]])
>>> def step(model, batch):
...     loss = torch.nn.functional.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
...     return loss, {}
>>> fit(m, lambda s: ids, step, steps=3, lr=1e-2, progress=False).columns.tolist()
['step', 'loss']
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import contextmanager

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..runner import check_device


def pick_device(device: str | torch.device | None) -> torch.device:
    """``device`` if given (checked: this machine must have it), else CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return check_device(device)


@contextmanager
def cpu_threads(n: int = 1):
    """Use ``n`` CPU threads while training, unless the user chose a count through OMP_NUM_THREADS.

    Tiny matrices gain little from more threads, a fixed count keeps runs bit-identical, and on a
    busy 2-core machine two threads spin-wait for each other: 10x slower than one, measured.
    """
    before = torch.get_num_threads()
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit(model: torch.nn.Module, make_batch: Callable[[int], object],
        step_fn: Callable[[torch.nn.Module, object], tuple[torch.Tensor, dict]],
        steps: int, lr: float, weight_decay: float = 0.0, warmup: int = 0, cosine: bool = False,
        evaluate: Callable[[torch.nn.Module], dict] | None = None, eval_every: int = 0,
        progress: bool = True, desc: str = "training") -> pd.DataFrame:
    """Train ``model`` for ``steps`` AdamW steps: linear warm-up, then constant lr, or with
    ``cosine`` a cosine decay to a tenth of ``lr`` at the last step.

    ``make_batch(step)`` builds the batch; ``step_fn(model, batch)`` returns the loss and a dict of
    floats to record. ``evaluate(model)`` (in eval mode, no grad) adds columns every ``eval_every``
    steps and at the last step (NaN elsewhere). Returns one row per step, ``model`` in eval mode.
    """
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def factor(s: int) -> float:
        f = min(1.0, (s + 1) / warmup) if warmup else 1.0
        if cosine:
            f *= 0.55 + 0.45 * math.cos(math.pi * s / max(1, steps - 1))
        return f
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    rows = []
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=0.5)
    with cpu_threads():
        for step in bar:
            model.train()
            loss, metrics = step_fn(model, make_batch(step))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            row = {"step": step, "loss": loss.item(), **metrics}
            if evaluate is not None and ((eval_every and step % eval_every == 0) or step == steps - 1):
                model.eval()
                with torch.no_grad():
                    row.update(evaluate(model))
            rows.append(row)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{row['loss']:.3f}")
    model.eval()
    return pd.DataFrame(rows)
