"""Activation patching: run the corrupted prompt, copy one component from the clean run, and measure
how much of the clean-vs-corrupted gap in a metric comes back.

    restored = (metric(corrupted, component patched from clean) - metric(corrupted))
               / (metric(clean) - metric(corrupted))

1 means the component alone carries the difference, 0 means it carries none (Meng et al., 2022, *Locating
and Editing Factual Associations in GPT*; Wang et al., 2022, *Interpretability in the Wild*; Heimersheim
and Nanda, 2024, *How to use and interpret activation patching*). Per head, or per residual-stream site
(layer, position). The metric is bound to the clean prompt (a loss scores the clean prompt's next
tokens in every run). As in :mod:`attnlab.heads.sweep`, each patched forward starts at the patched layer from the
cached corrupted residual stream, and a layer's candidates share one batched forward.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> clean, corrupted = "P Q A B X Y S T A", "P Q A C X Y S T A"    # the answer B becomes C
>>> r = attnlab.patch_heads(model, clean, corrupted, attnlab.metrics.logit_diff("B", "C"), progress=False)
>>> r.values.round(2)                  # the two layer-1 (induction) heads each restore about half
array([[0.01, 0.08],
       [0.52, 0.54]])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import AttnlabError
from ..runner import Hooks, Patch, check_heads, check_layer, check_model, check_positions, compile_pass
from .effects import Effects
from .metrics import Bound, Metric, check_metric

if TYPE_CHECKING:
    from ..runner import Model

_POSITIONS = 16   # residual-stream positions patched per batched forward


def patch_heads(model: Model, clean, corrupted, metric: Metric, *, positions=None, progress: bool = True) -> Effects:
    """Fraction of the metric restored by patching each head's output from the clean run into the
    corrupted run, [n_layers, n_heads]. ``positions``: patch only there (default: every position).

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> metric = attnlab.metrics.logit_diff("B", "C")
    >>> r = attnlab.patch_heads(model, "P Q A B X Y S T A", "P Q A C X Y S T A", metric, progress=False)
    >>> [head for head, _ in r.top(2)]
    [(1, 1), (1, 0)]
    """
    model = check_model(model, "attnlab.patch_heads")
    pair = _pair(model, clean, corrupted, metric)
    chosen = check_positions(positions, pair.n, "patch position")
    pos = torch.arange(pair.n) if chosen is None else torch.tensor(chosen)
    values = np.zeros((model.n_layers, model.n_heads))
    with tqdm(total=model.n_layers * model.n_heads, desc="patching heads", disable=not progress) as bar:
        head = torch.arange(model.n_heads)[:, None]                  # batch row i patches head i
        for layer in range(model.n_layers):
            recorded = pair.clean.layers[layer].z
            assert recorded is not None                               # the clean run records every layer
            source = recorded[0]                                      # [T, heads, head_dim]

            def patch(z, source=source):
                z[head, pos, head] = source[pos, head].to(z.dtype)
            values[layer] = pair.restored(model, layer, {layer: [patch]}, {}, model.n_heads)
            bar.update(model.n_heads)
    return Effects(values, what=f"fraction of {metric.name} restored by patching the head from the clean run",
                   clean=pair.clean_value, corrupted=pair.corrupted_value)


def patch_resid(model: Model, clean, corrupted, metric: Metric, *, layers=None, progress: bool = True) -> Effects:
    """Fraction of the metric restored by patching the residual stream at one (layer, position) from the
    clean run, [n_layers + 1, n_tokens] (row ``l``: the stream entering block ``l``; the last row is the
    final stream). ``layers``: which rows to compute (default: all; the others are NaN).

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> metric = attnlab.metrics.logit_diff("B", "C")
    >>> r = attnlab.patch_resid(model, "P Q A B X Y S T A", "P Q A C X Y S T A", metric, progress=False)
    >>> r.shape, r.tokens[4]
    ((3, 10), 'C')
    >>> r.values.round(1)[:, [4, 9]]      # the answer moves from the changed token (4) to the last one (9)
    array([[1., 0.],
           [1., 0.],
           [0., 1.]])
    """
    model = check_model(model, "attnlab.patch_resid")
    pair = _pair(model, clean, corrupted, metric)
    wanted = range(model.n_layers + 1) if layers is None else [check_layer(model, l, allow_final=True) for l in layers]
    values = np.full((model.n_layers + 1, pair.n), np.nan)
    with tqdm(total=len(wanted) * pair.n, desc="patching the residual stream", disable=not progress) as bar:
        for layer in wanted:
            source = pair.clean.resid[layer][0]                     # [T, d_model]
            for start in range(0, pair.n, _POSITIONS):
                at = torch.arange(start, min(start + _POSITIONS, pair.n))   # batch row i patches position at[i]

                def patch(h, source=source, at=at):
                    h[torch.arange(len(at)), at] = source[at].to(h.dtype)
                values[layer, at] = pair.restored(model, layer, {}, {layer: [patch]}, len(at))
                bar.update(len(at))
    return Effects(values, what=f"fraction of {metric.name} restored by patching the residual stream from the "
                   "clean run", clean=pair.clean_value, corrupted=pair.corrupted_value,
                   tokens=model.token_strings(pair.corrupted_ids), kind="position")


def patch_fraction(model: Model, clean, corrupted, metric: Metric, *, heads=(), resid=()) -> float:
    """Fraction of the metric restored by one combined patch: the outputs of ``heads`` ((layer, head) pairs
    or "all") and the residual stream at ``resid`` ((layer, position) pairs), all from the clean run.

    Patching every head and the embeddings (the residual entering layer 0) at every position rebuilds
    the clean run, so it restores exactly 1:

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> clean, corrupted, metric = "P Q A B X Y S T A", "P Q A C X Y S T A", attnlab.metrics.logit_diff("B", "C")
    >>> n = len(model.encode(clean))
    >>> round(attnlab.patch_fraction(model, clean, corrupted, metric, heads="all",
    ...                              resid=[(0, p) for p in range(n)]), 6)
    1.0
    """
    model = check_model(model, "attnlab.patch_fraction")
    pair = _pair(model, clean, corrupted, metric)
    source = model.run(pair.clean_ids)
    run = compile_pass(model, pair.n, patch=Patch(source, heads=check_heads(model, heads, "heads"), resid=resid),
                       record=False)
    hidden = model.forward(torch.tensor([pair.corrupted_ids], device=model.device), run)
    with torch.no_grad():
        value = float(pair.bound.evaluate(hidden[:, pair.bound.positions])[0])
    return (value - pair.corrupted_value) / pair.gap


@dataclass
class _Pair:
    """A clean and a corrupted prompt of the same length, their recorded runs and metric values."""

    clean_ids: list[int]
    corrupted_ids: list[int]
    bound: Bound
    clean: Hooks
    corrupted: Hooks
    clean_value: float
    corrupted_value: float

    @property
    def n(self) -> int:
        return len(self.clean_ids)

    @property
    def gap(self) -> float:
        return self.clean_value - self.corrupted_value

    def restored(self, model: Model, layer: int, z_edits: dict, resid_edits: dict, rows: int) -> np.ndarray:
        """Fraction restored for ``rows`` batch rows of the corrupted prompt, edited from ``layer`` on."""
        cached = self.corrupted.resid[layer]
        run = Hooks(record=False, start=layer, z_edits=z_edits)
        run.resid_edits[layer] = [lambda h: h.copy_(cached), *resid_edits.get(layer, [])]
        x = torch.tensor([self.corrupted_ids], device=model.device).expand(rows, -1)
        hidden = model.forward(x, run)
        with torch.no_grad():
            value = self.bound.evaluate(hidden[:, self.bound.positions]).cpu().numpy()
        return (value - self.corrupted_value) / self.gap


def _pair(model: Model, clean, corrupted, metric) -> _Pair:
    metric = check_metric(metric)
    clean_ids, corrupted_ids = model.encode(clean), model.encode(corrupted)
    if len(clean_ids) != len(corrupted_ids):
        raise AttnlabError(
            f"patching needs a clean and a corrupted prompt of the same length in tokens, but the clean one has "
            f"{len(clean_ids)} and the corrupted one {len(corrupted_ids)}:\n"
            f"  clean:     {model.token_strings(clean_ids)}\n"
            f"  corrupted: {model.token_strings(corrupted_ids)}\nSwap words for words of the same token length "
            "(names that are single tokens, for example), and check with model.tokenize(...).")
    bound = metric.bind(model, clean_ids)
    runs, values = [], []
    for ids in (clean_ids, corrupted_ids):
        run = Hooks(record=True)
        hidden = model.forward(torch.tensor([ids], device=model.device), run)
        with torch.no_grad():
            values.append(float(bound.evaluate(hidden[:, bound.positions])[0]))
        runs.append(run)
    if abs(values[0] - values[1]) < 1e-6 * max(1.0, abs(values[0])):
        raise AttnlabError(f"{metric.name} is the same on the clean and the corrupted prompt ({values[0]:.4g}), so "
                           "there is nothing to restore: choose a corruption that changes the prediction.")
    return _Pair(clean_ids, corrupted_ids, bound, runs[0], runs[1], values[0], values[1])
