"""Lesson 0: welcome. Exercises on traces, tokens and predictions."""
from __future__ import annotations

from . import exercise


def _model():
    import attnlab
    return attnlab.load("smollm2")


def solve_0_1():
    import attnlab
    model = attnlab.load("smollm2")
    t = model.run("The capital of France is")
    answer = t.top_next(1)[0][0]
    return answer


@exercise("0.1", "the most likely next token", wrong=" London", solution=solve_0_1,
          expects="a token, as a string with its leading space (like ' Paris')",
          hints=("Run the prompt with `model.run(...)` and look at `t.top_next()`.",
                 "Tokens usually carry their leading space: the answer is a string like ' Something'."))
def _(answer):
    top = _model().run("The capital of France is").top_next(3)
    best = top[0][0]
    if not isinstance(answer, str):
        return False, f"answer with the token as a string, e.g. {best!r}, not a {type(answer).__name__}."
    if answer == best:
        return True, f"the model puts {top[0][1]:.0%} on {best!r}."
    if answer.strip() == best.strip():
        return False, f"close: mind the leading space. The token is {best!r}, not {answer!r}."
    return False, f"{answer!r} is not the top token; the top three are {[tok for tok, _ in top]}."


def solve_0_2():
    import attnlab
    model = attnlab.load("smollm2")
    answer = len(model.tokenize("unbelievably"))
    return answer


@exercise("0.2", "counting tokens", wrong=1, solution=solve_0_2,
          expects='a count of tokens (an int)',
          hints=("`model.tokenize(text)` shows the pieces the model reads.",))
def _(answer):
    pieces = _model().tokenize("unbelievably")
    if answer == len(pieces):
        return True, f"the model reads {pieces}: words are not its units, tokens are."
    return False, f"the model reads {len(pieces)} pieces, not {answer!r}. Look at `model.tokenize('unbelievably')`."


def solve_0_3():
    import attnlab
    model = attnlab.load("smollm2")
    t = model.run("The cat sat on the mat. The cat")
    answer = int(t.pattern(16, 0)[-1].argmax())
    return answer


@exercise("0.3", "where does the last token look?", wrong=0, solution=solve_0_3,
          expects='a position in the prompt (an int)',
          hints=("`t.pattern(16, 0)` is a [query, key] array; the last row is the last token.",
                 "`argmax()` of that row gives the position it attends to most."))
def _(answer):
    t = _model().run("The cat sat on the mat. The cat")
    row = t.pattern(16, 0)[-1]
    best = int(row.argmax())
    if answer == best:
        where = "the token just before it" if best == len(row) - 2 else "not the previous token"
        return True, (f"head 16.0 puts {row[best]:.0%} of the last token's attention on position {best} "
                      f"({t.tokens[best]!r}), {where}.")
    if not isinstance(answer, int) or not 0 <= answer < len(row):
        return False, f"answer with a position: an int from 0 to {len(row) - 1}."
    return False, f"position {answer} gets {row[answer]:.0%}; another position gets more."
