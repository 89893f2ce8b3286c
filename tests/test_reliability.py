"""Models stay usable when things go wrong: interrupts, failing edits, threads, rapid toggles, huge requests."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import torch
from toys import IdTokenizer, random_llama

import attnlab
from attnlab import AttnlabError
from attnlab.runner import checks

TEXT = "P Q A B X Y S T A"
IDS = [3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43]


def tiny():
    return attnlab.load("tiny-induction")


def toy_llama():
    return attnlab.load(random_llama(layers=3, seed=0), tokenizer=IdTokenizer())


class Interrupt:
    """A forward hook on a block that raises KeyboardInterrupt on its ``at``-th call (as Ctrl-C would)."""

    def __init__(self, at: int):
        self.at, self.calls = at, 0

    def __call__(self, module, args, output):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("make", [tiny, toy_llama], ids=["recompute (tiny)", "kv cache (transformers)"])
def test_interrupted_generation_returns_what_was_written_and_leaves_the_model_usable(make, capsys):
    model = make()
    prompt = TEXT if model.family == "attnlab_tiny" else IDS[:6]   # the toy writes no end-of-text token here
    before = model.run(prompt, ablate=[(1, 0)])
    handle = model.anatomy.blocks[0].register_forward_hook(Interrupt(at=3))
    try:
        t = model.generate(prompt, max_new_tokens=20, ablate=[(0, 1)], progress=False)
    finally:
        handle.remove()
    assert t.n_prompt == len(before) and len(t) == len(before) + 2   # two steps finished, the third was stopped
    assert "interrupted after 2 new tokens" in capsys.readouterr().err
    assert model._owner.active is None
    after = model.run(prompt, ablate=[(1, 0)])
    assert torch.equal(after.logits, before.logits)
    full = model.generate(prompt, max_new_tokens=4, ablate=[(0, 1)], progress=False)
    assert full.ids[:len(t)] == t.ids                                  # the same tokens, written again


def test_interrupt_before_any_token_raises():
    model = tiny()
    handle = model.anatomy.blocks[0].register_forward_hook(Interrupt(at=1))
    try:
        with pytest.raises(KeyboardInterrupt):
            model.generate(TEXT, max_new_tokens=5, progress=False)
    finally:
        handle.remove()
    assert model.run(TEXT).top_next(1)[0][0] == "B"


def test_progress_bar_only_for_long_generation(capsys):
    model = tiny()
    model.generate("P Q", max_new_tokens=40)
    assert "generating" in capsys.readouterr().err
    model.generate("P Q", max_new_tokens=5)
    model.generate("P Q", max_new_tokens=40, progress=False)
    assert "generating" not in capsys.readouterr().err


def test_generation_may_fill_the_context_exactly():
    model = tiny()
    n = len(model.encode(TEXT))
    assert len(model.generate(TEXT, max_new_tokens=64 - n, progress=False)) == 64
    with pytest.raises(AttnlabError, match=f"at most {64 - n} new tokens"):
        model.generate(TEXT, max_new_tokens=64 - n + 1)


@pytest.mark.parametrize("site", ["z", "resid_pre"])
def test_an_edit_that_raises_leaves_the_model_clean(site):
    model = tiny()
    before = model.run(TEXT)

    def broken(x):
        raise RuntimeError("my edit has a bug")
    hooks = attnlab.Hooks().edit(site, 1, broken)
    with pytest.raises(RuntimeError, match="my edit has a bug"):
        model.forward(torch.tensor([model.encode(TEXT)]), hooks)
    assert model._owner.active is None
    after = model.run(TEXT)
    assert torch.equal(after.logits, before.logits)
    assert torch.equal(model.run(TEXT, ablate=[(0, 0)], reuse=after).logits,
                       model.run(TEXT, ablate=[(0, 0)]).logits)   # the recorded block inputs are intact


def _threads(model, prompt, settings, repeats: int):
    """Run each ablation set ``repeats`` times on its own thread; returns (ablate, logits) pairs and errors."""
    results, errors = [], []

    def work(ablate):
        try:
            for _ in range(repeats):
                results.append((tuple(ablate), model.run(prompt, ablate=ablate).logits))
        except Exception as e:  # reported by the test
            errors.append(e)
    threads = [threading.Thread(target=work, args=(a,)) for a in settings]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results, errors


def test_threads_sharing_a_model_get_their_single_threaded_results():
    model = tiny()
    settings = [[(0, 0)], [(1, 0), (1, 1)], []]
    want = {tuple(a): model.run(TEXT, ablate=a).logits for a in settings}
    results, errors = _threads(model, TEXT, settings, repeats=20)
    assert not errors and len(results) == 60
    for ablate, logits in results:
        assert torch.equal(logits, want[ablate]), ablate
    assert len({tuple(v.argmax(-1).tolist()) for v in want.values()}) > 1, "the settings must differ"


@pytest.mark.slow
def test_threads_sharing_smollm2(smol):
    prompt = "The cat sat on the mat. The cat"
    settings = [[(18, 6), (17, 3)], []]
    want = {tuple(a): smol.run(prompt, ablate=a).logits for a in settings}
    results, errors = _threads(smol, prompt, settings, repeats=3)
    assert not errors
    for ablate, logits in results:
        assert torch.equal(logits, want[ablate])


def test_rapid_ablation_toggles_end_on_the_final_set():
    model = tiny()
    lab = attnlab.AblationLab(model, text=TEXT)
    sets = [[(0, 0)], [(0, 0), (1, 1)], [(1, 0)], [], [(0, 1), (1, 0)], [(0, 0), (0, 1), (1, 0)], [(1, 1)]] * 5
    for s in sets:
        lab.ablate = s
    for layer, head in [(0, 0), (1, 1), (1, 0)]:     # [(1, 1)] -> +(0, 0) -> -(1, 1) -> +(1, 0)
        lab.toggle(layer, head)
    final = [(0, 0), (1, 0)]
    assert lab.ablate == final
    fresh = model.run(TEXT, ablate=final)
    assert lab.loss_after == pytest.approx(fresh.loss, abs=1e-6)
    assert [r["token"] for r in lab.top_after] == [tok for tok, _ in fresh.top_next(lab.top_k)]
    assert torch.equal(lab.after.next_logits, fresh.next_logits)


def test_all_patterns_refused_when_they_would_not_fit(monkeypatch):
    t = tiny().run(TEXT)
    need = 2 * 2 * len(t) ** 2 * 4
    monkeypatch.setattr(checks, "available_memory", lambda: need)     # the result would take all of it
    with pytest.raises(AttnlabError) as err:
        t.patterns()
    assert "t.pattern(layer, head)" in str(err.value) and "GiB" in str(err.value)
    monkeypatch.setattr(checks, "available_memory", lambda: 4 * need)
    assert t.patterns().shape == (2, 2, len(t), len(t))


def test_a_huge_batch_is_refused_up_front():
    with pytest.raises(AttnlabError) as err:
        attnlab.scores.induction(tiny(), batch=10**9)
    assert "smaller batch" in str(err.value) and "GiB" in str(err.value)


_TRAIN = """
import hashlib, attnlab
model, _ = attnlab.tiny.train("tiny-induction", steps=30, progress=False)
h = hashlib.sha256()
for name, p in sorted(model.module.state_dict().items()):
    h.update(name.encode()); h.update(p.detach().cpu().contiguous().numpy().tobytes())
print(h.hexdigest())
"""


@pytest.mark.slow
def test_same_seed_same_tiny_weights_across_processes():
    digests = [subprocess.run([sys.executable, "-c", _TRAIN], capture_output=True, text=True, timeout=600,
                              check=True).stdout.split()[-1] for _ in range(2)]
    assert digests[0] == digests[1] and len(digests[0]) == 64


_CENSUS = """
import hashlib, attnlab
df = attnlab.census(attnlab.load("tiny-induction"), refresh=True, progress=False)
print(len(df), hashlib.sha256(df.to_csv(float_format="%.17g").encode()).hexdigest())
"""


@pytest.mark.slow
def test_same_census_table_across_processes(tmp_path):
    """The census recomputed from scratch (refresh=True, each process with its own cache folder) is identical."""
    runs = []
    for i in range(2):
        env = {**os.environ, "ATTNLAB_HOME": str(tmp_path / f"home{i}")}
        out = subprocess.run([sys.executable, "-c", _CENSUS], capture_output=True, text=True, timeout=600,
                             check=True, env=env)
        runs.append(out.stdout.split()[-2:])
    assert runs[0] == runs[1] and runs[0][0] == "4" and len(runs[0][1]) == 64
