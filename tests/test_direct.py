"""Direct effects (direct logit attribution) of heads: they add up, and match the model's own logits."""
import numpy as np
import pytest
from toys import IdTokenizer, random_llama

import attnlab
from attnlab import AttnlabError

PROMPT = "5 17 3 88 17 3 42 9 5 17"


@pytest.fixture(scope="module")
def toy():
    return attnlab.load(random_llama(seed=3), tokenizer=IdTokenizer())


def attention_outputs(model, text):
    """What each layer's attention adds to the residual stream, at the last position, from o_proj's output."""
    outs, hooks = {}, []

    def keep(module, args, output, layer):
        outs[layer] = output[0, -1].detach().clone()      # returns None: the output is left as it is

    for layer, attn in enumerate(model.anatomy.attn):
        hooks.append(attn.o_proj.register_forward_hook(lambda m, i, o, layer=layer: keep(m, i, o, layer)))
    try:
        model.run(text)
    finally:
        for h in hooks:
            h.remove()
    return outs


def test_heads_of_a_layer_add_up_to_its_attention_output(toy):
    t = toy.run(PROMPT)
    e = attnlab.direct_effects(t, "17", "3")
    from attnlab.heads.direct import _readout
    r = _readout(toy, t, "17", "3", -1).numpy()
    for layer, out in attention_outputs(toy, PROMPT).items():
        assert np.isclose(np.asarray(e)[layer].sum(), out.detach().float().numpy() @ r, atol=1e-5)


def test_total_is_the_models_logit_difference(toy):
    t = toy.run(PROMPT)
    e = attnlab.direct_effects(t, "17", "3")
    logits = t.next_logits.float()
    assert e.clean == pytest.approx(float(logits[17] - logits[3]), abs=1e-3)
    single = attnlab.direct_effects(t, "17")
    assert single.clean == pytest.approx(float(logits[17]), abs=1e-3)
    assert e.shape == (toy.n_layers, toy.n_heads) and "logit('17')" in e.what


def test_layer_norm_models_tiny():
    model = attnlab.load("tiny-induction")                  # LayerNorm, attention only: heads are everything
    t = model.run("P Q A B X Y S T A")
    e = attnlab.direct_effects(t, "B", "P")
    from attnlab.heads.direct import _readout
    r = _readout(model, t, "B", "P", -1).numpy()
    embed = t.resid(0)[-1] @ r
    biases = sum(float(model.anatomy.attn[l].o_proj.bias.detach().numpy() @ r) for l in range(model.n_layers))
    assert np.asarray(e).sum() + embed + biases == pytest.approx(e.clean, abs=1e-4)


def test_bad_input(toy):
    t = toy.run(PROMPT)
    with pytest.raises(AttnlabError, match="position"):
        attnlab.direct_effects(t, "17", position=99)
    with pytest.raises(AttnlabError, match="outside the vocabulary"):
        attnlab.direct_effects(t, 500)
    with pytest.raises(AttnlabError, match="record=True"):
        attnlab.direct_effects(toy.run(PROMPT, record=False), "17")


@pytest.mark.slow
def test_ioi_name_mover_direction_on_smollm2():
    model = attnlab.load("smollm2")
    t = model.run("When Mary and John went to the store, John gave a drink to")
    e = attnlab.direct_effects(t, " Mary", " John")
    logits = t.next_logits.float()
    ids = model.encode(" Mary")[-1], model.encode(" John")[-1]
    assert e.clean == pytest.approx(float(logits[ids[0]] - logits[ids[1]]), abs=2e-2)
    top = e.top(5, absolute=False)
    assert top[0][1] > 1.0           # some head pushes " Mary" over " John" directly by more than a logit
