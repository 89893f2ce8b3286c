"""Small stand-ins the unit tests share: a tokenizer over ids, and a small random Llama with GQA."""
from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM

VOCAB = 97


class IdTokenizer:
    """A stand-in tokenizer: text is space-separated ids (other words get an id from their letters)."""

    def __call__(self, text, **kwargs):
        return {"input_ids": [int(x) if x.isdigit() else sum(map(ord, x)) % VOCAB for x in text.split()]}

    def decode(self, ids, **kwargs):
        return " ".join(str(i) for i in ids) if len(ids) > 1 else f"<{ids[0]}>"

    def convert_ids_to_tokens(self, ids):
        return [f"<{i}>" for i in ids]

    def __len__(self):
        return VOCAB


def random_llama(layers: int = 3, seed: int | None = None, max_positions: int = 64) -> LlamaForCausalLM:
    """A randomly initialised Llama: ``layers`` x 6 heads (2 KV heads: GQA), d_model 48, vocabulary 97.

    ``seed`` reseeds torch first; None draws from torch's current random state."""
    if seed is not None:
        torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=48, intermediate_size=96, num_hidden_layers=layers,
                         num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=max_positions)
    return LlamaForCausalLM(config).eval()
