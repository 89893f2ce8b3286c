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


def random_inputs(per_length: int = 100, lengths=range(6, 13), seed: int = 0) -> list[str]:
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
    answer = attnlab.tiny.parity_accuracy(direct, lengths=[12])[12]
    return answer


@exercise("10.1", "the direct model on the longest strings", wrong=0.5, solution=solve_10_1,
          expects='an accuracy between 0 and 1 (a float)',
          hints=("`attnlab.tiny.parity_accuracy(model)` returns a dict: the pooled accuracy under \"all\" and one "
                 "entry per length.",
                 "Load the direct model, `attnlab.load(\"tiny-parity-direct\")`, and read the entry for length 12 "
                 "(the key is the int 12)."))
def _(answer):
    acc, cot = _accuracy("tiny-parity-direct"), _accuracy("tiny-parity-cot")
    want = acc[12]
    if not _is_number(answer):
        return False, "answer with the accuracy, a float between 0 and 1."
    close = lambda x: abs(float(answer) - x) < 0.002  # noqa: E731
    if close(want):
        return True, (f"on held-out strings of 12 bits the direct model is right {want:.1%} of the time (chance is "
                      f"50%); the chain-of-thought model: {cot[12]:.1%}. Its best length is the shortest, 6 bits: "
                      f"{acc[6]:.1%}.")
    if answer > 1 and abs(float(answer) / 100 - want) < 0.002:
        return False, "answer as a fraction between 0 and 1, not a percentage."
    if close(acc["all"]):
        return False, "that is the accuracy pooled over all lengths (\"all\"); the question asks for length 12 only."
    if close(cot[12]):
        return False, "that is the chain-of-thought model; load `tiny-parity-direct`."
    for n, a in acc.items():
        if n != "all" and close(a):
            return False, f"that is the direct model's accuracy on strings of length {n}; read the entry for 12."
    return False, f"{float(answer):.3f} is off; read `parity_accuracy(direct)[12]`."


# -- 10.2 -----------------------------------------------------------------------------------------
@cache
def _colon_weights(x: str) -> dict:
    """{(layer, head): mean attention on ":" over the queries whose next token is a tape bit s_t}."""
    model = _load()
    t = model.run(cot_text(x))
    n = len(x)
    return {(layer, head): float(t.pattern(layer, head)[n + 1:2 * n + 1, n + 1].mean())
            for layer in range(model.n_layers) for head in range(model.n_heads)}


def solve_10_2():
    import attnlab
    from attnlab.course.lesson10 import EXERCISE_X, cot_text
    cot = attnlab.load("tiny-parity-cot")
    n = len(EXERCISE_X)
    t = cot.run(cot_text(EXERCISE_X))
    on_colon = {}
    for layer in range(cot.n_layers):
        for head in range(cot.n_heads):
            rows = t.pattern(layer, head)[n + 1:2 * n + 1]   # queries ":" and s_1 .. s_{n-1}: their next token is s_t
            on_colon[(layer, head)] = rows[:, n + 1].mean()  # the colon sits at position n + 1
    answer = max(on_colon, key=on_colon.get)
    return answer


@exercise("10.2", "which head looks at the colon", wrong=(0, 0), solution=solve_10_2,
          expects='a (layer, head) pair of ints',
          hints=("The queries whose next token is s_t are positions n+1 (\":\") to 2n: the rows `[n + 1:2 * n + 1]` of "
                 "`t.pattern(layer, head)`, with n = len(EXERCISE_X). The colon is the column n + 1 (`<bos>` is 0).",
                 "Loop over the four (layer, head) pairs, average `rows[:, n + 1]` for each, and answer the pair with "
                 "the largest mean."))
def _(answer):
    weights = _colon_weights(EXERCISE_X)
    ranked = sorted(weights, key=weights.get, reverse=True)
    want = ranked[0]
    table = ", ".join(f"L{l}H{h} {w:.0%}" for (l, h), w in sorted(weights.items()))
    if _is_number(answer) or isinstance(answer, bool):
        return False, ("answer with a head, a pair (layer, head), not a single number (a position or a weight).")
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in answer):
        return False, "answer with a pair of ints, (layer, head), like (1, 0)."
    answer = tuple(int(v) for v in answer)
    if answer == want:
        return True, (f"mean weight on the colon from the tape steps: {table}. Head L{want[0]}H{want[1]} is the colon "
                      "head: in layer 0, where the hypothesis expects it, but even it puts only a modest share of its "
                      "attention on the colon, averaged over the steps.")
    if answer not in weights:
        return False, (f"the model has {_load().n_layers} layers and {_load().n_heads} heads per layer, counted "
                       "from 0: (layer, head) with both 0 or 1.")
    if answer[::-1] == want:
        return False, "you have the pair the wrong way round: (layer, head)."
    return False, (f"head L{answer[0]}H{answer[1]} puts {weights[answer]:.0%} on the colon on average; another head "
                   "puts more. Check that you read the column n + 1 (the colon) of the rows n + 1 to 2n.")


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
    if not 6 <= len(x) <= 12:
        return False, f"use an input of 6 to 12 bits (the lengths the model was tested on), not {len(x)}."
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


def _layer(layer: int) -> tuple:
    return tuple((layer, h) for h in range(_load().n_heads))


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
        heads = [(layer, h) for h in range(cot.n_heads)]       # both heads of the layer
        right = [cot.generate(x + ":", max_new_tokens=1, ablate=heads).tokens[-1] == x[0] for x in random_inputs()]
        return float(np.mean(right))

    answer = (first_bit_accuracy(1), first_bit_accuracy(0))
    return answer


@exercise("10.4", "the first step without one layer", wrong=(0.5, 0.5), solution=solve_10_4,
          expects='a pair of accuracies (layer 1 ablated, layer 0 ablated)',
          hints=("The first tape bit is s_1 = x_1 (the parity of one bit is the bit). "
                 "`cot.generate(x + \":\", max_new_tokens=1, ablate=[(1, 0), (1, 1)])` writes it with both layer-1 "
                 "heads off; its last token is the bit written.",
                 "Count the strings of `random_inputs()` where that bit equals `x[0]`, once with "
                 "`ablate=[(1, 0), (1, 1)]` and once with `ablate=[(0, 0), (0, 1)]`; answer the pair "
                 "(layer 1 off, layer 0 off)."))
def _(answer):
    l1, l0 = _first_bit(_layer(1)), _first_bit(_layer(0))
    if _is_number(answer):
        return False, "answer with a pair: (accuracy with layer 1 ablated, accuracy with layer 0 ablated)."
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or not all(_is_number(a) for a in answer):
        return False, "answer with a pair of two floats: (layer 1 ablated, layer 0 ablated)."
    a, b = (float(v) for v in answer)
    close = lambda x, y: abs(x - y) < 0.01  # noqa: E731
    if close(a, l1) and close(b, l0):
        singles = ", ".join(f"L0H{h} alone {_first_bit(((0, h),)):.1%}" for h in range(_load().n_heads))
        return True, (f"with layer 1 off the model still writes s_1 right {l1:.1%} of the time; with layer 0 off, "
                      f"{l0:.1%} (chance is 50%). At \":\" no pointer is needed: x_1 is always at position 1, and "
                      f"a layer-0 head reads it directly (layer 0 off one head at a time: {singles}). Over all "
                      f"steps, ablating layer 1 leaves {_all_steps(_layer(1)):.1%} of the tape bits right: layer 1 "
                      "matters from step 2 on.")
    if close(a, l0) and close(b, l1):
        return False, "you have the two the wrong way round: layer 1 ablated first, then layer 0."
    if close(a, _all_steps(_layer(1))) or close(b, _all_steps(_layer(0))):
        return False, ("those look like accuracies over every tape step; the question asks about the first tape bit "
                       "s_1 only (one generated token after \":\").")
    for h in range(_load().n_heads):
        if close(a, _first_bit(((1, h),))) and close(b, _first_bit(((0, h),))):
            return False, (f"that looks like head {h} of each layer ablated alone; switch off both heads of the layer, "
                           "`ablate=[(layer, 0), (layer, 1)]`.")
    if close(a, 1.0) and not close(l1, 1.0) or close(b, 1.0):
        return False, "one of your numbers is the intact model's accuracy: pass the heads to `ablate`."
    return False, (f"({a:.3f}, {b:.3f}) is off. For each string, generate one token after \":\" with both heads of "
                   "the layer ablated and compare it with x[0].")
