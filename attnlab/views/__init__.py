"""The views room: attnlab's Jupyter widgets (anywidget), each over a live model from the runner.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> view = attnlab.AttentionView(model, text="P Q A B X Y S T A", layer=1, head=0)
>>> view.tokens[-1]
'A'
"""
from .ablation_lab import AblationLab
from .attention_view import AttentionView
from .head_grid import HeadGrid
from .sink_view import SinkView

__all__ = ["AblationLab", "AttentionView", "HeadGrid", "SinkView"]
