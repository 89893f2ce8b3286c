"""Attention windows: perplexity when heads may only see a recent window, with or without sink tokens.

This is the StreamingLLM experiment (Xiao et al., 2024, *Efficient Streaming Language Models with
Attention Sinks*): a sliding window alone breaks down once the first tokens fall out of it, because
many heads park their attention on them; keeping the first few positions visible restores most of the
quality. Restricting only some heads (``heads=``) is the DuoAttention idea (Xiao et al., 2025): streaming
heads lose little, retrieval heads need the whole context.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> text = "P Q A B X Y S T A B X Y S T"
>>> round(attnlab.window_perplexity(model, text, window=None))        # full attention
18
>>> round(attnlab.window_perplexity(model, text, window=4))           # window alone: far worse
780
>>> round(attnlab.window_perplexity(model, text, window=4, sinks=1))  # with the first token kept
63
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..errors import AttnlabError
from ..runner import Hooks, check_heads, check_model
from . import metrics
from .probes import text_ids

if TYPE_CHECKING:
    from ..runner import Model

_DEFAULT_TOKENS = 8192   # the default text is the whole shipped prose, cut to this and to the model's context


def window_perplexity(model: Model, text=None, *, window: int | None = 64, sinks: int = 0, heads="all") -> float:
    """Perplexity of ``text`` (default: attnlab's shipped ~2,600-token prose, cut to the model's context)
    when each head in ``heads`` sees only the last ``window`` positions (itself included) plus the first
    ``sinks`` positions. ``window=None`` is full attention.

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> round(attnlab.window_perplexity(model, "P Q A B X Y S T A B X Y S T", window=4, heads=[(1, 1)]))
    37
    """
    model = check_model(model, "attnlab.window_perplexity")
    ids = _ids(model, text)
    heads = check_heads(model, heads, "heads")
    if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 1):
        raise AttnlabError(f"window must be a positive int (positions each query may see) or None, got {window!r}.")
    if not isinstance(sinks, int) or isinstance(sinks, bool) or sinks < 0:
        raise AttnlabError(f"sinks must be a non-negative int (first positions kept visible), got {sinks!r}.")
    run = Hooks(record=False)
    if window is not None:
        run.blocked = _masks(model, len(ids), window, sinks, heads)
    bound = metrics.loss().bind(model, ids)
    hidden = model.forward(torch.tensor([ids], device=model.device), run)
    with torch.no_grad():
        return math.exp(float(bound.evaluate(hidden[:, bound.positions])[0]))


def window_table(model: Model, text=None, *, windows=(16, 64, 256), sinks=(0, 4), heads="all",
                 progress: bool = True) -> pd.DataFrame:
    """Perplexity for every (window, sinks) pair, plus full attention: a DataFrame with columns
    ``window`` (None: full attention), ``sinks`` and ``perplexity``.

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> attnlab.window_table(model, "P Q A B X Y S T A B X Y S T", windows=(2, 4), sinks=(0, 1),
    ...                      progress=False).round(1)
       window  sinks  perplexity
    0     NaN      0        17.9
    1     2.0      0      3962.5
    2     2.0      1        62.7
    3     4.0      0       780.3
    4     4.0      1        62.6
    """
    model = check_model(model, "attnlab.window_table")
    settings = [(None, 0)] + [(w, s) for w in windows for s in sinks]
    rows = []
    for w, s in tqdm(settings, desc="windowed perplexity", disable=not progress):
        rows.append({"window": w, "sinks": s, "perplexity": window_perplexity(model, text, window=w, sinks=s,
                                                                               heads=heads)})
    return pd.DataFrame(rows)


def _ids(model: Model, text) -> list[int]:
    if not model.has_lm_head:
        raise AttnlabError(f"perplexity needs next-token predictions, and {model.name} is an encoder without a "
                           "next-token head. Use a decoder such as attnlab.load('smollm2').")
    return text_ids(model, _DEFAULT_TOKENS) if text is None else model.encode(text)


def _masks(model: Model, n: int, window: int, sinks: int, heads) -> dict[int, torch.Tensor]:
    """Per layer, bool [1, n_heads, n, n], True = forbidden: keys older than the window and not a sink."""
    q = torch.arange(n, device=model.device)[:, None]
    k = torch.arange(n, device=model.device)[None, :]
    outside = (k <= q - window) & (k >= sinks)
    if len(heads) == model.n_layers * model.n_heads:
        shared = outside.expand(1, model.n_heads, n, n)
        return {layer: shared for layer in range(model.n_layers)}
    masks = {}
    for layer, head in heads:
        if layer not in masks:
            masks[layer] = torch.zeros(1, model.n_heads, n, n, dtype=torch.bool, device=model.device)
        masks[layer][0, head] = outside
    return masks
