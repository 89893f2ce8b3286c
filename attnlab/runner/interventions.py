"""Interventions a run can apply: ablate heads, patch from another run, add a vector, knock out edges.

Each user-facing spec is checked against the model and the prompt, then compiled into the edits of one
:class:`~attnlab.runner.attention.Hooks`.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> model.run("P Q A B X Y S T A", block=attnlab.Block(key=0)).top_next(1)[0][0]
'B'
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ..errors import AttnlabError
from .attention import Hooks
from .checks import (
    check_finite,
    check_heads,
    check_layer,
    check_positions,
    check_vector,
    is_int,
)

if TYPE_CHECKING:
    from .model import Model
    from .trace import Trace

HOW = ("zero", "mean")


@dataclass(frozen=True)
class Patch:
    """Copy activations from ``source`` (another run of a prompt of the same length) into this run.

    ``heads``: (layer, head) pairs whose outputs are copied, or ``"all"``; ``resid``: (layer, position)
    pairs of the residual stream entering ``layer`` to copy; ``positions``: restrict head patching to these
    positions (default: all).

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> clean = model.run("P Q A B X Y S T A")
    >>> model.run("P Q A C X Y S T A").top_next(1)[0][0]
    'C'
    >>> model.run("P Q A C X Y S T A", patch=attnlab.Patch(clean, heads=[(1, 0), (1, 1)])).top_next(1)[0][0]
    'B'
    """

    source: Any
    heads: Any = ()
    resid: Any = ()
    positions: Any = None


@dataclass(frozen=True)
class Add:
    """Add ``scale * vector`` to the residual stream entering ``layer`` (``layer == n_layers``: the final
    stream, before the last norm) at ``position`` (an int, a list of ints, or None for every position).

    >>> import attnlab
    >>> model = attnlab.load("tiny-induction")
    >>> clean, corrupted = model.run("P Q A B X Y S T A"), model.run("P Q A C X Y S T A")
    >>> v = clean.resid(2)[-1] - corrupted.resid(2)[-1]    # the final stream's difference at the last token
    >>> model.run("P Q A C X Y S T A", add=attnlab.Add(v, layer=2, position=-1)).top_next(1)[0][0]
    'B'
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

    >>> import attnlab
    >>> t = attnlab.load("tiny-induction").run("P Q A B X Y S T A", block=attnlab.Block(key=0))
    >>> float(t.pattern(1, 0)[:, 0].max())          # no head may attend to position 0
    0.0
    """

    heads: Any = "all"
    query: Any = None
    key: Any = None


def compile_pass(model: Model, n_tokens: int, *, ablate=(), how="zero", patch=None, add=None, block=None,
                 record: bool = True) -> Hooks:
    """Check every intervention and turn them into the edits of one forward pass."""
    p = Hooks(record=record)
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
        scale = check_finite(spec.scale, "Add scale")
        vec = check_vector(model, spec.vector) * scale
        if not torch.isfinite(vec).all():   # a finite vector times a finite scale can still overflow
            raise AttnlabError(f"scale * vector overflows {str(vec.dtype).removeprefix('torch.')} (scale={scale:g}): "
                               "use a smaller scale.")
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


def _compile_patch(model, p: Hooks, spec: Patch, n_tokens: int):
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
    if resid and len(resid) == 2 and all(is_int(x) for x in resid):
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


def _compile_block(model, p: Hooks, spec: Block, n_tokens: int):
    heads = check_heads(model, spec.heads, "Block heads")
    queries = check_positions(spec.query, n_tokens, "Block query")
    keys = check_positions(spec.key, n_tokens, "Block key")
    edge = torch.zeros(n_tokens, n_tokens, dtype=torch.bool, device=model.device)
    every = torch.arange(n_tokens, device=model.device)
    q_idx = every if queries is None else torch.tensor(queries, device=model.device)
    k_idx = every if keys is None else torch.tensor(keys, device=model.device)
    edge[q_idx[:, None], k_idx[None, :]] = True
    for layer, hs in _by_layer(heads).items():
        mask = p.blocked.get(layer)
        if mask is None:
            mask = torch.zeros(1, model.n_heads, n_tokens, n_tokens, dtype=torch.bool, device=model.device)
            p.blocked[layer] = mask
        mask[0, hs] |= edge
