"""Lesson 10: iteration heads, how a chain of thought works inside (tiny parity models)."""
from __future__ import annotations

import re
from functools import cache

import numpy as np

from . import exercise

EXAMPLE = "0010101001"      # the lesson's input string (its chain of thought: 0011001110)
EXERCISE_X = "110100111010"  # the input of exercise 10.2


def running_parity(x: str) -> str:
    """"0010101001" -> "0011001110": bit t is the parity of the first t bits of ``x``."""
    s, out = 0, []
    for c in x:
        s ^= c == "1"
        out.append(str(int(s)))
    return "".join(out)


def cot_text(x: str) -> str:
    """"0010101001" -> "0010101001:0011001110": the input, ":", and its running parity (the tape)."""
    return f"{x}:{running_parity(x)}"


def random_inputs(per_length: int = 50, lengths=range(4, 17), seed: int = 0) -> list[str]:
    """``per_length`` random bit strings of each length in ``lengths`` (reproducible from ``seed``).

    They are drawn at random, so most of them are strings the models were trained on: use them to study
    *how* a model computes; ``attnlab.tiny.parity_accuracy`` measures generalisation on held-out strings.
    """
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(["0", "1"], n)) for n in lengths for _ in range(per_length)]


def _load(name: str = "tiny-parity-cot"):
    import attnlab
    return attnlab.load(name)


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


# -- 10.1 -----------------------------------------------------------------------------------------
@cache
def _accuracy(name: str) -> dict:
    import attnlab
    return attnlab.tiny.parity_accuracy(_load(name))


def solve_10_1():
    import attnlab
    direct = attnlab.load("tiny-parity-direct")
    answer = attnlab.tiny.parity_accuracy(direct, lengths=[16])[16]
    return answer


@exercise("10.1", "the direct model on the longest strings", wrong=1.0, solution=solve_10_1,
          expects='an accuracy between 0 and 1 (a float)',
          hints=("`attnlab.tiny.parity_accuracy(model)` returns a dict: the pooled accuracy under \"all\" and one "
                 "entry per length.",
                 "Load the direct model, `attnlab.load(\"tiny-parity-direct\")`, and read the entry for length 16 "
                 "(the key is the int 16)."))
def _(answer):
    acc, cot = _accuracy("tiny-parity-direct"), _accuracy("tiny-parity-cot")
    want = acc[16]
    if not _is_number(answer):
        return False, "answer with the accuracy, a float between 0 and 1."
    close = lambda x: abs(float(answer) - x) < 0.002  # noqa: E731
    if close(want):
        best = max((n for n in acc if n != "all"), key=lambda n: acc[n])
        return True, (f"on held-out strings of 16 bits the direct model is right {want:.1%} of the time (chance is "
                      f"50%); the chain-of-thought model: {cot[16]:.1%}. The direct model's best length is {best} "
                      f"bits: {acc[best]:.1%}.")
    if answer > 1 and abs(float(answer) / 100 - want) < 0.002:
        return False, "answer as a fraction between 0 and 1, not a percentage."
    if close(acc["all"]):
        return False, "that is the accuracy pooled over all lengths (\"all\"); the question asks for length 16 only."
    if close(cot[16]):
        return False, "that is the chain-of-thought model; load `tiny-parity-direct`."
    for n, a in acc.items():
        if n != "all" and close(a):
            return False, f"that is the direct model's accuracy on strings of length {n}; read the entry for 16."
    return False, f"{float(answer):.3f} is off; read `parity_accuracy(direct)[16]`."


# -- 10.2 -----------------------------------------------------------------------------------------
@cache
def _weights_on_x(x: str) -> dict:
    """{layer: mean attention on x_t over the queries whose next token is a tape bit s_t}."""
    model = _load()
    t = model.run(cot_text(x))
    n = len(x)
    rows = np.arange(n + 1, 2 * n + 1)
    return {layer: float(t.pattern(layer, 0)[rows, rows - n].mean()) for layer in range(model.n_layers)}


def solve_10_2():
    import numpy as np

    import attnlab
    from attnlab.course.lesson10 import EXERCISE_X, cot_text
    cot = attnlab.load("tiny-parity-cot")
    n = len(EXERCISE_X)
    pattern = cot.run(cot_text(EXERCISE_X)).pattern(1, 0)   # the layer-1 head [query, key]
    queries = np.arange(n + 1, 2 * n + 1)                    # ":" and s_1 .. s_{n-1}: their next token is s_t
    answer = float(pattern[queries, queries - n].mean())     # x_t sits at position t = query - n
    return answer


@exercise("10.2", "how much the iteration head puts on x_t", wrong=0.0, solution=solve_10_2,
          expects='a mean attention weight between 0 and 1 (a float)',
          hints=("With n = len(EXERCISE_X), the queries whose next token is s_t are the positions n+1 (\":\") to 2n; "
                 "the query at p predicts s_t with t = p - n, and x_t sits at position t (`<bos>` is 0).",
                 "`P = cot.run(cot_text(EXERCISE_X)).pattern(1, 0)`; `q = np.arange(n + 1, 2 * n + 1)`; "
                 "`P[q, q - n].mean()`."))
def _(answer):
    weights = _weights_on_x(EXERCISE_X)
    want = weights[1]
    if not _is_number(answer):
        return False, "answer with one number: the mean weight the layer-1 head puts on x_t."
    a = float(answer)
    if abs(a - want) < 1e-3:
        return True, (f"the layer-1 head puts {want:.1%} of its attention on x_t, on average over the "
                      f"{len(EXERCISE_X)} tape steps (the layer-0 head: {weights[0]:.1%}).")
    if abs(a - weights[0]) < 1e-3:
        return False, "that is the layer-0 head; the iteration head is in layer 1: `pattern(1, 0)`."
    if 1 < a <= 100 and abs(a / 100 - want) < 1e-3:
        return False, "answer as a fraction between 0 and 1, not a percentage."
    return False, (f"{a:.3f} is off. Check the offsets: the query at position p = n + t reads x_t at position t, so "
                   "the key is the query position minus n.")


# -- 10.3 -----------------------------------------------------------------------------------------
@cache
def _writes(x: str) -> str:
    t = _load().generate(x + ":", max_new_tokens=len(x))
    return "".join(t.tokens[t.n_prompt:])


def solve_10_3():
    import attnlab
    cot = attnlab.load("tiny-parity-cot")
    x = "1011100101"
    t = cot.generate(x + ":", max_new_tokens=len(x))
    answer = "".join(t.tokens[1:])      # everything after <bos>: the input, ":" and the tape the model wrote
    return answer


@exercise("10.3", "a chain of thought of your own", wrong="110011:100011", solution=solve_10_3,
          expects='a text like "1011100101:1101000110" (the input, \':\' and the model\'s tape)',
          hints=("`cot.generate(x + \":\", max_new_tokens=len(x))` lets the model write one tape bit per input bit.",
                 "Join the generated trace's tokens after `<bos>`: `\"\".join(t.tokens[1:])`."))
def _(answer):
    if not isinstance(answer, str):
        return False, "answer with a text like \"1011100101:1101000110\" (the input, \":\" and the model's tape)."
    text = answer.replace(" ", "").replace("<bos>", "")
    m = re.fullmatch(r"([01]+):([01]*)", text)
    if not m:
        return False, "the text should be bits, \":\", bits (like \"1011100101:1101000110\")."
    x, tape = m.groups()
    if x in (EXAMPLE, EXERCISE_X):
        return False, "that input is one of the lesson's: pick bits of your own."
    if not 4 <= len(x) <= 16:
        return False, f"use an input of 4 to 16 bits (the lengths the model was trained and tested on), not {len(x)}."
    wrote, right = _writes(x), running_parity(x)
    if len(tape) != len(x):
        return False, f"the tape has one bit per input bit: {len(x)} bits after \":\", not {len(tape)}."
    if tape != wrote:
        first = next(i for i, (a, b) in enumerate(zip(tape, wrote, strict=False)) if a != b) + 1
        why = " (that is the right running parity, but not what the model wrote)" if tape == right else ""
        return False, (f"the model writes \"{x}:{wrote}\"; your tape differs first at step t = {first}{why}. Generate "
                       "it with `cot.generate`.")
    ones = x.count("1")
    if wrote == right:
        return True, (f"the model writes {wrote}, the right running parity at every step; its last bit, {wrote[-1]}, "
                      f"is the parity of the input ({ones} ones: {'odd' if ones % 2 else 'even'}).")
    bad = [i + 1 for i, (a, b) in enumerate(zip(wrote, right, strict=False)) if a != b]
    return True, (f"that is what the model writes, and you found one of its rare mistakes: the right tape is {right}, "
                  f"the model is wrong from step t = {bad[0]}. Errors carry over: every later bit builds on the "
                  "wrong one.")


# -- 10.4 -----------------------------------------------------------------------------------------
@cache
def _first_bit(heads: tuple) -> float:
    """Share of ``random_inputs()`` whose first tape bit s_1 (= x_1) the CoT model writes right, ``heads`` ablated."""
    model, xs = _load(), random_inputs()
    right = [model.generate(x + ":", max_new_tokens=1, ablate=list(heads)).tokens[-1] == x[0] for x in xs]
    return float(np.mean(right))


@cache
def _all_steps(heads: tuple) -> float:
    """Teacher-forced accuracy over every tape step of ``random_inputs()`` with ``heads`` ablated."""
    model, right = _load(), []
    for x in random_inputs():
        text, n = cot_text(x), len(x)
        logits = model.run(text, ablate=list(heads), record=False).logits[n + 1:2 * n + 1, 1:3].argmax(-1).numpy()
        right += list(logits == np.array([int(b) for b in running_parity(x)]))
    return float(np.mean(right))


def solve_10_4():
    import numpy as np

    import attnlab
    from attnlab.course.lesson10 import random_inputs
    cot = attnlab.load("tiny-parity-cot")

    def first_bit_accuracy(layer):
        right = [cot.generate(x + ":", max_new_tokens=1, ablate=[(layer, 0)]).tokens[-1] == x[0]
                 for x in random_inputs()]
        return float(np.mean(right))

    answer = (first_bit_accuracy(1), first_bit_accuracy(0))
    return answer


@exercise("10.4", "the first step without one head", wrong=(0.5, 0.5), solution=solve_10_4,
          expects='a pair of accuracies (layer-1 head ablated, layer-0 head ablated)',
          hints=("The first tape bit is s_1 = x_1 (the parity of one bit is the bit). "
                 "`cot.generate(x + \":\", max_new_tokens=1, ablate=[(1, 0)])` writes it with the layer-1 head "
                 "off; its last token is the bit written.",
                 "Count the strings of `random_inputs()` where that bit equals `x[0]`, once with `ablate=[(1, 0)]` "
                 "and once with `ablate=[(0, 0)]`; answer the pair (layer 1 off, layer 0 off)."))
def _(answer):
    l1, l0 = _first_bit(((1, 0),)), _first_bit(((0, 0),))
    if _is_number(answer):
        return False, "answer with a pair: (accuracy with the layer-1 head ablated, with the layer-0 head ablated)."
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or not all(_is_number(a) for a in answer):
        return False, "answer with a pair of two floats: (layer 1 ablated, layer 0 ablated)."
    a, b = (float(v) for v in answer)
    close = lambda x, y: abs(x - y) < 0.01  # noqa: E731
    if close(a, l1) and close(b, l0):
        return True, (f"the first bit is right {l1:.1%} of the time with the layer-1 head off and {l0:.1%} with the "
                      f"layer-0 head off (chance is 50%). Over all tape steps, teacher-forced, the layer-1 head off "
                      f"leaves {_all_steps(((1, 0),)):.1%} of the bits right and the layer-0 head off "
                      f"{_all_steps(((0, 0),)):.1%}. Compare the first step with the rest: does the model need the "
                      "pointer to find x_1, which is always at position 1?")
    if close(a, l0) and close(b, l1) and not close(l0, l1):
        return False, "you have the two the wrong way round: layer 1 ablated first, then layer 0."
    if close(a, _all_steps(((1, 0),))) or close(b, _all_steps(((0, 0),))):
        return False, ("those look like accuracies over every tape step; the question asks about the first tape bit "
                       "s_1 only (one generated token after \":\").")
    if close(a, 1.0) and not close(l1, 1.0) or close(b, 1.0) and not close(l0, 1.0):
        return False, "one of your numbers is the intact model's accuracy: pass the head to `ablate`."
    return False, (f"({a:.3f}, {b:.3f}) is off. For each string, generate one token after \":\" with the head "
                   "ablated and compare it with x[0].")
