"""Exactness of the runner on small randomly initialised models of every supported family (no downloads)."""
import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from toys import IdTokenizer, random_llama
from transformers import BertConfig, BertModel, Gemma3ForCausalLM, Gemma3TextConfig, GPT2Config, GPT2LMHeadModel

import attnlab
import attnlab.runner.interventions
from attnlab import AttnlabError


def llama():
    return random_llama()


def gemma3():
    return Gemma3ForCausalLM(Gemma3TextConfig(
        vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=1, head_dim=16, sliding_window=4, max_position_embeddings=64,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"], final_logit_softcapping=30.0))


def gpt2():
    return GPT2LMHeadModel(GPT2Config(vocab_size=97, n_embd=48, n_layer=3, n_head=4, n_positions=64))


def bert():
    return BertModel(BertConfig(vocab_size=97, hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                                intermediate_size=96, max_position_embeddings=64))


FAMILIES = {"llama": llama, "gemma3": gemma3, "gpt2": gpt2, "bert": bert}
IDS = [5, 17, 3, 88, 42, 17, 3, 88, 9, 60, 61, 2]


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # the same checks run on a GPU machine


def wrapped(family):
    torch.manual_seed(0)
    plain = FAMILIES[family]().eval().to(DEVICE)
    plain.set_attn_implementation("eager")
    model = attnlab.load(copy.deepcopy(plain), tokenizer=IdTokenizer())
    return plain, model


def output_projection(model, layer):
    attn = model.anatomy.attn[layer]
    for name in ("o_proj", "c_proj"):
        if hasattr(attn, name):
            return getattr(attn, name)
    return model.anatomy.blocks[layer].attention.output.dense  # BERT


def plain_outputs(plain, ids, ablate=()):
    """Reference: the plain model, heads zeroed by a pre-hook on the output projection."""
    m = attnlab.load(copy.deepcopy(plain), tokenizer=IdTokenizer())  # only to find module paths
    handles = []
    for layer, head in ablate:
        proj_name = [n for n, mod in m.module.named_modules() if mod is output_projection(m, layer)][0]
        proj = plain.get_submodule(proj_name)
        d = m.head_dim

        def hook(mod, args, head=head, d=d):
            x = args[0].clone()
            x[..., head * d:(head + 1) * d] = 0
            return (x,)
        handles.append(proj.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            out = plain(torch.tensor([ids], device=DEVICE), output_attentions=True)
    finally:
        for h in handles:
            h.remove()
    return SimpleNamespace(**{k: cpu for k, v in out.items() if (cpu := _cpu(v)) is not None})


def _cpu(x):
    """A tensor or a tuple of tensors on the CPU; None for anything else (a KV cache, whatever its key)."""
    if isinstance(x, torch.Tensor):
        return x.cpu()
    if isinstance(x, tuple) and x and all(isinstance(i, torch.Tensor) for i in x):
        return tuple(i.cpu() for i in x)
    return None


@pytest.mark.parametrize("family", FAMILIES)
def test_no_intervention_matches_plain_model(family):
    plain, model = wrapped(family)
    t = model.run(IDS)
    ref = plain_outputs(plain, IDS)
    if model.has_lm_head:
        assert torch.allclose(t.logits, ref.logits[0], atol=1e-5)
        expected = torch.nn.functional.cross_entropy(ref.logits[0, :-1], torch.tensor(IDS[1:]))
        assert abs(t.loss - float(expected)) < 1e-5
    else:
        assert t.loss is None and t.token_losses is None
        with pytest.raises(AttnlabError, match="encoder"):
            t.top_next()
    final = ref.last_hidden_state if hasattr(ref, "last_hidden_state") else None
    if final is not None:  # encoder: the final residual equals BERT's last hidden state
        assert np.allclose(t.resid(model.n_layers), final[0].numpy(), atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_patterns_equal_eager_output_attentions(family):
    plain, model = wrapped(family)
    t = model.run(IDS)
    ref = plain_outputs(plain, IDS)
    for layer in range(model.n_layers):
        for head in range(model.n_heads):
            p = t.pattern(layer, head)
            assert np.abs(p - ref.attentions[layer][0, head].numpy()).max() < 1e-5
    all_p = t.patterns()
    assert all_p.shape == (model.n_layers, model.n_heads, len(IDS), len(IDS))
    assert np.allclose(all_p.sum(-1), 1.0, atol=1e-5)
    if model.is_causal:
        assert np.all(np.triu(all_p, k=1) == 0)


@pytest.mark.parametrize("family", FAMILIES)
def test_zero_ablation_equals_output_projection_hook(family):
    plain, model = wrapped(family)
    heads = [(0, 1), (2, 3)]
    t = model.run(IDS, ablate=heads)
    ref = plain_outputs(plain, IDS, ablate=heads)
    got = t.logits if model.has_lm_head else torch.from_numpy(t.resid(model.n_layers))
    want = ref.logits[0] if model.has_lm_head else ref.last_hidden_state[0]
    assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(got, model.run(IDS).logits if model.has_lm_head
                              else torch.from_numpy(model.run(IDS).resid(model.n_layers)), atol=1e-3)


def test_gqa_ablating_one_query_head_changes_only_its_contribution():
    _, model = wrapped("llama")
    assert model.n_kv_heads == 2 and model.n_heads == 6
    clean = model.run(IDS)
    t = model.run(IDS, ablate=[(1, 4)])
    for head in range(model.n_heads):
        same = np.allclose(t.head_output(1, head), clean.head_output(1, head))
        assert same == (head != 4)
    assert np.all(t.head_output(1, 4) == 0)
    # head 3 shares head 4's key/value group: its pattern is untouched
    assert np.allclose(t.pattern(1, 3), clean.pattern(1, 3))
    # the attention block's output changes by exactly head 4's slice through the output projection
    o_proj = model.anatomy.attn[1].o_proj
    seen = []
    handle = o_proj.register_forward_hook(lambda m, i, o: seen.append(o[0].detach().cpu().numpy()))
    model.run(IDS)
    model.run(IDS, ablate=[(1, 4)])
    handle.remove()
    d = model.head_dim
    expected = -clean.head_output(1, 4) @ o_proj.weight.detach()[:, 4 * d:5 * d].cpu().numpy().T
    assert np.allclose(seen[1] - seen[0], expected, atol=1e-5)


def test_gemma3_sliding_window_layers_see_only_the_window():
    _, model = wrapped("gemma3")
    t = model.run(IDS)
    p = t.pattern(0, 0)
    q = np.arange(len(IDS))
    far = q[:, None] - q[None, :] >= 4
    assert np.all(p[far] == 0)
    assert np.any(t.pattern(2, 0)[far] > 0)  # the global layer sees everything


def test_mean_ablation_sets_head_to_its_reference_mean():
    _, model = wrapped("gpt2")
    model._reference_ids = lambda: [IDS * 2]
    t = model.run(IDS, ablate=[(1, 2)], how="mean")
    mean = model.head_means()[1, 2].cpu().numpy()
    assert np.allclose(t.head_output(1, 2), mean[None, :].repeat(len(IDS), 0), atol=1e-6)


def test_patch_all_heads_from_source_restores_source_exactly():
    _, model = wrapped("llama")
    other = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    src = model.run(other)
    t = model.run(IDS, patch=attnlab.Patch(src, heads="all"))
    # the first layer's attention output is patched, but the first layer's q/k come from the new prompt;
    # patching every layer's heads *and* the embedding-level residual reproduces the source run exactly
    t2 = model.run(IDS, patch=attnlab.Patch(src, heads="all", resid=[(0, p) for p in range(len(IDS))]))
    assert torch.allclose(t2.logits, src.logits, atol=1e-5)
    assert not torch.allclose(t.logits, model.run(IDS).logits, atol=1e-4)


def test_patch_resid_at_one_position():
    _, model = wrapped("llama")
    other = list(IDS)
    other[4] = 70
    src = model.run(other)
    t = model.run(IDS, patch=attnlab.Patch(src, resid=[(1, 4)]))
    assert np.allclose(t.resid(1)[4], src.resid(1)[4])
    assert np.allclose(t.resid(1)[:4], model.run(IDS).resid(1)[:4])


def test_add_vector_to_residual_stream():
    _, model = wrapped("llama")
    v = torch.randn(model.d_model, device=DEVICE)
    clean = model.run(IDS)
    t = model.run(IDS, add=attnlab.Add(v, layer=1, position=-1))
    diff = t.resid(1) - clean.resid(1)
    assert np.allclose(diff[-1], v.cpu().numpy(), atol=1e-6)
    assert np.allclose(diff[:-1], 0)
    t_final = model.run(IDS, add=attnlab.Add(v, layer=model.n_layers))
    assert not torch.allclose(t_final.logits, clean.logits)


def test_block_attention_to_first_position():
    _, model = wrapped("llama")
    t = model.run(IDS, block=attnlab.Block(key=0))
    for layer in range(model.n_layers):
        p = t.pattern(layer, 0)
        assert np.all(p[1:, 0] == 0)
        assert np.allclose(p[1:].sum(-1), 1.0, atol=1e-5)
        assert np.all(p[0] == 0)  # position 0 may read only itself, which is blocked: it reads nothing
    one = model.run(IDS, block=attnlab.Block(heads=[(1, 2)], query=5, key=[1, 2]))
    clean = model.run(IDS)
    assert np.allclose(one.pattern(0, 0), clean.pattern(0, 0))
    assert np.all(one.pattern(1, 2)[5, 1:3] == 0)
    assert np.allclose(one.pattern(1, 2)[4], clean.pattern(1, 2)[4])


def test_reuse_gives_identical_results():
    _, model = wrapped("llama")
    base = model.run(IDS, ablate=[(0, 1)])
    for ablate in ([(0, 1), (2, 0)], [(2, 5)], [], [(0, 1)]):
        fresh = model.run(IDS, ablate=ablate)
        reused = model.run(IDS, ablate=ablate, reuse=base)
        assert torch.allclose(fresh.logits, reused.logits, atol=1e-6)
        assert np.allclose(fresh.resid_norms(), reused.resid_norms(), atol=1e-5)
        assert np.allclose(fresh.pattern(2, 1), reused.pattern(2, 1), atol=1e-6)


def test_generate_returns_trace_over_prompt_and_new_tokens():
    _, model = wrapped("gpt2")
    t = model.generate(IDS[:5], max_new_tokens=4)
    assert len(t) == 9 and t.n_prompt == 5
    assert t.ids[:5] == IDS[:5]
    greedy = model.run(IDS[:5]).next_logits.argmax().item()
    assert t.ids[5] == greedy


def test_forwards_do_not_interleave_across_threads():
    import threading
    _, model = wrapped("llama")
    want = model.run(IDS, ablate=[(1, 1)]).logits
    results, errors = [], []

    def work(ablate):
        try:
            for _ in range(5):
                results.append((ablate, model.run(IDS, ablate=ablate).logits))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(a,)) for a in ([(1, 1)], [(0, 0), (2, 2)], [])]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for ablate, logits in results:
        if ablate == [(1, 1)]:
            assert torch.allclose(logits, want)


@pytest.mark.parametrize("family", ["llama", "gemma3", "gpt2"])
def test_cached_generation_equals_recomputing_every_step(family):
    _, model = wrapped(family)
    for ablate in ([], [(1, 2), (0, 0)]):
        t = model.generate(IDS[:6], max_new_tokens=5, ablate=ablate)
        run = attnlab.runner.interventions.compile_pass(model, 6, ablate=ablate, record=False)
        assert t.ids == model._generate_by_recompute(IDS[:6], 5, run, 0.0, 0)
        assert t.ablate == tuple(ablate)
    sampled = [model.generate(IDS[:6], max_new_tokens=5, temperature=1.0, seed=3).ids for _ in range(2)]
    assert sampled[0] == sampled[1]


def _plain_call(module, ids):
    with torch.no_grad():
        out = module(torch.tensor([ids], device=DEVICE))
    return (out.logits if hasattr(out, "logits") else out.last_hidden_state).cpu()


@pytest.mark.parametrize("family", FAMILIES)
def test_wrapped_model_answers_its_own_plain_call_unchanged_after_every_kind_of_run(family):
    """attnlab changes no module: after every kind of run, calling the transformers model directly gives exactly
    what it gave right after wrapping (and what the unwrapped eager model gives, up to float rounding)."""
    plain, model = wrapped(family)
    before = _plain_call(model.module, IDS)
    assert torch.allclose(before, _plain_call(plain, IDS), atol=1e-5)
    clean = model.run(IDS)
    runs = [
        lambda: model.run(IDS, ablate=[(1, 0), (2, 1)]),
        lambda: model.run(IDS, ablate=[(1, 0)], how="mean"),
        lambda: model.run(IDS, patch=attnlab.Patch(clean, heads=[(2, 1)])),
        lambda: model.run(IDS, add=attnlab.Add(torch.ones(model.d_model), layer=1)),
        lambda: model.run(IDS, block=attnlab.Block(key=0)),
        lambda: model.run(IDS, ablate=[(2, 0)], reuse=clean),
    ]
    if model.has_lm_head:
        metric = attnlab.metrics.prob(IDS[-1], position=-2)
        runs += [
            lambda: attnlab.ablation_sweep(model, IDS, metric, progress=False),
            lambda: attnlab.attribution(model, IDS, metric),
            lambda: attnlab.patch_heads(model, IDS, IDS[:-2] + [7, 8], metric, progress=False),
            lambda: model.generate(IDS[:5], max_new_tokens=3),
        ]
    for i, run in enumerate(runs):
        run()
        assert torch.equal(_plain_call(model.module, IDS), before), f"run {i} left the module changed"
        assert not any("forward" in vars(block) for block in model.anatomy.blocks)


def test_a_pass_that_starts_late_runs_no_block_below_its_start():
    """Sweeps start each ablated pass at the ablated layer: the blocks below it are not called at all."""
    _, model = wrapped("llama")
    calls = []
    handle = model.anatomy.blocks[0].register_forward_pre_hook(lambda m, a: calls.append(1))
    try:
        attnlab.ablation_sweep(model, IDS, attnlab.metrics.prob(IDS[-1], position=-2), heads=[(2, 0), (2, 1)],
                               batch=1, progress=False)
    finally:
        handle.remove()
    assert len(calls) == 1   # the reference pass only; the two ablated passes start at block 2
