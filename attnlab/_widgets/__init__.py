"""attnlab's Jupyter views (anywidget) and offline altair charts.

>>> import attnlab
>>> model = attnlab.load("smollm2")                          # doctest: +SKIP
>>> attnlab.AttentionView(model, text="The cat sat on the mat. The cat", layer=18, head=6)  # doctest: +SKIP

``charts`` (and with it altair) is imported on first use.
"""
import importlib

from .ablation_lab import AblationLab
from .attention_view import AttentionView
from .head_grid import HeadGrid
from .sink_view import SinkView

__all__ = ["AblationLab", "AttentionView", "HeadGrid", "SinkView", "charts"]


def __getattr__(name):
    if name == "charts":
        return importlib.import_module(".charts", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
