"""The runner room: load a real model, run it with hooks, intervene, generate, read what it saw.

Everything else in attnlab (heads, views, the course) goes through the names here. The door for
experiments is :meth:`Model.forward` with a :class:`Hooks` (edits and records at named sites);
``model.run`` wraps it into a :class:`Trace`, with ablation, :class:`Patch`, :class:`Add` and
:class:`Block` compiled into hooks.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> t = model.run("P Q A B X Y S T A", ablate=[(0, 0)])
>>> t.top_next(1)[0][0] != "B"          # without the previous-token head, induction fails
True
"""
from . import embedded
from .attention import SITES, Hooks, LayerRecord
from .checks import (
    available_memory,
    check_device,
    check_finite,
    check_head,
    check_heads,
    check_layer,
    check_memory,
    check_model,
    check_positions,
    check_token,
    check_unicode,
    check_vector,
    is_int,
    is_number,
)
from .families import Anatomy
from .interventions import HOW, Add, Block, Patch, compile_pass
from .load import load, register_zoo
from .model import Model
from .paths import home, make_folder
from .trace import Trace

__all__ = ["HOW", "SITES", "Add", "Anatomy", "Block", "Hooks", "LayerRecord", "Model", "Patch", "Trace",
           "available_memory", "check_device", "check_finite", "check_head", "check_heads", "check_layer",
           "check_memory", "check_model", "check_positions", "check_token", "check_unicode", "check_vector",
           "compile_pass", "embedded", "home", "is_int", "is_number", "load", "make_folder", "register_zoo"]
