"""The exact ablation sweep: the effect on a metric of ablating each head alone, for every head.

The result equals ablating one head at a time in a plain loop, but it is computed faster:

- the clean run is done once and its residual stream cached; ablating a head in layer ``l`` changes
  nothing below ``l``, so each ablated forward starts at block ``l`` from the cached residual;
- the heads of a layer are ablated together in one batched forward, one head per batch row;
- only the logits the metric reads are computed (its positions, and for a logit difference only two
  rows of the unembedding), and a causal model never runs the tokens after the metric's last position.

>>> import attnlab
>>> from attnlab.heads import repeated_tokens
>>> model = attnlab.load("tiny-induction")
>>> ids, start, n = repeated_tokens(model, n=20, batch=1)      # 20 random letters, twice
>>> e = attnlab.ablation_sweep(model, ids[0], attnlab.metrics.loss(positions=range(start + n, start + 2 * n - 1)),
...                            progress=False)
>>> [head for head, _ in e.top(2)]     # heads whose ablation raises the loss on the second copy most
[(0, 0), (1, 1)]
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import AttnlabError
from ..runner import HOW, Hooks, check_heads, check_model, compile_pass
from .effects import Effects
from .metrics import Bound, check_metric

if TYPE_CHECKING:
    from ..runner import Model


def ablation_sweep(model: Model, text, metric=None, *, how: str = "zero", heads="all", ablate=(),
                   batch: int | None = None, progress: bool = True) -> Effects:
    """Exact effect of ablating each head alone: ``metric(ablated) - metric(clean)``, [n_layers, n_heads].

    ``text``: a prompt or token ids. ``metric``: ``attnlab.metrics.loss()`` (default: mean loss over every
    position), ``metrics.logit_diff(good, bad)`` or ``metrics.prob(target)``. ``how``: "zero" or "mean"
    (the head's mean output over a reference text, see ``model.head_means()``). ``heads``: "all", a layer
    number or (layer, head) pairs; heads left out are NaN. ``ablate``: heads switched off in every run,
    the reference included (to look for backup heads: what matters once these are gone?); they are NaN
    in the result.
    ``batch``: ablated copies per forward (default: a layer's heads).
    Ablating a head means what ``model.run(text, ablate=[*ablate, (layer, head)], how=how)`` does.

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> e = attnlab.ablation_sweep(model, "P Q A B X Y S T A", attnlab.metrics.logit_diff("B", "C"), progress=False)
    >>> e.values.round(1)
    array([[-2.5, -0.1],
           [ 0.6, -1.2]])
    """
    model = check_model(model, "attnlab.ablation_sweep")
    metric = check_metric(metric)
    if how not in HOW:
        raise AttnlabError(f"how must be 'zero' or 'mean', got {how!r}.")
    heads = check_heads(model, heads, "heads")
    off = set(check_heads(model, ablate, "ablate"))
    base = compile_pass(model, 0, ablate=sorted(off), how=how)  # the reference run: these heads stay off
    heads = [hd for hd in heads if hd not in off]
    batch = _check_batch(batch, model.n_heads)
    ids = model.encode(text)
    bound = metric.bind(model, ids)
    x, clean_run, clean = _clean(model, ids, bound, base)
    means = model.head_means() if how == "mean" else None
    values = np.full((model.n_layers, model.n_heads), np.nan)
    jobs = [(layer, hs[i:i + batch]) for layer, hs in _by_layer(heads).items() for i in range(0, len(hs), batch)]
    with tqdm(total=len(heads), desc=f"{how}-ablating heads", disable=not progress) as bar:
        for layer, hs in jobs:
            value = None if means is None else means[layer, hs][:, None, :]
            values[layer, hs] = _ablated(model, x, clean_run.resid[layer], bound, layer, hs, value, base)
            bar.update(len(hs))
    also = f", with {len(off)} head(s) already ablated" if off else ""
    return Effects(values - clean, what=f"change in {metric.name} when the head is {how}-ablated (exact{also})",
                   clean=clean)


def _clean(model: Model, ids: list[int], bound: Bound, run: Hooks) -> tuple[torch.Tensor, Hooks, float]:
    """The prompt as a tensor (cut after the metric's last position), the reference ``run`` (a recording
    pass holding only the ablations every run shares) after its forward, and its metric."""
    ids = ids[:bound.positions[-1] + 1]     # metrics need a causal LM: later tokens cannot change these predictions
    x = torch.tensor([ids], device=model.device)
    hidden = model.forward(x, run)
    with torch.no_grad():
        clean = float(bound.evaluate(hidden[:, bound.positions])[0])
    return x, run, clean


def _ablated(model: Model, x: torch.Tensor, resid: torch.Tensor, bound: Bound, layer: int, heads: list[int],
             value: torch.Tensor | None, base: Hooks) -> np.ndarray:
    """The metric with head ``heads[i]`` of ``layer`` ablated in batch row i (on top of ``base``'s ablations),
    starting at ``layer`` from the cached reference residual ``resid``. ``value``: the replacement
    [rows, 1, head_dim], or None for zero."""
    rows = torch.arange(len(heads), device=x.device)
    cols = torch.tensor(heads, device=x.device)

    def ablate(z):
        z[rows, :, cols] = 0.0 if value is None else value.to(z.dtype)

    run = Hooks(record=False, start=layer)
    run.resid_edits[layer] = [lambda h: h.copy_(resid)]
    run.z_edits = {l: list(edits) for l, edits in base.z_edits.items() if l >= layer}
    run.z_edits.setdefault(layer, []).append(ablate)
    hidden = model.forward(x.expand(len(heads), -1), run)
    with torch.no_grad():
        return bound.evaluate(hidden[:, bound.positions]).cpu().numpy()


def _by_layer(heads) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for layer, head in heads:
        out.setdefault(layer, []).append(head)
    return out


def _check_batch(batch, default: int) -> int:
    if batch is None:
        return default
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise AttnlabError(f"batch must be a positive int (ablated copies per forward), got {batch!r}.")
    return batch
