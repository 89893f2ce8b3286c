"""Lesson 10: iteration heads, how a chain of thought works inside (tiny parity models)."""
from __future__ import annotations

import re
from functools import lru_cache

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
@lru_cache(maxsize=None)
def _accuracy(name: str) -> dict:
    import attnlab
    return attnlab.tiny.parity_accuracy(_load(name))


@exercise("10.1", "the direct model on the longest strings", wrong=0.5, solution='''
import attnlab
direct = attnlab.load("tiny-parity-direct")
answer = attnlab.tiny.parity_accuracy(direct, lengths=[12])[12]
''', hints=("`attnlab.tiny.parity_accuracy(model)` returns a dict: the pooled accuracy under \"all\" and one "
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
@lru_cache(maxsize=None)
def _mean_rows(x: str):
    """Tokens, and the attention rows of both layers averaged over the queries whose next token is s_t."""
    t = _load().run(cot_text(x))
    n = len(x)
    return t.tokens, [t.pattern(layer, 0)[n + 1:2 * n + 1].mean(0) for layer in range(2)]


@exercise("10.2", "where layer 0 looks from the tape", wrong=0, solution='''
import attnlab
from attnlab._exercises.lesson10 import EXERCISE_X, cot_text
cot = attnlab.load("tiny-parity-cot")
n = len(EXERCISE_X)
t = cot.run(cot_text(EXERCISE_X))
rows = t.pattern(0, 0)[n + 1:2 * n + 1]     # queries ":" and s_1 .. s_{n-1}: their next token is s_t
answer = int(rows.mean(0).argmax())
''', hints=("The queries whose next token is s_t are positions n+1 (\":\") to 2n: the slice `[n + 1:2 * n + 1]` of "
            "`t.pattern(0, 0)`, with n = len(EXERCISE_X).",
            "Average those rows (`.mean(0)`) and take the `.argmax()`: a position, counted from `<bos>` = 0."))
def _(answer):
    tokens, (row0, row1) = _mean_rows(EXERCISE_X)
    n, want = len(EXERCISE_X), int(row0.argmax())
    if isinstance(answer, str):
        return False, f"answer with a position (an int, `<bos>` is 0), not a token like {answer!r}."
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):
        return False, "answer with a position in the tokens (an int)."
    answer = int(answer)
    if answer == want:
        where = ("\":\", the boundary between the input and the tape: the landmark the hypothesis predicts for "
                 "layer 0" if want == n + 1 else f"{tokens[want]!r}")
        return True, (f"averaged over the {n} tape steps, layer 0 puts {row0[want]:.0%} of its attention on position "
                      f"{want}, {where}. `<bos>` gets {row0[0]:.0%}.")
    if not 0 <= answer < len(tokens):
        return False, f"positions run from 0 (`<bos>`) to {len(tokens) - 1}."
    if answer == want - 1 and tokens[want] == ":":
        return False, "off by one: position 0 is `<bos>`, so \":\" sits at n + 1."
    if answer == int(row1.argmax()):
        return False, "that is where layer 1 looks most; the question is about layer 0, `t.pattern(0, 0)`."
    return False, f"position {answer} ({tokens[answer]!r}) gets {row0[answer]:.0%} on average; another position gets more."


# -- 10.3 -----------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _writes(x: str) -> str:
    t = _load().generate(x + ":", max_new_tokens=len(x))
    return "".join(t.tokens[t.n_prompt:])


@exercise("10.3", "a chain of thought of your own", wrong="110011:100011", solution='''
import attnlab
cot = attnlab.load("tiny-parity-cot")
x = "1011100101"
t = cot.generate(x + ":", max_new_tokens=len(x))
answer = "".join(t.tokens[1:])      # everything after <bos>: the input, ":" and the tape the model wrote
''', hints=("`cot.generate(x + \":\", max_new_tokens=len(x))` lets the model write one tape bit per input bit.",
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
        first = next(i for i, (a, b) in enumerate(zip(tape, wrote)) if a != b) + 1
        why = " (that is the right running parity, but not what the model wrote)" if tape == right else ""
        return False, (f"the model writes \"{x}:{wrote}\"; your tape differs first at step t = {first}{why}. Generate "
                       "it with `cot.generate`.")
    ones = x.count("1")
    if wrote == right:
        return True, (f"the model writes {wrote}, the right running parity at every step; its last bit, {wrote[-1]}, "
                      f"is the parity of the input ({ones} ones: {'odd' if ones % 2 else 'even'}).")
    bad = [i + 1 for i, (a, b) in enumerate(zip(wrote, right)) if a != b]
    return True, (f"that is what the model writes, and you found one of its rare mistakes: the right tape is {right}, "
                  f"the model is wrong from step t = {bad[0]}. Errors carry over: every later bit builds on the "
                  "wrong one.")


# -- 10.4 -----------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _first_bit(head: tuple | None) -> float:
    """Share of ``random_inputs()`` whose first tape bit s_1 (= x_1) the CoT model writes right, ``head`` ablated."""
    model, xs = _load(), random_inputs()
    ablate = [head] if head else []
    right = [model.generate(x + ":", max_new_tokens=1, ablate=ablate).tokens[-1] == x[0] for x in xs]
    return float(np.mean(right))


@lru_cache(maxsize=None)
def _all_steps(head: tuple) -> float:
    """Teacher-forced accuracy over every tape step of ``random_inputs()`` with ``head`` ablated."""
    model, right = _load(), []
    for x in random_inputs():
        text, n = cot_text(x), len(x)
        logits = model.run(text, ablate=[head], keep="none").logits[n + 1:2 * n + 1, 1:3].argmax(-1).numpy()
        right += list(logits == np.array([int(b) for b in running_parity(x)]))
    return float(np.mean(right))


@exercise("10.4", "the first step without one head", wrong=(0.5, 0.5), solution='''
import numpy as np
import attnlab
from attnlab._exercises.lesson10 import random_inputs
cot = attnlab.load("tiny-parity-cot")

def first_bit_accuracy(head):
    right = [cot.generate(x + ":", max_new_tokens=1, ablate=[head]).tokens[-1] == x[0] for x in random_inputs()]
    return float(np.mean(right))

answer = (first_bit_accuracy((1, 0)), first_bit_accuracy((0, 0)))
''', hints=("The first tape bit is s_1 = x_1 (the parity of one bit is the bit). "
            "`cot.generate(x + \":\", max_new_tokens=1, ablate=[(1, 0)])` writes it with the layer-1 head off; "
            "its last token is the bit written.",
            "Count the strings of `random_inputs()` where that bit equals `x[0]`, once with `ablate=[(1, 0)]` and "
            "once with `ablate=[(0, 0)]`; answer the pair (layer 1 off, layer 0 off)."))
def _(answer):
    l1, l0 = _first_bit((1, 0)), _first_bit((0, 0))
    if _is_number(answer):
        return False, "answer with a pair: (accuracy with the layer-1 head ablated, accuracy with the layer-0 head ablated)."
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or not all(_is_number(a) for a in answer):
        return False, "answer with a pair of two floats: (layer 1 ablated, layer 0 ablated)."
    a, b = (float(v) for v in answer)
    close = lambda x, y: abs(x - y) < 0.01  # noqa: E731
    if close(a, l1) and close(b, l0):
        return True, (f"with layer 1 off the model still writes s_1 right {l1:.1%} of the time; with layer 0 off, "
                      f"{l0:.1%} (chance is 50%). At \":\" no pointer is needed: x_1 is always at position 1, and "
                      "layer 0 reads it directly. Over all steps, ablating layer 1 leaves "
                      f"{_all_steps((1, 0)):.1%} of the tape bits right: the pointer matters from step 2 on.")
    if close(a, l0) and close(b, l1):
        return False, "you have the two the wrong way round: layer 1 ablated first, then layer 0."
    if close(a, _all_steps((1, 0))) or close(b, _all_steps((0, 0))):
        return False, ("those look like accuracies over every tape step; the question asks about the first tape bit "
                       "s_1 only (one generated token after \":\").")
    if close(a, 1.0) and not close(l1, 1.0) or close(b, 1.0):
        return False, "one of your numbers is the intact model's accuracy: pass `ablate=[(layer, 0)]`."
    return False, (f"({a:.3f}, {b:.3f}) is off. For each string, generate one token after \":\" with the head "
                   "ablated and compare it with x[0].")
