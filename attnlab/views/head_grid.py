"""HeadGrid: every layer x head as a thumbnail of its pattern, coloured or sorted by a score you pass.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> grid = attnlab.HeadGrid(model, text="P Q A B X Y S T A", scores=attnlab.scores.induction(model))
>>> grid          # in a notebook: click a head to open it below; shift-click toggles its ablation
<attnlab.views.head_grid.HeadGrid object at ...>
>>> grid.ablate   # the heads toggled off in the browser
[]
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import traitlets

from ..errors import AttnlabError
from ..runner import check_heads
from .base import STATIC
from .pattern import PatternView, choice
from .traits import Float16Array, UnitUint8Array

THUMB = 32   # a thumbnail has at most THUMB x THUMB cells (max-pooled), one byte each


def thumbnails(trace, size: int = THUMB) -> np.ndarray:
    """Every head's pattern max-pooled to at most ``size`` x ``size``, float32 [layers, heads, r, r].

    Max-pooling keeps thin structure (a previous-token diagonal) visible in a small picture.
    """
    out = []
    for layer in range(trace.model.n_layers):
        p = trace.patterns(layers=[layer])[0]
        n = p.shape[-1]
        block = -(-n // size)
        r = -(-n // block)
        padded = np.zeros(p.shape[:-2] + (r * block, r * block), dtype=np.float32)
        padded[..., :n, :n] = p
        out.append(padded.reshape(*p.shape[:-2], r, block, r, block).max(axis=(-1, -3)))
    return np.stack(out)


class HeadGrid(PatternView):
    """All heads at a glance. Click a thumbnail to open that head (``layer``/``head``, shown beside the grid);
    shift-click, or switch the click action to "ablate", to toggle it in ``ablate``.

    ``HeadGrid(model, text=..., scores=None, score_name="score", order="layer" | "score",
    click_action="open" | "ablate", ablate=[...])``; ``scores`` is any [n_layers, n_heads] array (a census score,
    a sweep result): thumbnails get a frame of that colour and can be sorted by it.
    """

    _esm = STATIC / "head_grid.js"
    _options: ClassVar[tuple[str, ...]] = ("layer", "head", "mode", "color_scale", "scores", "score_name", "order",
                                           "ablate", "click_action")

    thumbs = UnitUint8Array(ndim=4)
    scores = Float16Array(ndim=2)
    score_name = traitlets.Any("score").tag(sync=True)
    order = traitlets.Any("layer").tag(sync=True)
    ablate = traitlets.Any([]).tag(sync=True)         # checked below: (layer, head) pairs, sorted
    click_action = traitlets.Any("open").tag(sync=True)

    def __init__(self, source, text: str | None = None, scores=None, **options):
        if scores is not None:
            options["scores"] = scores
        super().__init__(source, text=text, **options)

    @traitlets.validate("scores")
    def _valid_scores(self, proposal):
        arr = proposal["value"]
        want = (self._model.n_layers, self._model.n_heads)
        if arr.size and arr.shape != want:
            hint = " (it looks transposed: use scores.T)" if arr.shape == want[::-1] else ""
            raise AttnlabError(f"scores must have shape {list(want)} (layers x heads) for {self._model.name}, "
                               f"got {list(arr.shape)}{hint}.")
        return arr

    @traitlets.validate("ablate")
    def _valid_ablate(self, proposal):
        value = proposal["value"]
        if not isinstance(value, (list, tuple)):
            raise AttnlabError(f"ablate must be a list of (layer, head) pairs, e.g. [(1, 0)]; got {value!r:.80}.")
        return sorted(check_heads(self._model, value, "ablate"))

    @traitlets.validate("score_name")
    def _valid_score_name(self, proposal):
        name = proposal["value"]
        if not isinstance(name, str):
            raise AttnlabError(f"score_name must be a string (the legend's title), got {name!r}.")
        return name

    @traitlets.validate("order")
    def _valid_order(self, proposal):
        order = choice("order", proposal["value"], ("layer", "score"))
        if order == "score" and not self.scores.size:
            raise AttnlabError("order='score' needs scores=[n_layers, n_heads] to sort by.")
        return order

    @traitlets.validate("click_action")
    def _valid_click(self, proposal):
        return choice("click_action", proposal["value"], ("open", "ablate"))

    def toggle(self, layer: int, head: int):
        """Ablate head (layer, head) if it is not ablated yet, else bring it back."""
        pair = check_heads(self._model, [(layer, head)])[0]
        self.ablate = [p for p in self.ablate if p != pair] if pair in self.ablate else [*self.ablate, pair]
        return self

    def _compute_trace(self) -> dict:
        updates = super()._compute_trace()
        updates["thumbs"] = thumbnails(updates["_trace"])
        return updates

    def chart(self):
        """The grid of thumbnails (frames coloured by the scores, ablated heads crossed out)."""
        from ..charts import head_mosaic

        return head_mosaic(self.thumbs, scores=self.scores, score_name=self.score_name, ablate=self.ablate,
                           selected=(self.layer, self.head), title=f"{self.model_name}: every head")
