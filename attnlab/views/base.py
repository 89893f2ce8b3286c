"""The base class of every attnlab view: strict arguments, validated inputs, and latest-wins recomputation.

Inputs (text, layer, head, ablations...) each belong to a *channel*. A change made in Python recomputes
its channel at once, so the next line of a notebook sees the result (and a bad value raises
:class:`attnlab.AttnlabError`). A change made in the browser arrives with a request id and is computed on a
background thread; a result is published only if no newer request of its channel arrived meanwhile, so
rapid clicks never show a stale result and the kernel keeps answering.

The browser shows a channel as up to date when ``done[channel] == request[channel]``.
"""
from __future__ import annotations

import difflib
import itertools
import threading
from pathlib import Path
from typing import ClassVar

import anywidget
import traitlets

from ..errors import AttnlabError
from .source import check_text, resolve
from .worker import Worker

STATIC = Path(__file__).parent.parent / "static"
_ids = itertools.count(1)


class BaseView(anywidget.AnyWidget):
    """Shared machinery; use a concrete view (:class:`AttentionView`, :class:`HeadGrid`, ...)."""

    _css = STATIC / "attnlab.css"

    model_name = traitlets.Unicode("").tag(sync=True)
    n_layers = traitlets.Int(0).tag(sync=True)
    n_heads = traitlets.Int(0).tag(sync=True)
    is_causal = traitlets.Bool(True).tag(sync=True)
    has_lm_head = traitlets.Bool(True).tag(sync=True)
    text = traitlets.Any("").tag(sync=True)       # checked by _valid_text
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    request = traitlets.Dict().tag(sync=True)   # channel -> id of the newest input change
    done = traitlets.Dict().tag(sync=True)      # channel -> id of the request whose result is shown
    error = traitlets.Unicode("").tag(sync=True)

    _inputs: ClassVar[dict[str, str]] = {"text": "trace"}   # input trait -> channel it recomputes
    _options: ClassVar[tuple[str, ...]] = ()                # keyword arguments the constructor accepts

    def __init__(self, source, *, text: str | None = None, **options):
        _check_options(type(self).__name__, options, self._options + ("layout",))
        self._model, self._trace, text = resolve(source, text)
        self._trace_text = text
        self._lock = threading.RLock()
        self._worker = Worker()
        self._submitted: dict[str, str] = {}
        m = self._model
        super().__init__(model_name=m.name, n_layers=m.n_layers, n_heads=m.n_heads, is_causal=m.is_causal,
                         has_lm_head=m.has_lm_head, text=text, **options)
        self.observe(self._on_input, names=list(self._inputs))
        with self.hold_sync():   # first results, computed here and now, sent in one message
            for channel in dict.fromkeys(self._inputs.values()):
                self._apply(getattr(self, f"_compute_{channel}")())

    @property
    def model(self):
        """The :class:`attnlab.Model` this view runs."""
        return self._model

    @property
    def trace(self):
        """The :class:`attnlab.Trace` of the current text (without ablations)."""
        return self._trace

    def wait(self, timeout: float | None = 120) -> bool:
        """Wait until changes made in the browser have been computed; False if ``timeout`` passed first."""
        return self._worker.wait(timeout)

    def save(self, path, *, scale: float = 2.0) -> Path:
        """Export the view as a PNG or SVG picture, drawn in Python (no browser needed).

        >>> import attnlab, tempfile
        >>> view = attnlab.AttentionView(attnlab.load("tiny-induction"), text="P Q A B X Y S T A")
        >>> view.save(f"{tempfile.mkdtemp()}/pattern.svg").read_text().startswith("<svg")
        True
        """
        from ..charts import save_chart

        if Path(path).suffix.lower() not in (".png", ".svg"):
            raise AttnlabError(f"save() writes .png or .svg files, got {Path(path).name!r}.")
        return save_chart(self.chart(), path, scale=scale)

    def chart(self):
        """The view as an altair chart (what :meth:`save` writes)."""
        raise NotImplementedError

    # -- inputs and results -----------------------------------------------------------------------
    @traitlets.validate("text")
    def _valid_text(self, proposal):
        if self._from_browser("text"):
            return proposal["value"]      # a bad text typed in the browser is reported in the view
        return check_text(self._model, proposal["value"])

    def _from_browser(self, name: str) -> bool:
        return name in getattr(self, "_property_lock", {})

    def set_state(self, sync_data):
        with self._lock:                   # an update from the browser never interleaves with a publish
            super().set_state(sync_data)

    def _on_input(self, change):
        channel = self._inputs[change["name"]]
        if self._from_browser(change["name"]):
            request = self.request.get(channel) or f"py-{next(_ids)}"
            if self._submitted.get(channel) != request:   # layer and head in one message: one job
                self._submitted[channel] = request
                self._worker.submit(channel, lambda: self._run(channel, request, quiet=True))
        else:
            request = f"py-{next(_ids)}"
            self.request = {**self.request, channel: request}
            self._run(channel, request, quiet=False)

    def _run(self, channel: str, request: str, *, quiet: bool):
        try:
            updates = getattr(self, f"_compute_{channel}")()
        except Exception as e:
            message = str(e) if isinstance(e, AttnlabError) else f"{type(e).__name__}: {e}"
            self._publish(channel, request, {"error": message})
            if quiet:
                return
            raise
        self._publish(channel, request, {"error": "", **updates})

    def _publish(self, channel: str, request: str, updates: dict):
        with self._lock:
            if self.request.get(channel, request) != request:
                return                     # a newer request of this channel is on its way
            with self.hold_sync():
                self._apply(updates)
                self.done = {**self.done, channel: request}

    def _apply(self, updates: dict):
        for name, value in updates.items():
            setattr(self, name, value)

    def _compute_trace(self) -> dict:
        """Run the model on the current text; subclasses add what they derive from the new trace."""
        text = self.text
        trace = self._trace
        if trace is None or self._trace_text != text:
            trace = self._model.run(text)
        return {"_trace": trace, "_trace_text": text, "tokens": list(trace.tokens)}


def _check_options(cls: str, options: dict, allowed: tuple[str, ...]):
    """Reject unknown keyword arguments with a hint, so a typo never silently does nothing."""
    for name in options:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise AttnlabError(f"{cls} got an unknown argument {name!r}.{hint} "
                               f"It accepts: {', '.join(a for a in allowed if a != 'layout')}.")
