"""SinkView: how much attention lands on each key position, per head and layer, beside the hidden-state norms.

Attention sinks stand out as a bright column (most heads park their attention on one token, often the
first), and the same tokens carry huge residual-stream norms in the middle layers.

>>> import attnlab
>>> sinks = attnlab.SinkView(attnlab.load("smollm2"), text="Every morning the baker opens the shop.")  # doctest: +SKIP
>>> sinks.mass[18, 8].argmax()      # where head L18H8 puts its attention                    # doctest: +SKIP
0
"""
from __future__ import annotations

import numpy as np
import traitlets

from .._interventions import check_layer
from ._base import STATIC, BaseView
from ._pattern import choice
from ._traits import Float16Array, Float32Array


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
    rows = traitlets.Unicode("heads").tag(sync=True)
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
        import altair as alt

        from ._raster import colorize
        from .charts import _legend, _lookup, _raster, _side, label

        tokens = [label(t) for t in self.tokens]
        n = len(tokens)
        if self.rows == "layers":
            mass, names = self.mass.mean(axis=1), [f"L{layer}" for layer in range(self.n_layers)]
        else:
            mass = self.mass.reshape(-1, n)
            names = [f"L{layer}H{head}" for layer in range(self.n_layers) for head in range(self.n_heads)]
        width = _side(n, 12, 240, 720)
        top = alt.layer(_raster(colorize(mass, "attention"), width, min(540, max(180, 4 * len(names))), tokens,
                                names, "key token", "head" if self.rows == "heads" else "layer"),
                        _legend("share of attention", "attention", (0, 1))).properties(
            title=f"{self.model_name}: where each head's attention lands")
        logn = np.log10(np.maximum(self.norms, 1e-6))
        lo, hi = float(logn.min()), float(logn.max())
        norm_map = _raster(colorize((logn - lo) / (hi - lo if hi > lo else 1), "score"), width,
                           max(120, 6 * self.norms.shape[0]), tokens,
                           [f"L{layer}" for layer in range(self.norms.shape[0])], "token", "entering layer")
        norm_map = alt.layer(norm_map, _legend("log10 norm", "score", (lo, hi))).properties(
            title="residual-stream norm per token")
        bars = alt.Chart(alt.Data(values=[{"i": i, "token": t, "norm": float(v)} for i, (t, v) in enumerate(
            zip(tokens, self.norms[self.norm_layer], strict=True))])).mark_bar(color="#d94801").encode(
            x=alt.X("i:O", title="token", axis=alt.Axis(labelExpr=_lookup(tokens), labelOverlap=True)),
            y=alt.Y("norm:Q", title=f"norm entering layer {self.norm_layer}"),
            tooltip=["token:N", alt.Tooltip("norm:Q", format=".1f")]).properties(width=width, height=140)
        return alt.vconcat(top, norm_map, bars).resolve_scale(color="independent")


def standout_layer(norms: np.ndarray) -> int:
    """The layer whose largest token norm is the most times its median (where sink tokens show best)."""
    ratio = norms.max(axis=1) / np.maximum(np.median(norms, axis=1), 1e-6)
    return int(np.argmax(ratio))
