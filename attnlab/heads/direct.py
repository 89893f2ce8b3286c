"""Direct effects: what each head writes straight into the logits (direct logit attribution).

A head adds ``W_O[h] z_h`` to the residual stream. Pushed through the final norm, with the norm's scale
frozen at its value in this run, and through the unembedding, that vector moves the logit of a token by a
number: the head's *direct effect*. Later heads and MLPs that read the head's output are left out (an
ablation or a patch counts them too).

>>> import attnlab
>>> t = attnlab.load("tiny-induction").run("P Q A B X Y S T A")
>>> [head for head, _ in attnlab.direct_effects(t, "B", "C").top(2)]    # the induction heads write the answer
[(1, 1), (1, 0)]
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..errors import AttnlabError
from ..runner import Trace, check_token
from .effects import Effects

if TYPE_CHECKING:
    from ..runner import Trace


def direct_effects(trace: Trace, good, bad=None, *, position: int = -1) -> Effects:
    """Direct effect of every head on ``logit(good) - logit(bad)`` (or on ``logit(good)``) at ``position``.

    Returns :class:`Effects` [n_layers, n_heads]. ``good``/``bad``: single tokens (strings or ids).
    The final norm's scale is frozen at its value in ``trace`` (LayerNorm: the write is also centred),
    so the effects of all heads, MLPs and the embedding add up to the logit difference (without biases;
    before any final logit soft-capping). ``clean`` holds that total.

    >>> import attnlab
    >>> t = attnlab.load("tiny-induction").run("P Q A B X Y S T A")
    >>> e = attnlab.direct_effects(t, "B", "C")
    >>> round(e.clean, 2), round(attnlab.metrics.logit_diff("B", "C")(t), 2)   # the total; the run's, with biases
    (2.9, 2.92)
    """
    if not isinstance(trace, Trace):
        raise AttnlabError(f"attnlab.direct_effects takes a trace from model.run(...), got {type(trace).__name__}"
                           f"{' (run the text first: model.run(text))' if isinstance(trace, str) else ''}.")
    model = trace.model
    if not model.has_lm_head:
        raise AttnlabError(f"{model.name} has no next-token head, so its heads have no direct effect on logits.")
    n = len(trace)
    if not isinstance(position, int) or not -n <= position < n:
        raise AttnlabError(f"position must be an int in [-{n}, {n - 1}] for this {n}-token trace, got {position!r}.")
    direction = _readout(model, trace, good, bad, position)                       # [d_model]
    values = np.zeros((model.n_layers, model.n_heads))
    for layer in range(model.n_layers):
        w_out = model.W_O(layer).detach().float()                                # [heads, head_dim, d_model]
        z = trace.activation("z", layer)[0, position].float().to(w_out.device)                # [heads, head_dim]
        writes = torch.einsum("hkd,hk->hd", w_out, z)                              # [heads, d_model]
        values[layer] = (writes @ direction.to(writes.device)).cpu().numpy()
    what = f"direct effect on logit({good!r})" + ("" if bad is None else f" - logit({bad!r})")
    final = float(trace.resid(model.n_layers)[position] @ direction.cpu().numpy())
    return Effects(values, what=f"{what} at position {position}", clean=final)


def _readout(model, trace: Trace, good, bad, position: int) -> torch.Tensor:
    """The vector r such that (a write w to the final residual) . r = its frozen-scale effect on the logits."""
    unembed = model.anatomy.unembed
    weight = getattr(unembed, "weight", None)
    if weight is None:
        raise AttnlabError(f"attnlab cannot find the unembedding matrix of {model.name}.")
    ids = [check_token(model, good)] + ([] if bad is None else [check_token(model, bad)])
    u = weight[ids[0]].detach().float() - (weight[ids[1]].detach().float() if bad is not None else 0)
    norm = model.anatomy.final_norm
    x = trace.activation("resid_final")[0, position].float().to(u.device)
    if norm is None:
        return u
    if isinstance(norm, nn.LayerNorm):
        scale = norm.weight.detach().float() / torch.sqrt(x.var(unbiased=False) + norm.eps)
        r = u * scale
        return r - r.mean()                                                       # the norm centres every write
    # RMS-style norms (Llama, Gemma): norm(x) = x * g / rms(x); g read from the module on a unit-rms input
    with torch.no_grad():
        ones = torch.ones(1, 1, x.shape[-1], dtype=next(norm.parameters()).dtype, device=next(norm.parameters()).device)
        gain = norm(ones)[0, 0].float().to(u.device)
    return u * gain / torch.sqrt((x ** 2).mean())
