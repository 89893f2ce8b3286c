"""Bad input to every public function ends in an AttnlabError whose message says what is allowed.

One table: (what is wrong, the call, a fragment the message must hold). The tiny models stand in for a
real model wherever the claim does not need one; the SmolLM2 rows (slow) need a real tokenizer or context.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import attnlab
from attnlab import Add, AttnlabError, Block, Patch, metrics, scores

TEXT = "P Q A B X Y S T A"             # the induction seed example: the last A predicts B
CORRUPTED = "P Q A C X Y S T A"        # same length, the answer changed
NAN = float("nan")


def tiny():
    return attnlab.load("tiny-induction")


def encoder():
    return attnlab.load("tiny-registers-0")


def trace():
    return tiny().run(TEXT)


def vec(value: float = 1.0) -> torch.Tensor:
    return torch.full((tiny().d_model,), value)


def set_trait(view, name, value):
    setattr(view, name, value)


CASES = [
    # attnlab.load
    ("load: a number", lambda: attnlab.load(3.5), "model name or folder"),
    ("load: an empty name", lambda: attnlab.load("  "), "empty name"),
    ("load: unknown name", lambda: attnlab.load("nosuchmodel"), "a local folder"),
    ("load: unknown name lists the embedded ones", lambda: attnlab.load("nosuchmodel"), "smollm2, minilm"),
    ("load: a missing folder", lambda: attnlab.load("./no/such/folder"), "there is no folder"),
    ("load: a file", lambda: attnlab.load(__file__), "is a file"),
    ("load: unknown tiny model", lambda: attnlab.load("tiny-nope"), "attnlab ships"),
    ("load: unknown device", lambda: attnlab.load("tiny-induction", device="tpu9"), "unknown device"),
    ("load: unknown dtype", lambda: attnlab.load("tiny-induction", dtype="float64"), "unknown dtype"),
    ("load: fresh not a bool", lambda: attnlab.load("tiny-induction", fresh="yes"), "fresh must be True or False"),
    # Model.run: the text
    ("run: empty text", lambda: tiny().run(""), "empty"),
    ("run: a number as text", lambda: tiny().run(12), "expected text"),
    ("run: a lone surrogate", lambda: tiny().run("P Q \ud800 A"), "lone surrogate"),
    ("run: float ids", lambda: tiny().run([1.5, 2.0]), "must be integers"),
    ("run: an id outside the vocabulary", lambda: tiny().run([10**6]), "outside the vocabulary"),
    ("run: too long", lambda: tiny().run([1] * 65), "at most 64"),
    ("run: record not a bool", lambda: tiny().run(TEXT, record="yes"), "record must be True or False"),
    # Model.run: ablate
    ("ablate: a bare int in a list", lambda: tiny().run(TEXT, ablate=[5]), "(layer, head) pairs"),
    ("ablate: head out of range", lambda: tiny().run(TEXT, ablate=[(0, 9)]), "out of range"),
    ("ablate: NaN layer", lambda: tiny().run(TEXT, ablate=[(NAN, 0)]), "layer must be an int"),
    ("ablate: a string", lambda: tiny().run(TEXT, ablate="some"), "pairs or 'all'"),
    ("ablate: unknown how", lambda: tiny().run(TEXT, ablate=[(0, 0)], how="half"), "'zero' or 'mean'"),
    # Model.run: block
    ("block: key out of range", lambda: tiny().run(TEXT, block=Block(key=99)), "out of range"),
    ("block: heads out of range", lambda: tiny().run(TEXT, block=Block(heads=[(5, 0)])), "out of range"),
    ("block: float query", lambda: tiny().run(TEXT, block=Block(query=[0.5])), "must be ints"),
    ("block: not a Block", lambda: tiny().run(TEXT, block="key 0"), "attnlab.Block"),
    # Model.run: add
    ("add: wrong shape", lambda: tiny().run(TEXT, add=Add(torch.zeros(7), 1)), "shape"),
    ("add: NaN vector", lambda: tiny().run(TEXT, add=Add(vec(NAN), 1)), "NaN"),
    ("add: NaN scale", lambda: tiny().run(TEXT, add=Add(vec(), 1, scale=NAN)), "finite number"),
    ("add: infinite scale", lambda: tiny().run(TEXT, add=Add(vec(), 1, scale=math.inf)), "finite number"),
    ("add: a string scale", lambda: tiny().run(TEXT, add=Add(vec(), 1, scale="big")), "must be a number"),
    ("add: scale * vector overflows", lambda: tiny().run(TEXT, add=Add(vec(1e30), 1, scale=1e30)), "overflows"),
    ("add: layer out of range", lambda: tiny().run(TEXT, add=Add(vec(), 3)), "out of range"),
    ("add: position out of range", lambda: tiny().run(TEXT, add=Add(vec(), 1, position=99)), "out of range"),
    ("add: not an Add", lambda: tiny().run(TEXT, add="vector"), "attnlab.Add"),
    # Model.run: patch and reuse
    ("patch: not a trace", lambda: tiny().run(TEXT, patch=Patch("not a trace", heads="all")), "trace"),
    ("patch: another length", lambda: tiny().run(TEXT, patch=Patch(tiny().run("P Q"), heads="all")), "same length"),
    ("patch: resid item not a pair", lambda: tiny().run(TEXT, patch=Patch(trace(), resid=[(0,)])), "(layer, position)"),
    ("reuse: not a trace", lambda: tiny().run(TEXT, reuse="x"), "reuse= takes a trace"),
    # Model.generate
    ("generate: absurd length", lambda: tiny().generate(TEXT, 10**9), "at most 54 new tokens fit"),
    ("generate: zero tokens", lambda: tiny().generate(TEXT, 0), "positive int"),
    ("generate: float length", lambda: tiny().generate(TEXT, 2.5), "positive int"),
    ("generate: negative temperature", lambda: tiny().generate(TEXT, 2, temperature=-1.0), "at least 0"),
    ("generate: NaN temperature", lambda: tiny().generate(TEXT, 2, temperature=NAN), "finite number"),
    ("generate: string temperature", lambda: tiny().generate(TEXT, 2, temperature="hot"), "must be a number"),
    ("generate: string seed", lambda: tiny().generate(TEXT, 2, seed="x"), "seed must be an int"),
    ("generate: progress not a bool", lambda: tiny().generate(TEXT, 2, progress="yes"), "progress must be"),
    ("generate: an encoder", lambda: encoder().generate("A B C", 2), "cannot generate"),
    # Trace
    ("patterns: an int for layers", lambda: trace().patterns(layers=3), "list of layer numbers"),
    ("patterns: no layers", lambda: trace().patterns(layers=[]), "names no layer"),
    ("patterns: layer out of range", lambda: trace().patterns(layers=[5]), "out of range"),
    ("pattern: head out of range", lambda: trace().pattern(0, 2), "out of range"),
    ("top_next: k=0", lambda: trace().top_next(0), "positive"),
    ("prob: two tokens", lambda: trace().prob("A B"), "2 tokens"),
    ("prob: id outside the vocabulary", lambda: trace().prob(10**6), "outside the vocabulary"),
    ("activation: unknown site", lambda: trace().activation("x", 0), "unknown site"),
    ("resid: layer out of range", lambda: trace().resid(3), "out of range"),
    # metrics
    ("logit_diff: float position", lambda: metrics.logit_diff("A", "B", position=1.5), "position must be an int"),
    ("prob: None as token", lambda: metrics.prob(None), "non-empty string"),
    ("prob: empty token", lambda: metrics.prob(""), "non-empty string"),
    ("prob: negative id", lambda: metrics.prob(-3), "non-empty string"),
    ("loss: a string for positions", lambda: metrics.loss(positions="abc"), "got the string"),
    ("loss: not iterable positions", lambda: metrics.loss(positions=object()), "positions must be"),
    ("metric: called on a string", lambda: metrics.prob("B")("P Q"), "called on a trace"),
    ("loss: position out of range", lambda: metrics.loss(positions=[99])(trace()), "out of range"),
    ("loss: NaN position", lambda: metrics.loss(positions=[NAN])(trace()), "must be ints"),
    ("metric: an encoder trace", lambda: metrics.prob("B")(encoder().run("A B C")), "encoder"),
    # ablation_sweep and attribution
    ("sweep: a model name", lambda: attnlab.ablation_sweep("tiny-induction", TEXT), "not the string"),
    ("sweep: a string metric", lambda: attnlab.ablation_sweep(tiny(), TEXT, "loss"), "metric must be built"),
    ("sweep: batch 0", lambda: attnlab.ablation_sweep(tiny(), TEXT, batch=0, progress=False), "batch must be"),
    ("sweep: unknown how", lambda: attnlab.ablation_sweep(tiny(), TEXT, how="x"), "'zero' or 'mean'"),
    ("sweep: heads out of range", lambda: attnlab.ablation_sweep(tiny(), TEXT, heads=[(9, 9)]), "out of range"),
    ("sweep: empty text", lambda: attnlab.ablation_sweep(tiny(), "", progress=False), "empty"),
    ("attribution: None", lambda: attnlab.attribution(None, TEXT), "takes a model from attnlab.load"),
    ("attribution: unknown how", lambda: attnlab.attribution(tiny(), TEXT, how="half"), "'zero' or 'mean'"),
    ("attribution: a number metric", lambda: attnlab.attribution(tiny(), TEXT, 3), "metric must be built"),
    # patching
    ("patch_heads: a model name", lambda: attnlab.patch_heads("m", TEXT, CORRUPTED, metrics.prob("B")),
     "not the string"),
    ("patch_heads: lengths differ", lambda: attnlab.patch_heads(tiny(), TEXT, "P Q", metrics.prob("B")),
     "same length"),
    ("patch_heads: nothing to restore", lambda: attnlab.patch_heads(tiny(), TEXT, TEXT, metrics.prob("B")),
     "nothing to restore"),
    ("patch_heads: position out of range",
     lambda: attnlab.patch_heads(tiny(), TEXT, CORRUPTED, metrics.prob("B"), positions=[99]), "out of range"),
    ("patch_resid: layer out of range",
     lambda: attnlab.patch_resid(tiny(), TEXT, CORRUPTED, metrics.prob("B"), layers=[7]), "out of range"),
    ("patch_fraction: heads out of range",
     lambda: attnlab.patch_fraction(tiny(), TEXT, CORRUPTED, metrics.prob("B"), heads=[(0, 5)]), "out of range"),
    # direct effects
    ("direct_effects: text instead of a trace", lambda: attnlab.direct_effects(TEXT, "B"), "run the text first"),
    ("direct_effects: position out of range", lambda: attnlab.direct_effects(trace(), "B", position=99),
     "position must be an int"),
    ("direct_effects: two tokens", lambda: attnlab.direct_effects(trace(), "A B"), "2 tokens"),
    # scores and census
    ("census: a model name", lambda: attnlab.census("smollm2"), "attnlab.load('smollm2')"),
    ("sink: a model name", lambda: scores.sink("smollm2"), "attnlab.load('smollm2')"),
    ("sink: unknown on", lambda: scores.sink(tiny(), on="last"), "on must be"),
    ("sink: sep in a decoder", lambda: scores.sink(tiny(), on="sep"), "no [SEP]"),
    ("local_span: window 0", lambda: scores.local_span(tiny(), window=0), "window must be"),
    ("previous_token: text too short", lambda: scores.previous_token(tiny(), "P Q"), "too short"),
    ("induction: batch 0", lambda: scores.induction(tiny(), batch=0), "batch must be an int of at least 1"),
    ("induction: string n", lambda: scores.induction(tiny(), n="x"), "n must be an int"),
    ("induction: negative seed", lambda: scores.induction(tiny(), seed=-1), "seed must be an int"),
    ("induction: an encoder", lambda: scores.induction(encoder()), "need a decoder"),
    ("copying: a model name", lambda: scores.copying("tiny-induction"), "not the string"),
    ("retrieval: a model that reads no English", lambda: scores.retrieval(tiny(), progress=False),
     "its own symbols"),
    # windows
    ("window_perplexity: a model name", lambda: attnlab.window_perplexity("smollm2"), "not the string"),
    ("window_perplexity: window 0", lambda: attnlab.window_perplexity(tiny(), TEXT, window=0), "window must be"),
    ("window_perplexity: float window", lambda: attnlab.window_perplexity(tiny(), TEXT, window=1.5),
     "window must be"),
    ("window_perplexity: negative sinks", lambda: attnlab.window_perplexity(tiny(), TEXT, sinks=-1),
     "sinks must be"),
    ("window_perplexity: heads out of range", lambda: attnlab.window_perplexity(tiny(), TEXT, heads=[(7, 0)]),
     "out of range"),
    ("window_perplexity: an encoder", lambda: attnlab.window_perplexity(encoder(), "A B C"), "encoder"),
    # tiny.train (each is refused before any training step)
    ("train: unknown model", lambda: attnlab.tiny.train("tiny-nope"), "unknown tiny model"),
    ("train: a list as name", lambda: attnlab.tiny.train(["tiny-induction"]), "unknown tiny model"),
    ("train: zero steps", lambda: attnlab.tiny.train("tiny-induction", steps=0), "steps must be"),
    ("train: string seed", lambda: attnlab.tiny.train("tiny-induction", seed="x"), "seed must be"),
    ("train: negative seed", lambda: attnlab.tiny.train("tiny-induction", seed=-1), "seed must be"),
    ("train: unknown device", lambda: attnlab.tiny.train("tiny-induction", device="tpu"), "unknown device"),
    ("train: progress not a bool", lambda: attnlab.tiny.train("tiny-induction", progress="yes"), "progress must be"),
    # views' traits
    ("AblationLab.ablate: a bare int", lambda: set_trait(attnlab.AblationLab(tiny()), "ablate", [5]),
     "(layer, head) pairs"),
    ("AblationLab.ablate: an int", lambda: set_trait(attnlab.AblationLab(tiny()), "ablate", 5), "must be a list"),
    ("AblationLab.ablate: out of range", lambda: set_trait(attnlab.AblationLab(tiny()), "ablate", [(0, 7)]),
     "out of range"),
    ("AblationLab.how: unknown", lambda: set_trait(attnlab.AblationLab(tiny()), "how", "half"), "must be one of"),
    ("AblationLab.how: a number", lambda: set_trait(attnlab.AblationLab(tiny()), "how", 3), "must be one of"),
    ("AblationLab.top_k: 0", lambda: set_trait(attnlab.AblationLab(tiny()), "top_k", 0), "top_k must be"),
    ("HeadGrid.order: score without scores", lambda: set_trait(attnlab.HeadGrid(tiny()), "order", "score"),
     "needs scores"),
    ("HeadGrid: scores of the wrong shape", lambda: attnlab.HeadGrid(tiny(), scores=np.zeros((3, 3))),
     "must have shape"),
    ("HeadGrid: NaN scores", lambda: attnlab.HeadGrid(tiny(), scores=np.full((2, 2), NAN)), "NaN"),
    ("HeadGrid.layer: out of range", lambda: set_trait(attnlab.HeadGrid(tiny()), "layer", 7), "out of range"),
    ("HeadGrid.mode: a number", lambda: set_trait(attnlab.HeadGrid(tiny()), "mode", 5), "must be one of"),
    ("HeadGrid.score_name: a number", lambda: set_trait(attnlab.HeadGrid(tiny()), "score_name", 5),
     "score_name must be a string"),
    ("AttentionView.text: a number", lambda: set_trait(attnlab.AttentionView(tiny()), "text", 5),
     "text must be a string"),
    ("AttentionView: a misspelt option", lambda: attnlab.AttentionView(tiny(), heda=1), "Did you mean 'head'"),
    ("AttentionView: a model name", lambda: attnlab.AttentionView("smollm2"), "a view takes a model"),
    ("SinkView.rows: unknown", lambda: set_trait(attnlab.SinkView(tiny()), "rows", "cols"), "must be one of"),
    # the course
    ("hint: a string n", lambda: attnlab.hint("0.1", n="x"), "n must be an int from 1 to 2"),
    ("hint: n=0", lambda: attnlab.hint("0.1", n=0), "n must be an int from 1 to 2"),
    ("hint: unknown exercise", lambda: attnlab.hint("99.9"), "there is no exercise"),
    ("hint: a float key", lambda: attnlab.hint(3.1), "there is no exercise"),
]

SMOL_CASES = [
    ("run: a lone surrogate reaches no tokenizer", lambda m: m.run("abc \ud800 def"), "lone surrogate"),
    ("generate: absurd length against an 8192-token context", lambda m: m.generate("Hi", 10**9),
     "reads at most 8192 tokens"),
    ("generate: NaN temperature", lambda m: m.generate("Hi", 2, temperature=NAN), "finite number"),
]


@pytest.mark.parametrize("call,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(call, fragment):
    with pytest.raises(AttnlabError) as err:
        call()
    assert fragment in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("call,fragment", [c[1:] for c in SMOL_CASES], ids=[c[0] for c in SMOL_CASES])
def test_bad_input_real_model(smol, call, fragment):
    with pytest.raises(AttnlabError) as err:
        call(smol)
    assert fragment in str(err.value)


def test_unknown_model_names_nothing_that_was_not_tried():
    """Nothing connects to the hub, so the message must not pass on transformers' text about connecting."""
    with pytest.raises(AttnlabError) as err:
        attnlab.load("nosuchmodel")
    msg = str(err.value)
    assert "connect" not in msg and "huggingface.co" not in msg
    assert "tiny-induction" in msg and "local folder" in msg
