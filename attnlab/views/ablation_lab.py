"""AblationLab: switch heads off and watch the next-token prediction and per-token loss change, live.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> lab = attnlab.AblationLab(model, text="P Q A B X Y S T A")
>>> lab                        # in a notebook: click heads to ablate them; shift-click opens a head's pattern
<attnlab.views.ablation_lab.AblationLab object at ...>
>>> lab.top_after[0]["token"]
'B'
>>> lab.ablate = [(0, 0)]; lab.wait()                # the previous-token head off
True
>>> lab.top_after[0]["token"], round(lab.loss_before, 2), round(lab.loss_after, 2)
('P', 4.13, 4.12)
>>> print(lab.code)            # the same run as Python
text = 'P Q A B X Y S T A'
t = model.run(text, ablate=[(0, 0)], how="zero")
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import torch
import traitlets

from ..errors import AttnlabError
from .base import STATIC
from .head_grid import HeadGrid
from .pattern import PatternView, choice
from .traits import Float16Array

if TYPE_CHECKING:
    from ..runner import Trace


def python_code(text: str, ablate, how: str) -> str:
    """The run an ablation set stands for, as Python to paste into a notebook.

    >>> print(python_code("Hi there", [(17, 3), (18, 6)], "zero"))
    text = 'Hi there'
    t = model.run(text, ablate=[(17, 3), (18, 6)], how="zero")
    """
    pairs = ", ".join(f"({layer}, {head})" for layer, head in ablate)
    return f'text = {text!r}\nt = model.run(text, ablate=[{pairs}], how="{how}")'


def start_layer(trace, ablate, how: str) -> int:
    """The first layer a run with ``ablate``/``how`` would have to recompute when reusing ``trace``."""
    old, new = set(trace.ablate), set(ablate)
    changed = old ^ new if how == trace.how or not old else old | new
    return min((layer for layer, _ in changed), default=trace.model.n_layers)


class AblationLab(HeadGrid):
    """A text box, every head as a toggle, and the top next tokens and per-token loss before vs after.

    ``AblationLab(model, text=..., ablate=[...], how="zero" | "mean", top_k=5)``. Clicking a head toggles
    it (shift-click opens its pattern); each toggle reruns the model from the first changed layer upward on a
    background thread, and a newer toggle supersedes an older one. ``lab.ablate``, ``lab.loss_before``,
    ``lab.loss_after``, ``lab.top_before``/``lab.top_after`` and ``lab.code`` follow the view.
    """

    _esm = STATIC / "ablation_lab.js"
    _options = HeadGrid._options + ("how", "top_k")
    _inputs = {**PatternView._inputs, "ablate": "predict", "how": "predict", "top_k": "predict"}

    click_action = traitlets.Any("ablate").tag(sync=True)
    how = traitlets.Any("zero").tag(sync=True)
    top_k = traitlets.Any(5).tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    top_before: traitlets.List[dict] = traitlets.List().tag(sync=True)   # [{"token", "p", "p_other"}]: top_k rows
    top_after: traitlets.List[dict] = traitlets.List().tag(sync=True)
    loss_before = traitlets.Float(None, allow_none=True).tag(sync=True)
    loss_after = traitlets.Float(None, allow_none=True).tag(sync=True)
    token_loss_before = Float16Array(ndim=1)
    token_loss_after = Float16Array(ndim=1)

    _after = None        # the trace with the current ablations
    _cache_ids = None    # the prompt whose recent ablated traces _cache holds, (ablate, how) -> trace

    def __init__(self, source, text: str | None = None, scores=None, **options):
        self._cache: OrderedDict[tuple, Trace] = OrderedDict()
        self._cache_lock = threading.Lock()
        super().__init__(source, text, scores, **options)

    @traitlets.validate("how")
    def _valid_how(self, proposal):
        return choice("how", proposal["value"], ("zero", "mean"))

    @traitlets.validate("top_k")
    def _valid_top_k(self, proposal):
        k = proposal["value"]
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 20:
            raise AttnlabError(f"top_k must be an int from 1 to 20, got {k!r}.")
        return k

    @property
    def after(self):
        """The :class:`attnlab.Trace` with the current ablations (the clean ``trace`` if there are none)."""
        return self._after

    def reset(self):
        """Bring every head back."""
        self.ablate = []
        return self

    def _compute_trace(self) -> dict:
        updates = super()._compute_trace()
        return {**updates, **self._predict(updates["_trace"])}

    def _compute_predict(self) -> dict:
        return self._predict(self._trace)

    def _predict(self, base) -> dict:
        ablate, how = list(self.ablate), self.how
        out = {"code": python_code(self.text, ablate, how)}
        if not self._model.has_lm_head:
            return {**out, "_after": base, "note": (
                f"{self._model.name} is an encoder: it predicts no next token, so there is no prediction or loss "
                "to compare before and after an ablation. Load a decoder such as attnlab.load('smollm2') for "
                "this lab; the grid still shows every head's pattern.")}
        after = self._ablated(base, ablate, how)
        return {**out, "_after": after, "note": "",
                "top_before": _top(base, after, self.top_k), "top_after": _top(after, base, self.top_k),
                "loss_before": base.loss, "loss_after": after.loss,
                "token_loss_before": base.token_losses, "token_loss_after": after.token_losses}

    def _ablated(self, base, ablate, how):
        """The run with ``ablate``, recomputed from the highest layer any recent run allows."""
        if not ablate:
            return base
        with self._cache_lock:
            if self._cache_ids != base.ids:
                self._cache, self._cache_ids = OrderedDict(), base.ids
            key = (tuple(ablate), how)
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            reuse = max([base, *self._cache.values()], key=lambda t: start_layer(t, ablate, how))
            after = self._model.run(base.ids, ablate=ablate, how=how, reuse=reuse)
            self._cache[key] = after
            while len(self._cache) > (8 if len(base.ids) <= 128 else 2):
                self._cache.popitem(last=False)
            return after

    def chart(self):
        """Before vs after: the top next tokens and the per-token loss, titled with the ablation set."""
        import altair as alt

        from ..charts import head_mosaic, token_losses, top_tokens

        heads = ", ".join(f"L{layer}H{head}" for layer, head in self.ablate) or "none"
        grid = head_mosaic(self.thumbs, ablate=self.ablate, cell=12, title="ablated heads (red)")
        if self.note:
            return grid.properties(title=self.note[:90])
        title = f"ablate {heads} ({self.how}): loss {self.loss_before:.3f} -> {self.loss_after:.3f}"
        before = [(r["token"], r["p"]) for r in self.top_before]
        after = [(r["token"], r["p"]) for r in self.top_after]
        right = alt.vconcat(top_tokens(before, after, title=f"after {self.tokens[-1]!r}"),
                            token_losses(self.tokens, self.token_loss_before, self.token_loss_after))
        return alt.hconcat(grid, right).resolve_scale(color="independent").properties(title=title)


def _top(trace, other, k: int) -> list[dict]:
    """The ``k`` likeliest next tokens of ``trace``, each with its probability in ``other`` too."""
    p = torch.softmax(trace.next_logits.float(), dim=-1)
    q = torch.softmax(other.next_logits.float(), dim=-1)
    top = torch.topk(p, min(k, p.numel()))
    return [{"token": trace.model.token_strings([int(i)])[0], "p": float(p[i]), "p_other": float(q[i])}
            for i in top.indices]
