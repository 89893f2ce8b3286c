"""Lesson 7: streaming vs retrieval heads; needle-in-a-haystack prompts built from attnlab's shipped prose."""
from __future__ import annotations

from functools import cache

import numpy as np

from . import exercise

NEEDLES = [  # (needle sentence, the cue that recalls it, the word to retrieve)
    ("The secret password is tangerine.", "By the way, the secret password is", " tangerine"),
    ("The meeting with the harbour master is on Thursday.", "Remember, the meeting with the harbour master is on",
     " Thursday"),
    ("The lighthouse keeper's cat is called Biscuit.", "And the lighthouse keeper's cat is called", " Biscuit"),
]
DEPTHS = (0.1, 0.5, 0.9)


def needle_prompts(model, haystack_tokens: int = 400):
    """(prompt text, answer) pairs: the needle sentence hidden at each depth of shipped prose, and at the end a cue
    that asks the model to recall it (a copy-paste task, as in Wu et al.'s retrieval test)."""
    import attnlab
    words = attnlab.long_text().split(" ")
    hay = " ".join(words[: int(haystack_tokens * 0.75)])
    out = []
    for needle, cue, answer in NEEDLES:
        for depth in DEPTHS:
            cut = hay.rfind(". ", 0, int(len(hay) * depth)) + 2
            out.append((f"{hay[:cut]}{needle} {hay[cut:]}\n\n{cue}", answer))
    return out


def needle_accuracy(model, ablate=()) -> float:
    """Share of needle prompts whose top next token is the first token of the answer."""
    hits = []
    for prompt, answer in needle_prompts(model):
        first = model.tokenize(answer)[0]
        hits.append(model.run(prompt, ablate=list(ablate), record=False).top_next(1)[0][0] == first)
    return float(np.mean(hits))


def top_heads(scores, k):
    return [tuple(int(x) for x in np.unravel_index(i, scores.shape)) for i in np.argsort(scores, axis=None)[::-1][:k]]


@cache
def _scores():
    import attnlab
    model = attnlab.load("smollm2")
    return attnlab.scores.retrieval(model, progress=False), attnlab.scores.local_span(model)


@cache
def _accuracy(heads: tuple) -> float:
    import attnlab
    return needle_accuracy(attnlab.load("smollm2"), heads)


def solve_7_1():
    import attnlab
    answer = int((attnlab.scores.retrieval(attnlab.load("smollm2")) > 0.1).sum())
    return answer


@exercise("7.1", "how many retrieval heads", wrong=270, solution=solve_7_1,
          expects='a count of heads (an int)',
          hints=("Wu et al. call a head a retrieval head when its retrieval score is above 0.1.",))
def _(answer):
    ret = _scores()[0]
    want = int((ret > 0.1).sum())
    if answer == want:
        return True, f"{want} of {ret.size} heads ({want / ret.size:.0%}) are retrieval heads: a small minority."
    return False, f"{answer!r} is not the count of heads with retrieval score above 0.1."


def solve_7_2():
    import attnlab
    from attnlab.course.lesson07 import needle_accuracy, top_heads
    model = attnlab.load("smollm2")
    ret = attnlab.scores.retrieval(model)
    answer = needle_accuracy(model, ablate=top_heads(ret, 10))
    return answer


@exercise("7.2", "needles without retrieval heads", wrong=1.0, solution=solve_7_2,
          expects='an accuracy between 0 and 1 (a float)',
          hints=("`top_heads(scores, 10)` lists the 10 highest-scoring heads.",
                 "`needle_accuracy(model, ablate=...)` runs every needle prompt with those heads switched off."))
def _(answer):
    want = _accuracy(tuple(top_heads(_scores()[0], 10)))
    if not isinstance(answer, (float, int, np.floating)):
        return False, "answer with the accuracy, a fraction between 0 and 1."
    if abs(answer - want) < 1e-6:
        return True, f"with the top-10 retrieval heads off, the model finds {want:.0%} of the needles."
    if abs(answer - _accuracy(())) < 1e-6:
        return False, "that is the accuracy without ablation."
    return False, f"{answer:.2f} is off; ablate the 10 heads with the highest retrieval score."


def solve_7_3():
    import attnlab
    from attnlab.course.lesson07 import needle_accuracy, top_heads
    model = attnlab.load("smollm2")
    ret, local = attnlab.scores.retrieval(model), attnlab.scores.local_span(model)
    acc_ret = needle_accuracy(model, ablate=top_heads(ret, 10))
    acc_stream = needle_accuracy(model, ablate=top_heads(local, 10))
    answer = "retrieval" if acc_ret < acc_stream else "streaming"
    return answer


@exercise("7.3", "which heads matter more for retrieval?", wrong="neither", solution=solve_7_3,
          expects="'retrieval' or 'streaming'",
          hints=("Compare the needle accuracy with the 10 most retrieval heads off against the 10 most streaming "
                 "(highest local-span score) heads off.",))
def _(answer):
    ret, local = _scores()
    acc_ret, acc_stream = _accuracy(tuple(top_heads(ret, 10))), _accuracy(tuple(top_heads(local, 10)))
    want = "retrieval" if acc_ret < acc_stream else "streaming"
    if answer not in ("retrieval", "streaming"):
        return False, "answer 'retrieval' or 'streaming'."
    if answer == want:
        return True, f"accuracy with retrieval heads off {acc_ret:.0%}, with streaming heads off {acc_stream:.0%}."
    return False, "measure both: the other group's ablation hurts more."
