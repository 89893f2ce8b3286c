"""Lesson 3: attention sinks."""
from __future__ import annotations

from functools import cache

import numpy as np

from . import exercise
from .answers import as_int

SENTENCE = "The cat sat on the mat. It was a sunny day, and the birds were singing in the trees."


def _model():
    import attnlab
    return attnlab.load("smollm2")


@cache
def _norm_ratio(layer: int) -> float:
    norms = _model().run(SENTENCE).resid_norms()[layer]
    return float(norms[0] / np.median(norms[1:]))


def solve_3_1():
    import numpy as np

    import attnlab
    from attnlab.course.lesson03 import SENTENCE
    norms = attnlab.load("smollm2").run(SENTENCE).resid_norms()[15]   # residual stream entering layer 15
    answer = float(norms[0] / np.median(norms[1:]))
    return answer


@exercise("3.1", "how huge is the first token's state?", wrong=1.0, solution=solve_3_1,
          expects='a ratio of two norms (a number)',
          hints=("`t.resid_norms()` is [layer + 1, token]; row 15 is the stream entering layer 15.",
                 "Divide the first token's norm by the median norm of the other tokens (`np.median`)."))
def _(answer):
    want = _norm_ratio(15)
    if not isinstance(answer, (float, int, np.floating, np.integer)):
        return False, "answer with a number (the ratio)."
    if abs(answer - want) <= 0.05 * want:
        return True, f"the first token's state is {want:.0f} times larger than a typical token's."
    if abs(answer - 1 / want) <= 0.05 / want:
        return False, "you divided the other way round: first token / median of the others."
    return False, f"{answer:.1f} is off; compare row 15 of `t.resid_norms()` position 0 with the median of the rest."


@cache
def _knockout():
    import attnlab
    model = _model()
    plain = model.run(SENTENCE, record=False).loss
    blocked = model.run(SENTENCE, block=attnlab.Block(key=0), record=False).loss
    return plain, blocked


def solve_3_2():
    import attnlab
    from attnlab.course.lesson03 import SENTENCE
    model = attnlab.load("smollm2")
    plain = model.run(SENTENCE).loss
    no_sink = model.run(SENTENCE, block=attnlab.Block(key=0)).loss
    answer = no_sink - plain
    return answer


@exercise("3.2", "what the sink is worth", wrong=0.0, solution=solve_3_2,
          expects='a change in mean loss, in nats (a number)',
          hints=("`attnlab.Block(key=0)` forbids every head to attend to position 0.",
                 "Compare `t.loss` with and without the block; answer the difference (blocked minus plain)."))
def _(answer):
    plain, blocked = _knockout()
    want = blocked - plain
    if not isinstance(answer, (float, int, np.floating, np.integer)):
        return False, "answer with a number: the change in mean loss (nats)."
    if abs(answer - want) < 0.01 + 0.02 * abs(want):
        return True, f"the mean loss goes from {plain:.2f} to {blocked:.2f} nats when no head may read the first token."
    if abs(answer + want) < 0.01 + 0.02 * abs(want):
        return False, "right size, wrong sign: blocked minus plain."
    return False, f"{answer:.2f} is off: compute `t.loss` with `block=attnlab.Block(key=0)` and without."


@cache
def _windows():
    import attnlab
    model = _model()
    ids = model.encode(attnlab.long_text())[:512]
    full = attnlab.window_perplexity(model, ids, window=None)
    return full, {s: attnlab.window_perplexity(model, ids, window=64, sinks=s) for s in (0, 1, 2, 4, 8)}


def solve_3_3():
    import attnlab
    model = attnlab.load("smollm2")
    ids = model.encode(attnlab.long_text())[:512]
    full = attnlab.window_perplexity(model, ids, window=None)
    answer = next(s for s in (0, 1, 2, 4, 8)
                  if attnlab.window_perplexity(model, ids, window=64, sinks=s) <= 1.2 * full)
    return answer


@exercise("3.3", "how many sink tokens does a window need?", wrong=8, solution=solve_3_3,
          expects='a number of sink tokens: one of 0, 1, 2, 4, 8',
          hints=("Try `attnlab.window_perplexity(model, ids, window=64, sinks=s)` for s in 0, 1, 2, 4, 8.",
                 "Answer the smallest s whose perplexity is at most 1.2 times the full-attention perplexity."))
def _(answer):
    full, by_sinks = _windows()
    ok = [s for s, ppl in by_sinks.items() if ppl <= 1.2 * full]
    if not ok:
        return False, "no setting reaches 1.2 x full attention here (please report this)."
    want = min(ok)
    if as_int(answer) is None:
        return False, "answer with a number of sink tokens, an int: one of 0, 1, 2, 4, 8."
    if answer == want:
        table = ", ".join(f"{s}: {p:.1f}" for s, p in by_sinks.items())
        return True, f"full attention {full:.1f}; window 64 with s sinks -> {table}."
    if answer in by_sinks and answer > want:
        return False, f"{answer} works, but fewer sink tokens are enough."
    if answer in by_sinks:
        return False, f"with {answer} sinks the perplexity is {by_sinks[answer]:.1f}, above 1.2 x {full:.1f}."
    return False, "answer one of 0, 1, 2, 4, 8."
