"""attnlab: poke the attention heads of real language models.

>>> import attnlab
>>> model = attnlab.load("smollm2")                     # doctest: +SKIP
>>> t = model.run("The cat sat on the mat. The cat")    # doctest: +SKIP
>>> t.pattern(18, 6)                                    # doctest: +SKIP

Names are imported on first use, so ``import attnlab`` (and the ``attnlab`` command) start fast.
"""
import importlib

from ._errors import AttnlabError

__version__ = "0.1.0"

_PUBLIC = {
    "load": "_load",
    "Model": "_model",
    "Trace": "_trace",
    "Add": "_interventions",
    "Block": "_interventions",
    "Patch": "_interventions",
    "AttentionView": "_widgets",
    "HeadGrid": "_widgets",
    "AblationLab": "_widgets",
    "SinkView": "_widgets",
    "charts": "_widgets",
    "census": "_census",
    "census_summary": "_census",
    "ablation_sweep": "_sweep",
    "attribution": "_attribution",
    "direct_effects": "_direct",
    "patch_heads": "_patching",
    "patch_resid": "_patching",
    "patch_fraction": "_patching",
    "loss_metric": "_metrics",
    "logit_diff": "_metrics",
    "prob_of": "_metrics",
    "window_perplexity": "_windows",
    "window_table": "_windows",
    "long_text": "_probes",
    "check": "_exercises",
    "hint": "_exercises",
    "solution": "_exercises",
}
_MODULES = {"scores": "_scores", "tiny": "_tiny.public"}   # public names that are whole modules
__all__ = ["AttnlabError", "__version__", *_PUBLIC, *_MODULES]


def __getattr__(name):
    if name in _MODULES:
        value = importlib.import_module(f".{_MODULES[name]}", __name__)
        globals()[name] = value
        return value
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'attnlab' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
