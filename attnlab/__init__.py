"""attnlab: poke the attention heads of real language models.

The package is four rooms, data flowing one way: ``runner`` (load and run models, interventions,
traces) -> ``tiny`` (models trained from scratch) and ``heads`` (scores and experiments) -> ``charts``
and ``views`` (altair pictures and Jupyter widgets) -> ``course`` (the lessons' exercise checks).
The names below are the public API; see docs/architecture.md.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> t = model.run("P Q A B X Y S T A")
>>> t.tokens[int(t.pattern(1, 0)[-1].argmax())]      # the last A looks at what followed the first A
'B'
"""
from . import charts, tiny
from .course import check, hint, solution
from .errors import AttnlabError
from .heads import (
    Effects,
    ablation_sweep,
    attribution,
    census,
    census_summary,
    direct_effects,
    long_text,
    metrics,
    patch_fraction,
    patch_heads,
    patch_resid,
    scores,
    window_perplexity,
    window_table,
)
from .runner import Add, Block, Hooks, Model, Patch, Trace, load
from .views import AblationLab, AttentionView, HeadGrid, SinkView

__version__ = "0.1.0"

__all__ = ["AblationLab", "Add", "AttentionView", "AttnlabError", "Block", "Effects", "HeadGrid", "Hooks", "Model",
           "Patch", "SinkView", "Trace", "__version__", "ablation_sweep", "attribution", "census", "census_summary",
           "charts", "check", "direct_effects", "hint", "load", "long_text", "metrics",
           "patch_fraction", "patch_heads", "patch_resid", "scores", "solution", "tiny",
           "window_perplexity", "window_table"]
