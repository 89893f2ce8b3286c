"""Activation patching and windowed attention: exactness on a small random model, behaviour on SmolLM2."""
import numpy as np
import pytest
import torch
from toys import IdTokenizer, random_llama

import attnlab
from attnlab import AttnlabError, Patch, metrics
from attnlab.heads.patching import patch_fraction, patch_heads, patch_resid
from attnlab.heads.probes import text_ids
from attnlab.heads.windows import window_perplexity, window_table

CLEAN = [5, 17, 3, 88, 42, 17, 3, 88, 9, 60, 61, 2]
CORRUPT = [5, 17, 3, 88, 42, 17, 3, 88, 9, 33, 61, 2]



@pytest.fixture(scope="module")
def toy():
    torch.manual_seed(1)
    return attnlab.load(random_llama(), tokenizer=IdTokenizer())


METRIC = metrics.logit_diff(4, 7)


def test_patch_heads_equals_a_loop_of_single_patches(toy):
    r = patch_heads(toy, CLEAN, CORRUPT, METRIC, progress=False)
    clean = toy.run(CLEAN)
    lo, hi = METRIC(toy.run(CORRUPT)), METRIC(clean)
    assert (r.clean, r.corrupted) == pytest.approx((hi, lo), abs=1e-5)
    loop = np.array([[(METRIC(toy.run(CORRUPT, patch=Patch(clean, heads=[(l, h)]))) - lo) / (hi - lo)
                      for h in range(toy.n_heads)] for l in range(toy.n_layers)])
    assert np.abs((r.values - loop) * (hi - lo)).max() < 1e-5
    at = patch_heads(toy, CLEAN, CORRUPT, METRIC, positions=[9, 11], progress=False)
    one = (METRIC(toy.run(CORRUPT, patch=Patch(clean, heads=[(1, 2)], positions=[9, 11]))) - lo) / (hi - lo)
    assert abs((at.values[1, 2] - one) * (hi - lo)) < 1e-5


def test_patch_resid_equals_a_loop_and_whole_streams_restore_everything(toy):
    r = patch_resid(toy, CLEAN, CORRUPT, METRIC, progress=False)
    assert r.shape == (toy.n_layers + 1, len(CLEAN)) and r.tokens[9] == "<33>"
    clean = toy.run(CLEAN)
    lo, hi = METRIC(toy.run(CORRUPT)), METRIC(clean)
    for layer, pos in [(0, 9), (1, 9), (2, 11), (3, 11), (1, 4)]:
        one = (METRIC(toy.run(CORRUPT, patch=Patch(clean, resid=[(layer, pos)]))) - lo) / (hi - lo)
        assert abs((r.values[layer, pos] - one) * (hi - lo)) < 1e-5
    assert np.allclose(r.values[:, :9], 0, atol=1e-4)        # before the corrupted token nothing differs
    assert r.values[0, 9] == pytest.approx(1, abs=1e-4)      # the only corrupted embedding
    for layer in range(toy.n_layers + 1):
        assert patch_fraction(toy, CLEAN, CORRUPT, METRIC, resid=[(layer, p) for p in range(len(CLEAN))]) \
            == pytest.approx(1, abs=1e-4)


def test_patching_every_head_and_the_embeddings_restores_the_clean_metric_exactly(toy):
    everything = patch_fraction(toy, CLEAN, CORRUPT, METRIC, heads="all", resid=[(0, p) for p in range(len(CLEAN))])
    assert everything == pytest.approx(1, abs=1e-5)
    assert patch_fraction(toy, CLEAN, CORRUPT, METRIC) == pytest.approx(0, abs=1e-6)


def test_patching_errors(toy):
    with pytest.raises(AttnlabError, match="same length"):
        patch_heads(toy, CLEAN, CORRUPT[:-1], METRIC, progress=False)
    with pytest.raises(AttnlabError, match="nothing to restore"):
        patch_heads(toy, CLEAN, CLEAN, METRIC, progress=False)
    with pytest.raises(AttnlabError, match="out of range"):
        patch_resid(toy, CLEAN, CORRUPT, METRIC, layers=[4], progress=False)


def test_window_masks_on_a_toy(toy):
    full = window_perplexity(toy, CLEAN, window=None)
    assert window_perplexity(toy, CLEAN, window=len(CLEAN)) == pytest.approx(full, rel=1e-5)
    assert window_perplexity(toy, CLEAN, window=3) != pytest.approx(full, rel=1e-4)
    # a window of 1 sees only itself: predictions depend on the current token alone
    nll = np.log(window_perplexity(toy, [5, 17, 3, 5, 17], window=1))
    same = np.log(window_perplexity(toy, [9, 9, 9, 5, 17], window=1, heads=[(l, h) for l in range(3)
                                                                              for h in range(6)]))
    assert np.isfinite(nll) and np.isfinite(same)
    table = window_table(toy, CLEAN, windows=(2, 4), sinks=(0, 1), progress=False)
    assert list(table.columns) == ["window", "sinks", "perplexity"] and len(table) == 5
    with pytest.raises(AttnlabError, match="window must be"):
        window_perplexity(toy, CLEAN, window=0)
    with pytest.raises(AttnlabError, match="sinks must be"):
        window_perplexity(toy, CLEAN, window=4, sinks=-1)


# -- SmolLM2 ------------------------------------------------------------------------------------
IOI = "When Mary and John went to the store, John gave a drink to"
IOI_CORRUPT = "When Mary and John went to the store, Mary gave a drink to"


@pytest.mark.slow
def test_smollm2_ioi_patching(smol):
    metric = metrics.logit_diff(" Mary", " John")
    n = len(smol.encode(IOI))
    assert patch_fraction(smol, IOI, IOI_CORRUPT, metric, heads="all", resid=[(0, p) for p in range(n)]) \
        == pytest.approx(1, abs=1e-5)
    r = patch_resid(smol, IOI, IOI_CORRUPT, metric, layers=[0, 25], progress=False)
    assert r.values[0, 9] == pytest.approx(1, abs=1e-4)                 # " John" (S2) is the only difference
    assert r.values[25, -1] > 0.8                                        # by layer 25 it has moved to the end
    assert patch_fraction(smol, IOI, IOI_CORRUPT, metric, heads=[(23, 3)]) > 0.3   # a name-mover-like head
    with pytest.raises(AttnlabError, match="same length"):
        patch_heads(smol, IOI, "When Mary and John went to the store, Mary Ann gave a drink to", metric)


@pytest.mark.slow
def test_smollm2_sinks_rescue_windowed_attention(smol):
    ids = text_ids(smol, 768)
    window_only = window_perplexity(smol, ids, window=32)
    with_sinks = window_perplexity(smol, ids, window=32, sinks=4)
    assert with_sinks < window_only / 3, (with_sinks, window_only)
    with pytest.raises(AttnlabError, match="encoder"):
        window_perplexity(attnlab.load("minilm"), "A short sentence.", window=4)
    assert metrics.loss().name == "loss"
