"""Head scores: one number per head, each a numpy array [n_layers, n_heads], on inputs attnlab makes itself.

Each function runs the model on its probe (shipped prose, repeated random tokens, or needle-in-a-
haystack prompts), reads the attention patterns layer by layer, and scores every head at once.
:func:`attnlab.census` gathers them all in one table.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> s = attnlab.scores.induction(model)
>>> s.shape, int(s.argmax()) // model.n_heads            # the induction heads are in layer 1
((2, 2), 1)
"""
from __future__ import annotations

import string
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import AttnlabError
from ..runner import Hooks, check_model
from .effects import Effects
from .probes import DEPTHS, NEEDLES, needle_prompts, reads_english, repeated_tokens, text_ids

if TYPE_CHECKING:
    from ..runner import Model

TEXT_TOKENS = 512      # length of the prose probe
COPY_QUERIES = 8       # queries per sequence checked by the copying score (each costs a full-vocabulary product)
COPY_TOP = 5           # the attended token must be among this many most-raised tokens


# -- prose probe: sinks, previous-token, positional, local span ----------------------------------
def sink(model: Model, text: str | None = None, *, on: str = "first") -> Effects:
    """Attention sink score: mean attention mass each query puts on sink keys (queries 1..T-1).

    ``on="first"``: the first position (decoders: the first token, BOS or not; encoders: [CLS]).
    ``on="punctuation"``: all punctuation and newline tokens after the first position, summed.
    ``on="sep"`` (encoders only): the [SEP] token(s).
    Xiao et al. (2024), *Efficient Streaming Language Models with Attention Sinks*; Sun et al. (2024),
    *Massive Activations in Large Language Models* (first token plus "." and "\\n").

    >>> import attnlab
    >>> attnlab.scores.sink(attnlab.load("tiny-registers-0")).values.round(2)   # mass on <cls>
    array([[0.16, 0.13],
           [0.21, 0.09]])
    >>> attnlab.scores.sink(attnlab.load("tiny-registers-8")).values.round(2)   # with registers to park on instead
    array([[0.  , 0.01],
           [0.03, 0.03]])
    """
    model = check_model(model, "attnlab.scores.sink")
    keys = {"first": "sink", "punctuation": "punctuation_sink", "sep": "sep_sink"}
    if on not in keys:
        raise AttnlabError(f"on must be 'first', 'punctuation' or 'sep', got {on!r}.")
    if on == "sep" and model.is_causal:
        raise AttnlabError(f"{model.name} is a decoder: it has no [SEP] token. Use on='first' or on='punctuation'.")
    return Effects(prose_scores(model, text)[keys[on]], what=f"sink score (attention mass on {on} tokens)")


def previous_token(model: Model, text: str | None = None) -> Effects:
    """Previous-token score: mean attention from each token to the one just before it, A[i, i-1], i >= 1.

    The attention template of Olsson et al. (2022), *In-context Learning and Induction Heads*, on
    shipped prose (or ``text``).
    """
    model = check_model(model, "attnlab.scores.previous_token")
    return Effects(prose_scores(model, text)["previous_token"], what="previous-token score (mean A[i, i-1])")


def positional(model: Model, text: str | None = None) -> Effects:
    """Positional score: the share of queries whose most-attended key sits at the head's most common
    relative offset. A head is positional when it is >= 0.9 (Voita et al., 2019, *Analyzing Multi-Head
    Self-Attention: Specialized Heads Do the Heavy Lifting*). The offset is :func:`positional_offset`."""
    model = check_model(model, "attnlab.scores.positional")
    return Effects(prose_scores(model, text)["positional"], what="positional score (share of argmax at one offset)")


def positional_offset(model: Model, text: str | None = None) -> np.ndarray:
    """The most common relative offset key - query of each head's argmax attention (ints; -1 is the
    previous token, 0 the token itself, +1 the next token in an encoder). See :func:`positional`."""
    model = check_model(model, "attnlab.scores.positional_offset")
    return prose_scores(model, text)["offset"]


def local_span(model: Model, text: str | None = None, *, window: int = 32, sinks: int = 4) -> Effects:
    """Streaming share: attention mass within the last ``window`` positions plus the first ``sinks``
    positions, averaged over the second half of a 512-token text (encoders: within ``window`` on either
    side, plus [CLS] and [SEP]). Near 1: a streaming (local) head that a sink + recent-window cache would
    serve; the rest, 1 - score, is long-range attention (retrieval candidates). Xiao et al. (2025),
    *DuoAttention*; Wu et al. (2024), *Retrieval Head Mechanistically Explains Long-Context Factuality*.
    """
    model = check_model(model, "attnlab.scores.local_span")
    return Effects(prose_scores(model, text, window=window, sinks=sinks)["local_span"],
                   what=f"local-span score (mass within {window} recent + {sinks} first positions)")


def prose_scores(model: Model, text: str | None = None, *, window: int = 32, sinks: int = 4) -> dict:
    """Every prose-based score from one forward: sink, punctuation_sink, sep_sink, previous_token,
    positional, offset, local_span (see the public functions above)."""
    model = check_model(model, "attnlab.scores.prose_scores")
    if not isinstance(window, int) or window < 1 or not isinstance(sinks, int) or sinks < 0:
        raise AttnlabError(f"window must be a positive int and sinks a non-negative int; got {window!r}, {sinks!r}.")
    ids = text_ids(model, TEXT_TOKENS) if text is None else model.encode(text)
    T = len(ids)
    if T < 4:
        raise AttnlabError("the text is too short for head scores: give it at least a sentence (4+ tokens).")
    run = _run(model, torch.tensor([ids], device=model.device))
    strs = model.token_strings(ids)
    punct = [j for j in range(1, T) if _is_punctuation(strs[j])]
    sep_id = getattr(model.tokenizer, "sep_token_id", None)
    seps = [j for j, t in enumerate(ids) if t == sep_id] if not model.is_causal else []
    q = torch.arange(1, T)
    near = _near_mask(T, window, sinks, model.is_causal, seps)
    far_q = slice(T // 2, T)
    out = {k: np.zeros((model.n_layers, model.n_heads)) for k in
           ("sink", "punctuation_sink", "sep_sink", "previous_token", "positional", "local_span")}
    out["offset"] = np.zeros((model.n_layers, model.n_heads), dtype=int)
    for layer in range(model.n_layers):
        w = run.layers[layer].weights()            # [heads, query, key]
        rows = w[:, 1:]
        offsets = rows.argmax(-1) - q.to(w.device)
        mode = offsets.mode(-1).values
        per_head = {
            "sink": rows[..., 0].mean(-1),
            "punctuation_sink": rows[..., punct].sum(-1).mean(-1) if punct else torch.zeros(len(w)),
            "sep_sink": rows[..., seps].sum(-1).mean(-1) if seps else torch.full((len(w),), float("nan")),
            "previous_token": w[:, q, q - 1].mean(-1),
            "offset": mode,
            "positional": (offsets == mode[:, None]).float().mean(-1),
            "local_span": (w[:, far_q] * near[far_q].to(w.device)).sum(-1).mean(-1),
        }
        for key, value in per_head.items():
            out[key][layer] = value.cpu().numpy()
    return out


def _near_mask(T: int, window: int, sinks: int, causal: bool, seps: list[int]) -> torch.Tensor:
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    near = (i - j < window) & (j <= i) if causal else (i - j).abs() < window
    near = near | (j < sinks)
    if seps:
        near[:, seps] = True
    return near.float()


def _is_punctuation(token: str) -> bool:
    s = token.replace("Ġ", " ").replace("Ċ", "\n").replace("▁", " ")
    return "\n" in s or (bool(s.strip()) and all(c in string.punctuation for c in s.strip()))


# -- repeated random tokens: duplicate-token, induction, copying ---------------------------------
def duplicate_token(model: Model, *, n: int = 50, batch: int = 4, seed: int = 0) -> Effects:
    """Duplicate-token score: attention from a token to its earlier copy, on random tokens repeated twice
    (mean over the second copy of A[i, i - n]; encoders: to the other copy, in both directions).
    Wang et al. (2022), *Interpretability in the Wild* (IOI duplicate-token heads); Tang et al. (2024)
    call them echo heads."""
    model = check_model(model, "attnlab.scores.duplicate_token")
    return Effects(repeat_scores(model, n=n, batch=batch, seed=seed)["duplicate_token"],
                   what="duplicate-token score (attention to the earlier copy)")


def induction(model: Model, *, n: int = 50, batch: int = 4, seed: int = 0) -> Effects:
    """Induction (prefix-matching) score: on random tokens repeated twice, the mean attention from each
    token of the second copy to the token *after* its earlier occurrence, A[i, i - n + 1].
    Olsson et al. (2022), *In-context Learning and Induction Heads*. Decoders only.

    >>> import attnlab
    >>> attnlab.scores.induction(attnlab.load("tiny-induction")).values.round(2)
    array([[0.  , 0.01],
           [0.78, 0.87]])
    """
    model = check_model(model, "attnlab.scores.induction")
    _need_decoder(model, "induction")
    return Effects(repeat_scores(model, n=n, batch=batch, seed=seed)["induction"],
                   what="induction score (attention to the token after the earlier copy)")


def copying(model: Model, *, n: int = 50, batch: int = 4, seed: int = 0) -> Effects:
    """Copying score: does the head's output raise the logit of the token it attends to?

    On random tokens repeated twice, for queries in the second copy: take the token at the head's
    most-attended position and the head's direct contribution to the logits (its output through the
    output projection, the final norm linearised at the real final residual, and the unembedding: direct
    logit attribution). The score is the share of queries where the attended token is among the 5 tokens
    the head raises most. This is the copy score of Wang et al. (2022) (names in the top-5 logits of a
    head's OV output) measured on real activations; Olsson et al. (2022) score copying from the OV circuit.
    Models with a next-token head only.
    """
    model = check_model(model, "attnlab.scores.copying")
    _need_lm_head(model, "copying")
    return Effects(repeat_scores(model, n=n, batch=batch, seed=seed)["copying"],
                   what="copying score (attended token among the head's top direct logits)")


def repeat_scores(model: Model, *, n: int = 50, batch: int = 4, seed: int = 0) -> dict:
    """duplicate_token, induction (NaN for encoders) and copying (NaN without a next-token head) from one forward."""
    model = check_model(model, "attnlab.scores.repeat_scores")
    ids, start, n = repeated_tokens(model, n=n, batch=batch, seed=seed)
    run = _run(model, ids)
    first = torch.arange(start, start + n)
    second = first + n
    L, H = model.n_layers, model.n_heads
    out = {k: np.zeros((L, H)) for k in ("duplicate_token", "induction", "copying")}
    for layer in range(L):
        for b in range(ids.shape[0]):
            with torch.no_grad():
                w = run.layers[layer].weights(batch=b)
                scores = _repeat_row(model, run, layer, b, w, ids[b], first, second, n)
            for key, value in scores.items():
                out[key][layer] += value / len(ids)
    if not model.is_causal:
        out["induction"][:] = np.nan
    if not model.has_lm_head:
        out["copying"][:] = np.nan
    return out


def _repeat_row(model, run: Hooks, layer: int, b: int, w, ids, first, second, n: int) -> dict:
    """The scores of one layer on one sequence; ``w``: its attention weights [heads, T, T]."""
    dup = w[:, second, first]
    if not model.is_causal:
        dup = torch.cat([dup, w[:, first, second]], dim=-1)
    out = {"duplicate_token": dup.mean(-1).cpu().numpy(),
           "induction": w[:, second, second - n + 1].mean(-1).cpu().numpy()}
    if model.has_lm_head:
        out["copying"] = _copies(model, run, layer, b, w, ids, second)
    return out


def _copies(model, run: Hooks, layer: int, b: int, w: torch.Tensor, ids: torch.Tensor, second) -> np.ndarray:
    """Per head: share of sampled queries whose most-attended token is in the top COPY_TOP of the head's
    direct logit contribution."""
    a = model.anatomy
    queries = second[torch.linspace(0, len(second) - 1, COPY_QUERIES).long()]
    attended = ids[w[:, queries].argmax(-1)]                                  # [heads, queries]
    w_out = model.W_O(layer)                                                   # [heads, head_dim, d_model]
    recorded = run.layers[layer].z
    assert recorded is not None                                                # _run records every layer
    z = recorded[b, queries].to(w_out.dtype)                                   # [queries, heads, head_dim]
    contrib = torch.einsum("qhk,hkd->hqd", z, w_out)
    final = run.resid[model.n_layers][b, queries].expand(model.n_heads, -1, -1).contiguous()
    if a.final_norm is not None:
        contrib = torch.func.jvp(model.final_norm, (final,), (contrib.contiguous(),))[1]  # (output, tangent)
    logits = contrib @ a.unembed.weight.T                                      # [heads, queries, vocab]
    top = logits.topk(COPY_TOP, dim=-1).indices
    return (top == attended[..., None]).any(-1).float().mean(-1).cpu().numpy()


# -- needle in a haystack: retrieval --------------------------------------------------------------
def retrieval(model: Model, *, haystack_tokens: int = 300, progress: bool = True) -> Effects:
    """Retrieval score (Wu et al., 2024, *Retrieval Head Mechanistically Explains Long-Context Factuality*):
    how often the head copy-pastes the needle.

    Prompts hide a needle sentence in shipped prose (3 needles x 3 depths), ask for it, and feed the needle
    as the answer (teacher forcing: one forward per prompt instead of greedy decoding). At each answer step
    the head scores 1/len(needle) when its most-attended position lies in the needle, holds the token being
    produced, and the model's own top prediction is that token too. Mean over prompts; Wu et al. call heads
    above 0.1 retrieval heads (under 5% of heads). Decoders that read English only.
    """
    model = check_model(model, "attnlab.scores.retrieval")
    _need_lm_head(model, "retrieval")
    with tqdm(total=len(NEEDLES) * len(DEPTHS), desc="needle prompts", disable=not progress) as bar:
        return Effects(retrieval_scores(model, haystack_tokens=haystack_tokens, tick=bar.update),
                       what="retrieval score (needle copy-paste rate)")


def retrieval_scores(model: Model, *, haystack_tokens: int = 300, tick=lambda: None) -> np.ndarray:
    """:func:`retrieval` without a progress bar; ``tick()`` is called after each prompt."""
    model = check_model(model, "attnlab.scores.retrieval_scores")
    prompts = needle_prompts(model, haystack_tokens)
    score = np.zeros((model.n_layers, model.n_heads))
    for p in prompts:
        ids = torch.tensor([p.ids], device=model.device)
        run = Hooks(record=True)
        hidden = model.forward(ids, run)
        steps = torch.arange(p.answer - 1, len(p.ids) - 1)          # the query that produces each answer token
        target = ids[0, steps + 1]
        with torch.no_grad():
            model_copies = model.unembed(hidden[0, steps]).argmax(-1) == target
        s, e = p.needle
        for layer in range(model.n_layers):
            top = run.layers[layer].weights()[:, steps].argmax(-1)    # [heads, steps]
            hit = (top >= s) & (top < e) & (ids[0, top] == target) & model_copies
            score[layer] += hit.float().sum(-1).cpu().numpy() / (e - s) / len(prompts)
        tick()
    return score


# -- helpers --------------------------------------------------------------------------------------
def _run(model: Model, ids: torch.Tensor) -> Hooks:
    run = Hooks(record=True)
    model.forward(ids, run)
    return run


def _need_decoder(model: Model, what: str):
    if not model.is_causal:
        raise AttnlabError(f"{what} scores need a decoder (causal) model, and {model.name} is an encoder: it sees "
                           "the whole sequence at once, so it can look the next token up instead of predicting it. "
                           "Try attnlab.scores.duplicate_token for encoders, or a decoder such as 'smollm2'.")


def _need_lm_head(model: Model, what: str):
    _need_decoder(model, what)
    if not model.has_lm_head:
        raise AttnlabError(f"{what} scores read next-token predictions, and {model.name} has no next-token head.")
    if what == "retrieval" and not reads_english(model):
        raise AttnlabError(f"retrieval scores hide an English sentence in English text; {model.name} reads only "
                           "its own symbols.")
