"""The exact ablation sweep, the attribution estimate and the metrics: small random models and SmolLM2."""
import numpy as np
import pytest
import torch
from toys import IdTokenizer, random_llama

import attnlab
from attnlab import AttnlabError, metrics
from attnlab.heads.attribution import attribution
from attnlab.heads.effects import Effects
from attnlab.heads.sweep import ablation_sweep
from attnlab.runner import check_token as single_token
from attnlab.runner.attention import Hooks

IDS = [5, 17, 3, 88, 42, 17, 3, 88, 9, 60, 61, 2, 40, 17, 3]



@pytest.fixture(scope="module")
def toy():
    torch.manual_seed(0)
    model = attnlab.load(random_llama(), tokenizer=IdTokenizer())
    model._means = torch.randn(3, 6, 8)  # the stand-in tokenizer cannot read the reference text for head_means()
    return model


METRICS = [metrics.loss(), metrics.loss(positions=[2, 5, 6]), metrics.logit_diff(4, 7, position=-3),
           metrics.prob(9, position=5)]


@pytest.mark.parametrize("how", ["zero", "mean"])
@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_sweep_equals_a_plain_loop_of_single_ablations(toy, metric, how):
    e = ablation_sweep(toy, IDS, metric, how=how, progress=False)
    clean = metric(toy.run(IDS))
    loop = np.array([[metric(toy.run(IDS, ablate=[(l, h)], how=how)) - clean for h in range(toy.n_heads)]
                     for l in range(toy.n_layers)])
    assert abs(e.clean - clean) < 1e-5
    assert np.abs(e.values - loop).max() < 1e-4
    assert np.abs(np.asarray(e) - loop).max() < 1e-4


@pytest.mark.parametrize("how", ["zero", "mean"])
def test_sweep_on_top_of_ablated_heads_equals_a_plain_loop(toy, how):
    metric, off = metrics.logit_diff(4, 7, position=-3), [(0, 1), (1, 4), (2, 2)]
    e = ablation_sweep(toy, IDS, metric, how=how, ablate=off, progress=False)
    ref = metric(toy.run(IDS, ablate=off, how=how))
    loop = np.array([[np.nan if (l, h) in off else metric(toy.run(IDS, ablate=[*off, (l, h)], how=how)) - ref
                      for h in range(toy.n_heads)] for l in range(toy.n_layers)])
    assert abs(e.clean - ref) < 1e-5 and "3 head(s) already ablated" in e.what
    assert np.array_equal(np.isnan(e.values), np.isnan(loop))
    assert np.nanmax(np.abs(e.values - loop)) < 1e-4
    with pytest.raises(AttnlabError, match="layer 9 is out of range"):
        ablation_sweep(toy, IDS, metric, ablate=[(9, 0)], progress=False)


def test_sweep_subset_and_batch_size(toy):
    full = ablation_sweep(toy, IDS, progress=False)
    part = ablation_sweep(toy, IDS, heads=[(1, 2), (2, 0), (2, 5)], batch=2, progress=False)
    done = ~np.isnan(part.values)
    assert done.sum() == 3 and done[1, 2] and done[2, 0] and done[2, 5]
    assert np.allclose(part.values[done], full.values[done], atol=1e-5)
    assert np.allclose(ablation_sweep(toy, IDS, heads=1, progress=False).values[1], full.values[1], atol=1e-5)


def test_attribution_is_the_first_order_effect(toy):
    """Scaling one head's output by (1 - eps) changes the metric by eps * the attribution estimate."""
    metric = metrics.logit_diff(4, 7)
    est = attribution(toy, IDS, metric)
    bound = metric.bind(toy, IDS)
    eps = 1e-3

    def scaled(layer, head):
        run = Hooks(record=False)
        run.z_edits[layer] = [lambda z: z[:, :, head].mul_(1 - eps)]
        hidden = toy.forward(torch.tensor([IDS]), run)
        with torch.no_grad():
            return float(bound.evaluate(hidden[:, bound.positions])[0])

    for layer, head in [(0, 1), (1, 4), (2, 3)]:
        fd = (scaled(layer, head) - est.clean) / eps
        assert fd == pytest.approx(est.values[layer, head], rel=0.05, abs=1e-3)
    assert est.agreement(ablation_sweep(toy, IDS, metric, progress=False)) > 0.6
    assert not any(p.grad is not None for p in toy.module.parameters())


def test_metric_errors(toy):
    with pytest.raises(AttnlabError, match="is 2 tokens"):
        single_token(toy, "5 6")
    with pytest.raises(AttnlabError, match="outside the vocabulary"):
        metrics.logit_diff(4, 500)(toy.run(IDS))
    with pytest.raises(AttnlabError, match="last token"):
        ablation_sweep(toy, IDS, metrics.loss(positions=[-1]), progress=False)
    with pytest.raises(AttnlabError, match="metric must be built"):
        ablation_sweep(toy, IDS, "loss", progress=False)
    with pytest.raises(AttnlabError, match="how must be"):
        ablation_sweep(toy, IDS, how="resample", progress=False)
    with pytest.raises(AttnlabError, match="batch must be"):
        ablation_sweep(toy, IDS, batch=0, progress=False)
    with pytest.raises(AttnlabError, match="out of range"):
        ablation_sweep(toy, IDS, heads=[(3, 0)], progress=False)


def test_effects_helpers():
    e = Effects(np.array([[0.1, 2.0], [-3.0, np.nan]]), what="change in loss", clean=1.0)
    assert e.top(2) == [((1, 0), -3.0), ((0, 1), 2.0)]
    assert e.top(1, absolute=False) == [((0, 1), 2.0)]
    assert e.agreement(np.array([[1.0, 5.0], [0.0, 9.0]])) == pytest.approx(1.0)
    assert "L1H0" in repr(e)


# -- SmolLM2 ------------------------------------------------------------------------------------
def repeated(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = torch.randint(1000, 20000, (n,), generator=g).tolist()
    return r + r


@pytest.mark.slow
def test_smollm2_sweep_equals_plain_loop_on_a_subset(smol):
    ids = repeated()
    metric = metrics.loss(positions=range(32, 63))
    heads = [(0, 8), (1, 5), (16, 0), (18, 6), (29, 7)]
    e = ablation_sweep(smol, ids, metric, heads=heads, progress=False)
    clean = metric(smol.run(ids, record=False))
    for layer, head in heads:
        plain = metric(smol.run(ids, ablate=[(layer, head)], record=False)) - clean
        assert abs(e.values[layer, head] - plain) < 1e-4, (layer, head)
    assert e.values[16, 0] > 2.0    # the strongest previous-token head feeds the induction heads
    mean = ablation_sweep(smol, ids, metric, how="mean", heads=[(16, 0)], progress=False)
    assert abs(mean.values[16, 0] - (metric(smol.run(ids, ablate=[(16, 0)], how="mean", record=False)) - clean)) < 1e-4


@pytest.mark.slow
def test_smollm2_attribution_ranks_heads_like_the_sweep(smol):
    text = "When Mary and John went to the store, John gave a drink to"
    metric = metrics.logit_diff(" Mary", " John")
    exact = ablation_sweep(smol, text, metric, heads=[(l, h) for l in range(15, 30) for h in range(9)],
                           progress=False)
    est = attribution(smol, text, metric)
    assert est.agreement(exact) > 0.6
    assert est.top(1)[0][0] == exact.top(1)[0][0] == (23, 3)


@pytest.mark.slow
def test_smollm2_metric_tokens_must_be_single(smol):
    t = smol.run("When Mary and John went to the store, John gave a drink to", record=False)
    assert metrics.logit_diff(" Mary", " John")(t) > 3
    assert 0.5 < metrics.prob(" Mary")(t) <= 1
    with pytest.raises(AttnlabError, match="is 2 tokens") as err:
        metrics.logit_diff("drink", " John")(t)
    assert "' drink'" in str(err.value)    # the leading-space variant is suggested
    with pytest.raises(AttnlabError, match="keeps whole"):
        metrics.prob(" Johnathanovich")(t)
    with pytest.raises(AttnlabError, match="encoder"):
        ablation_sweep(attnlab.load("minilm"), "a sentence here", progress=False)


def test_an_interrupted_sweep_leaves_the_model_usable(toy):
    calls = []

    class Interrupting(type(metrics.loss())):
        def bind(self, model, ids):
            bound = super().bind(model, ids)

            def evaluate(hidden):
                calls.append(1)
                if len(calls) == 2:
                    raise KeyboardInterrupt
                return bound.evaluate(hidden)
            return type(bound)(bound.positions, evaluate)

    with pytest.raises(KeyboardInterrupt):
        ablation_sweep(toy, IDS, Interrupting(None), progress=False)
    assert toy._owner.active is None and not any("forward" in vars(b) for b in toy.anatomy.blocks)
    assert abs(toy.run(IDS).loss - ablation_sweep(toy, IDS, progress=False).clean) < 1e-5
