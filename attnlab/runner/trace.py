"""A :class:`Trace` is everything one run of a model saw: tokens, predictions, and per-layer internals.

Patterns are not stored: a trace keeps each layer's queries and keys and recomputes a head's pattern
when asked, so a long prompt can be inspected head by head without materialising every attention map.

>>> import attnlab
>>> t = attnlab.load("tiny-induction").run("P Q A B X Y S T A")
>>> t.tokens[4], int(t.pattern(1, 0).argmax(-1)[-1])     # the last A looks at the token after the first A
('B', 4)
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import AttnlabError
from .attention import LayerRecord
from .checks import check_head, check_layer, check_memory, check_positions, check_token

if TYPE_CHECKING:
    from .model import Model


class Trace:
    """The result of :meth:`attnlab.Model.run`.

    Attributes: ``tokens`` (list of str, as the model sees them), ``ids``, ``ablate`` and ``how`` (the
    ablation applied), ``loss`` (mean next-token loss, nats) and ``token_losses`` (numpy [T-1]: loss of
    predicting token i+1 at position i); both are None for encoders without a language-model head.
    """

    def __init__(self, model: Model, ids: list[int], *, layers: dict[int, LayerRecord],
                 resid: dict[int, torch.Tensor], logits: torch.Tensor | None, next_logits: torch.Tensor | None,
                 token_losses: np.ndarray | None, ablate=(), how="zero", interventions: dict | None = None):
        self.model = model
        self.ids = list(ids)
        self.tokens = model.token_strings(self.ids)
        self._layers = layers
        self._resid = resid
        self._logits = logits
        self.next_logits = next_logits
        self.token_losses = token_losses
        self.loss = float(token_losses.mean()) if token_losses is not None and len(token_losses) else None
        self.ablate = tuple(ablate)
        self.how = how
        self.interventions = interventions or {}
        self.n_prompt = len(ids)     # generate() sets where the prompt ends; a plain run is all prompt

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        loss = "" if self.loss is None else f", loss={self.loss:.3f}"
        extra = "".join(f", {k}={v}" for k, v in self.interventions.items() if v)
        text = "".join(self.tokens)
        return f"<Trace of {self.model.name}: {len(self)} tokens{loss}{extra}: {text[:60]!r}>"

    # -- predictions ---------------------------------------------------------------------------
    @property
    def logits(self) -> torch.Tensor:
        """Next-token logits at every position, a float tensor [T, vocab] on the CPU."""
        self._need_lm_head("logits")
        assert self.next_logits is not None     # a model with a next-token head keeps them
        if self._logits is None:
            raise AttnlabError(
                f"this trace kept only the last position's logits: all {len(self)} positions would take "
                f"{len(self) * self.next_logits.numel() * 4 / 2**20:.0f} MiB. Use t.next_logits, t.top_next() and "
                "t.token_losses, or run a shorter prompt.")
        return self._logits

    def top_next(self, k: int = 5, position: int = -1) -> list[tuple[str, float]]:
        """The ``k`` most likely next tokens after ``position`` (default: the last) with probabilities.

        >>> import attnlab
        >>> [(token, round(p, 2)) for token, p in attnlab.load("tiny-induction").run("P Q A B X Y S T A").top_next(3)]
        [('B', 0.26), ('y', 0.02), ('c', 0.02)]
        """
        self._need_lm_head("top_next")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise AttnlabError(f"k must be a positive int, got {k!r}.")
        probs = self._next_probs(position)
        top = torch.topk(probs, min(k, probs.numel()))
        return [(self.model.token_strings([int(i)])[0], float(p))
                for p, i in zip(top.values, top.indices, strict=True)]

    def prob(self, token, position: int = -1) -> float:
        """The probability of ``token`` (a string the tokenizer reads as one token, or an id) as the next
        token after ``position`` (default: the last).

        >>> import attnlab
        >>> round(attnlab.load("tiny-induction").run("P Q A B X Y S T A").prob("B"), 2)
        0.26
        """
        self._need_lm_head("prob")
        return float(self._next_probs(position)[check_token(self.model, token)])

    def _next_probs(self, position: int) -> torch.Tensor:
        """Next-token probabilities after ``position`` (the last position needs no full logits)."""
        (position,) = check_positions(position, len(self), "position")
        assert self.next_logits is not None     # callers checked _need_lm_head
        row = self.next_logits if position == len(self) - 1 else self.logits[position]
        return torch.softmax(row.float(), dim=-1)

    def _need_lm_head(self, what: str):
        if not self.model.has_lm_head:
            raise AttnlabError(f"{self.model.name} is an encoder without a next-token head, so it has no {what}. "
                               "Use a decoder such as attnlab.load('smollm2') for predictions and losses.")

    # -- attention -----------------------------------------------------------------------------
    def pattern(self, layer: int, head: int) -> np.ndarray:
        """Attention weights of one head, numpy float32 [query, key]; each row sums to 1 over allowed keys.

        Computed on demand from the recorded queries and keys, exactly as eager attention computes them.
        """
        layer, head = check_head(self.model, layer, head)
        return self._record(layer).weights(head)[0].cpu().numpy()

    def patterns(self, layers=None) -> np.ndarray:
        """Patterns of every head of ``layers`` (default: all), numpy float32 [layers, heads, query, key].

        Refused with a message naming the size when the result would not fit in memory.
        """
        if layers is None:
            layers = list(range(self.model.n_layers))
        elif isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
            raise AttnlabError(f"layers must be a list of layer numbers, e.g. layers=[{self.model.n_layers - 1}], "
                               f"or None for all; got {layers!r}. For one head use t.pattern(layer, head).")
        else:
            layers = [check_layer(self.model, l) for l in layers]
            if not layers:
                raise AttnlabError("layers=[] names no layer; pass None for all layers.")
        n = len(self)
        check_memory(len(layers) * self.model.n_heads * n * n * 4,
                     f"all patterns of {len(layers)} layers x {self.model.n_heads} heads at {n} tokens",
                     "Ask for fewer layers (t.patterns(layers=[...])) or one head at a time (t.pattern(layer, head)).")
        out = np.empty((len(layers), self.model.n_heads, n, n), dtype=np.float32)
        for i, layer in enumerate(layers):
            out[i] = self._record(layer).weights().cpu().numpy()
        return out

    def _record(self, layer: int) -> LayerRecord:
        rec = self._layers.get(layer)
        if rec is None:
            raise AttnlabError("this trace did not record attention (it was run with record=False); "
                               "run the prompt again with the default record=True.")
        return rec

    # -- activations ---------------------------------------------------------------------------
    def head_output(self, layer: int, head: int) -> np.ndarray:
        """One head's output before the output projection, numpy [T, head_dim] (after any intervention)."""
        layer, head = check_head(self.model, layer, head)
        return self._z(layer)[0, :, head].float().cpu().numpy()

    def resid(self, layer: int) -> np.ndarray:
        """The residual stream entering block ``layer``, numpy [T, d_model]; ``layer == n_layers`` is the
        final stream (before the last norm)."""
        layer = check_layer(self.model, layer, allow_final=True)
        return self._resid_t(layer)[0].float().cpu().numpy()

    def resid_norms(self) -> np.ndarray:
        """L2 norm of the residual stream per token, numpy [n_layers + 1, T] (rows: entering each block,
        then the final stream). Sink tokens stand out with huge norms in the middle layers."""
        return np.stack([self._resid_t(l)[0].float().norm(dim=-1).cpu().numpy()
                         for l in range(self.model.n_layers + 1)])

    def activation(self, site: str, layer: int | None = None) -> torch.Tensor:
        """The tensor recorded at ``site`` of ``layer`` (the sites of :class:`~attnlab.Hooks`), batch first:
        ``q`` [1, head, pos, d_head], ``k`` [1, kv_head, pos, d_head], ``z`` [1, pos, head, d_head],
        ``resid_pre`` [1, pos, d_model] entering ``layer``, ``resid_final`` [1, pos, d_model] (no layer).

        >>> import attnlab
        >>> t = attnlab.load("tiny-induction").run("P Q A B X Y S T A")
        >>> tuple(t.activation("z", 1).shape), tuple(t.activation("resid_final").shape)
        ((1, 10, 2, 32), (1, 10, 64))
        """
        if site == "resid_final":
            return self._resid_t(self.model.n_layers)
        if site not in ("q", "k", "z", "resid_pre"):
            raise AttnlabError(f"unknown site {site!r}; a trace records q, k, z, resid_pre and resid_final.")
        layer = check_layer(self.model, layer)
        if site == "resid_pre":
            return self._resid_t(layer)
        if site == "z":
            return self._z(layer)
        return getattr(self._record(layer), site)

    def _z(self, layer: int) -> torch.Tensor:
        z = self._record(layer).z
        if z is None:
            raise AttnlabError("this trace did not keep head outputs; run again with record=True (the default).")
        return z

    def _resid_t(self, layer: int) -> torch.Tensor:
        r = self._resid.get(layer)
        if r is None:
            raise AttnlabError("this trace did not keep the residual stream; run again with record=True (the default).")
        return r

