"""SinkView: how much attention lands on each key position, per head and layer, beside the hidden-state norms.

Attention sinks stand out as a bright column (most heads park their attention on one token, often the
first), and the same tokens carry huge residual-stream norms in the middle layers.

>>> import attnlab
>>> sinks = attnlab.SinkView(attnlab.load("tiny-registers-0"), text="ab..A..c")
>>> sinks.mass.shape                               # [layers, heads, key tokens]
(2, 2, 9)
>>> sinks.tokens[int(sinks.mass[0, 1].argmax())]   # where head L0H1 puts most of its attention
'<cls>'
"""
from __future__ import annotations

import numpy as np
import traitlets

from ..runner import check_layer
from .base import STATIC, BaseView
from .pattern import choice
from .traits import Float16Array, Float32Array


def attention_mass(trace) -> np.ndarray:
    """Share of each head's attention that each key receives, float32 [layers, heads, keys].

    The mean over queries of ``A[q, k]``: the values of one head sum to 1 over the keys.
    """
    return np.stack([trace.patterns(layers=[layer])[0].mean(axis=-2) for layer in range(trace.model.n_layers)])


class SinkView(BaseView):
    """Attention mass per key position for every head, and the residual-stream norm of every token.

    ``SinkView(model, text=..., rows="heads" | "layers", norm_layer=None)``: ``rows="layers"`` averages the
    heads of each layer; ``norm_layer`` picks which layer's norms are drawn as bars (default: the layer where
    one token's norm stands out most). ``mass`` [layers, heads, T] and ``norms`` [layers + 1, T] are numpy.
    """

    _esm = STATIC / "sink_view.js"
    _options = ("rows", "norm_layer")

    mass = Float16Array(ndim=3)
    norms = Float32Array(ndim=2)
    rows = traitlets.Any("heads").tag(sync=True)
    norm_layer = traitlets.Any(None, allow_none=True).tag(sync=True)

    @traitlets.validate("rows")
    def _valid_rows(self, proposal):
        return choice("rows", proposal["value"], ("heads", "layers"))

    @traitlets.validate("norm_layer")
    def _valid_norm_layer(self, proposal):
        value = proposal["value"]
        return None if value is None else check_layer(self._model, value, allow_final=True)

    def _compute_trace(self) -> dict:
        updates = super()._compute_trace()
        trace = updates["_trace"]
        norms = trace.resid_norms()
        updates.update(mass=attention_mass(trace), norms=norms)
        if self.norm_layer is None:
            updates["norm_layer"] = standout_layer(norms)
        return updates

    def chart(self):
        """Attention mass (rows: heads or layers; columns: key tokens) above the token norms."""
        from ..charts import sink_mass

        return sink_mass(self.mass, self.norms, self.tokens, rows=self.rows, norm_layer=self.norm_layer,
                         title=f"{self.model_name}: where each head's attention lands")


def standout_layer(norms: np.ndarray) -> int:
    """The layer whose largest token norm is the most times its median (where sink tokens show best)."""
    ratio = norms.max(axis=1) / np.maximum(np.median(norms, axis=1), 1e-6)
    return int(np.argmax(ratio))
