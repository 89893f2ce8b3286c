"""``attnlab.tiny``: small transformers trained from scratch, to watch attention heads form.

- ``tiny-induction``: previous-token + induction heads and their phase change (Olsson et al. 2022)
- ``tiny-parity-cot`` / ``tiny-parity-direct``: parity with and without a chain of thought,
  the iteration head (Cabannes et al. 2024)
- ``tiny-registers-0`` / ``tiny-registers-8``: an encoder without / with register tokens
  (Darcet et al. 2024)

The shipped checkpoints load like any model (``attnlab.load("tiny-induction")``: the runner finds them
through :func:`~attnlab.runner.register_zoo`); :func:`train` makes new ones.

>>> import attnlab
>>> attnlab.load("tiny-induction").run("P Q A B X Y S T A").top_next(1)[0][0]
'B'
"""
from ..runner import register_zoo
from .api import (
    MODELS,
    history,
    iteration_stats,
    measure,
    parity_accuracy,
    phase_change_step,
    position_probe,
    recorded_metrics,
    register_stats,
    train,
)
from .checkpoints import TINY_MODELS, load_tiny
from .model import TinyConfig, TinyTransformer
from .tokenizer import TinyTokenizer

register_zoo("tiny-", TINY_MODELS, lambda name: load_tiny(name, device="cpu")[:2])

__all__ = ["MODELS", "TinyConfig", "TinyTokenizer", "TinyTransformer", "history", "iteration_stats", "measure",
           "parity_accuracy", "phase_change_step", "position_probe", "recorded_metrics", "register_stats", "train"]
