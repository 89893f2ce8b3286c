"""The runner on the real embedded models: SmolLM2 (decoder, GQA) and MiniLM (BERT encoder)."""
import numpy as np
import pytest
import torch

import attnlab
from attnlab import AttnlabError

pytestmark = pytest.mark.slow


def repeated_random_tokens(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = torch.randint(1000, 20000, (n,), generator=g).tolist()
    return r + r


def test_smollm2_matches_plain_transformers_eager(smol):
    from transformers import AutoModelForCausalLM

    from attnlab.runner.embedded import model_dir

    plain = AutoModelForCausalLM.from_pretrained(model_dir("smollm2"), dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    text = "The cat sat on the mat. The cat"
    t = smol.run(text)
    with torch.no_grad():
        ref = plain(torch.tensor([t.ids]), output_attentions=True)
    assert torch.allclose(t.logits, ref.logits[0], atol=1e-4)
    worst = max(np.abs(t.pattern(l, h) - ref.attentions[l][0, h].numpy()).max()
                for l in range(smol.n_layers) for h in range(smol.n_heads))
    assert worst < 1e-5


def test_repeated_sequence_second_copy_is_easy_and_induction_heads_carry_it(smol):
    ids = repeated_random_tokens()
    n = len(ids) // 2
    clean = smol.run(ids)
    first, second = clean.token_losses[:n - 1].mean(), clean.token_losses[n:].mean()
    assert second < first / 3, (first, second)
    # induction score: attention from each token of the 2nd copy to the token after its earlier occurrence
    p = clean.patterns()
    q = np.arange(n, 2 * n)
    score = p[:, :, q, q - n + 1].mean(-1)          # [layers, heads]
    order = np.argsort(score, axis=None)[::-1]
    top = [tuple(int(x) for x in np.unravel_index(i, score.shape)) for i in order[:5]]
    assert score[top[0]] > 0.5
    ablated = smol.run(ids, ablate=top).token_losses[n:].mean()
    rng = np.random.default_rng(0)
    others = [i for i in order[20:]]
    random_losses = []
    for _ in range(5):
        pick = rng.choice(others, 5, replace=False)
        heads = [tuple(int(x) for x in np.unravel_index(i, score.shape)) for i in pick]
        random_losses.append(smol.run(ids, ablate=heads, record=False).token_losses[n:].mean())
    assert ablated - second > 4 * (np.mean(random_losses) - second), (second, ablated, random_losses)
    assert ablated > second + 2


def test_minilm_patterns_are_bidirectional_and_rows_sum_to_one(minilm):
    t = minilm.run("The quick brown fox jumps over the lazy dog.")
    assert t.tokens[0] == "[CLS]" and t.tokens[-1] == "[SEP]"
    p = t.patterns()
    assert np.allclose(p.sum(-1), 1.0, atol=1e-5)
    assert (np.triu(p, k=1).sum(-1) > 0.05).mean() > 0.5  # most rows put real weight on later tokens
    assert not minilm.has_lm_head and t.loss is None


def test_generate_inspects_generated_tokens(smol):
    t = smol.generate("The capital of France is", max_new_tokens=3)
    assert t.n_prompt == len(smol.encode("The capital of France is"))
    assert "Paris" in "".join(t.tokens[t.n_prompt:])
    assert t.pattern(5, 0).shape == (len(t), len(t))


def test_long_prompt_one_head_without_materialising_all_patterns(smol, monkeypatch):
    ids = (repeated_random_tokens(256) * 4)[:2048]
    t = smol.run(ids)
    p = t.pattern(18, 6)
    assert p.shape == (2048, 2048) and np.allclose(p.sum(-1), 1, atol=1e-4)
    # every pattern at once would be 30 x 9 x 2048^2 floats (4.2 GiB): refused where memory is short
    import attnlab.runner.checks
    monkeypatch.setattr(attnlab.runner.checks, "available_memory", lambda: 4 * 2**30)
    with pytest.raises(AttnlabError, match="4.2 GiB"):
        t.patterns()
    assert t.patterns(layers=[18]).shape == (1, 9, 2048, 2048)


BAD_INPUTS = [
    (lambda m: m.run(""), "empty"),
    (lambda m: m.run("   \n "), "empty"),
    (lambda m: m.run(12), "expected text"),
    (lambda m: m.run([1.5, 2.0]), "integers"),
    (lambda m: m.run([10**9]), "outside the vocabulary"),
    (lambda m: m.run(list(range(8193))), "at most 8192"),
    (lambda m: m.run("hi there").pattern(30, 0), "out of range"),
    (lambda m: m.run("hi there").pattern(0, 9), "out of range"),
    (lambda m: m.run("hi there").pattern(-1, 0), "Negative"),
    (lambda m: m.run("hi there").pattern("3", 0), "must be an int"),
    (lambda m: m.run("hi there", ablate=[(0, 99)]), "out of range"),
    (lambda m: m.run("hi there", ablate=[(0,)]), "pairs"),
    (lambda m: m.run("hi there", ablate="some"), "pairs or 'all'"),
    (lambda m: m.run("hi there", how="half"), "'zero' or 'mean'"),
    (lambda m: m.run("hi there", add=attnlab.Add(torch.zeros(7), layer=3)), "shape"),
    (lambda m: m.run("hi there", add=attnlab.Add(torch.full((576,), float("nan")), layer=3)), "NaN"),
    (lambda m: m.run("hi there", add=attnlab.Add(torch.zeros(576), layer=31)), "out of range"),
    (lambda m: m.run("hi there", patch=attnlab.Patch(m.run("one two three four"), heads="all")), "same length"),
    (lambda m: m.run("hi there", patch=attnlab.Patch("not a trace", heads="all")), "trace"),
    (lambda m: m.run("hi there", block=attnlab.Block(key=5)), "out of range"),
    (lambda m: m.run("hi there").top_next(k=0), "positive"),
    (lambda m: m.generate("hi", max_new_tokens=-1), "positive"),
    (lambda m: attnlab.load("no-such-model-anywhere"), "not in the local Hugging Face cache"),
    (lambda m: attnlab.load(3.5), "model name"),
    (lambda m: attnlab.load("smollm2", device="tpu9"), "device"),
]


@pytest.mark.parametrize("call,message", BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_gives_clear_error(smol, call, message):
    with pytest.raises(AttnlabError, match=message):
        call(smol)


def test_encoder_has_no_predictions(minilm):
    t = minilm.run("hello world")
    with pytest.raises(AttnlabError, match="encoder"):
        t.top_next()
    with pytest.raises(AttnlabError, match="encoder"):
        minilm.generate("hello")


def test_no_network_during_load_and_run(no_network):
    for name in ("smollm2", "minilm"):
        m = attnlab.load(name, fresh=True)
        t = m.run("Network-free inspection of attention heads.")
        assert t.pattern(0, 0).shape[0] == len(t)
    assert no_network == []


def test_load_any_local_folder(tmp_path):
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from attnlab.runner.embedded import model_dir

    tok = AutoTokenizer.from_pretrained(model_dir("smollm2"))
    torch.manual_seed(0)
    GPT2LMHeadModel(
        GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=4, n_positions=128)
    ).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    m = attnlab.load(str(tmp_path))
    assert (m.family, m.n_layers, m.n_heads, m.name) == ("gpt2", 2, 4, tmp_path.name)
    t = m.run("A folder of my own")
    assert t.tokens == smol_tokens("A folder of my own") and np.isfinite(t.loss)


def smol_tokens(text):
    return attnlab.load("smollm2").tokenize(text)


def _gemma_cached():
    from attnlab.runner.embedded import status
    return status("gemma3-270m") == "cached"


@pytest.mark.skipif(not _gemma_cached(),
                    reason="gemma3-270m is optional: fetch it with `attnlab models fetch gemma3-270m`")
def test_gemma3_270m_matches_plain_transformers_eager():
    from transformers import AutoModelForCausalLM

    from attnlab.runner.embedded import model_dir

    m = attnlab.load("gemma3-270m")
    plain = AutoModelForCausalLM.from_pretrained(model_dir("gemma3-270m"), dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    t = m.run("The cat sat on the mat. The cat")
    with torch.no_grad():
        ref = plain(torch.tensor([t.ids]), output_attentions=True)
    assert torch.allclose(t.logits, ref.logits[0], atol=1e-4)
    assert max(np.abs(t.pattern(l, h) - ref.attentions[l][0, h].numpy()).max()
               for l in range(m.n_layers) for h in range(m.n_heads)) < 1e-5
