"""AttentionView: one head's query x key pattern, as a heatmap or as bertviz-style lines.

>>> import attnlab, tempfile
>>> model = attnlab.load("tiny-induction")
>>> view = attnlab.AttentionView(model, text="P Q A B X Y S T A", layer=1, head=0)
>>> view                      # in a notebook: hover a cell or a token; pick layer/head; type a sentence
<attnlab.views.attention_view.AttentionView object at ...>
>>> view.pattern.shape, view.tokens[int(view.pattern[-1].argmax())]    # the last A looks at B
((10, 10), 'B')
>>> view.save(f"{tempfile.mkdtemp()}/l1h0.png").suffix     # the same picture, drawn in Python
'.png'
"""
from __future__ import annotations

from .base import STATIC
from .pattern import PatternView


class AttentionView(PatternView):
    """One head's attention pattern with token labels; hover to read weights, type your own text.

    ``AttentionView(model, text=..., layer=0, head=0, mode="heatmap" | "lines", color_scale="linear" | "sqrt")``,
    or ``AttentionView(trace, layer=..., head=...)`` to show a run you already have. Changing ``layer``,
    ``head`` or ``text`` (here or in the view) recomputes the pattern; ``view.pattern`` is the numpy array shown.
    """

    _esm = STATIC / "attention_view.js"
    _options = ("layer", "head", "mode", "color_scale")

    def chart(self):
        """The current pattern as an altair chart (heatmap, or lines in lines mode)."""
        return self._pattern_chart()
