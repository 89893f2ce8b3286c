"""Views that show one head's pattern: the chosen layer and head, and the weights sent to the browser.

The pattern travels once per head change as float16 bytes (2 bytes per weight, and only the lower triangle
for causal models); hovering is handled in the browser alone and sends nothing back.
"""
from __future__ import annotations

import traitlets

from ..errors import AttnlabError
from ..runner import check_head, check_layer
from .base import BaseView
from .traits import PatternArray


def choice(name: str, value, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a clear :class:`AttnlabError`."""
    if not isinstance(value, str) or value not in allowed:
        raise AttnlabError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}.")
    return value


class PatternView(BaseView):
    """A view with a current head (``layer``, ``head``) whose pattern it shows."""

    layer = traitlets.Any(0).tag(sync=True)
    head = traitlets.Any(0).tag(sync=True)
    pattern = PatternArray(ndim=2)
    mode = traitlets.Any("heatmap").tag(sync=True)
    color_scale = traitlets.Any("linear").tag(sync=True)

    _inputs = {"text": "trace", "layer": "pattern", "head": "pattern"}

    @traitlets.validate("layer")
    def _valid_layer(self, proposal):
        return check_layer(self._model, proposal["value"])

    @traitlets.validate("head")
    def _valid_head(self, proposal):
        return check_head(self._model, 0, proposal["value"])[1]

    @traitlets.validate("mode")
    def _valid_mode(self, proposal):
        return choice("mode", proposal["value"], ("heatmap", "lines"))

    @traitlets.validate("color_scale")
    def _valid_scale(self, proposal):
        return choice("color_scale", proposal["value"], ("linear", "sqrt"))

    def show(self, layer: int, head: int):
        """Switch to head ``(layer, head)`` in one step (both are checked before anything changes)."""
        layer, head = check_head(self._model, layer, head)
        with self.hold_trait_notifications():
            self.layer, self.head = layer, head
        return self

    def _compute_trace(self) -> dict:
        updates = super()._compute_trace()
        updates["pattern"] = updates["_trace"].pattern(self.layer, self.head)
        return updates

    def _compute_pattern(self) -> dict:
        return {"pattern": self._trace.pattern(self.layer, self.head)}

    def _pattern_chart(self):
        from ..charts import attention_heatmap, attention_lines

        title = f"{self.model_name}: layer {self.layer}, head {self.head}"
        if self.mode == "lines":
            return attention_lines(self.pattern, self.tokens, title=title)
        return attention_heatmap(self.pattern, self.tokens, title=title, color_scale=self.color_scale,
                                 causal=self.is_causal)
