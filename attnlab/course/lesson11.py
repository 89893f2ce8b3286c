"""Lesson 11: guided ablations. The IOI task, direct effects, and exercises on sweeps, patching and backup heads."""
from __future__ import annotations

from functools import cache

import numpy as np

from . import exercise
from .helpers import direct_effects_with_norm_of

IO, S = " Mary", " John"
TEMPLATE = "When{io} and{s} went to the store,{s} gave a drink to"
PAIRS = [(" Mary", " John"), (" Tom", " Anna"), (" Kate", " Mike"), (" Alice", " Bob")]


def ioi(io: str = IO, s: str = S, s2: str | None = None) -> str:
    """The IOI prompt with indirect object ``io`` and subject ``s`` (names with their leading space).

    ``s2`` replaces the second mention of the subject (the corrupted prompt of the patching section).

    >>> ioi()
    'When Mary and John went to the store, John gave a drink to'
    >>> ioi(s2=" Mary")
    'When Mary and John went to the store, Mary gave a drink to'
    """
    return f"When{io} and{s} went to the store,{s if s2 is None else s2} gave a drink to"


PROMPT = ioi()
CORRUPTED = ioi(s2=IO)     # the second "John" becomes "Mary": now the answer would be " John"


def _final_norm(model, x: np.ndarray) -> np.ndarray:
    """The scale the final RMSNorm applies to the final residual ``x`` [d_model], times its weight."""
    norm = model.module.model.norm
    rms = np.sqrt((x.astype(np.float64) ** 2).mean() + norm.variance_epsilon)
    return norm.weight.detach().float().numpy() / rms


def _head_writes(model, trace, layer: int, head: int, position: int) -> np.ndarray:
    """What head (layer, head) adds to the residual stream at ``position``: its output through its slice of W_O."""
    d = model.head_dim
    w_o = model.module.model.layers[layer].self_attn.o_proj.weight.detach().float().numpy()[:, head * d:(head + 1) * d]
    return w_o @ trace.head_output(layer, head)[position].astype(np.float32)


def head_writes(model, trace, layer: int, head: int, k: int = 5, position: int = -1):
    """The ``k`` tokens whose logits the head's output raises most, and the ``k`` it lowers most (a logit lens
    on one head: its output through the final norm and the unembedding, centred over the vocabulary)."""
    out = _head_writes(model, trace, layer, head, position) * _final_norm(model, trace.resid(model.n_layers)[position])
    logits = model.module.lm_head.weight.detach().float().numpy() @ out
    order = np.argsort(logits)
    decode = model.tokenizer.decode
    return [decode([i]) for i in order[::-1][:k]], [decode([i]) for i in order[:k]]


def name_movers(model, trace, io_position: int, attention: float = 0.3, direct: float = 0.3, good=IO, bad=S):
    """Heads that attend from the last token to the indirect object (weight > ``attention``) and push the
    logit difference up directly (direct effect > ``direct``): the name movers of Wang et al. (2022)."""
    import attnlab
    to_io = trace.patterns()[:, :, -1, io_position]
    de = np.asarray(attnlab.direct_effects(trace, good, bad))
    return [(layer, head) for layer in range(model.n_layers) for head in range(model.n_heads)
            if to_io[layer, head] > attention and de[layer, head] > direct]


# -- cached ground truth ------------------------------------------------------------------------
def _model():
    import attnlab
    return attnlab.load("smollm2")


def _metric():
    import attnlab
    return attnlab.metrics.logit_diff(IO, S)


@cache
def _sweep() -> np.ndarray:
    import attnlab
    return np.asarray(attnlab.ablation_sweep(_model(), PROMPT, _metric(), progress=False))


@cache
def _patch_heads() -> np.ndarray:
    import attnlab
    return np.asarray(attnlab.patch_heads(_model(), PROMPT, CORRUPTED, _metric(), progress=False))


@cache
def _patch_resid() -> np.ndarray:
    import attnlab
    return np.asarray(attnlab.patch_resid(_model(), PROMPT, CORRUPTED, _metric(), progress=False))


@cache
def _fraction(heads: tuple) -> float:
    import attnlab
    return attnlab.patch_fraction(_model(), PROMPT, CORRUPTED, _metric(), heads=list(heads))


def _top(values: np.ndarray, k: int, sign: int = 1) -> list[tuple[int, int]]:
    order = np.argsort(-sign * np.nan_to_num(values, nan=-np.inf * sign), axis=None, kind="stable")[:k]
    rows, cols = np.unravel_index(order, values.shape)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]


def _pair(answer):
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and all(
            isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in answer):
        return int(answer[0]), int(answer[1])
    return None


def _is_number(answer) -> bool:
    return isinstance(answer, (int, float, np.integer, np.floating)) and not isinstance(answer, bool)


# -- exercises ----------------------------------------------------------------------------------
def solve_11_1():
    import numpy as np

    import attnlab
    from attnlab.course.lesson11 import PROMPT
    model = attnlab.load("smollm2")
    sweep = attnlab.ablation_sweep(model, PROMPT, attnlab.metrics.logit_diff(" Mary", " John"))
    answer = tuple(int(i) for i in np.unravel_index(np.argmin(np.asarray(sweep)), sweep.shape))
    return answer


@exercise("11.1", "the head IOI cannot do without", wrong=(24, 4), solution=solve_11_1,
          expects='a (layer, head) pair of ints',
          hints=("`attnlab.ablation_sweep(model, PROMPT, attnlab.metrics.logit_diff(' Mary', ' John'))` gives "
                 "logit difference (ablated) - logit difference (clean) for every head.",
                 "The head that hurts most has the most *negative* change: `np.argmin`, then `np.unravel_index`.",
                 "`Effects.top()` sorts by absolute value, so its first entry could be a head that *raises* the "
                 "logit difference."))
def _(answer):
    sweep = _sweep()
    best = _top(sweep, 1, sign=-1)[0]
    head = _pair(answer)
    if head is None:
        return False, "answer with a (layer, head) pair of ints, e.g. (3, 4)."
    if not (0 <= head[0] < sweep.shape[0] and 0 <= head[1] < sweep.shape[1]):
        return False, (f"there is no head {head}: layers go from 0 to {sweep.shape[0] - 1}, heads from 0 to "
                       f"{sweep.shape[1] - 1}.")
    value = sweep[head]
    t = _model().run(PROMPT)
    io = t.tokens.index(IO)
    if head == best:
        row = t.pattern(*best)[-1]
        s2 = len(row) - 1 - t.tokens[::-1].index(S)
        return True, (f"ablating head {best[0]}.{best[1]} lowers the logit difference by {-value:.2f}, more than any "
                      f"other head. From the last token it puts {row[s2]:.0%} of its attention on the second{S} "
                      f"and {row[io]:.0%} on{IO}.")
    if head == _top(t.patterns()[:, :, -1, io], 1)[0]:
        return False, (f"head {head[0]}.{head[1]} is the one that attends most to{IO}, but ablating it changes the "
                       f"logit difference by {value:+.2f}. Attention is not importance: measure the effect.")
    if value > 0:
        return False, (f"ablating head {head[0]}.{head[1]} *raises* the logit difference ({value:+.2f}): that head "
                       "works against the answer. You want the most negative change.")
    if head in _top(sweep, 5, sign=-1):
        return False, f"ablating head {head[0]}.{head[1]} hurts ({value:+.2f}), but another head hurts more."
    return False, f"ablating head {head[0]}.{head[1]} changes the logit difference by only {value:+.2f}."


def solve_11_2():
    import attnlab
    from attnlab.course.lesson11 import CORRUPTED, PROMPT
    model = attnlab.load("smollm2")
    ld = attnlab.metrics.logit_diff(" Mary", " John")
    per_head = attnlab.patch_heads(model, PROMPT, CORRUPTED, ld)
    top3 = [head for head, _ in per_head.top(3, absolute=False)]
    answer = attnlab.patch_fraction(model, PROMPT, CORRUPTED, ld, heads=top3)
    return answer


@exercise("11.2", "patching three heads at once", wrong=1.065, solution=solve_11_2,
          expects='a restored fraction (a float)',
          hints=("`attnlab.patch_heads(model, PROMPT, CORRUPTED, ld)` gives each head's restored fraction; "
                 "`.top(3, absolute=False)` lists the three largest (not the largest in absolute value).",
                 "`attnlab.patch_fraction(model, PROMPT, CORRUPTED, ld, heads=[...])` patches several heads in one "
                 "run."))
def _(answer):
    per_head = _patch_heads()
    top3 = tuple(_top(per_head, 3))
    want = _fraction(top3)
    if not _is_number(answer):
        return False, "answer with the restored fraction, a float (1.0 means the whole logit difference comes back)."
    if abs(answer - want) < 0.02:
        total = sum(per_head[h] for h in top3)
        return True, (f"patched together, the three heads restore {want:.0%} of the logit difference; their "
                      f"single-head fractions add up to {total:.0%}. Effects of heads do not simply add.")
    if abs(answer - sum(per_head[h] for h in top3)) < 0.02:
        return False, ("that is the sum of the three single-head fractions. Patch the three heads together in one "
                       "run with `attnlab.patch_fraction(..., heads=top3)`: effects need not add up.")
    by_abs = tuple(_top(np.abs(per_head), 3))
    if by_abs != top3 and abs(answer - _fraction(by_abs)) < 0.02:
        return False, ("you took the three largest in *absolute* value, which includes a head whose patch moves the "
                       "metric the wrong way. Use `.top(3, absolute=False)`.")
    if abs(answer - per_head[top3[0]]) < 0.02:
        return False, "that is what the best head restores alone; patch all three together."
    return False, f"{answer:.3f} is off: patch the three best heads of `patch_heads` together with `patch_fraction`."


def solve_11_3():
    import numpy as np

    import attnlab
    from attnlab.course.lesson11 import CORRUPTED, PROMPT
    model = attnlab.load("smollm2")
    r = attnlab.patch_resid(model, PROMPT, CORRUPTED, attnlab.metrics.logit_diff(" Mary", " John"))
    tokens = model.tokenize(PROMPT)
    s2 = len(tokens) - 1 - tokens[::-1].index(" John")     # the second " John"
    answer = int(np.argmax(np.asarray(r)[:, s2] < 0.5))
    return answer


@exercise("11.3", "when the name leaves its position", wrong=20, solution=solve_11_3,
          expects='a layer number (an int)',
          hints=("`attnlab.patch_resid(model, PROMPT, CORRUPTED, ld)` returns [layer, position]; row l is the stream "
                 "entering block l.",
                 "The second name is the only token that differs between the prompts: find its position with "
                 "`model.tokenize`.",
                 "`np.argmax(column < 0.5)` is the first row where the condition holds."))
def _(answer):
    values = _patch_resid()
    tokens = _model().tokenize(PROMPT)
    s2 = len(tokens) - 1 - tokens[::-1].index(S)
    column = values[:, s2]
    below = np.flatnonzero(column < 0.5)
    first = int(below[0])
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):
        return False, "answer with a layer number (an int)."
    if not 0 <= answer < len(column):
        return False, f"rows go from 0 to {len(column) - 1} (the last row is the final stream)."
    if answer == first:
        return True, (f"patching the second{S} still restores {column[first - 1]:.0%} entering layer {first - 1} but "
                      f"only {column[first]:.0%} entering layer {first}: by then the heads before it have copied "
                      "what matters to the last position.")
    if answer < first:
        drop = np.flatnonzero(column < 0.9)
        start = f" (it starts to fall at layer {int(drop[0])})" if len(drop) and answer == int(drop[0]) else ""
        return False, (f"entering layer {answer}, patching that position still restores {column[answer]:.0%}, more "
                       f"than half{start}. Look further up.")
    return False, f"at layer {answer} it is already below half, but it drops below half earlier."


def solve_11_4():
    import numpy as np

    import attnlab
    from attnlab.course.helpers import direct_effects_with_norm_of
    from attnlab.course.lesson11 import PROMPT, name_movers
    model = attnlab.load("smollm2")
    t = model.run(PROMPT)
    movers = name_movers(model, t, io_position=t.tokens.index(" Mary"))
    before = np.asarray(attnlab.direct_effects(t, " Mary", " John"))
    without = model.run(PROMPT, ablate=movers)
    after = direct_effects_with_norm_of(without, " Mary", " John", norm_of=t)   # the clean run's final-norm scale
    rise = after - before
    for head in movers:
        rise[head] = -np.inf                         # the ablated heads themselves drop to zero
    answer = tuple(int(i) for i in np.unravel_index(np.argmax(rise), rise.shape))
    return answer


@exercise("11.4", "who takes over?", wrong=(23, 3), solution=solve_11_4,
          expects='a (layer, head) pair of ints',
          hints=("Use `name_movers(model, t, io_position=...)` for the heads to ablate, and "
                 "`attnlab.direct_effects` on the clean run and on the run with those heads ablated.",
                 "Freeze the final norm's scale at the clean run's: "
                 "`direct_effects_with_norm_of(without, ..., norm_of=t)`, as in the lesson.",
                 "Leave the ablated heads themselves out: their direct effect falls to zero.",
                 "A head can 'rise' from a negative direct effect towards zero: that counts."))
def _(answer):
    before, after, movers = _backup()
    rise = after - before
    for h in movers:
        rise[h] = -np.inf
    best = _top(rise, 1)[0]
    head = _pair(answer)
    if head is None:
        return False, "answer with a (layer, head) pair of ints."
    if head in movers:
        return False, f"head {head[0]}.{head[1]} is one of the ablated name movers: its direct effect drops to zero."
    if head == best:
        how = ("it pushed against the answer, and with the name movers gone it pushes far less"
               if before[best] < 0 else "it pushes the answer harder once the name movers are gone")
        return True, (f"head {best[0]}.{best[1]}'s direct effect goes from {before[best]:+.2f} to {after[best]:+.2f}: "
                      f"{how}. It is the largest single source of the compensation.")
    if not (0 <= head[0] < rise.shape[0] and 0 <= head[1] < rise.shape[1]):
        return False, f"there is no head {head}."
    last = max(layer for layer, _ in movers)
    if head[0] <= last:
        return False, (f"head {head[0]}.{head[1]} runs no later than the name movers (layer {last}), so their "
                       "ablation cannot change what it writes. Look at later layers.")
    return False, (f"head {head[0]}.{head[1]}'s direct effect changes by {rise[head]:+.2f} "
                   f"({before[head]:+.2f} -> {after[head]:+.2f}); another head changes more.")


@cache
def _backup():
    import attnlab
    model = _model()
    t = model.run(PROMPT)
    movers = name_movers(model, t, io_position=t.tokens.index(IO))
    before = np.asarray(attnlab.direct_effects(t, IO, S))
    after = direct_effects_with_norm_of(model.run(PROMPT, ablate=movers), IO, S, norm_of=t)
    return before, after, movers
