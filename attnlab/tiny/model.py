"""A tiny GPT-style transformer that reads like the math, with the attention function swappable.

Each block does ``x = x + attn(ln1(x))`` then ``x = x + mlp(ln2(x))`` (no MLP when ``d_mlp == 0``);
with ``block="pal"`` it does ``x = ln1(x); x = x + attn(x)`` then ``x = x + mlp(ln2(x))``, the form of
Cabannes et al.'s iteration-head code (facebookresearch/pal), where each block renormalises the stream.
Attention goes through ``TinyAttention.attention_fn`` (``None`` = :func:`eager_attention`), the same
hook point the attnlab runner uses for Hugging Face models, so the runner can record or edit it.

>>> import torch
>>> cfg = TinyConfig(vocab=["<bos>", "A", "B"], n_layers=2, n_heads=2, d_model=16, d_mlp=0,
...                  max_len=8, causal=True)
>>> TinyTransformer(cfg)(torch.tensor([[0, 1, 2, 1]])).shape
torch.Size([1, 4, 3])
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import AttnlabError


@dataclass
class TinyConfig:
    """Architecture of a :class:`TinyTransformer`; ``dataclasses.asdict`` gives its json form."""

    vocab: list[str]
    n_layers: int
    n_heads: int
    d_model: int
    d_mlp: int
    max_len: int
    causal: bool
    layer_norm: bool = True
    n_registers: int = 0
    n_labels: int = 0
    bias: bool = True  # biases in every Linear and LayerNorm
    block: str = "pre_ln"  # "pre_ln" or "pal" (see the module docstring)

    def __post_init__(self):
        if self.block not in ("pre_ln", "pal"):
            raise AttnlabError(f"block must be 'pre_ln' or 'pal', not {self.block!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TinyConfig:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


def eager_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """softmax(q kᵀ · scaling, masked) v.

    query/key/value: [b, h, T, d]; attention_mask: bool [1 or b, 1, T, T] with True = may attend,
    or None. Returns (output [b, T, h, d], weights [b, h, T, T]).
    """
    scaling = query.shape[-1] ** -0.5 if scaling is None else scaling
    scores = (query @ key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        scores = scores.masked_fill(~attention_mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if dropout > 0.0:
        weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    return (weights @ value).transpose(1, 2), weights


class TinyAttention(nn.Module):
    """Multi-head self-attention; ``attention_fn`` (if set) replaces :func:`eager_attention`."""

    num_key_value_groups = 1

    def __init__(self, config: TinyConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.scaling = self.head_dim ** -0.5
        self.is_causal = config.causal
        self.attention_fn = None
        inner = self.n_heads * self.head_dim
        self.q_proj = nn.Linear(config.d_model, inner, bias=config.bias)
        self.k_proj = nn.Linear(config.d_model, inner, bias=config.bias)
        self.v_proj = nn.Linear(config.d_model, inner, bias=config.bias)
        self.o_proj = nn.Linear(inner, config.d_model, bias=config.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, T, _ = x.shape
        q, k, v = (p(x).view(b, T, self.n_heads, self.head_dim).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        fn = self.attention_fn or eager_attention
        out, _ = fn(self, q, k, v, mask, dropout=0.0, scaling=self.scaling)
        return self.o_proj(out.reshape(b, T, self.n_heads * self.head_dim))


class Block(nn.Module):
    """One residual block: attention, then (optionally) an MLP, each behind its own LayerNorm."""

    def __init__(self, config: TinyConfig, layer_idx: int):
        super().__init__()
        norm = (lambda: nn.LayerNorm(config.d_model, bias=config.bias)) if config.layer_norm else nn.Identity
        self.pal = config.block == "pal"
        self.ln1 = norm()
        self.attn = TinyAttention(config, layer_idx)
        self.mlp: nn.Sequential | None = None
        if config.d_mlp > 0:
            self.ln2 = norm()
            self.mlp = nn.Sequential(nn.Linear(config.d_model, config.d_mlp, bias=config.bias), nn.GELU(),
                                     nn.Linear(config.d_mlp, config.d_model, bias=config.bias))
        else:
            self.ln2 = nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self.pal:
            x = self.ln1(x)
            x = x + self.attn(x, mask)
        else:
            x = x + self.attn(self.ln1(x), mask)
        if self.mlp is not None:
            x = x + self.mlp(self.ln2(x))
        return x


class TinyTransformer(nn.Module):
    """Token + learned position embeddings, ``n_layers`` blocks, final norm, unembedding.

    The output has ``len(vocab)`` logits per position, or ``n_labels`` when ``n_labels > 0``.
    """

    family = "attnlab_tiny"  # how the attnlab runner recognises this architecture
    task: str | None = None  # the shipped task it was trained for ("tiny-induction", ...), set when loaded or trained

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(len(config.vocab), config.d_model)
        self.pos_embed = nn.Embedding(config.max_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, bias=config.bias) if config.layer_norm else nn.Identity()
        self.unembed = nn.Linear(config.d_model, config.n_labels or len(config.vocab), bias=config.bias)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def residual_stream(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """The residual stream [b, T, d_model] after the embeddings and after each block."""
        T = ids.shape[1]
        if T > self.config.max_len:
            raise AttnlabError(f"{T} tokens is longer than this tiny model's max_len={self.config.max_len}; "
                               "shorten the input")
        x = self.embed(ids) + self.pos_embed(torch.arange(T, device=ids.device))
        mask = None
        if self.config.causal:
            mask = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril()[None, None]
        states = [x]
        for block in self.blocks:
            x = block(x, mask)
            states.append(x)
        return states

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.unembed(self.ln_f(self.residual_stream(ids)[-1]))
