"""Lesson 4: register tokens."""
from __future__ import annotations

from functools import cache

import numpy as np

from . import exercise
from .answers import is_finite

KEY_KINDS = ("cls", "registers", "background", "partner", "self", "other letters")
SYMBOLS = set(".abcdefghABCDEFGH")
ROW_LEN = 24
PROMPT_A = "My grandmother's kitchen always smelled of fresh bread."
PROMPT_B = "My grandmother's kitchen was tiny, but everyone fit."


def _load(name):
    import attnlab
    return attnlab.load(name)


@cache
def _measure(name: str) -> dict:
    import attnlab
    return attnlab.tiny.measure(_load(name))


def _is_number(x) -> bool:
    return isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, bool)


def solve_4_1():
    import attnlab
    m = attnlab.tiny.measure(attnlab.load("tiny-registers-8"))
    kinds = ["cls", "registers", "background", "self", "other letters"]
    answer = max(kinds, key=lambda k: m["no_target_on_" + k.replace(" ", "_")])
    return answer


@exercise("4.1", "where the no-target attention goes", wrong="cls", solution=solve_4_1,
          expects="the name of a key kind (a string such as 'cls' or 'background')",
          hints=("`attnlab.tiny.measure(model)` has one `no_target_on_<kind>` entry per key kind: where the partner "
                 "head's attention goes for letters whose partner is absent.",
                 "Take the kind with the largest value (spaces in a kind's name become `_` in the key)."))
def _(answer):
    m = _measure("tiny-registers-8")
    share = {k: m[f"no_target_on_{k.replace(' ', '_')}"] for k in KEY_KINDS if k != "partner"}
    want = max(share, key=share.get)
    if not isinstance(answer, str):
        return False, f"answer with the name of a key kind, one of {sorted(share)}."
    got = answer.strip().lower()
    if got in ("register", "<reg>", "regs"):
        got = "registers"
    if got in ("<cls>",):
        got = "cls"
    if got == want:
        return True, (f"with 8 registers the partner head sends {share[want]:.0%} of its no-target attention to "
                      f"the {want}; <cls> gets {share['cls']:.1%} and the background {share['background']:.0%}.")
    if got == "partner":
        return False, ("a lonely letter has no partner in the row: nothing of kind 'partner' is there to receive "
                       "attention.")
    if got in share:
        without = _measure("tiny-registers-0")[f"no_target_on_{got.replace(' ', '_')}"]
        return False, (f"'{got}' gets {share[got]:.1%} in tiny-registers-8 (and {without:.1%} in tiny-registers-0, "
                       "the model without registers). Read the numbers of tiny-registers-8.")
    return False, f"{answer!r} is not a key kind; choose one of {sorted(share)}."


def solve_4_2():
    import attnlab
    with_regs = attnlab.tiny.measure(attnlab.load("tiny-registers-8"))["background_mass"]
    without = attnlab.tiny.measure(attnlab.load("tiny-registers-0"))["background_mass"]
    answer = with_regs / without
    return answer


@exercise("4.2", "how much cleaner is the map?", wrong=1.0, solution=solve_4_2,
          expects='a ratio of two background masses (a number)',
          hints=("`attnlab.tiny.measure(model)[\"background_mass\"]` is the partner head's attention on background "
                 "tokens, averaged over letters with and without a partner.",
                 "Divide the value of tiny-registers-8 by the value of tiny-registers-0."))
def _(answer):
    with_regs, without = (
        _measure("tiny-registers-8")["background_mass"],
        _measure("tiny-registers-0")["background_mass"],
    )
    want = with_regs / without
    if not _is_number(answer):
        return False, "answer with a number: background mass with registers divided by background mass without."
    if abs(answer - want) <= 0.02 * want:
        return True, (f"the partner head's attention on background drops from {without:.3f} to {with_regs:.3f}: "
                      f"{want:.2f} times as much, a cleaner map.")
    if abs(answer - 1 / want) <= 0.02 / want:
        return False, "you divided the other way round: with registers / without."
    if abs(answer - (with_regs - without)) < 1e-3 or abs(answer - (without - with_regs)) < 1e-3:
        return False, "that is a difference; the exercise asks for the ratio (with registers / without)."
    return False, (f"{float(answer):.3f} is off; compare `measure(...)[\"background_mass\"]` of the two models "
                   "(with registers / without).")


@cache
def _prefix_agreement():
    """(number of leading positions whose states agree at every layer, max abs difference there,
    smallest max abs difference at the next position, the number of shared words)."""
    model = _load("smollm2")
    a, b = model.run(PROMPT_A), model.run(PROMPT_B)
    n = min(len(a), len(b))
    diffs = np.stack([np.abs(np.asarray(a.resid(l))[:n] - np.asarray(b.resid(l))[:n]).max(axis=1)
                      for l in range(model.n_layers + 1)])            # [layer + 1, position]
    scale = np.stack([np.abs(np.asarray(a.resid(l))[:n]).max(axis=1) for l in range(model.n_layers + 1)])
    same = (diffs <= 1e-5 * scale).all(axis=0)
    k = int(np.argmin(same)) if not same.all() else n
    words = 0
    for x, y in zip(PROMPT_A.split(), PROMPT_B.split(), strict=False):
        if x != y:
            break
        words += 1
    return k, float(diffs[:, :k].max()) if k else 0.0, float(diffs[:, k].max()) if k < n else 0.0, words


def solve_4_3():
    import numpy as np

    import attnlab
    from attnlab.course.lesson04 import PROMPT_A, PROMPT_B
    model = attnlab.load("smollm2")
    a, b = model.run(PROMPT_A), model.run(PROMPT_B)
    n = min(len(a), len(b))
    same = np.ones(n, dtype=bool)
    for layer in range(model.n_layers + 1):
        ra, rb = a.resid(layer)[:n], b.resid(layer)[:n]
        same &= np.abs(ra - rb).max(axis=1) <= 1e-5 * np.abs(ra).max(axis=1)
    answer = int(np.argmin(same)) if not same.all() else n
    return answer


@exercise("4.3", "how far do two prompts share their states?", wrong=3, solution=solve_4_3,
          expects='a number of positions (an int)',
          hints=("Run both prompts and compare `t.resid(layer)` position by position, for every layer 0..n_layers.",
                 "Two states agree when their max abs difference is a float-rounding speck (below 1e-5 times the "
                 "largest entry); count the leading positions that agree at every layer.",
                 "Compare with `t.tokens` of both runs: which tokens do the prompts share?"))
def _(answer):
    k, inside, after, words = _prefix_agreement()
    if not is_finite(answer) or float(answer) != int(answer):
        return False, "answer with a whole number of positions."
    answer = int(answer)
    if answer == k:
        return True, (f"the first {k} positions (the shared tokens) have the same states at every layer (max abs "
                      f"difference {inside:.1e}: zero up to float rounding); at position {k} the prompts differ and so "
                      f"do the states (max abs difference {after:.1f}). Nothing later can reach back to change them.")
    if answer == words and words != k:
        return False, (f"{words} is the number of shared *words*; the model sees tokens. Compare `t.tokens` of the "
                       "two runs.")
    if answer == k + 1:
        return False, f"off by one: position {k} already holds different tokens, so its state differs."
    if answer == k - 1:
        return False, "off by one: count every leading position whose state agrees, starting from position 0."
    return False, f"{answer} is off; compare `t.resid(layer)` of the two runs position by position."


@cache
def _share_on_registers(row: str) -> tuple[float, float, float, float]:
    """On the first 'a' of ``row``: the partner head's attention on the registers, on <cls> + registers,
    from the registers to that 'a' (the transposed reading), and on background, in tiny-registers-8."""
    layer, head = _measure("tiny-registers-8")["partner_head"]
    t = _load("tiny-registers-8").run(row)
    p = np.asarray(t.pattern(layer, head))
    i = t.tokens.index("a")
    regs = [j for j, tok in enumerate(t.tokens) if tok.startswith("<reg")]
    background = [j for j, tok in enumerate(t.tokens) if tok == "."]
    return (float(p[i, regs].sum()), float(p[i, [0] + regs].sum()), float(p[regs, i].sum()),
            float(p[i, background].sum()))


def solve_4_4():
    import attnlab
    model = attnlab.load("tiny-registers-8")
    layer, head = attnlab.tiny.measure(model)["partner_head"]
    row = "a..B.b.c.d..e..C.....f.."        # an 'a' without any 'A': a lonely letter
    t = model.run(row)
    i = t.tokens.index("a")
    answer = (row, float(t.pattern(layer, head)[i, 1:9].sum()))   # positions 1..8 are <reg0>..<reg7>
    return answer


@exercise("4.4", "a row of your own", wrong=("a", 0.0), solution=solve_4_4,
          expects='a pair (row, share): your row (a string) and the share of attention on the registers (a number)',
          hints=("Write a string of at most 24 symbols from '.', a-h, A-H that contains 'a' and no 'A'.",
                 "Run it with `attnlab.load(\"tiny-registers-8\").run(row)`; the partner head is "
                 "`attnlab.tiny.measure(model)[\"partner_head\"]`.",
                 "In `t.pattern(layer, head)` the row of the first 'a' is its attention; the registers are positions 1 "
                 "to 8 (position 0 is <cls>)."))
def _(answer):
    if not (isinstance(answer, tuple) and len(answer) == 2):
        return False, "answer with a pair `(row, share)`: your row (a string) and the share (a number)."
    row, share = answer
    if not isinstance(row, str) or not row:
        return False, "the first item must be your row, a non-empty string such as 'a..B.b'."
    if set(row) - SYMBOLS:
        return False, (f"the row may only contain '.', a-h and A-H (no spaces, no special tokens); it has "
                       f"{sorted(set(row) - SYMBOLS)}.")
    if len(row) > ROW_LEN:
        return False, (f"the model reads at most {ROW_LEN} symbols after <cls> and the registers; your row has "
                       f"{len(row)}.")
    if "a" not in row:
        return False, "the row needs an 'a' (the letter whose attention you measure)."
    if "A" in row:
        return False, "that row contains 'A', so 'a' has a partner to look at: remove every 'A' to make 'a' lonely."
    if not _is_number(share):
        return False, "the second item must be a number: the share of attention on the registers."
    want, with_cls, transposed, background = _share_on_registers(row)
    if abs(share - want) <= 0.005:
        if want >= 0.5:
            return True, (f"in your row the lonely 'a' sends {want:.0%} of the partner head's attention to the 8 "
                          "registers: they are where this head looks when there is nothing to find.")
        return True, (f"in your row the lonely 'a' sends only {want:.0%} to the registers ({background:.0%} to "
                      "background dots): an unusual row for this head. Try one with fewer letters.")
    if abs(share - with_cls) <= 0.005 and abs(with_cls - want) > 0.005:
        return False, "you included position 0 (<cls>); the registers are positions 1 to 8."
    if abs(share - transposed) <= 0.005 and abs(transposed - want) > 0.005:
        return False, ("you read a column (attention *to* 'a'); the question asks where 'a' looks: its row, "
                       "`pattern[i, 1:9]`.")
    return False, (f"{float(share):.3f} is off for your row; sum the first 'a''s row of the partner head's pattern "
                   "over positions 1 to 8.")
