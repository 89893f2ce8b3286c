"""AttentionView: one head's query x key pattern, as a heatmap or as bertviz-style lines.

>>> import attnlab
>>> model = attnlab.load("smollm2")                                          # doctest: +SKIP
>>> view = attnlab.AttentionView(model, text="The cat sat on the mat. The cat", layer=18, head=6)  # doctest: +SKIP
>>> view                      # hover a cell or a token; pick layer/head; type a sentence   # doctest: +SKIP
>>> view.save("l18h6.png")    # the same picture, drawn in Python                            # doctest: +SKIP
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
