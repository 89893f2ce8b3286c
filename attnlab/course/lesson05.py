"""Lesson 5: induction heads I."""
from __future__ import annotations

from functools import cache

import numpy as np

from . import exercise
from .answers import as_head, head_expected


def _model():
    import attnlab
    return attnlab.load("smollm2")


@cache
def _induction():
    import attnlab
    return attnlab.scores.induction(_model())


def _top(scores, k):
    return [tuple(int(x) for x in np.unravel_index(i, scores.shape)) for i in np.argsort(scores, axis=None)[::-1][:k]]


def solve_5_1():
    import numpy as np

    import attnlab
    ind = attnlab.scores.induction(attnlab.load("smollm2"))
    answer = tuple(int(i) for i in np.unravel_index(ind.argmax(), ind.shape))
    return answer


@exercise("5.1", "the strongest induction head", wrong=(16, 0), solution=solve_5_1,
          expects='a (layer, head) pair of ints',
          hints=("`attnlab.scores.induction(model)` scores every head on repeated random tokens.",))
def _(answer):
    ind = _induction()
    best = _top(ind, 1)[0]
    if as_head(answer, ind.shape) is None:
        return False, head_expected(ind.shape)
    answer = as_head(answer, ind.shape)
    if tuple(answer) == best:
        return True, f"head {best[0]}.{best[1]} has induction score {ind[best]:.2f}."
    if tuple(answer) in _top(ind, 5):
        return False, (f"head {answer[0]}.{answer[1]} is a strong induction head ({ind[tuple(answer)]:.2f}), "
                       "but not the strongest.")
    return False, f"head {answer[0]}.{answer[1]} scores only {ind[tuple(answer)]:.2f}."


SEQ_SEED, SEQ_LEN = 1, 40


def repeated(seed=SEQ_SEED, n=SEQ_LEN):
    """Random token ids (1000..20000) repeated twice."""
    seq = np.random.default_rng(seed).integers(1000, 20000, n).tolist()
    return seq + seq


@cache
def _second_copy_loss(heads: tuple) -> float:
    t = _model().run(repeated(), ablate=list(heads), record=False)
    return float(t.token_losses[SEQ_LEN:].mean())


def solve_5_2():
    import numpy as np

    import attnlab
    from attnlab.course.lesson05 import SEQ_LEN, repeated
    model = attnlab.load("smollm2")
    ind = attnlab.scores.induction(model)
    top5 = [tuple(int(x) for x in np.unravel_index(i, ind.shape)) for i in np.argsort(ind, axis=None)[::-1][:5]]
    t = model.run(repeated(), ablate=top5)
    answer = float(t.token_losses[SEQ_LEN:].mean())
    return answer


@exercise("5.2", "loss on the repeat without the top induction heads", wrong=0.5, solution=solve_5_2,
          expects='a mean loss in nats (a float)',
          hints=("Take the 5 heads with the highest induction scores (`np.argsort(ind, axis=None)[::-1][:5]`).",
                 "`t.token_losses[SEQ_LEN:]` are the losses of predicting the tokens of the second copy."))
def _(answer):
    top5 = tuple(_top(_induction(), 5))
    want, clean = _second_copy_loss(top5), _second_copy_loss(())
    if not isinstance(answer, (float, int, np.floating)):
        return False, "answer with the mean loss (a float, nats)."
    if abs(answer - want) < 0.02 * want + 0.01:
        return True, f"the repeat's loss goes from {clean:.2f} to {want:.2f} nats without those five heads."
    if abs(answer - clean) < 0.02 * clean + 0.01:
        return False, "that is the loss without ablation: pass `ablate=` the five heads."
    return False, f"{answer:.2f} is off; average `t.token_losses[SEQ_LEN:]` with the top-5 induction heads ablated."


ICL = "grape: A\napple: A\ncar: B\negg: B\napple:"


def solve_5_3():
    import attnlab
    from attnlab.course.lesson05 import ICL
    answer = attnlab.load("smollm2").run(ICL).top_next(1)[0][0]
    return answer


@exercise("5.3", "in-context labels", wrong=" B", solution=solve_5_3,
          expects='a token, as a string with its leading space',
          hints=("Run the prompt `ICL` and read `top_next()`.",))
def _(answer):
    top = _model().run(ICL).top_next(2)
    if answer == top[0][0]:
        return True, (f"the model answers {top[0][0]!r} ({top[0][1]:.0%}): it copies the label that followed "
                      "'apple' earlier in the prompt.")
    return False, f"{answer!r} is not the model's top prediction; it prefers {top[0][0]!r}."
