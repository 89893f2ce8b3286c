"""Head scores and the census on SmolLM2 (decoder) and MiniLM (encoder)."""
import importlib

import numpy as np
import pytest
import torch
from toys import IdTokenizer

import attnlab
from attnlab import AttnlabError, metrics
from attnlab.heads import scores as _scores
from attnlab.heads.census import census, census_summary
from attnlab.heads.probes import needle_prompts, repeated_tokens, text_ids

_census = importlib.import_module("attnlab.heads.census")  # the module (attnlab.heads.census is the function)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """Census files go to a fresh folder, so the census is really computed here."""
    folder = tmp_path_factory.mktemp("census")
    patch = pytest.MonkeyPatch()
    patch.setattr(_census, "_path", lambda model: folder / f"{model.name}.json")
    yield folder
    patch.undo()


@pytest.fixture(scope="module")
def smol_census(smol, cache_dir):
    _census._memory.pop(smol, None)
    return census(smol, progress=False)


def top(df, col, k):
    return [(int(r.layer), int(r["head"])) for _, r in df.sort_values(col, ascending=False).head(k).iterrows()]


@pytest.mark.slow
def test_census_finds_induction_heads_that_carry_repeated_sequences(smol, smol_census):
    df = smol_census
    assert len(df) == 270 and {"label", "stage", "induction", "retrieval", "copying", "local_span"} <= set(df.columns)
    induction = top(df, "induction", 5)
    assert (18, 6) in induction and df.induction.max() > 0.8
    assert set(df[df.label == "induction"].stage) == {"latent reasoning"}
    # ablating them wrecks the second copy of a fresh repeated sequence; five random other heads barely matter
    g = torch.Generator().manual_seed(7)
    r = torch.randint(1000, 20000, (32,), generator=g).tolist()
    ids, metric = r + r, metrics.loss(positions=range(32, 63))
    clean = metric(smol.run(ids, record=False))
    hit = metric(smol.run(ids, ablate=induction, record=False)) - clean
    others = df[(df.induction < 0.1) & (df.previous_token < 0.2)]
    rng = np.random.default_rng(0)
    control = [metric(smol.run(ids, ablate=[tuple(x) for x in others[["layer", "head"]].to_numpy()[
        rng.choice(len(others), 5, replace=False)]], record=False)) - clean for _ in range(3)]
    assert hit > 3.0 and hit > 4 * max(np.mean(control), 0.1), (hit, control)


@pytest.mark.slow
def test_previous_token_heads_attend_to_the_previous_token(smol, smol_census):
    head = top(smol_census, "previous_token", 1)[0]
    assert head == (16, 0)
    assert smol_census.set_index(["layer", "head"]).loc[head, "offset"] == -1
    t = smol.run("The lighthouse keeper climbed the stairs every evening to light the lamp and clean the lens.")
    p = t.pattern(*head)
    hits = (p[1:].argmax(-1) == np.arange(len(t) - 1)).mean()
    assert hits > 0.7, hits


@pytest.mark.slow
def test_census_other_scores_and_summary(smol_census):
    df = smol_census
    assert df.sink.max() > 0.95 and (df.sink > 0.5).sum() > 30          # first-token sinks are everywhere
    assert (df.retrieval > 0.1).sum() >= 3 and (df.retrieval > 0.1).mean() < 0.1
    assert df.sep_sink.isna().all() and df.copying.between(0, 1).all()
    late_copy = top(df, "copying", 3)
    assert all(layer >= 20 for layer, _ in late_copy)                    # direct copying happens late
    assert (df.local_span >= 0.9).sum() >= 30 and (df.local_span < 0.5).sum() >= 30  # streaming and long-range heads
    text = census_summary(df)
    assert "induction" in text and "L18H6" in text and "latent reasoning" in text


@pytest.mark.slow
def test_census_is_cached_in_memory_and_on_disk(smol, smol_census, cache_dir):
    assert (cache_dir / "smollm2.json").exists()
    again = census(smol, progress=False)
    assert again.equals(smol_census)
    _census._memory.pop(smol)
    from_disk = census(smol, progress=False)
    assert from_disk.attrs["fingerprint"] == smol_census.attrs["fingerprint"]
    assert (from_disk.label == smol_census.label).all()
    assert np.allclose(from_disk.induction, smol_census.induction)


@pytest.mark.slow
def test_minilm_has_no_induction_heads(minilm, cache_dir):
    with pytest.raises(AttnlabError, match="encoder"):
        _scores.induction(minilm)
    with pytest.raises(AttnlabError, match="next-token|encoder"):
        _scores.retrieval(minilm)
    df = census(minilm, progress=False)
    assert df.induction.isna().all() and df.retrieval.isna().all() and df.copying.isna().all()
    assert (df.label != "induction").all()
    assert top(df, "previous_token", 1) == [(0, 2)]
    assert df.sep_sink.notna().all() and df.sink.max() < 0.6             # a fine-tuned encoder: weak sinks
    # the bidirectional analogue of induction (attend to the token after the other copy) is near zero
    ids, start, n = repeated_tokens(minilm)
    t = minilm.run(ids[0])
    second = np.arange(start + n, start + 2 * n)
    analogue = max(t.pattern(l, h)[second, second - n + 1].mean() for l in range(6) for h in range(12))
    assert analogue < 0.1
    assert "previous-token" in census_summary(df)


@pytest.mark.slow
def test_score_inputs_and_errors(smol, minilm):
    ids, start, n = repeated_tokens(smol, n=10, batch=2)
    assert ids.shape == (2, 20) and start == 0 and (ids[:, :10] == ids[:, 10:]).all()
    ids, start, n = repeated_tokens(minilm, n=10, batch=1)
    assert start == 1 and ids[0, 0] == minilm.tokenizer.cls_token_id and ids[0, -1] == minilm.tokenizer.sep_token_id
    assert len(text_ids(minilm, 10_000)) == 512
    prompt = needle_prompts(smol)[0]
    s, e = prompt.needle
    assert prompt.ids[s:e] == prompt.ids[prompt.answer:]
    with pytest.raises(AttnlabError, match="decoder"):
        _scores.sink(smol, on="sep")
    with pytest.raises(AttnlabError, match="on must be"):
        _scores.sink(smol, on="last")
    with pytest.raises(AttnlabError, match="too short"):
        _scores.previous_token(smol, "Hi")
    assert _scores.sink(minilm, "A short sentence, with a comma.", on="sep").shape == (6, 12)
    assert _scores.positional_offset(minilm).dtype.kind == "i"



@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_repeat_scores_on_small_random_models(family):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    module = LlamaForCausalLM(LlamaConfig(vocab_size=97, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                                          num_attention_heads=6, num_key_value_heads=2)) if family == "llama" \
        else GPT2LMHeadModel(GPT2Config(vocab_size=97, n_embd=48, n_layer=2, n_head=4, n_positions=128))
    model = attnlab.load(module.eval(), tokenizer=IdTokenizer())
    scores = _scores.repeat_scores(model, n=20, batch=2)
    for key in ("duplicate_token", "induction", "copying"):
        assert scores[key].shape == (2, model.n_heads) and np.all((scores[key] >= 0) & (scores[key] <= 1))
    ids, start, n = repeated_tokens(model, n=20, batch=2)
    second = np.arange(start + n, start + 2 * n)
    by_hand = np.mean([[model.run(ids[b]).pattern(1, h)[second, second - n + 1].mean() for h in range(model.n_heads)]
                       for b in range(2)], axis=0)
    assert np.allclose(scores["induction"][1], by_hand, atol=1e-5)
