"""Lesson 8: syntactic heads. Exercises on dependency arcs, minimal pairs and the causal mask."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from . import exercise
from .helpers import align

_DATA = Path(__file__).resolve().parent.parent / "data" / "syntax"
_LEAD = "Here are some short sentences."
_BOS = "<|endoftext|>"

THERE_PAIRS = (
    ("There is a cat in the garden.", "There are a cat in the garden."),
    ("There are two cats in the garden.", "There is two cats in the garden."),
    ("There was a problem with the car.", "There were a problem with the car."),
    ("There were many people at the party.", "There was many people at the party."),
    ("There is some milk in the fridge.", "There are some milk in the fridge."),
    ("There are three books on the shelf.", "There is three books on the shelf."),
    ("There was one apple left.", "There were one apple left."),
    ("There were no chairs in the room.", "There was no chairs in the room."),
)


def _model():
    import attnlab
    return attnlab.load("smollm2")


@cache
def _det_accuracy():
    """Per-head accuracy on det arcs seen from the noun, [layers, heads], and the previous-word baseline."""
    model = _model()
    sentences = json.loads((_DATA / "sentences.json").read_text())
    lead = _LEAD[:-1].split() + ["."]
    hits, offsets = [], []
    for first in range(0, len(sentences), 10):
        group = sentences[first:first + 10]
        t = model.run(" ".join([_LEAD] + [s["text"] for s in group]))
        spans = align(t.tokens, lead + [w for s in group for w in s["words"]])[len(lead):]
        P = t.patterns()
        for s in group:
            n = len(s["words"])
            sp, spans = spans[:n], spans[n:]
            member = np.zeros((len(t), n), dtype=np.float32)
            for j, toks in enumerate(sp):
                member[toks, j] = 1
            A = P[:, :, [toks[-1] for toks in sp], :] @ member
            for i, (h, rel) in enumerate(zip(s["heads"], s["rels"], strict=True)):
                if rel == "det" and h - 1 > i:
                    q = h - 1
                    hits.append(A[:, :, q, :q].argmax(-1) == i)
                    offsets.append(i - q)
    return np.mean(hits, axis=0), float(np.mean(np.array(offsets) == -1)), len(hits)


@cache
def _there_accuracy():
    model = _model()
    wins = []
    for good, bad in THERE_PAIRS:
        lg = -model.run(_BOS + good, record=False).token_losses.sum()
        lb = -model.run(_BOS + bad, record=False).token_losses.sum()
        wins.append(bool(lg > lb))
    plain = [bool(model.run(g, record=False).token_losses.sum() < model.run(b, record=False).token_losses.sum())
             for g, b in THERE_PAIRS]
    return float(np.mean(wins)), wins, float(np.mean(plain))


def _as_head(answer):
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and all(isinstance(x, (int, np.integer)) for x in answer):
        return int(answer[0]), int(answer[1])
    return None


def solve_8_1():
    import json
    from importlib.resources import files

    import numpy as np

    import attnlab
    from attnlab.course.helpers import align

    model = attnlab.load("smollm2")
    sentences = json.loads((files("attnlab") / "data" / "syntax" / "sentences.json").read_text())
    LEAD = "Here are some short sentences."
    lead = ["Here", "are", "some", "short", "sentences", "."]


    hits = []                                            # one [layers, heads] array per det arc
    for first in range(0, len(sentences), 10):           # the same paragraphs as in the lesson
        group = sentences[first:first + 10]
        t = model.run(" ".join([LEAD] + [s["text"] for s in group]))
        spans = align(t.tokens, lead + [w for s in group for w in s["words"]])[len(lead):]
        P = t.patterns()
        for s in group:
            sp, spans = spans[:len(s["words"])], spans[len(s["words"]):]
            for i, (h, rel) in enumerate(zip(s["heads"], s["rels"], strict=True)):
                if rel == "det":
                    noun = h - 1                         # query: the noun's last token; keys: earlier words
                    row = P[:, :, sp[noun][-1], :]
                    A = np.stack([row[:, :, sp[j]].sum(-1) for j in range(noun)], axis=-1)
                    hits.append(A.argmax(-1) == i)
    acc = np.mean(hits, axis=0)
    answer = tuple(int(x) for x in np.unravel_index(acc.argmax(), acc.shape))
    return answer


@exercise("8.1", "the determiner head", wrong=(0, 0), solution=solve_8_1,
          expects='a (layer, head) pair of ints',
          hints=("Keep the records with `r['rel'] == 'det'` (they are all seen head → dependent) and average their "
                 "`hit` arrays: you get one accuracy per head, an array [30, 9].",
                 "`np.unravel_index(acc.argmax(), acc.shape)` turns the best flat index into (layer, head)."))
def _(answer):
    acc, base, n = _det_accuracy()
    pair = _as_head(answer)
    if pair is None:
        return False, "answer with a pair of ints (layer, head), e.g. (3, 4)."
    layer, head = pair
    if not (0 <= layer < acc.shape[0] and 0 <= head < acc.shape[1]):
        return False, (f"({layer}, {head}) is not a head of SmolLM2 (layers 0..{acc.shape[0] - 1}, "
                       f"heads 0..{acc.shape[1] - 1}).")
    best = acc.max()
    order = np.argsort(acc, axis=None)[::-1]
    if acc[layer, head] >= best - 1e-9:
        return True, (f"head {layer}.{head} finds the determiner from the noun in {acc[layer, head]:.0%} of the {n} "
                      f"det arcs, against {base:.0%} for 'always the previous word'. It gets the arcs with an "
                      "adjective in between, which the baseline misses.")
    rank = int(np.where(order == layer * acc.shape[1] + head)[0][0]) + 1
    runner = "" if rank > 3 else " Close: it is among the top three, but not the best."
    return False, (f"head {layer}.{head} gets {acc[layer, head]:.0%} of the det arcs (rank {rank} of {acc.size}); "
                   f"the best head gets {best:.0%}.{runner}")


def solve_8_2():
    import attnlab
    model = attnlab.load("smollm2")
    from attnlab.course.lesson08 import THERE_PAIRS as there_pairs  # the lesson's eight pairs

    def logprob(text):                                   # as in the lesson: start with <|endoftext|>
        return -model.run("<|endoftext|>" + text, record=False).token_losses.sum()

    answer = sum(logprob(good) > logprob(bad) for good, bad in there_pairs) / len(there_pairs)
    return answer


@exercise("8.2", "existential 'there' minimal pairs", wrong=8, solution=solve_8_2,
          expects='an accuracy between 0 and 1 (a float)',
          hints=("Score each sentence as in the lesson: run `'<|endoftext|>' + sentence` and take "
                 "`-t.token_losses.sum()`.",
                 "Count the pairs where the first (grammatical) sentence scores higher, then divide by the number of "
                 "pairs."))
def _(answer):
    acc, wins, plain = _there_accuracy()
    n = len(THERE_PAIRS)
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.floating, np.integer)):
        return False, f"answer with a number between 0 and 1, not a {type(answer).__name__}."
    answer = float(answer)
    if abs(answer - acc) < 1e-6:
        missed = [good for (good, _), ok in zip(THERE_PAIRS, wins, strict=True) if not ok]
        more = f" It misses: {missed}." if missed else " It gets every pair."
        return True, f"SmolLM2 prefers the grammatical sentence in {sum(wins)} of {n} pairs ({acc:.0%}).{more}"
    if answer > 1 and abs(answer - sum(wins)) < 1e-6:
        return False, f"that is the number of pairs the model gets right; divide by the {n} pairs."
    if abs(answer - plain) < 1e-6 and abs(plain - acc) > 1e-6:
        return False, ("that is what you get without the <|endoftext|> start: the first word is then never scored and "
                       "the first predictions come from the sink position. Start each sentence with it, as in the "
                       "lesson.")
    if abs(answer - (1 - acc)) < 1e-6:
        return False, "that is the share of pairs where the *ungrammatical* sentence wins: check the sign of the loss."
    return False, (f"{answer:.3f} is not the accuracy; it should be a multiple of 1/{n}. Sum the token losses, "
                   "do not average them.")


def solve_8_3():
    import attnlab
    model = attnlab.load("smollm2")
    t = model.run("The cat sat on the mat.")
    cat, sat = t.tokens.index(" cat"), t.tokens.index(" sat")
    answer = float(t.patterns()[:, :, cat, sat].max())      # row = query " cat", column = key " sat"
    return answer


@exercise("8.3", "a subject cannot see its verb", wrong=0.5, solution=solve_8_3,
          expects='an attention weight between 0 and 1 (a float)',
          hints=("`t.patterns()` is [layer, head, query, key]; the query is ' cat', the key is ' sat'.",
                 "Take the max over every layer and head."))
def _(answer):
    t = _model().run("The cat sat on the mat.")
    P = t.patterns()
    cat, sat = t.tokens.index(" cat"), t.tokens.index(" sat")
    forward, backward = float(P[:, :, cat, sat].max()), float(P[:, :, sat, cat].max())
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.floating, np.integer)):
        return False, f"answer with a number (an attention weight), not a {type(answer).__name__}."
    if abs(float(answer) - forward) < 1e-6:
        return True, (f"exactly 0 in every head: ' cat' is position {cat} and ' sat' position {sat}, and the causal "
                      "mask lets a query read only keys at its own position or before. So a decoder can find a "
                      f"subject's verb only from the verb (looking back, up to {backward:.0%} in some head), never "
                      "from the subject.")
    if abs(float(answer) - backward) < 1e-4:
        return False, ("that is the attention from ' sat' (query) to ' cat' (key): rows are queries, columns are keys. "
                       "Swap the two indices.")
    return False, (f"{answer!r} is not it. Take the [query = ' cat', key = ' sat'] entry of every head's pattern, "
                   "then the max.")
