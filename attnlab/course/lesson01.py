"""Lesson 1: what attention looks at. Exercises on sink share, attention distance and encoders."""
from __future__ import annotations

from functools import cache

import numpy as np

from . import exercise
from .answers import as_head, head_expected

TEXT = ("Every morning the baker on the corner opens her shop before the sun is up. She lights the ovens, "
        "sets out the flour and the butter, and listens to the radio while the first loaves rise.")


@cache
def _patterns():
    import attnlab
    return attnlab.load("smollm2").run(TEXT).patterns()


def _distance(p):
    """Mean distance q - k of the attention that does not go to position 0, per head."""
    n = p.shape[-1]
    q, k = np.arange(n)[:, None], np.arange(n)[None, :]
    rest = p[..., 1:, 1:]
    dist = (rest * (q - k)[1:, 1:]).sum(-1) / np.maximum(rest.sum(-1), 1e-9)
    return dist.mean(-1)


def solve_1_1():
    import attnlab
    from attnlab.course.lesson01 import TEXT
    model = attnlab.load("smollm2")
    p = model.run(TEXT).patterns()              # [layer, head, query, key]
    sink_share = p[:, :, 1:, 0].mean(axis=(1, 2))   # per layer: attention on position 0, queries 1..
    answer = int(sink_share.argmax())
    return answer


@exercise("1.1", "the layer that leans hardest on the first token", wrong=0, solution=solve_1_1,
          expects='a layer number (an int)',
          hints=("`t.patterns()` has shape [layer, head, query, key]; `p[:, :, 1:, 0]` is every head's attention "
                 "from each query (skip query 0, which can only see itself) to position 0.",
                 "Average over heads and queries, then take the argmax over layers."))
def _(answer):
    share = _patterns()[:, :, 1:, 0].mean(axis=(1, 2))
    best = int(share.argmax())
    if not isinstance(answer, (int, np.integer)):
        return False, "answer with a layer number (an int)."
    if answer == best:
        return True, f"layer {best} puts {share[best]:.0%} of its attention on the first token on average."
    if not 0 <= answer < len(share):
        return False, f"layers go from 0 to {len(share) - 1}."
    return False, f"layer {answer} puts {share[answer]:.0%} on the first token; another layer puts more."


def solve_1_2():
    import numpy as np

    import attnlab
    from attnlab.course.lesson01 import TEXT
    p = attnlab.load("smollm2").run(TEXT).patterns()[0]     # layer 0: [head, query, key]
    n = p.shape[-1]
    dist = np.arange(n)[:, None] - np.arange(n)[None, :]
    rest = p[:, 1:, 1:]                                      # leave out position 0 (the sink)
    mean_dist = ((rest * dist[1:, 1:]).sum(-1) / rest.sum(-1)).mean(-1)
    answer = (0, int(mean_dist.argmin()))
    return answer


@exercise("1.2", "the most local head of layer 0", wrong=(0, 0), solution=solve_1_2,
          expects='a (layer, head) pair of ints, like (0, 3)',
          hints=("For each head, the distance of one query is sum_k A[q, k] * (q - k); leave key 0 out and "
                 "renormalise, so the sink does not count.",))
def _(answer):
    dist = _distance(_patterns()[0])
    best = int(dist.argmin())
    pair = as_head(answer, (_patterns().shape[0], len(dist)))
    if pair is None:
        return False, head_expected((_patterns().shape[0], len(dist)))
    answer = pair
    if answer[0] != 0:
        return False, "the question is about layer 0."
    if answer[1] == best:
        return True, f"head 0.{best} looks on average {dist[best]:.2f} tokens back: almost always the previous token."
    return False, f"head 0.{answer[1]} looks {dist[int(answer[1])]:.2f} tokens back on average; one head is more local."


def solve_1_3():
    import numpy as np

    import attnlab
    from attnlab.course.lesson01 import TEXT
    p = attnlab.load("minilm").run(TEXT).patterns()          # [layer, head, query, key]
    ahead = np.triu(np.ones(p.shape[-2:], dtype=bool), k=1)  # key after query
    answer = float((p * ahead).sum(-1).mean())
    return answer


@exercise("1.3", "how much an encoder looks ahead", wrong=0.0, solution=solve_1_3,
          expects='a fraction between 0 and 1 (a float)',
          hints=("A key is 'ahead' of a query when key > query: `np.triu(..., k=1)` marks those cells.",
                 "Sum each row over the keys ahead, then average over layers, heads and queries."))
def _(answer):
    import attnlab
    p = attnlab.load("minilm").run(TEXT).patterns()
    ahead = np.triu(np.ones(p.shape[-2:], dtype=bool), k=1)
    want = float((p * ahead).sum(-1).mean())
    if not isinstance(answer, (float, np.floating)):
        return False, "answer with a fraction between 0 and 1 (a float)."
    if abs(answer - want) < 0.01:
        return True, f"MiniLM puts {want:.0%} of its attention on tokens to the right: encoders read both ways."
    if answer > 1:
        return False, "give a fraction between 0 and 1, not a percentage."
    return False, f"{answer:.3f} is off; check that you average over layers, heads and queries."
