"""Lesson 6: induction heads II, watching them form in a tiny two-layer model."""
from __future__ import annotations

import string
from functools import cache

import numpy as np

from . import exercise

SEED_EXAMPLE = "P Q A B X Y S T A"
N = 20  # length of the random segment of ``repeated_text``
THRESHOLD = 2.0  # nats, exercise 6.1


def repeated_text(n: int = N, seed: int = 0) -> str:
    """``n`` distinct random symbols of the tiny model's vocabulary, twice, space-separated."""
    symbols = list(string.ascii_uppercase + string.ascii_lowercase + string.digits)
    r = np.random.default_rng(seed).choice(symbols, n, replace=False).tolist()
    return " ".join(r + r)


def _model():
    import attnlab
    return attnlab.load("tiny-induction")


@cache
def _heads():
    """(previous-token head, induction head) of the shipped model, from attnlab's scores."""
    import attnlab
    prev = attnlab.scores.previous_token(_model())
    ind = attnlab.scores.induction(_model())
    return (0, int(prev[0].argmax())), (1, int(ind[1].argmax()))


# -- 6.1 ------------------------------------------------------------------------------------------
@cache
def _live_run():
    """The lesson's training run again (same recipe and seed: same history on the same machine)."""
    import attnlab
    _, history = attnlab.tiny.train("tiny-induction", steps=600, progress=False)
    return history


def _first_below(history, smooth: int) -> int | None:
    loss = history["loss_repeat"].rolling(smooth).mean() if smooth > 1 else history["loss_repeat"]
    below = history["step"][loss < THRESHOLD]
    return int(below.iloc[0]) if len(below) else None


def solve_6_1():
    import attnlab
    model, history = attnlab.tiny.train("tiny-induction", steps=600)
    smoothed = history["loss_repeat"].rolling(25).mean()
    answer = int(history["step"][smoothed < 2.0].iloc[0])
    return answer


@exercise("6.1", "the phase change, seen in the loss", wrong=600, solution=solve_6_1,
          expects='a training step (an int)',
          hints=("`history[\"loss_repeat\"].rolling(25).mean()` is the running mean over 25 steps.",
                 "Keep the steps where it is below 2.0 (`history[\"step\"][smoothed < 2.0]`) and take the first "
                 "(`.iloc[0]`)."))
def _(answer):
    import attnlab
    history = _live_run()
    want, raw = _first_below(history, 25), _first_below(history, 1)
    phase = attnlab.tiny.phase_change_step(history)
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):
        return False, "answer with a step number (an int)."
    if want is None:
        return False, "in this run the smoothed repeat loss never fell below 2 nats (was the run changed?)."
    if abs(int(answer) - want) <= 2:
        return True, (f"the repeat loss (running mean over 25 steps) falls below {THRESHOLD:g} nats at step {want}; "
                      f"the induction score's phase change (`phase_change_step`) is at step {phase}. The loss "
                      "drops when the induction head forms.")
    if raw is not None and int(answer) == raw:
        return False, ("that is the first step where the *raw* loss dips below 2 nats: smooth it first "
                       "(`.rolling(25).mean()`).")
    if phase is not None and int(answer) == phase:
        return False, ("that is the phase change of the induction *score*; the question asks when the smoothed "
                       "repeat *loss* first falls below 2 nats.")
    smoothed = history["loss_repeat"].rolling(25).mean()
    at = smoothed.iloc[min(max(int(answer), 0), len(history) - 1)]
    return False, (f"step {int(answer)} is {'too early' if answer < want else 'too late'}: the smoothed repeat loss "
                   f"there is {at:.2f} nats.")


# -- 6.2 ------------------------------------------------------------------------------------------
@cache
def _ablated_row():
    prev_head, (_, ind) = _heads()
    t = _model().run(SEED_EXAMPLE, ablate=[prev_head])
    return t.tokens, t.pattern(1, ind)[-1]


def solve_6_2():
    import attnlab
    from attnlab.course.lesson06 import SEED_EXAMPLE
    model = attnlab.load("tiny-induction")
    prev_h = int(attnlab.scores.previous_token(model)[0].argmax())
    ind_h = int(attnlab.scores.induction(model)[1].argmax())
    t = model.run(SEED_EXAMPLE, ablate=[(0, prev_h)])
    answer = int(t.pattern(1, ind_h)[-1].argmax())
    return answer


@exercise("6.2", "where the induction head looks without its partner", wrong=4, solution=solve_6_2,
          expects='a position in `t.tokens` (an int)',
          hints=("Ablate the previous-token head of layer 0 (`ablate=[(0, h)]`) and read the induction head's pattern "
                 "`t.pattern(1, h_ind)`.",
                 "The last row, `[-1]`, is the attention of the last token; `.argmax()` gives the position."))
def _(answer):
    tokens, row = _ablated_row()
    want = int(row.argmax())
    target = tokens.index(tokens[-1]) + 1  # the token after the earlier copy of the last one
    if isinstance(answer, str):
        if answer == tokens[want]:
            return True, f"{answer!r} (position {want}) gets {row[want]:.0%} of the last token's attention."
        return False, f"{answer!r} is not where most of the attention goes; answer with a position (an int)."
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):
        return False, "answer with a position in `t.tokens` (an int)."
    if int(answer) == want:
        rest = (" The first token is where a head with nothing to find leaves its attention: the attention sink of "
                "lesson 3.") if want == 0 else ""
        return True, (f"without its partner the induction head puts {row[want]:.0%} on {tokens[want]!r} (position "
                      f"{want}) and only {row[target]:.0%} on {tokens[target]!r}: no position says \"my previous token "
                      f"was {tokens[-1]}\" any more, so its search finds nothing.{rest}")
    if not 0 <= int(answer) < len(tokens):
        return False, f"positions run from 0 to {len(tokens) - 1}."
    if int(answer) == target:
        return False, (f"that is where it looks *with* the previous-token head; ablated, it puts only "
                       f"{row[int(answer)]:.0%} there.")
    return False, (f"position {int(answer)} ({tokens[int(answer)]!r}) gets {row[int(answer)]:.0%}; another position "
                   "gets more.")


# -- 6.3 ------------------------------------------------------------------------------------------
@cache
def _second_copy(heads: tuple, start: int) -> float:
    return float(_model().run(repeated_text(), ablate=list(heads)).token_losses[start:].mean())


def solve_6_3():
    import attnlab
    from attnlab.course.lesson06 import N, repeated_text
    model = attnlab.load("tiny-induction")
    prev_h = int(attnlab.scores.previous_token(model)[0].argmax())
    t = model.run(repeated_text(), ablate=[(0, prev_h)])
    answer = float(t.token_losses[N + 1:].mean())
    return answer


@exercise("6.3", "the repeat's loss without the previous-token head", wrong=0.1, solution=solve_6_3,
          expects='a mean loss in nats (a float)',
          hints=("Find the previous-token head of layer 0 with `attnlab.scores.previous_token(model)`.",
                 "Run `repeated_text()` with `ablate=[(0, h)]` and average `t.token_losses[N + 1:]`."))
def _(answer):
    prev_head, _ = _heads()
    other = (0, 1 - prev_head[1])
    want = _second_copy((prev_head,), N + 1)
    n = _model().vocab_size - 1  # every symbol but <bos>
    if not isinstance(answer, (float, int, np.floating)) or isinstance(answer, bool):
        return False, "answer with the mean loss (a float, in nats)."
    close = lambda x: abs(answer - x) < 0.02 * abs(x) + 0.01  # noqa: E731
    if close(want):
        return True, (f"the second copy costs {want:.2f} nats without head {prev_head[0]}.{prev_head[1]}, against "
                      f"{_second_copy((), N + 1):.2f} with it, and ln({n} symbols) = {np.log(n):.2f} for a blind "
                      "guess: the repeat is no longer recognised.")
    if close(_second_copy((), N + 1)):
        return False, "that is the loss with every head on: pass `ablate=[(0, h)]` with the previous-token head."
    if close(_second_copy((other,), N + 1)):
        return False, (f"that is the loss with head {other[0]}.{other[1]} ablated; ablate the previous-token head "
                       "instead.")
    if close(_second_copy((prev_head,), N)):
        return False, ("you included the first token of the second copy, which nothing can predict: average "
                       "`t.token_losses[N + 1:]`.")
    return False, (f"{answer:.2f} is off; average `t.token_losses[N + 1:]` of the run with the previous-token head "
                   "ablated.")


# -- 6.4 ------------------------------------------------------------------------------------------
def solve_6_4():
    import attnlab
    answer = "K 3 m Q z 7 w D 3"
    print(attnlab.load("tiny-induction").run(answer).top_next(3))
    return answer


@exercise("6.4", "an induction prompt of your own", wrong="P Q A B X Y S T", solution=solve_6_4,
          expects='a text of space-separated symbols (a string)',
          hints=("Write space-separated symbols (letters, digits) and end with a symbol that appeared exactly once "
                 "before, not right before the end.",
                 "Check your prompt with `model.run(text).top_next(3)` before answering."))
def _(answer):
    if not isinstance(answer, str):
        return False, "answer with a text of space-separated symbols, like \"K 3 m Q z 7 w D 3\"."
    symbols = answer.split() if any(c.isspace() for c in answer) else list(answer)
    if " ".join(symbols) == SEED_EXAMPLE:
        return False, "that is the lesson's example: write a sequence of your own."
    unknown = sorted(set(symbols) - set(string.ascii_letters + string.digits))
    if unknown:
        return False, f"the tiny model only knows letters and digits, not {unknown}."
    if len(symbols) < 5:
        return False, "use at least 5 symbols."
    last = symbols[-1]
    earlier = [i for i, s in enumerate(symbols[:-1]) if s == last]
    if not earlier:
        return False, f"the last symbol {last!r} never appeared before: there is nothing to copy from."
    if len(earlier) > 1:
        return False, (f"{last!r} appears {len(earlier)} times before the end: use it exactly once, so the target is "
                       "unambiguous.")
    if earlier[0] == len(symbols) - 2:
        return False, f"the earlier {last!r} is right before the last one: put other symbols between them."
    follower = symbols[earlier[0] + 1]
    top = _model().run(answer).top_next(3)
    if top[0][0] == follower:
        return True, (f"the model predicts {follower!r} ({top[0][1]:.0%}): the symbol that followed {last!r} last "
                      "time.")
    return False, (f"the model's top guesses are {[(s, round(p, 2)) for s, p in top]}, not {follower!r}; try a "
                   "longer sequence, or one with fewer repeated symbols.")
