"""Symbol-level tokenizer for the tiny models: one token per symbol, no merges.

Text rule: if the text contains whitespace it is split on whitespace and every piece must be a
vocabulary entry ("P Q A B"); otherwise it is read left to right, one character per token, except
that a special token written in angle brackets ("<bos>", "<reg0>") is one token.
``encode`` adds the model's prefix itself: ``<bos>`` for decoders, ``<cls>`` and the register
tokens for encoders (``add_special=False`` turns that off; a prefix already present is kept).

>>> tok = TinyTokenizer(["<bos>", ":", "0", "1"])
>>> tok.encode("01:1")
[0, 2, 3, 1, 3]
>>> tok.token_strs(tok.encode("0 1 : 1"))
['<bos>', '0', '1', ':', '1']
"""
from __future__ import annotations

import re

from ..errors import AttnlabError

_SPECIAL = re.compile(r"<[^<>\s]+>")


class TinyTokenizer:
    """Maps symbols to ids and back. ``bos_id``/``cls_id`` are None when the vocabulary lacks them."""

    def __init__(self, vocab: list[str]):
        self.vocab = list(vocab)
        self.token_to_id = {s: i for i, s in enumerate(self.vocab)}
        if len(self.token_to_id) != len(self.vocab):
            raise AttnlabError("the vocabulary has duplicate entries")
        self.bos_id = self.token_to_id.get("<bos>")
        self.cls_id = self.token_to_id.get("<cls>")
        self.register_ids = [self.token_to_id[s] for s in self.vocab if re.fullmatch(r"<reg\d+>", s)]
        self.n_registers = len(self.register_ids)
        self.special_ids = [i for i, s in enumerate(self.vocab) if _SPECIAL.fullmatch(s)]
        self.pad_id = None

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def prefix_ids(self) -> list[int]:
        """What ``encode`` puts in front: [<bos>] or [<cls>, <reg0>, ...] (or nothing)."""
        head = [self.bos_id] if self.bos_id is not None else []
        head += [self.cls_id] if self.cls_id is not None else []
        return head + self.register_ids

    def split(self, text: str) -> list[str]:
        """Text to symbols, by the rule in the module docstring."""
        if any(c.isspace() for c in text):
            return text.split()
        out, i = [], 0
        while i < len(text):
            m = _SPECIAL.match(text, i)
            if m and m.group() in self.token_to_id:
                out.append(m.group())
                i = m.end()
            else:
                out.append(text[i])
                i += 1
        return out

    def encode(self, text_or_symbols: str | list[str], add_special: bool = True) -> list[int]:
        """Text (see the rule above) or a list of symbols to ids, with the prefix added."""
        symbols = self.split(text_or_symbols) if isinstance(text_or_symbols, str) else list(text_or_symbols)
        unknown = sorted({s for s in symbols if s not in self.token_to_id})
        if unknown:
            shown = " ".join(self.vocab) if len(self.vocab) <= 80 else f"{len(self.vocab)} symbols"
            raise AttnlabError(f"unknown symbols {unknown}; this tiny model knows: {shown}")
        ids = [self.token_to_id[s] for s in symbols]
        prefix = self.prefix_ids if add_special else []
        if prefix and ids[: len(prefix)] != prefix:
            ids = prefix + ids
        return ids

    def token_strs(self, ids) -> list[str]:
        """Ids (list or 1-d tensor) to their symbols, one string per token."""
        return [self.vocab[int(i)] for i in ids]

    decode = token_strs
