"""Lesson 12: a map of heads."""
from __future__ import annotations

from functools import cache

from . import exercise


@cache
def _census():
    import attnlab
    return attnlab.census(attnlab.load("smollm2"), progress=False)


def solve_12_1():
    import attnlab
    df = attnlab.census(attnlab.load("smollm2"))
    answer = df[df.stage != ""].stage.value_counts().idxmax()
    return answer


@exercise("12.1", "the busiest stage", wrong="expression preparation", solution=solve_12_1,
          expects='the name of a stage (a string)',
          hints=("`df.stage` holds each head's survey stage ('' when its label has none).",
                 "`value_counts().idxmax()` names the most common value."))
def _(answer):
    counts = _census().query("stage != ''").stage.value_counts()
    if not isinstance(answer, str):
        return False, f"answer with the name of a stage, a string: one of {list(counts.index)}."
    if answer == counts.idxmax():
        return True, f"{counts.idxmax()}: {counts.max()} heads. Full count: {dict(counts)}."
    if answer in counts:
        return False, f"{answer!r} has {counts[answer]} heads; another stage has more."
    return False, f"answer with one of the stage names: {list(counts.index)}."


def solve_12_2():
    import attnlab
    df = attnlab.census(attnlab.load("smollm2"))
    answer = df.query("layer == 16 and head == 0").label.item()
    return answer


@exercise("12.2", "what is head 16.0?", wrong="induction", solution=solve_12_2,
          expects='a census label (a string)',
          hints=("Filter the census with `df.query('layer == 16 and head == 0')`.",))
def _(answer):
    row = _census().query("layer == 16 and head == 0").iloc[0]
    if answer == row.label:
        return True, f"head 16.0 is labelled {row.label!r} (previous-token score {row.previous_token:.2f})."
    return False, f"the census does not call it {answer!r}; read its `label` column."


def solve_12_3():
    import attnlab
    df = attnlab.census(attnlab.load("smollm2"))
    answer = int(df[df.label == "induction"].layer.min())
    return answer


@exercise("12.3", "where do induction heads live?", wrong=0, solution=solve_12_3,
          expects='a layer number (an int)',
          hints=("Select the rows whose label is 'induction' and take the smallest layer.",))
def _(answer):
    layers = _census().query("label == 'induction'").layer
    if answer == int(layers.min()):
        return True, (f"the earliest induction head is in layer {layers.min()}, and all {len(layers)} sit in layers "
                      f"{layers.min()}-{layers.max()}: they need the previous-token heads below them.")
    return False, f"layer {answer} is not the earliest layer holding an induction head."
