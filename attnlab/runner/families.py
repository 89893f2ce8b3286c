"""Where the parts of a model live: blocks, attention modules, final norm, unembedding.

attnlab reads every supported architecture through one small description, :class:`Anatomy`, so the
runner never needs to know whether it holds a Llama, a GPT-2, a BERT or one of attnlab's tiny models.

>>> from transformers import GPT2Config, GPT2LMHeadModel
>>> a = anatomy(GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=4, n_embd=32, vocab_size=50)))
>>> a.family, a.n_layers, a.n_heads, a.head_dim, a.causal
('gpt2', 2, 4, 8, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import AttnlabError

# model_type -> (path to blocks, attention module inside a block, final norm, base model, unembedding)
# Paths are attribute paths from the loaded object; "" is the object itself; None: the model has no such part.
Layout = tuple[str, str, str | None, str, str | None]
_LLAMA_LIKE: Layout = ("model.layers", "self_attn", "model.norm", "model", "lm_head")
_LAYOUTS: dict[str, Layout] = {
    "llama": _LLAMA_LIKE,
    "mistral": _LLAMA_LIKE,
    "qwen2": _LLAMA_LIKE,
    "qwen3": _LLAMA_LIKE,
    "gemma": _LLAMA_LIKE,
    "gemma2": _LLAMA_LIKE,
    "gemma3_text": _LLAMA_LIKE,
    "olmo": _LLAMA_LIKE,
    "olmo2": _LLAMA_LIKE,
    "phi3": _LLAMA_LIKE,
    "gpt2": ("transformer.h", "attn", "transformer.ln_f", "transformer", "lm_head"),
    "bert": ("bert.encoder.layer", "attention.self", None, "bert", "cls"),
    "attnlab_tiny": ("blocks", "attn", "ln_f", "", "unembed"),
}
# The same families when the object is the bare base model (LlamaModel, GPT2Model, BertModel).
_BASE_LAYOUTS: dict[str, Layout] = {
    "llama": ("layers", "self_attn", "norm", "", None),
    "gpt2": ("h", "attn", "ln_f", "", None),
    "bert": ("encoder.layer", "attention.self", None, "", None),
}


def _get(obj, path: str | None):
    if path is None:
        return None
    for part in filter(None, path.split(".")):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


@dataclass
class Anatomy:
    """The parts of one loaded model that the runner hooks.

    ``attn[l]`` is the module of layer ``l`` that calls the attention function; its output is the
    concatenation of the per-head outputs *before* the output projection, so a head is one slice.
    """

    family: str
    blocks: nn.ModuleList
    attn: list[nn.Module]
    final_norm: nn.Module | None
    base: nn.Module
    unembed: nn.Module | None
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_model: int
    causal: bool
    logit_softcap: float | None
    max_positions: int | None


def anatomy(model: nn.Module) -> Anatomy:
    """Describe ``model`` (a transformers model or an attnlab tiny model) for the runner."""
    config: Any = getattr(model, "config", None)   # a transformers config, or a tiny model's
    model_type = getattr(config, "model_type", None) or getattr(model, "family", None)
    family = _family_of(model_type)
    if family is None:
        raise AttnlabError(
            f"attnlab cannot read models of type {model_type!r} ({type(model).__name__}) yet. Supported: "
            "Llama-style (Llama, Mistral, Qwen2/3, SmolLM2), Gemma 1-3, GPT-2, BERT and attnlab's tiny models."
        )
    layout = _LAYOUTS[family]
    if _get(model, layout[0]) is None and family in _BASE_LAYOUTS:
        layout = _BASE_LAYOUTS[family]
    blocks_path, attn_path, norm_path, base_path, head_path = layout
    blocks = _get(model, blocks_path)
    if blocks is None:
        raise AttnlabError(f"could not find the transformer blocks of {type(model).__name__} at '{blocks_path}'.")
    attn = [_get(block, attn_path) for block in blocks]
    first = attn[0]
    n_heads = int(getattr(first, "n_heads", None) or config.num_attention_heads)
    head_dim = int(getattr(first, "head_dim", None) or getattr(first, "attention_head_size", None)
                   or config.hidden_size // n_heads)
    n_kv_heads = n_heads // int(getattr(first, "num_key_value_groups", 1))
    unembed = _get(model, head_path) if head_path else None
    if family == "bert":
        unembed = None  # a BERT MLM head is not a next-token predictor
    causal = bool(getattr(first, "is_causal", True))
    if family == "bert":
        causal = False
    d_model = int(getattr(config, "hidden_size", None) or config.d_model)
    max_positions = (getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
                     or getattr(config, "max_len", None))
    return Anatomy(
        family=family,
        blocks=blocks,
        attn=attn,
        final_norm=_get(model, norm_path),
        base=_get(model, base_path) if base_path else model,
        unembed=unembed,
        n_layers=len(blocks),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        d_model=d_model,
        causal=causal,
        logit_softcap=getattr(config, "final_logit_softcapping", None),
        max_positions=int(max_positions) if max_positions else None,
    )


def _family_of(model_type: str | None) -> str | None:
    if model_type in _LAYOUTS:
        return model_type
    if model_type in ("smollm3",):
        return "llama"
    return None


def unembed_logits(a: Anatomy, hidden: torch.Tensor) -> torch.Tensor:
    """Logits from final hidden states (after the final norm), as the model's own head computes them."""
    if a.unembed is None:
        raise AttnlabError("this model has no next-token head to compute logits with.")
    logits = a.unembed(hidden)
    if a.logit_softcap is not None:
        logits = torch.tanh(logits / a.logit_softcap) * a.logit_softcap
    return logits
