"""Interventions a run can apply: ablate heads, patch from another run, add a vector, knock out edges.

Each user-facing spec is checked against the model and the prompt, then compiled into the edits of one
:class:`~attnlab._attention.Pass`.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")                       # doctest: +SKIP
>>> clean = model.run("P Q A B X Y S T A")                        # doctest: +SKIP
>>> model.run("P Q A B X Y S T A", block=attnlab.Block(key=0))   # doctest: +SKIP
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ._attention import Pass
from ._errors import AttnlabError

if TYPE_CHECKING:
    from ._model import Model
    from ._trace import Trace

HOW = ("zero", "mean")


@dataclass(frozen=True)
class Patch:
    """Copy activations from ``source`` (another run of a prompt of the same length) into this run.

    ``heads``: (layer, head) pairs whose outputs are copied, or ``"all"``; ``resid``: (layer, position)
    pairs of the residual stream entering ``layer`` to copy; ``positions``: restrict head patching to these
    positions (default: all).

    >>> clean = model.run("When Mary and John went to the store, John gave a drink to")   # doctest: +SKIP
    >>> model.run(corrupted_text, patch=attnlab.Patch(clean, heads=[(9, 6)]))            # doctest: +SKIP
    """

    source: Any
    heads: Any = ()
    resid: Any = ()
    positions: Any = None


@dataclass(frozen=True)
class Add:
    """Add ``scale * vector`` to the residual stream entering ``layer`` (``layer == n_layers``: the final
    stream, before the last norm) at ``position`` (an int, a list of ints, or None for every position).

    >>> model.run("The word 'fast' means", add=attnlab.Add(v, layer=6, position=-1))   # doctest: +SKIP
    """

    vector: Any
    layer: int
    position: Any = None
    scale: float = 1.0


@dataclass(frozen=True)
class Block:
    """Attention knockout: forbid ``query -> key`` edges for some heads.

    ``heads``: (layer, head) pairs, a layer number (all its heads) or ``"all"``; ``query`` and ``key``:
    an int, a list of ints or None (every position). A query whose every allowed key is knocked out reads
    nothing: its output for that head is zero.

    >>> model.run(text, block=attnlab.Block(key=0))   # no head may attend to position 0   # doctest: +SKIP
    """

    heads: Any = "all"
    query: Any = None
    key: Any = None


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_layer(model: Model, layer, *, allow_final: bool = False) -> int:
    top = model.n_layers if allow_final else model.n_layers - 1
    if not _is_int(layer):
        raise AttnlabError(f"layer must be an int in 0..{top}, got {layer!r} ({type(layer).__name__}).")
    if not 0 <= layer <= top:
        extra = f" ({model.n_layers} means the final residual stream)" if allow_final else ""
        raise AttnlabError(f"layer {layer} is out of range: {model.name} has layers 0..{top}{extra}. "
                           "Negative indices are not accepted: write the layer number.")
    return int(layer)


def check_head(model: Model, layer, head) -> tuple[int, int]:
    layer = check_layer(model, layer)
    if not _is_int(head):
        raise AttnlabError(f"head must be an int in 0..{model.n_heads - 1}, got {head!r} ({type(head).__name__}).")
    if not 0 <= head < model.n_heads:
        raise AttnlabError(f"head {head} is out of range: {model.name} has heads 0..{model.n_heads - 1} "
                           "in every layer. Negative indices are not accepted: write the head number.")
    return layer, int(head)


def check_heads(model: Model, heads, what: str = "ablate") -> tuple[tuple[int, int], ...]:
    """Normalise ``[(layer, head), ...]`` (a single pair is accepted too) or ``"all"``."""
    if heads is None:
        return ()
    if isinstance(heads, str):
        if heads == "all":
            return tuple((l, h) for l in range(model.n_layers) for h in range(model.n_heads))
        raise AttnlabError(f"{what}= takes (layer, head) pairs or 'all', got the string {heads!r}.")
    if _is_int(heads):
        layer = check_layer(model, heads)
        return tuple((layer, h) for h in range(model.n_heads))
    pairs = list(heads) if isinstance(heads, Iterable) else None
    if pairs is None:
        raise AttnlabError(f"{what}= takes a list of (layer, head) pairs, e.g. [(17, 3), (18, 6)]; got {heads!r}.")
    if len(pairs) == 2 and all(_is_int(x) for x in pairs):
        pairs = [tuple(pairs)]
    out = []
    for pair in pairs:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise AttnlabError(f"{what}= takes (layer, head) pairs, e.g. [(17, 3), (18, 6)]; got the item {pair!r}.")
        out.append(check_head(model, *pair))
    return tuple(dict.fromkeys(out))


def check_positions(positions, n_tokens: int, what: str) -> list[int] | None:
    """None (every position) or a list of non-negative positions; negative ones count from the end."""
    if positions is None:
        return None
    items = [positions] if _is_int(positions) else positions
    try:
        items = list(items)
    except TypeError:
        raise AttnlabError(f"{what} must be an int, a list of ints or None; got {positions!r}.") from None
    out = []
    for p in items:
        if not _is_int(p):
            raise AttnlabError(f"{what} must be ints; got {p!r} ({type(p).__name__}).")
        if not -n_tokens <= p < n_tokens:
            raise AttnlabError(f"{what} {p} is out of range for a prompt of {n_tokens} tokens "
                               f"(allowed: 0..{n_tokens - 1}, or -{n_tokens}..-1 from the end).")
        out.append(int(p) % n_tokens)
    return out


def check_vector(model: Model, vector) -> torch.Tensor:
    if isinstance(vector, np.ndarray):
        vector = torch.from_numpy(vector)
    if not isinstance(vector, torch.Tensor):
        raise AttnlabError(f"the vector to add must be a torch tensor or numpy array of shape [{model.d_model}], "
                           f"got {type(vector).__name__}.")
    vector = vector.detach().reshape(-1) if vector.dim() > 1 and vector.numel() == model.d_model else vector
    if vector.shape != (model.d_model,):
        raise AttnlabError(f"the vector to add has shape {tuple(vector.shape)}, but {model.name}'s residual "
                           f"stream has size {model.d_model}: pass a vector of shape [{model.d_model}].")
    if not torch.isfinite(vector).all():
        raise AttnlabError("the vector to add contains NaN or infinite values; pass a finite vector.")
    return vector.to(device=model.device, dtype=model.dtype)


def compile_pass(model: Model, n_tokens: int, *, ablate=(), how="zero", patch=None, add=None, block=None,
                 record: bool = True) -> Pass:
    """Check every intervention and turn them into the edits of one forward pass."""
    p = Pass(record=record)
    heads = check_heads(model, ablate, "ablate")
    if how not in HOW:
        raise AttnlabError(f"how must be 'zero' or 'mean', got {how!r}.")
    if heads:
        means = model.head_means() if how == "mean" else None
        for layer, hs in _by_layer(heads).items():
            p.z_edits.setdefault(layer, []).append(_ablation(hs, None if means is None else means[layer, hs]))
    for spec in _as_list(patch, Patch, "patch"):
        _compile_patch(model, p, spec, n_tokens)
    for spec in _as_list(add, Add, "add"):
        vec = check_vector(model, spec.vector) * float(spec.scale)
        layer = check_layer(model, spec.layer, allow_final=True)
        pos = check_positions(spec.position, n_tokens, "Add position")
        p.resid_edits.setdefault(layer, []).append(_adder(vec, pos))
    for spec in _as_list(block, Block, "block"):
        _compile_block(model, p, spec, n_tokens)
    return p


def _as_list(spec, kind, name):
    if spec is None:
        return []
    if isinstance(spec, kind):
        return [spec]
    if isinstance(spec, tuple) and kind is not Block and spec and not isinstance(spec[0], kind):
        return [kind(*spec)]
    if isinstance(spec, (list, tuple)) and all(isinstance(s, kind) for s in spec):
        return list(spec)
    raise AttnlabError(f"{name}= takes attnlab.{kind.__name__}(...) (or a list of them); got {spec!r:.80}.")


def _by_layer(heads):
    out: dict[int, list[int]] = {}
    for layer, head in heads:
        out.setdefault(layer, []).append(head)
    return out


def _ablation(heads: list[int], means: torch.Tensor | None):
    def edit(z):
        z[:, :, heads] = 0.0 if means is None else means.to(z.dtype)
    return edit


def _adder(vec, positions):
    def edit(r):
        if positions is None:
            r += vec
        else:
            r[:, positions] += vec
    return edit


def _compile_patch(model, p: Pass, spec: Patch, n_tokens: int):
    src: Trace = spec.source
    if not hasattr(src, "_layers") or src.model is not model:
        raise AttnlabError("Patch(source=...) must be a trace from model.run on this same model.")
    if len(src.ids) != n_tokens:
        raise AttnlabError(f"patching needs prompts of the same length: the source has {len(src.ids)} tokens, "
                           f"this prompt has {n_tokens}. Pad or reword one of them (check with model.tokenize).")
    heads = check_heads(model, spec.heads, "Patch heads")
    pos = check_positions(spec.positions, n_tokens, "Patch position")
    for layer, hs in _by_layer(heads).items():
        src_z = src._z(layer)
        def edit(z, src_z=src_z, hs=hs):
            if pos is None:
                z[:, :, hs] = src_z[:, :, hs].to(z.dtype)
            else:
                for h in hs:
                    z[:, pos, h] = src_z[:, pos, h].to(z.dtype)
        p.z_edits.setdefault(layer, []).append(edit)
    resid = spec.resid
    if resid and len(resid) == 2 and all(_is_int(x) for x in resid):
        resid = [resid]
    for item in resid or ():
        if not isinstance(item, Sequence) or len(item) != 2:
            raise AttnlabError(f"Patch resid takes (layer, position) pairs; got {item!r}.")
        layer = check_layer(model, item[0], allow_final=True)
        (position,) = check_positions(item[1], n_tokens, "Patch resid position")
        src_r = src._resid_t(layer)
        def edit(r, src_r=src_r, position=position):
            r[:, position] = src_r[:, position].to(r.dtype)
        p.resid_edits.setdefault(layer, []).append(edit)


def _compile_block(model, p: Pass, spec: Block, n_tokens: int):
    heads = check_heads(model, spec.heads, "Block heads")
    queries = check_positions(spec.query, n_tokens, "Block query")
    keys = check_positions(spec.key, n_tokens, "Block key")
    edge = torch.zeros(n_tokens, n_tokens, dtype=torch.bool, device=model.device)
    q_idx = slice(None) if queries is None else torch.tensor(queries, device=model.device)
    k_idx = slice(None) if keys is None else torch.tensor(keys, device=model.device)
    if queries is None or keys is None:
        edge[q_idx, k_idx] = True
    else:
        edge[q_idx[:, None], k_idx[None, :]] = True
    for layer, hs in _by_layer(heads).items():
        mask = p.blocked.get(layer)
        if mask is None:
            mask = torch.zeros(1, model.n_heads, n_tokens, n_tokens, dtype=torch.bool, device=model.device)
            p.blocked[layer] = mask
        mask[0, hs] |= edge
