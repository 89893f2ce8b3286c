"""The attention function attnlab puts inside every model it wraps, and the hooks around each block.

transformers models call ``ALL_ATTENTION_FUNCTIONS[config._attn_implementation](module, q, k, v, mask, ...)``
between the q/k/v projections and the output projection. attnlab registers its own function under the
name ``"attnlab"``. It computes attention with SDPA (fast) unless an intervention needs the weights,
records queries and keys so that any head's pattern can be recomputed later (lazily, one head at a
time), and edits per-head outputs *before* the output projection mixes them, per query head, so it is
correct under grouped-query attention. Block pre-hooks record and edit the residual stream.

Everything here is inert unless a :class:`Hooks` is active on the model: a plain call of the wrapped
transformers model gives the same result as before wrapping.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from ..errors import AttnlabError

IMPLEMENTATION = "attnlab"


@dataclass
class LayerRecord:
    """What one layer's attention saw: enough to recompute any head's pattern exactly.

    ``q``: [batch, heads, query, head_dim]; ``k``: [batch, kv_heads, key, head_dim], both after any
    rotary embedding and QK-norm; ``allowed``: bool [batch or 1, 1, query, key], or None: all allowed,
    or with ``causal`` each query sees the keys up to its own position (the mask is built on demand);
    ``blocked``: bool [batch or 1, heads, query, key] of knocked-out edges or None; ``z``: the per-head
    outputs [batch, query, heads, head_dim] after any intervention.
    """

    q: torch.Tensor
    k: torch.Tensor
    allowed: torch.Tensor | None
    blocked: torch.Tensor | None
    scaling: float
    softcap: float | None
    z: torch.Tensor | None = None
    causal: bool = False

    def weights(self, heads: slice | list[int] | int = slice(None), batch: int = 0) -> torch.Tensor:
        """Attention weights [heads, query, key] in float32, computed as eager attention does."""
        q = self.q[batch, heads].float()
        if q.dim() == 2:      # one head: keep a heads axis
            q = q[None]
        groups = self.q.shape[1] // self.k.shape[1]
        head_ids = torch.arange(self.q.shape[1], device=self.q.device)[heads].reshape(-1)
        k = self.k[batch].float()[head_ids // groups]
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scaling
        q_len, k_len = scores.shape[-2:]
        allowed = _causal(q_len, k_len, scores.device)[None, None] if self.causal else self.allowed
        return _softmax(scores, self.softcap, _row(allowed, batch), _row(self.blocked, batch, head_ids))


def _row(mask: torch.Tensor | None, batch: int, heads: torch.Tensor | None = None) -> torch.Tensor | None:
    if mask is None:
        return None
    m = mask[min(batch, mask.shape[0] - 1)]
    if heads is not None:
        m = m[heads]
    return m


def _softmax(scores, softcap, allowed, blocked):
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    if blocked is not None:
        scores = scores.masked_fill(blocked, float("-inf"))
    weights = torch.softmax(scores.float(), dim=-1)
    # A query whose every key is forbidden attends to nothing (its output is zero), not to NaN.
    return torch.nan_to_num(weights, nan=0.0)


ZEdit = Callable[[torch.Tensor], object]      # edits z [batch, query, heads, head_dim] in place (return ignored)
ResidEdit = Callable[[torch.Tensor], object]  # edits a residual stream [batch, pos, d_model] in place (ditto)


SITES = ("resid_pre", "q", "k", "z", "resid_final")


@dataclass
class Hooks:
    """What one forward pass edits and records: the runner's public door for experiments.

    Edits are functions at named sites, called with the activation and changing it in place
    (shapes as they arrive; ``pos`` = token position):

    ============  ==================  ==========================================================
    site          layer               tensor
    ============  ==================  ==========================================================
    resid_pre     0 .. n_layers - 1   [batch, pos, d_model], the residual stream entering a block
    resid_final   n_layers            [batch, pos, d_model], after the last block, before the norm
    q             0 .. n_layers - 1   [batch, head, pos, d_head], after RoPE and any QK-norm
    k             0 .. n_layers - 1   [batch, kv_head, pos, d_head], likewise
    z             0 .. n_layers - 1   [batch, pos, head, d_head], each head's output before o_proj
    ============  ==================  ==========================================================

    ``blocked[layer]`` (bool [1, head, query, key]) knocks attention edges out (the pattern is recomputed
    without them). With ``record=True`` the pass keeps what a :class:`~attnlab.Trace` needs: per layer
    q, k and z (``layers``) and the residual stream (``resid``, keyed by layer; ``n_layers`` = final).
    ``grad=True`` keeps the autograd graph; blocks below ``start`` are skipped, and an edit at
    ``resid_pre`` of ``start`` must then supply their output.

    >>> import attnlab, torch
    >>> model = attnlab.load("tiny-induction")
    >>> hooks = Hooks().edit("z", 1, lambda z: z[:, :, 0].zero_())      # head 1.0 switched off
    >>> hidden = model.forward(torch.tensor([model.encode("P Q A B X Y S T A")]), hooks)
    >>> sorted(hooks.layers), hidden.shape
    ([0, 1], torch.Size([1, 10, 64]))
    """

    record: bool = True
    keep_grad: bool = False
    z_edits: dict[int, list[ZEdit]] = field(default_factory=dict)
    resid_edits: dict[int, list[ResidEdit]] = field(default_factory=dict)
    q_edits: dict[int, list[ZEdit]] = field(default_factory=dict)
    k_edits: dict[int, list[ZEdit]] = field(default_factory=dict)
    blocked: dict[int, torch.Tensor] = field(default_factory=dict)
    start: int = 0                       # blocks below this are skipped; resid_edits[start] supplies the input
    layers: dict[int, LayerRecord] = field(default_factory=dict)
    resid: dict[int, torch.Tensor] = field(default_factory=dict)  # input of block l; n_layers: final

    def edit(self, site: str, layer: int, fn: Callable[[torch.Tensor], object]) -> Hooks:
        """Call ``fn(activation)`` at ``site`` of ``layer`` (see the table above); returns ``self``."""
        table = {"resid_pre": self.resid_edits, "resid_final": self.resid_edits, "q": self.q_edits,
                 "k": self.k_edits, "z": self.z_edits}
        if site not in table:
            raise AttnlabError(f"unknown site {site!r}; the sites are {', '.join(SITES)}.")
        if not callable(fn):
            raise AttnlabError(f"an edit must be a function of the activation, got {type(fn).__name__}.")
        table[site].setdefault(int(layer), []).append(fn)
        return self

    def keep(self, t: torch.Tensor) -> torch.Tensor:
        return t if self.keep_grad else t.detach()


class Owner:
    """Held by every wrapped module: points at the pass currently running (or None)."""

    def __init__(self):
        self.active: Hooks | None = None


def attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
              softcap: float | None = None, **kwargs):
    """attnlab's attention: SDPA, or exact eager attention when heads have knocked-out edges."""
    owner: Owner | None = getattr(module, "_attnlab_owner", None)
    run = owner.active if owner is not None else None
    layer: int = getattr(module, "_attnlab_layer", -1)   # set with the owner when the model is wrapped
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    if run is not None and (layer in run.q_edits or layer in run.k_edits):
        query, key = query.clone(), key.clone()
        for edit in run.q_edits.get(layer, ()):
            edit(query)
        for edit in run.k_edits.get(layer, ()):
            edit(key)
    q_len, k_len = query.shape[-2], key.shape[-2]
    allowed = _as_allowed(attention_mask, q_len, k_len)
    # No mask from a causal model: transformers skipped building the causal mask (SDPA's is_causal
    # shortcut), so the mask is implicit. One query needs none; otherwise it is built only when needed.
    causal = allowed is None and q_len > 1 and getattr(module, "_attnlab_causal", False)
    if causal and q_len != k_len:
        allowed, causal = _causal(q_len, k_len, query.device)[None, None], False
    blocked = run.blocked.get(layer) if run is not None else None
    groups = query.shape[1] // key.shape[1]
    if blocked is not None or softcap is not None:
        k_rep = key.repeat_interleave(groups, dim=1) if groups > 1 else key
        v_rep = value.repeat_interleave(groups, dim=1) if groups > 1 else value
        scores = torch.matmul(query, k_rep.transpose(-1, -2)) * scaling
        mask = _causal(q_len, k_len, query.device) if causal else allowed
        w = _softmax(scores, softcap, mask, blocked).to(value.dtype)
        out = torch.matmul(w, v_rep)
    else:
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=allowed, is_causal=causal,
                                             scale=scaling, enable_gqa=groups > 1)
    z = out.transpose(1, 2)
    if run is not None:
        edits = run.z_edits.get(layer)
        if edits:
            z = z.clone()
            for edit in edits:
                edit(z)
        if run.record:
            z_kept = run.keep(z)
            if run.keep_grad and z.requires_grad:
                z.retain_grad()
            run.layers[layer] = LayerRecord(run.keep(query), run.keep(key), allowed, blocked, scaling, softcap,
                                            z_kept, causal)
    return z.contiguous(), None


def _as_allowed(mask: torch.Tensor | None, q_len: int, k_len: int) -> torch.Tensor | None:
    """Turn transformers' mask (bool, or additive float) into a bool mask, True = may attend."""
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        mask = mask > torch.finfo(mask.dtype).min / 2
    return mask[..., -q_len:, -k_len:]


def _causal(q_len: int, k_len: int, device) -> torch.Tensor:
    """bool [q_len, k_len], True = may attend: the queries are the last q_len of the k_len positions."""
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(k_len - q_len)


# transformers' SDPA mask: None (the is_causal shortcut) when the mask is purely causal with no padding,
# which :func:`attention` handles; materialised otherwise (padding, sliding windows).
AttentionInterface.register(IMPLEMENTATION, attention)
AttentionMaskInterface.register(IMPLEMENTATION, sdpa_mask)
