"""Metrics: the one number an ablation sweep, an attribution estimate or a patching experiment measures.

A metric reads next-token predictions at a few positions. Bound to a prompt it says which positions
it reads and turns final hidden states into one value per batch row, computing only the logits it
needs (two rows of the unembedding for a logit difference, not the whole vocabulary). Called on a
trace it gives the same number directly.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> t = model.run("P Q A B X Y S T A")
>>> round(attnlab.metrics.logit_diff("B", "C")(t), 2)      # B (the induction answer) over C
2.92
"""
from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ..errors import AttnlabError
from ..runner import Trace, check_positions, check_token

if TYPE_CHECKING:
    from ..runner import Model

_CHUNK = 128  # positions per unembedding chunk when a loss needs full-vocabulary logits


@dataclass(frozen=True)
class Bound:
    """A metric bound to one model and prompt.

    ``positions``: the positions whose final hidden states it reads (sorted); ``evaluate(hidden)`` maps
    those hidden states [batch, len(positions), d_model] (after the final norm) to one value per row.
    """

    positions: list[int]
    evaluate: Callable[[torch.Tensor], torch.Tensor]


class Metric:
    """A named number computed from next-token predictions: build one with :func:`loss`,
    :func:`logit_diff` or :func:`prob`. ``metric(trace)`` evaluates it on a trace."""

    name = "metric"

    def bind(self, model: Model, ids: list[int]) -> Bound:
        raise NotImplementedError

    def __call__(self, trace: Trace) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<attnlab metric: {self.name}>"


class _Loss(Metric):
    def __init__(self, positions):
        self.positions = positions
        self.name = "loss" if positions is None else f"loss at positions {_describe(positions)}"

    def _resolve(self, model, n_tokens: int) -> list[int]:
        _need_lm_head(model)
        if n_tokens < 2:
            raise AttnlabError("a loss needs at least two tokens (one to read, one to predict).")
        if self.positions is None:
            return list(range(n_tokens - 1))
        pos = sorted(set(check_positions(self.positions, n_tokens, "loss position")))
        if not pos:
            raise AttnlabError("metrics.loss(positions=[]) names no position; pass None for every position.")
        if pos[-1] == n_tokens - 1:
            raise AttnlabError(f"loss position {n_tokens - 1} is the last token, which predicts nothing in this "
                               f"prompt. Position i is the prediction of token i+1: use 0..{n_tokens - 2}.")
        return pos

    def bind(self, model, ids):
        pos = self._resolve(model, len(ids))
        targets = torch.tensor([ids[p + 1] for p in pos], device=model.device)

        def evaluate(hidden):
            total = hidden.new_zeros(hidden.shape[0], dtype=torch.float32)
            for s in range(0, len(pos), _CHUNK):
                logits = _logits(model, hidden[:, s:s + _CHUNK], None)
                tgt = targets[s:s + _CHUNK].expand(hidden.shape[0], -1)
                total = total + F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="none") \
                    .view(hidden.shape[0], -1).sum(1)
            return total / len(pos)
        return Bound(pos, evaluate)

    def __call__(self, trace):
        _need_trace(trace, self)
        pos = self._resolve(trace.model, len(trace))
        return float(trace.token_losses[pos].astype("float64").mean())


class _AtPosition(Metric):
    """A metric of the logits at one position."""

    def __init__(self, tokens, position):
        if not _is_int(position):
            raise AttnlabError(f"position must be an int (negative counts from the end), got {position!r}.")
        for t in tokens:
            if not (_is_int(t) and t >= 0) and not (isinstance(t, str) and t):
                raise AttnlabError(f"a metric token must be a non-empty string such as ' Paris' or an int id, "
                                   f"got {t!r}.")
        self.tokens = tokens
        self.position = position

    def _resolve(self, model, n_tokens) -> tuple[int, list[int]]:
        _need_lm_head(model)
        (pos,) = check_positions(self.position, n_tokens, "metric position")
        return pos, [check_token(model, t) for t in self.tokens]

    def bind(self, model, ids):
        pos, ids_ = self._resolve(model, len(ids))
        return Bound([pos], lambda hidden: self._value(_logits(model, hidden[:, 0], ids_ if self._subset else None),
                                                       ids_))

    def __call__(self, trace):
        _need_trace(trace, self)
        pos, ids_ = self._resolve(trace.model, len(trace))
        row = trace.next_logits if pos == len(trace) - 1 else trace.logits[pos]
        row = row.float()[None]
        return float(self._value(row[:, ids_] if self._subset else row, ids_)[0])


class _LogitDiff(_AtPosition):
    _subset = True

    def __init__(self, good, bad, position):
        super().__init__((good, bad), position)
        self.name = f"logit({good!r}) - logit({bad!r}) at position {position}"

    def _value(self, logits, ids_):  # logits [batch, 2]: the good and bad columns
        return logits[:, 0] - logits[:, 1]


class _Prob(_AtPosition):
    _subset = False

    def __init__(self, target, position):
        super().__init__((target,), position)
        self.name = f"p({target!r}) at position {position}"

    def _value(self, logits, ids_):  # logits [batch, vocab]
        return torch.softmax(logits.float(), dim=-1)[:, ids_[0]]


def loss(positions=None) -> Metric:
    """Mean next-token loss (nats) over ``positions`` (position i predicts token i+1; None: all positions).

    >>> m = loss(positions=range(32, 63))   # the second copy of a 2 x 32 repeated sequence
    >>> m.name
    'loss at positions 32..62'
    """
    if isinstance(positions, (str, bytes)):
        raise AttnlabError(f"positions must be an int, a list of ints or None; got the string {positions!r}.")
    if positions is not None and not _is_int(positions):
        try:
            positions = list(positions)
        except TypeError:
            raise AttnlabError(f"positions must be an int, a list of ints or None; got {positions!r}.") from None
    return _Loss(positions)


def logit_diff(good, bad, position: int = -1) -> Metric:
    """logit(good) - logit(bad) at ``position`` (default: the last), e.g. the IOI logit difference.

    ``good`` and ``bad`` are single tokens: strings such as ``" Mary"`` (mind the leading space) or ids.

    >>> logit_diff(" Mary", " John").name
    "logit(' Mary') - logit(' John') at position -1"
    """
    return _LogitDiff(good, bad, position)


def prob(target, position: int = -1) -> Metric:
    """Probability of the single token ``target`` (a string or an id) at ``position`` (default: the last).

    >>> prob(" Paris").name
    "p(' Paris') at position -1"
    """
    return _Prob(target, position)


def check_metric(metric) -> Metric:
    """The metric itself, or a clear error for anything else (None means the default, the mean loss)."""
    if metric is None:
        return loss()
    if not isinstance(metric, Metric):
        raise AttnlabError(f"metric must be built with attnlab.metrics.loss(), logit_diff() or prob(); got "
                           f"{metric!r:.80}.")
    return metric


def _logits(model: Model, hidden: torch.Tensor, tokens: list[int] | None) -> torch.Tensor:
    """Float32 logits of ``hidden`` [..., d_model]; only the columns ``tokens`` when given."""
    return model.unembed(hidden, tokens)


def _need_lm_head(model: Model):
    if not model.has_lm_head:
        raise AttnlabError(f"{model.name} is an encoder without a next-token head, and metrics read next-token "
                           "predictions. Use a decoder such as attnlab.load('smollm2').")


def _need_trace(trace, metric: Metric):
    if not isinstance(trace, Trace):
        raise AttnlabError(f"a metric ({metric.name}) is called on a trace, as in metric(model.run(text)); got "
                           f"{type(trace).__name__}.")


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _describe(positions) -> str:
    items = [positions] if _is_int(positions) else list(positions)
    if len(items) > 3 and items == list(range(items[0], items[-1] + 1)):
        return f"{items[0]}..{items[-1]}"
    return ", ".join(str(p) for p in items)
