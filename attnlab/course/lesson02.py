"""Lesson 2: previous-token and positional heads."""
from __future__ import annotations

from functools import cache

import numpy as np

from . import exercise
from .answers import as_head, head_expected


@cache
def _scores(name: str):
    import attnlab
    model = attnlab.load(name)
    return (attnlab.scores.previous_token(model), attnlab.scores.positional(model),
            attnlab.scores.positional_offset(model))


def _pair(answer):
    return isinstance(answer, tuple) and len(answer) == 2 and all(isinstance(x, (int, np.integer)) for x in answer)


def solve_2_1():
    import numpy as np

    import attnlab
    model = attnlab.load("smollm2")
    prev = attnlab.scores.previous_token(model)
    answer = tuple(int(i) for i in np.unravel_index(prev.argmax(), prev.shape))
    return answer


@exercise("2.1", "the strongest previous-token head", wrong=(0, 0), solution=solve_2_1,
          expects='a (layer, head) pair of ints',
          hints=("`attnlab.scores.previous_token(model)` is a [layer, head] array.",
                 "`np.unravel_index(a.argmax(), a.shape)` turns the flat argmax into (layer, head)."))
def _(answer):
    prev = _scores("smollm2")[0]
    best = tuple(int(i) for i in np.unravel_index(prev.argmax(), prev.shape))
    if as_head(answer, prev.shape) is None:
        if as_head(answer, prev.shape[::-1]) is not None and tuple(answer)[::-1] == best:
            return False, "you have it backwards: (layer, head)."
        return False, head_expected(prev.shape)
    answer = as_head(answer, prev.shape)
    if tuple(answer) == best:
        return True, f"head {best[0]}.{best[1]} puts {prev[best]:.0%} of each token's attention on the token before."
    if answer[::-1] == best:
        return False, "you have it backwards: (layer, head)."
    return False, f"head {answer[0]}.{answer[1]} scores {prev[tuple(answer)]:.2f}; the best scores {prev.max():.2f}."


def solve_2_2():
    import attnlab
    model = attnlab.load("smollm2")
    answer = int((attnlab.scores.positional(model) >= 0.9).sum())
    return answer


@exercise("2.2", "how many positional heads", wrong=0, solution=solve_2_2,
          expects='a count of heads (an int)',
          hints=("A head is positional when its positional score is at least 0.9.",))
def _(answer):
    pos = _scores("smollm2")[1]
    want = int((pos >= 0.9).sum())
    if not isinstance(answer, (int, np.integer)):
        return False, "answer with a count (an int)."
    if answer == want:
        return True, f"{want} of {pos.size} heads put their argmax at one fixed offset at least 90% of the time."
    if answer == int((pos > 0.9).sum()) or answer == int((pos >= 0.5).sum()):
        return False, "check the threshold: a score of at least 0.9 (>= 0.9)."
    return False, f"{answer} is not the count; recount with `(scores >= 0.9).sum()`."


def solve_2_3():
    import numpy as np

    import attnlab
    encoder = attnlab.load("minilm")
    pos = attnlab.scores.positional(encoder)
    offset = attnlab.scores.positional_offset(encoder)
    layer, head = np.argwhere((offset == 1) & (pos >= 0.9))[0]
    answer = (int(layer), int(head))
    return answer


@exercise("2.3", "an encoder head that reads the next token", wrong=(0, 2), solution=solve_2_3,
          expects='a (layer, head) pair of ints',
          hints=("`attnlab.scores.positional_offset(encoder)` gives each head's usual offset: +1 is the next token.",
                 "Combine it with the positional score: `np.argwhere((offset == 1) & (pos >= 0.9))`."))
def _(answer):
    prev, pos, offset = _scores("minilm")
    good = {tuple(int(x) for x in lh) for lh in np.argwhere((offset == 1) & (pos >= 0.9))}
    if not _pair(answer):
        return False, "answer with a (layer, head) pair of ints."
    if not good:
        return False, "no MiniLM head qualifies on this text; the check cannot be passed (please report it)."
    answer = tuple(int(x) for x in answer)
    if answer in good:
        return True, (f"head {answer[0]}.{answer[1]} looks at the next token {pos[answer]:.0%} of the time; "
                      "a decoder cannot have such a head.")
    if not (0 <= answer[0] < offset.shape[0] and 0 <= answer[1] < offset.shape[1]):
        return False, f"MiniLM has layers 0..{offset.shape[0] - 1} and heads 0..{offset.shape[1] - 1}."
    return False, (f"head {answer[0]}.{answer[1]} has usual offset {int(offset[answer]):+d} and positional score "
                   f"{pos[answer]:.2f}; look for offset +1 and a score of at least 0.9.")
