"""Checks of user input shared by the whole package: layers, heads, positions, vectors, single tokens.

Each returns the value in normal form or raises :class:`~attnlab.AttnlabError` saying what is allowed.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> check_heads(model, [(1, 0), [0, 1], (1, 0)])
((1, 0), (0, 1))
>>> check_positions(-1, 9, "position")
[8]
"""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast, overload

import numpy as np
import torch

from ..errors import AttnlabError

if TYPE_CHECKING:
    from .model import Model


def is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_number(x) -> bool:
    """A real number (int or float, numpy ones included), not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class ModelBase:
    """The base class of :class:`attnlab.Model`, so that :func:`check_model` knows one without importing it."""


def check_model(model, what: str) -> Model:
    """``model`` if it is an :class:`attnlab.Model`, else an error showing how to get one."""
    if isinstance(model, ModelBase):
        return cast("Model", model)
    if isinstance(model, str):
        raise AttnlabError(f"{what} takes a model, not the string {model!r}: load it first, "
                           f"model = attnlab.load({model!r}), then pass model.")
    raise AttnlabError(f"{what} takes a model from attnlab.load(...), got {type(model).__name__}.")


def check_finite(x, what: str, *, minimum: float | None = None) -> float:
    """``x`` as a float if it is a finite real number (and at least ``minimum``), else a clear error."""
    if not is_number(x):
        raise AttnlabError(f"{what} must be a number, got {x!r} ({type(x).__name__}).")
    if not math.isfinite(x):
        raise AttnlabError(f"{what} must be a finite number, got {x!r}.")
    if minimum is not None and x < minimum:
        raise AttnlabError(f"{what} must be at least {minimum:g}, got {x!r}.")
    return float(x)


def check_device(device) -> torch.device:
    """A torch device this machine has: "auto" picks cuda, then mps, then cpu."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise AttnlabError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'mps'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise AttnlabError(f"device={device!r} was asked for but this torch sees no CUDA GPU; use device='auto'.")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise AttnlabError(f"device={device!r} was asked for but this torch sees no Apple GPU; use device='auto'.")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise AttnlabError(f"attnlab runs on 'cpu', 'cuda' or 'mps', not {device!r}; use device='auto'.")
    return dev


def check_unicode(text: str) -> str:
    """``text`` if it is valid Unicode (no lone surrogate such as '\\ud800'), else a clear error."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = text[e.start]
        raise AttnlabError(
            f"the text holds a lone surrogate {bad!r} at character {e.start}, which is not valid Unicode (it often "
            "comes from a broken copy-paste or a JSON escape). Remove it, or clean the text with "
            "text.encode('utf-8', 'replace').decode('utf-8').") from None
    return text


def available_memory() -> int:
    """Bytes of host memory available for new arrays (results come back to the host)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def check_memory(need: int, what: str, instead: str) -> None:
    """Refuse up front a result of ``need`` bytes above half the available memory, naming a cheaper way."""
    free = available_memory()
    if need > 0.5 * free:
        raise AttnlabError(f"{what} would take {need / 2**30:.1f} GiB, more than half of the "
                           f"{free / 2**30:.1f} GiB of memory available. {instead}")


def check_layer(model: Model, layer, *, allow_final: bool = False) -> int:
    top = model.n_layers if allow_final else model.n_layers - 1
    if not is_int(layer):
        raise AttnlabError(f"layer must be an int in 0..{top}, got {layer!r} ({type(layer).__name__}).")
    if not 0 <= layer <= top:
        extra = f" ({model.n_layers} means the final residual stream)" if allow_final else ""
        raise AttnlabError(f"layer {layer} is out of range: {model.name} has layers 0..{top}{extra}. "
                           "Negative indices are not accepted: write the layer number.")
    return int(layer)


def check_head(model: Model, layer, head) -> tuple[int, int]:
    layer = check_layer(model, layer)
    if not is_int(head):
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
    if is_int(heads):
        layer = check_layer(model, heads)
        return tuple((layer, h) for h in range(model.n_heads))
    pairs = list(heads) if isinstance(heads, Iterable) else None
    if pairs is None:
        raise AttnlabError(f"{what}= takes a list of (layer, head) pairs, e.g. [(17, 3), (18, 6)]; got {heads!r}.")
    if len(pairs) == 2 and all(is_int(x) for x in pairs):
        pairs = [tuple(pairs)]
    out = []
    for pair in pairs:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise AttnlabError(f"{what}= takes (layer, head) pairs, e.g. [(17, 3), (18, 6)]; got the item {pair!r}.")
        out.append(check_head(model, *pair))
    return tuple(dict.fromkeys(out))


@overload
def check_positions(positions: int | Iterable[int], n_tokens: int, what: str) -> list[int]: ...


@overload
def check_positions(positions: None, n_tokens: int, what: str) -> None: ...


def check_positions(positions, n_tokens: int, what: str) -> list[int] | None:
    """None (every position) or a list of non-negative positions; negative ones count from the end."""
    if positions is None:
        return None
    items = [positions] if is_int(positions) else positions
    try:
        items = list(items)
    except TypeError:
        raise AttnlabError(f"{what} must be an int, a list of ints or None; got {positions!r}.") from None
    out = []
    for p in items:
        if not is_int(p):
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


def check_token(model: Model, token) -> int:
    """The id of ``token`` (a string the tokenizer reads as exactly one token, or an id)."""
    if is_int(token):
        if not 0 <= token < model.vocab_size:
            raise AttnlabError(f"token id {token} is outside the vocabulary (0..{model.vocab_size - 1}).")
        return int(token)
    if not isinstance(token, str) or not token:
        raise AttnlabError(f"a metric token must be a non-empty string or an int id, got {token!r}.")
    ids = _tokenize(model, token)
    if len(ids) == 1:
        return ids[0]
    pieces = model.token_strings(ids)
    variants = [v for v in dict.fromkeys([" " + token.strip(), token.strip(), " " + token.strip().capitalize(),
                                          " " + token.strip().lower(), token.strip().capitalize()])
                if v != token and len(_tokenize(model, v)) == 1]
    hint = (f" These variants are single tokens: {', '.join(repr(v) for v in variants)}." if variants else
            " Pick a word the tokenizer keeps whole (check with model.tokenize(...)); a leading space often helps.")
    raise AttnlabError(f"{token!r} is {len(ids)} tokens for {model.name} ({pieces}), but a metric compares single "
                       f"next tokens.{hint}")


def _tokenize(model: Model, text: str) -> list[int]:
    if model.family == "attnlab_tiny":
        return list(model.tokenizer.encode(text, add_special=False))
    try:
        return list(model.tokenizer(text, add_special_tokens=False)["input_ids"])
    except TypeError:  # a minimal tokenizer without add_special_tokens
        return model.encode(text)
