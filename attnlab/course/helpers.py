"""Helpers the lessons share. Each one is defined here once: the lesson notebooks, the exercises' checks and the
solutions (``attnlab.solution(key)``) all import it from here, as a learner would.

>>> from attnlab.course.helpers import align, pack, top_heads
>>> align(["The", " cat", " sat", "."], ["The", "cat", "sat", "."])
[[0], [1], [2], [3]]
>>> top_heads(np.array([[0.1, 0.9], [0.5, 0.2]]), 2)
[(0, 1), (1, 0)]
"""
from __future__ import annotations

import numpy as np

from ..errors import AttnlabError

__all__ = ["align", "direct_effects_with_norm_of", "pack", "top_heads"]


def pack(model, prompts):
    """Lay ``prompts`` end to end in one sequence and keep them apart with attention knockout.

    Returns ``(ids, blocks, starts, last)``: the token ids, the :class:`attnlab.Block` specs that forbid every
    prompt to attend to the ones before it (None for a single prompt), and each prompt's first and last
    position. Run it with ``model.run(ids, block=blocks)``: with rotary position embeddings, which depend only
    on the distance between tokens, each prompt is computed as if it ran alone.
    """
    import attnlab
    ids, blocks, starts, last = [], [], [], []
    for p in prompts:
        start = len(ids)
        ids += model.encode(p)
        starts.append(start)
        last.append(len(ids) - 1)
        if start:
            blocks.append(attnlab.Block(heads="all", query=list(range(start, len(ids))), key=list(range(start))))
    return ids, (blocks or None), starts, last


def align(tokens, words):
    """``spans[i]``: the token positions that spell ``words[i]``.

    Works for SmolLM2-style tokens (which carry their leading space) and BERT-style ones (continuation pieces
    start with ``##``); tokens that belong to no word (``[CLS]``, ``[SEP]``, bare spaces) are skipped.
    """
    spans, i, built = [[] for _ in words], 0, ""
    for pos, tok in enumerate(tokens):
        piece = tok.replace("##", "").strip().lower()
        if tok in ("[CLS]", "[SEP]") or not piece:
            continue
        if i == len(words):
            raise AttnlabError(f"the tokens and the words did not line up: token {tok!r} (position {pos}) is left "
                               "over after the last word.")
        spans[i].append(pos)
        built += piece
        if built == words[i].lower():
            i, built = i + 1, ""
    if i != len(words):
        raise AttnlabError(f"the tokens and the words did not line up: no tokens spell {words[i]!r} (word {i}).")
    return spans


def top_heads(scores, k):
    """The ``k`` (layer, head) pairs with the highest ``scores`` (an array [layers, heads]), best first."""
    scores = np.asarray(scores)
    return [tuple(int(x) for x in np.unravel_index(i, scores.shape)) for i in np.argsort(scores, axis=None)[::-1][:k]]


def direct_effects_with_norm_of(trace, good, bad, norm_of, position: int = -1) -> np.ndarray:
    """:func:`attnlab.direct_effects` of ``trace``, but with the final norm's scale of another run, ``norm_of``.

    ``attnlab.direct_effects(trace, good, bad)`` freezes the final norm's scale at its value in ``trace``
    itself. An ablation changes the size of the final residual stream and so rescales every head's direct
    effect a little. To compare two runs on what the heads *write*, freeze both at the scale of one run, e.g.
    the clean one. An RMSNorm (SmolLM2, Llama) divides by the rms of the final residual, so the change is one
    factor: rms in ``trace`` / rms in ``norm_of``. Returns a numpy array [n_layers, n_heads].
    """
    import attnlab
    final = trace.model.n_layers               # t.resid(n_layers): the final residual stream, before the norm

    def rms(t):
        return float(np.sqrt((np.asarray(t.resid(final)[position], dtype=np.float64) ** 2).mean()))

    effects = np.asarray(attnlab.direct_effects(trace, good, bad, position=position))
    return effects * (rms(trace) / rms(norm_of))
