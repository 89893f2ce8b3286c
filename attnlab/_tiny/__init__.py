"""Tiny transformers trained from scratch, to watch attention heads form.

- ``tiny-induction``: previous-token + induction heads and their phase change (Olsson et al. 2022)
- ``tiny-parity-cot`` / ``tiny-parity-direct``: parity with and without a chain of thought,
  the iteration head (Cabannes et al. 2024)
- ``tiny-registers-0`` / ``tiny-registers-8``: an encoder without / with register tokens
  (Darcet et al. 2024)

>>> from attnlab._tiny import load_tiny
>>> model, tok, meta = load_tiny("tiny-induction")
>>> tok.token_strs(tok.encode("P Q A B"))
['<bos>', 'P', 'Q', 'A', 'B']
"""
from .checkpoints import TINY_MODELS, load_history, load_tiny
from .induction import train_induction
from .model import TinyAttention, TinyConfig, TinyTransformer, eager_attention
from .parity import train_parity
from .registers import train_registers
from .tokenizer import TinyTokenizer

__all__ = ["TINY_MODELS", "TinyAttention", "TinyConfig", "TinyTokenizer", "TinyTransformer",
           "eager_attention", "load_history", "load_tiny", "train_induction", "train_parity",
           "train_registers"]
