"""Lesson 9: function vectors. Exercises on building, placing and testing task vectors."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from . import exercise
from .helpers import pack

_TASKS = Path(__file__).resolve().parent.parent / "data" / "function_tasks.json"
_TEMPLATE = '\nThe word "{x}" means'

COMPARATIVE_TEST = (
    ("short", "shorter"), ("warm", "warmer"), ("dark", "darker"), ("soft", "softer"), ("weak", "weaker"),
    ("slow", "slower"), ("cheap", "cheaper"), ("deep", "deeper"), ("high", "higher"), ("low", "lower"),
    ("rich", "richer"), ("poor", "poorer"), ("clean", "cleaner"), ("bright", "brighter"), ("loud", "louder"),
    ("quick", "quicker"), ("smart", "smarter"), ("kind", "kinder"), ("thick", "thicker"), ("sweet", "sweeter"),
)


def _model():
    import attnlab
    return attnlab.load("smollm2")


def _tasks():
    return json.loads(_TASKS.read_text())


def _vector(model, train, k=5, n=10):
    """The lesson's recipe: mean last-token residual of few-shot prompts minus that of the first ':' (zero-shot)."""
    prompts = []
    for i in range(n):
        demos = [train[(i + j) % len(train)] for j in range(k)]
        x, _ = train[(i + k) % len(train)]
        prompts.append("\n" + "".join(f"{a}: {b}\n" for a, b in demos) + f"{x}:")
    ids, blocks, starts, last = pack(model, prompts)
    t = model.run(ids, block=blocks)
    colon = [s + len(model.encode(p[:p.index(":") + 1])) - 1 for s, p in zip(starts, prompts, strict=True)]
    resid = np.stack([t.resid(layer) for layer in range(model.n_layers + 1)])
    return resid[:, last].mean(1) - resid[:, colon].mean(1)


def _accuracy(model, test, vector=None, layer=None, template="\n{x}:"):
    import attnlab
    ids, blocks, _, last = pack(model, [template.format(x=x) for x, _ in test])
    add = None if vector is None else attnlab.Add(vector, layer=layer, position=last)
    t = model.run(ids, block=blocks, add=add, record=False)
    targets = np.array([model.encode(" " + y)[0] for _, y in test])
    return float((t.logits[last].argmax(-1).numpy() == targets).mean())


@cache
def _plural_template():
    model = _model()
    task = _tasks()["singular_plural"]
    v = _vector(model, task["train"])
    return (_accuracy(model, task["test"], template=_TEMPLATE),
            _accuracy(model, task["test"], v[22], 22, template=_TEMPLATE),
            _accuracy(model, task["test"], v[22], 22))


@cache
def _antonym_layers():
    model = _model()
    task = _tasks()["antonym"]
    v = _vector(model, task["train"])
    return {layer: _accuracy(model, task["test"], v[layer], layer) for layer in range(14, 27)}


@cache
def _comparative_baseline():
    return _accuracy(_model(), COMPARATIVE_TEST)


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def solve_9_1():
    import json
    from importlib.resources import files

    import numpy as np

    import attnlab
    from attnlab.course.helpers import pack

    model = attnlab.load("smollm2")
    task = json.loads((files("attnlab") / "data" / "function_tasks.json").read_text())["singular_plural"]


    # the function vector at layer 22, built as in the lesson
    train = task["train"]
    prompts = ["\n" + "".join(f"{a}: {b}\n" for a, b in [train[(i + j) % len(train)] for j in range(5)])
               + f"{train[(i + 5) % len(train)][0]}:" for i in range(10)]
    ids, blocks, starts, last = pack(model, prompts)
    r = model.run(ids, block=blocks).resid(22)
    colon = [s + len(model.encode(p[:p.index(":") + 1])) - 1 for s, p in zip(starts, prompts, strict=True)]
    vector = r[last].mean(0) - r[colon].mean(0)

    def accuracy(add_vector):
        ids, blocks, _, last = pack(model, ['\nThe word "' + x + '" means' for x, _ in task["test"]])
        add = attnlab.Add(vector, layer=22, position=last) if add_vector else None
        t = model.run(ids, block=blocks, add=add, record=False)
        targets = np.array([model.encode(" " + y)[0] for _, y in task["test"]])
        return float((t.logits[last].argmax(-1).numpy() == targets).mean())

    answer = (accuracy(False), accuracy(True))
    return answer


@exercise("9.1", "a vector in a sentence", wrong=(0.0, 0.0), solution=solve_9_1,
          expects='a pair of accuracies (without the vector, with it)',
          hints=("Reuse the lesson's helpers: `zero_shot(tasks['singular_plural']['test'], template=...)` gives the "
                 "accuracy without a vector; pass `vectors['singular_plural'][22], 22` to add it.",
                 "The template string is '\\nThe word \"{x}\" means' (with the leading newline)."))
def _(answer):
    without, with_, plain_format = _plural_template()
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or not all(_is_number(a) for a in answer):
        return False, "answer with two numbers: (accuracy without the vector, accuracy with it)."
    a, b = float(answer[0]), float(answer[1])
    if abs(a - without) < 1e-6 and abs(b - with_) < 1e-6:
        return True, (f"{without:.0%} without and {with_:.0%} with the vector. It was built from 'word: answer' lines "
                      f"(where it gets {plain_format:.0%} at this layer), yet it carries the task into a sentence.")
    if abs(b - without) < 1e-6 and abs(a - with_) < 1e-6:
        return False, "the two numbers are swapped: (without, with)."
    if abs(b - plain_format) < 1e-6 and abs(b - with_) > 1e-6:
        return False, ("the second number is the accuracy on the '\\nword:' prompts; use the 'The word \"x\" means' "
                       "template.")
    if abs(a - without) < 1e-6:
        return False, ("the first number is right; the second is not. Add `vectors['singular_plural'][22]` at layer "
                       "22, at the last position of each prompt.")
    return False, ("not quite: measure top-1 accuracy (first token of ' ' + answer) on the 20 test words of "
                   "singular_plural.")


def solve_9_2():
    import json
    from importlib.resources import files

    import numpy as np

    import attnlab
    from attnlab.course.helpers import pack

    model = attnlab.load("smollm2")
    task = json.loads((files("attnlab") / "data" / "function_tasks.json").read_text())["antonym"]


    train = task["train"]
    prompts = ["\n" + "".join(f"{a}: {b}\n" for a, b in [train[(i + j) % len(train)] for j in range(5)])
               + f"{train[(i + 5) % len(train)][0]}:" for i in range(10)]
    ids, blocks, starts, last = pack(model, prompts)
    t = model.run(ids, block=blocks)
    colon = [s + len(model.encode(p[:p.index(":") + 1])) - 1 for s, p in zip(starts, prompts, strict=True)]

    ids, blocks, _, last_test = pack(model, [f"\n{x}:" for x, _ in task["test"]])
    targets = np.array([model.encode(" " + y)[0] for _, y in task["test"]])
    accuracy = {}
    for layer in range(14, 27):
        r = t.resid(layer)
        vector = r[last].mean(0) - r[colon].mean(0)
        run = model.run(ids, block=blocks, record=False, add=attnlab.Add(vector, layer=layer, position=last_test))
        accuracy[layer] = float((run.logits[last_test].argmax(-1).numpy() == targets).mean())
    answer = max(accuracy, key=accuracy.get)
    return answer


@exercise("9.2", "the best layer for the antonym vector", wrong=22, solution=solve_9_2,
          expects='a layer number (an int)',
          hints=("Loop over layers 14..26: `zero_shot(tasks['antonym']['test'], vectors['antonym'][layer], layer)[1]`.",
                 "Keep the layer with the highest accuracy (any of several tied layers is accepted)."))
def _(answer):
    acc = _antonym_layers()
    best = max(acc.values())
    if not isinstance(answer, (int, np.integer)) or isinstance(answer, bool):
        return False, "answer with a layer number (an int)."
    answer = int(answer)
    curve = ", ".join(f"L{l} {a:.2f}" for l, a in acc.items())
    if answer not in acc:
        return False, f"search layers 14 to 26; {answer} is outside that range."
    if acc[answer] >= best - 1e-9:
        return True, f"layer {answer} gets {acc[answer]:.0%} of the antonym test words. The whole curve: {curve}."
    return False, (f"layer {answer} gets {acc[answer]:.0%}, but another layer does better. Check every layer from "
                   "14 to 26, not only the ones in the sweep.")


def solve_9_3():
    import attnlab
    from attnlab.course.helpers import pack

    model = attnlab.load("smollm2")
    comparative_train = [["big", "bigger"], ["small", "smaller"], ["fast", "faster"], ["tall", "taller"],
                         ["old", "older"], ["young", "younger"], ["long", "longer"], ["cold", "colder"],
                         ["hard", "harder"], ["strong", "stronger"]]


    train = comparative_train
    prompts = ["\n" + "".join(f"{a}: {b}\n" for a, b in [train[(i + j) % len(train)] for j in range(5)])
               + f"{train[(i + 5) % len(train)][0]}:" for i in range(10)]
    ids, blocks, starts, last = pack(model, prompts)
    layer = 22                              # where the lesson's vectors worked best
    r = model.run(ids, block=blocks).resid(layer)
    colon = [s + len(model.encode(p[:p.index(":") + 1])) - 1 for s, p in zip(starts, prompts, strict=True)]
    answer = (layer, r[last].mean(0) - r[colon].mean(0))
    return answer


@exercise("9.3", "a vector for a new task", wrong=(22, np.zeros(576, dtype=np.float32)), solution=solve_9_3,
          expects='a pair (layer, vector): an int and an array of 576 numbers',
          hints=("Use the lesson's helper: `vector, few_shot_acc = task_vector(comparative_train)` gives the vector at "
                 "every layer, an array [31, 576].",
                 "Pick a layer where the lesson's vectors worked best, e.g. the `best layer` column of the table, "
                 "and answer `(layer, vectors_of_new_task[layer])`."))
def _(answer):
    model = _model()
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return False, "answer with a pair (layer, vector)."
    layer, vector = answer
    if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool) or not 0 <= int(layer) <= model.n_layers:
        return False, f"the layer must be an int from 0 to {model.n_layers}."
    try:
        vector = np.asarray(
            vector.detach().cpu() if hasattr(vector, "detach") else vector, dtype=np.float32
        ).reshape(-1)
    except (TypeError, ValueError):
        return False, "the vector must be a numpy array (or torch tensor) of 576 numbers."
    if vector.shape != (model.d_model,) or not np.isfinite(vector).all():
        return False, (f"the vector must have {model.d_model} finite numbers (one residual-stream vector), "
                       f"got shape {vector.shape}.")
    base = _comparative_baseline()
    acc = _accuracy(model, COMPARATIVE_TEST, vector, int(layer))
    if acc >= 0.5:
        return True, (f"with your vector at layer {int(layer)}, {acc:.0%} of 20 unseen adjectives get their "
                      f"comparative (without it: {base:.0%}).")
    if not np.any(vector):
        return False, "that is an all-zero vector: it changes nothing. Build it from few-shot prompts as in the lesson."
    return False, (f"with your vector at layer {int(layer)} only {acc:.0%} of the test adjectives come out right "
                   f"(without it: {base:.0%}). Try another layer (where the lesson's vectors worked best), or check "
                   "the recipe.")
