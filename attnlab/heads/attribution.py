"""Attribution patching: estimate every head's ablation effect from one forward and one backward pass.

A first-order Taylor expansion of the metric around the clean run (Nanda, 2023, *Attribution Patching*;
Syed, Rager and Conmy, 2023, *Attribution Patching Outperforms Automated Circuit Discovery*):

    effect(l, h) ~= sum over positions of (z_ablated - z) . d metric / d z      (z: the head's output)

with z_ablated = 0 for zero ablation and the head's mean output for mean ablation. It is exact for a
metric linear in z and degrades for large effects (softmax and norm saturation), so check it against
:func:`attnlab.ablation_sweep` with ``Effects.agreement`` (Spearman rank correlation).

How the gradient is obtained: the runner keeps the graph on the recorded head outputs
(``Hooks.keep_grad``), and a residual edit at layer 0 makes the embedding output require grad if the
weights do not, so the graph exists even for frozen models. ``torch.autograd.grad`` then differentiates
the metric with respect to the 30 recorded z tensors only: no parameter ``.grad`` is touched.

>>> import attnlab
>>> from attnlab.heads import repeated_tokens
>>> model = attnlab.load("tiny-induction")
>>> ids, start, n = repeated_tokens(model, n=20, batch=1)      # 20 random letters, twice
>>> metric = attnlab.metrics.loss(positions=range(start + n, start + 2 * n - 1))   # the second copy
>>> est = attnlab.attribution(model, ids[0], metric)
>>> est.agreement(attnlab.ablation_sweep(model, ids[0], metric, progress=False))  # same ranking
1.0
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import AttnlabError
from ..runner import HOW, Hooks, check_model
from .effects import Effects
from .metrics import check_metric

if TYPE_CHECKING:
    from ..runner import Model


def attribution(model: Model, text, metric=None, *, how: str = "zero") -> Effects:
    """Estimated ``metric(ablated) - metric(clean)`` for every head, [n_layers, n_heads], from one forward
    and one backward pass. Same arguments and meaning as :func:`attnlab.ablation_sweep`.

    >>> import attnlab
    >>> est = attnlab.attribution(attnlab.load("tiny-induction"), "P Q A B X Y S T A", attnlab.metrics.prob("B"))
    >>> est.shape, est.what
    ((2, 2), ...)
    """
    model = check_model(model, "attnlab.attribution")
    metric = check_metric(metric)
    if how not in HOW:
        raise AttnlabError(f"how must be 'zero' or 'mean', got {how!r}.")
    ids = model.encode(text)
    bound = metric.bind(model, ids)
    ids = ids[:bound.positions[-1] + 1]     # metrics need a causal LM: later tokens cannot change these predictions
    run = Hooks(record=True, keep_grad=True)
    run.resid_edits[0] = [_require_grad]
    hidden = model.forward(torch.tensor([ids], device=model.device), run)
    with torch.enable_grad():
        value = bound.evaluate(hidden[:, bound.positions])[0]
    zs = []
    for layer in range(model.n_layers):
        z = run.layers[layer].z
        assert z is not None    # record=True keeps every head's output
        zs.append(z)
    grads = torch.autograd.grad(value, zs)
    means = model.head_means() if how == "mean" else None
    est = np.zeros((model.n_layers, model.n_heads))
    with torch.no_grad():
        for layer, (z, g) in enumerate(zip(zs, grads, strict=True)):
            target = torch.zeros_like(z) if means is None else means[layer].to(z.dtype).expand_as(z)
            est[layer] = ((target - z) * g).sum(dim=(0, 1, 3)).float().cpu().numpy()
    return Effects(est, what=f"estimated change in {metric.name} when the head is {how}-ablated (attribution)",
                   clean=float(value.detach()))


def _require_grad(h: torch.Tensor):
    """Start the graph at the embedding output when the weights do not require grad (h is a fresh clone)."""
    if not h.requires_grad:
        h.requires_grad_()
