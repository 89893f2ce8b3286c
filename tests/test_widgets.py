"""The widget classes without a browser: construction, validation, binary state, browser messages, export.

Fast tests run on small randomly initialised models (a Llama decoder and a BERT encoder) through
``attnlab.load(module, tokenizer=...)``. Browser edits are simulated with the exact comm message ipywidgets
delivers (``w._handle_msg``). Tests marked ``slow`` use the real embedded and tiny models.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from ipywidgets.widgets.widget import _remove_buffers
from toys import IdTokenizer, random_llama
from transformers import BertConfig, BertModel

import attnlab
from attnlab import AblationLab, AttentionView, AttnlabError, HeadGrid, SinkView, charts
from attnlab.views.ablation_lab import start_layer
from attnlab.views.worker import Worker

REPO = Path(__file__).resolve().parent.parent
TEXT = "5 17 3 88 42 17 3 88 9 60 61 2"
VIEWS = [AttentionView, HeadGrid, AblationLab, SinkView]



@pytest.fixture(scope="module")
def llama():
    torch.manual_seed(0)
    return attnlab.load(random_llama(max_positions=600), tokenizer=IdTokenizer())


@pytest.fixture(scope="module")
def bert():
    torch.manual_seed(0)
    module = BertModel(BertConfig(vocab_size=97, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=96, max_position_embeddings=64))
    return attnlab.load(module, tokenizer=IdTokenizer())


def browser_update(widget, state: dict):
    """Deliver what the browser sends after model.set(...); model.save_changes()."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}},
                        "buffers": []})


def sent_messages(widget) -> list[tuple[dict, list]]:
    """Record every message the widget sends from now on (data, buffers)."""
    log = []
    original = widget.comm.send
    widget.comm.send = lambda data=None, metadata=None, buffers=None: (log.append((data, list(buffers or []))),
                                                                      original(data, metadata, buffers))
    return log


# -- construction and validation ------------------------------------------------------------------
@pytest.mark.parametrize("cls", VIEWS)
def test_every_view_builds_with_data(llama, cls):
    w = cls(llama, text=TEXT)
    assert w.tokens == llama.tokenize(TEXT)
    assert (w.n_layers, w.n_heads, w.model_name) == (3, 6, llama.name)
    assert w.done == {} and w.error == ""
    assert "export" in w._esm and w._css.strip()


def test_views_take_a_trace_without_rerunning(llama, monkeypatch):
    trace = llama.run(TEXT)
    monkeypatch.setattr(llama, "run", lambda *a, **k: pytest.fail("the trace should be reused"))
    v = AttentionView(trace, layer=2, head=5)
    assert v.trace is trace and v.tokens == trace.tokens
    np.testing.assert_array_equal(v.pattern, trace.pattern(2, 5))
    with pytest.raises(AttnlabError, match="either a trace or text="):
        AttentionView(trace, text="1 2 3")


def test_unknown_argument_is_rejected_with_a_hint(llama):
    with pytest.raises(AttnlabError, match="unknown argument 'heads'. Did you mean 'head'"):
        AttentionView(llama, text=TEXT, heads=2)
    with pytest.raises(AttnlabError, match="It accepts: layer, head"):
        HeadGrid(llama, text=TEXT, pattern=np.eye(3))          # computed traits are not arguments
    with pytest.raises(AttnlabError, match="takes a model from attnlab.load"):
        AttentionView("smollm2")


def test_wrong_head_or_layer_gives_a_clear_error(llama):
    with pytest.raises(AttnlabError, match="head 6 is out of range: .* has heads 0..5"):
        AttentionView(llama, text=TEXT, head=6)
    v = AttentionView(llama, text=TEXT, layer=1, head=2)
    with pytest.raises(AttnlabError, match="layer 3 is out of range"):
        v.layer = 3
    with pytest.raises(AttnlabError, match="head must be an int"):
        v.head = "2"
    with pytest.raises(AttnlabError, match="head 9 is out of range"):
        v.show(0, 9)
    assert (v.layer, v.head) == (1, 2)
    np.testing.assert_array_equal(v.pattern, v.trace.pattern(1, 2))


def test_choices_scores_and_text_are_validated(llama):
    with pytest.raises(AttnlabError, match="mode must be one of 'heatmap', 'lines'"):
        AttentionView(llama, text=TEXT, mode="pie")
    with pytest.raises(AttnlabError, match="looks transposed"):
        HeadGrid(llama, text=TEXT, scores=np.zeros((6, 3)))
    with pytest.raises(AttnlabError, match="NaN"):
        HeadGrid(llama, text=TEXT, scores=np.full((3, 6), np.nan))
    with pytest.raises(AttnlabError, match="order='score' needs scores"):
        HeadGrid(llama, text=TEXT, order="score")
    with pytest.raises(AttnlabError, match="how must be one of"):
        AblationLab(llama, text=TEXT, how="half")
    with pytest.raises(AttnlabError, match="ablate= takes"):
        AblationLab(llama, text=TEXT, ablate=[(1,)])
    with pytest.raises(AttnlabError, match="top_k must be an int from 1 to 20"):
        AblationLab(llama, text=TEXT, top_k=0)
    v = AttentionView(llama, text=TEXT)
    with pytest.raises(AttnlabError, match="text is empty"):
        v.text = "   "
    assert v.text == TEXT


def test_scores_accept_torch_and_sort(llama):
    g = HeadGrid(llama, TEXT, torch.arange(18.0).reshape(3, 6), score_name="induction", order="score")
    assert g.scores.dtype == np.float32 and g.scores[2, 5] == 17
    g.scores = None
    assert g.scores.shape == (0, 0)


# -- what travels to the browser --------------------------------------------------------------------
def test_arrays_travel_as_compact_buffers(llama):
    text = " ".join(str(i % 90 + 1) for i in range(64))
    lab = AblationLab(llama, text=text, scores=np.ones((3, 6)))
    sinks = SinkView(llama, text=text)
    per_element = {"pattern": 65 / 64, "thumbs": 1, "scores": 2, "token_loss_before": 2, "token_loss_after": 2,
                   "mass": 2, "norms": 4}                   # a causal pattern sends its lower triangle only
    for w in (lab, sinks):
        state, paths, buffers = _remove_buffers(w.get_state())
        for path, buf in zip(paths, buffers, strict=True):
            name = path[0]
            assert isinstance(buf, memoryview)
            assert buf.nbytes == getattr(w, name).size * per_element[name], name
        # no numeric array goes as a JSON list
        for name, value in state.items():
            assert not (isinstance(value, list) and len(value) > 8 and isinstance(value[0], (int, float))), name
    assert {p[0] for p in _remove_buffers(lab.get_state())[1]} >= {"pattern", "thumbs", "token_loss_after"}


def test_a_head_change_sends_the_pattern_once_and_hover_sends_nothing(llama):
    text = " ".join(str(i % 90 + 1) for i in range(64))
    v = AttentionView(llama, text=text)
    log = sent_messages(v)
    browser_update(v, {"layer": 2, "head": 3, "request": {"pattern": "js-1"}})
    assert v.wait(30)
    patterns = [b for data, bufs in log for b in bufs]
    updates = [data for data, _ in log if data["method"] == "update"]        # (besides ipywidgets' echo)
    assert len(updates) == 1 and len(patterns) == 1                           # one message for layer + head
    assert memoryview(patterns[0]).nbytes == 64 * 65                          # lower triangle, float16
    assert v.done["pattern"] == "js-1"
    np.testing.assert_allclose(v.pattern, v.trace.pattern(2, 3))
    # hover state never reaches Python: no trait exists for it
    assert not [n for n in v.keys if "hover" in n or "pin" in n]


# -- browser messages: background compute, request ids, latest wins ------------------------------------
def test_browser_text_and_error_show_in_the_view(llama):
    v = AttentionView(llama, text=TEXT)
    browser_update(v, {"text": "1 2 3", "request": {"trace": "js-1"}})
    assert v.wait(30)
    assert v.tokens == llama.tokenize("1 2 3") and v.pattern.shape == (3, 3) and v.done["trace"] == "js-1"
    browser_update(v, {"text": "  ", "request": {"trace": "js-2"}})     # typed in the browser: shown, not raised
    assert v.wait(30)
    assert "empty" in v.error and v.done["trace"] == "js-2"
    browser_update(v, {"text": "4 5", "request": {"trace": "js-3"}})
    assert v.wait(30)
    assert v.error == "" and v.tokens == llama.tokenize("4 5")


def test_rapid_toggles_never_publish_a_stale_result(llama, monkeypatch):
    lab = AblationLab(llama, text=TEXT)
    published = []
    lab.observe(lambda c: published.append((c["new"].get("predict"), list(lab.ablate), lab.loss_after)),
                names="done")
    run = llama.run
    started = threading.Event()

    def slow_run(*args, **kwargs):
        started.set()
        time.sleep(0.3)
        return run(*args, **kwargs)

    monkeypatch.setattr(llama, "run", slow_run)
    browser_update(lab, {"ablate": [[2, 0]], "request": {"predict": "js-1"}})
    assert started.wait(5)                                          # js-1 is being computed...
    t = time.perf_counter()
    browser_update(lab, {"ablate": [[2, 0], [1, 4]], "request": {"predict": "js-2"}})
    assert time.perf_counter() - t < 0.2                            # ...and the kernel still answers at once
    browser_update(lab, {"ablate": [[2, 0], [1, 4], [0, 1]], "request": {"predict": "js-3"}})
    assert lab.wait(30)
    monkeypatch.setattr(llama, "run", run)
    assert [p[0] for p in published] == ["js-3"]                    # js-1 dropped, js-2 never ran
    assert lab.ablate == [(0, 1), (1, 4), (2, 0)]
    assert lab.loss_after == pytest.approx(llama.run(TEXT, ablate=lab.ablate).loss, abs=1e-5)


def test_python_changes_apply_at_once(llama):
    lab = AblationLab(llama, text=TEXT)
    lab.ablate = [(1, 2), (2, 5)]
    direct = llama.run(TEXT, ablate=[(1, 2), (2, 5)])
    assert lab.loss_after == pytest.approx(direct.loss, abs=1e-5)
    np.testing.assert_allclose(lab.token_loss_after, direct.token_losses.astype(np.float32), atol=1e-5)
    assert [r["token"] for r in lab.top_after] == [tok for tok, _ in direct.top_next(5)]
    assert lab.code.endswith('model.run(text, ablate=[(1, 2), (2, 5)], how="zero")')
    assert lab.after.ablate == ((1, 2), (2, 5))
    lab.how = "mean"
    assert lab.loss_after == pytest.approx(llama.run(TEXT, ablate=[(1, 2), (2, 5)], how="mean").loss, abs=1e-5)
    lab.top_k = 3
    assert len(lab.top_before) == len(lab.top_after) == 3
    lab.reset()
    assert lab.loss_after == lab.loss_before and lab.code.endswith("ablate=[], how=\"mean\")")


def test_a_toggle_recomputes_from_the_first_changed_layer(llama, monkeypatch):
    lab = AblationLab(llama, text=TEXT)
    lab.ablate = [(0, 1)]
    calls = []
    run = llama.run
    monkeypatch.setattr(llama, "run", lambda *a, **k: calls.append(k) or run(*a, **k))
    lab.toggle(2, 3)                                       # the previous trace already has (0, 1): start at 2
    assert start_layer(calls[-1]["reuse"], calls[-1]["ablate"], "zero") == 2
    lab.toggle(2, 3)                                       # back to [(0, 1)]: that trace is reused as is
    assert len(calls) == 1 and lab.after.ablate == ((0, 1),)
    lab.reset()                                            # no ablation: the clean trace, no run
    assert lab.after is lab.trace


def test_headgrid_toggles_from_python_and_browser(llama):
    g = HeadGrid(llama, text=TEXT)
    g.toggle(1, 2)
    assert g.ablate == [(1, 2)]
    browser_update(g, {"ablate": [[1, 2], [0, 5]]})
    assert g.ablate == [(0, 5), (1, 2)]
    g.toggle(1, 2)
    assert g.ablate == [(0, 5)]
    browser_update(g, {"layer": 2, "head": 4, "request": {"pattern": "js-9"}})
    assert g.wait(30) and g.done["pattern"] == "js-9"
    np.testing.assert_allclose(g.pattern, g.trace.pattern(2, 4))
    assert g.thumbs.shape == (3, 6, 12, 12) and 0 <= g.thumbs.min() and g.thumbs.max() <= 1


def test_thumbnails_are_max_pooled_at_long_prompts(llama):
    text = " ".join(str(i % 90 + 1) for i in range(100))
    g = HeadGrid(llama, text=text)
    assert g.thumbs.shape == (3, 6, 25, 25)                 # 100 tokens in blocks of 4
    np.testing.assert_allclose(g.thumbs[1, 2, 0, 0], g.trace.pattern(1, 2)[:4, :4].max())


def test_sink_view_mass_and_norms(llama):
    s = SinkView(llama, text=TEXT)
    np.testing.assert_allclose(s.mass.sum(-1), 1.0, atol=1e-4)        # each head's attention, shared out
    assert s.norms.shape == (4, 12) and 0 <= s.norm_layer <= 3
    s.rows = "layers"
    with pytest.raises(AttnlabError, match="rows must be one of"):
        s.rows = "tokens"
    with pytest.raises(AttnlabError, match="layer 4 is out of range"):
        s.norm_layer = 4


def test_encoder_views_and_a_clear_note_in_the_lab(bert):
    text = "5 17 3 88 42"
    v = AttentionView(bert, text=text, layer=1, head=3)
    assert not v.is_causal and v.pattern.shape == (5, 5)
    state, paths, buffers = _remove_buffers(v.get_state())
    assert buffers[paths.index(["pattern"])].nbytes == 5 * 5 * 2          # bidirectional: the whole square
    lab = AblationLab(bert, text=text)
    assert "encoder" in lab.note and lab.top_before == [] and not lab.has_lm_head
    lab.ablate = [(0, 1)]                                    # still allowed; nothing to predict
    assert "ablate=[(0, 1)]" in lab.code
    assert SinkView(bert, text=text).mass.shape == (2, 4, 5)


# -- export ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", VIEWS)
def test_save_png_and_svg_without_a_browser(llama, cls, tmp_path, no_network):
    w = cls(llama, text=TEXT)
    png = w.save(tmp_path / "view.png")
    svg = w.save(tmp_path / "view.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.read_text().lstrip().startswith("<svg")
    assert no_network == []
    with pytest.raises(AttnlabError, match=".png or .svg"):
        w.save(tmp_path / "view.jpg")


def test_lines_mode_exports_lines(llama, tmp_path):
    v = AttentionView(llama, text=TEXT, mode="lines")
    spec = v.chart().to_dict()
    assert spec["layer"][0]["mark"]["type"] == "rule"
    v.save(tmp_path / "lines.svg")


def test_chart_helpers(tmp_path):
    charts.use_offline_charts("svg")
    charts.use_offline_charts("jupyter")
    with pytest.raises(AttnlabError, match="renderer must be"):
        charts.use_offline_charts("default")
    scores = np.random.default_rng(0).random((4, 3))
    made = [charts.loss_curve({"train": [3, 2, 1.5], "val": [3.1, 2.5, 2.2]}),
            charts.score_distribution(scores, name="induction"),
            charts.head_scores(scores, name="loss", baseline=0.5),
            charts.token_losses(["a", "b", "c"], [1.0, 2.0], [1.5, 2.5]),
            charts.top_tokens([("x", 0.5), ("y", 0.2)], [("y", 0.4), ("x", 0.3)]),
            charts.attention_heatmap(np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None], ["a", "b", "c"])]
    for i, chart in enumerate(made):
        assert charts.save_chart(chart, tmp_path / f"c{i}.svg").stat().st_size > 500


def test_default_text_for_a_model_with_its_own_symbols():
    from types import SimpleNamespace

    from attnlab.views.source import repeated_symbols

    tiny = SimpleNamespace(tokenizer=SimpleNamespace(vocab=["<bos>", "A", "B", "C"]))
    assert repeated_symbols(tiny) == "A B C A B C"
    assert repeated_symbols(SimpleNamespace(tokenizer=IdTokenizer())) is None


# -- machinery --------------------------------------------------------------------------------------
def test_worker_runs_only_the_latest_queued_job():
    w = Worker()
    gate, seen = threading.Event(), []
    w.submit("a", lambda: (gate.wait(5), seen.append(1)))
    time.sleep(0.05)
    w.submit("a", lambda: seen.append(2))
    w.submit("a", lambda: seen.append(3))
    w.submit("b", lambda: seen.append("b"))
    gate.set()
    assert w.wait(5)
    assert seen == [1, 3, "b"]


def test_static_bundles_match_the_sources(tmp_path):
    """The committed attnlab/static/ files are what js/build.mjs makes from js/src (rebuild if not).

    Skipped where node or js/node_modules is missing, except in CI (CI=true), where it must run:
    scripts/test installs node and runs ``npm ci`` first.
    """
    node = shutil.which("node")
    if node is None or not (REPO / "js" / "node_modules" / ".bin" / "esbuild").exists():
        if os.environ.get("CI"):
            pytest.fail("CI must check the bundles: node or js/node_modules is missing "
                        "(scripts/test sets both up)")
        pytest.skip("node or esbuild is not installed (run js/build.sh once)")
    subprocess.run([node, "js/build.mjs", "--outdir", str(tmp_path)], cwd=REPO, check=True)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in (REPO / "attnlab" / "static").iterdir())
    for name in built:
        assert (tmp_path / name).read_bytes() == (REPO / "attnlab" / "static" / name).read_bytes(), name


# -- real models ----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["smollm2", "minilm", "tiny-induction"])
def test_every_view_on_real_models(name, tmp_path):
    model = attnlab.load(name)
    text = getattr(model, "example_text", None) or "The cat sat on the mat. The cat sat on the"
    for cls in VIEWS:
        w = cls(model, text=text) if name != "tiny-induction" else cls(model)
        assert w.tokens and w.error == ""
        w.save(tmp_path / f"{cls.__name__}.png")
    lab = AblationLab(model) if name == "tiny-induction" else AblationLab(model, text=text)
    lab.toggle(model.n_layers - 1, 0)
    assert bool(lab.note) == (not model.has_lm_head)
    if model.has_lm_head:
        assert lab.loss_after != lab.loss_before


@pytest.mark.slow
def test_512_tokens_on_smollm2():
    model = attnlab.load("smollm2")
    ids = (model.encode((REPO / "attnlab" / "data" / "reference.txt").read_text()) * 2)[:512]
    trace = model.run(ids)
    v = AttentionView(trace, layer=18, head=6)
    state, paths, buffers = _remove_buffers(v.get_state())
    assert len(v.tokens) == 512 and buffers[paths.index(["pattern"])].nbytes == 512 * 513
    g = HeadGrid(trace)
    assert g.thumbs.shape == (30, 9, 32, 32)
    json.dumps(state)                                            # the rest is plain JSON
