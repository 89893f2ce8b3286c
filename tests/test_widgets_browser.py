"""The views in a real browser: JupyterLab 4 and Voila on 127.0.0.1, headless Debian Chromium, real SmolLM2.

Each test opens a generated notebook, runs the cell that builds a view, and then checks what a learner
would: the canvas is drawn, hovering reads the weight Python computed, clicking opens or ablates a head,
and the kernel sees what the browser did (observers write JSON files, since prints from comm callbacks
never reach the page). Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_support import (
    ARTIFACTS,
    CHROME_ARGS,
    CHROMIUM,
    Server,
    canvas_ink,
    kernel_state,
    open_notebook,
    run_cell,
    watch_requests,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT = "The cat sat on the mat. The dog sat on the rug. The cat sat on the"

SETUP = f'''
import json, pathlib
import attnlab
from attnlab import AblationLab, AttentionView, HeadGrid, SinkView
model = attnlab.load("smollm2")
TEXT = {TEXT!r}
def dump(name, value):
    pathlib.Path(f"{{name}}.json").write_text(json.dumps(value))
'''

ATTENTION = '''
view = AttentionView(model, text=TEXT, layer=18, head=6)
view.observe(lambda c: dump("view", {"text": view.text, "tokens": view.tokens,
                                      "done": view.done, "request": view.request}), names=["done"])
view
'''

GRID = '''
sink = view.trace.patterns()[:, :, 1:, 0].mean(-1)      # a census-like score: attention to the first token
grid = HeadGrid(model, text=TEXT, scores=sink, score_name="sink")
grid.observe(lambda c: dump("grid", {"open": [grid.layer, grid.head], "ablate": grid.ablate,
                                     "done": grid.done, "request": grid.request}), names=["done", "ablate"])
grid
'''

LAB = '''
lab = AblationLab(model, text=TEXT)
published = []
def on_lab(change):
    published.append(lab.done.get("predict"))
    dump("lab", {"ablate": lab.ablate, "after": [r["token"] for r in lab.top_after],
                 "loss_after": lab.loss_after, "done": lab.done, "request": lab.request, "published": published})
lab.observe(on_lab, names=["done"])
lab
'''

SINK = '''
sinks = SinkView(model, text=TEXT)
sinks
'''

LONG = '''
long_ids = (model.encode((pathlib.Path(attnlab.__file__).parent / "data" / "reference.txt").read_text()) * 3)[:512]
long_view = AttentionView(model.run(long_ids), layer=18, head=6)
long_view
'''

ENCODER = '''
encoder_lab = AblationLab(attnlab.load("minilm"), text="The cat sat on the mat.")
encoder_lab
'''


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need Debian Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def nbdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("notebooks")
    write_notebook(d / "views.ipynb", [SETUP, ATTENTION, GRID, LAB, SINK, LONG, ENCODER])
    write_notebook(d / "voila.ipynb", [SETUP, LAB])
    return d


@pytest.fixture(scope="session")
def lab_server(nbdir, browser):
    with Server("lab", nbdir) as srv:
        yield srv


@pytest.fixture(scope="session")
def python_trace():
    """The same run in the test process, to check the numbers the browser shows."""
    import attnlab
    return attnlab.load("smollm2").run(TEXT)


@pytest.fixture(scope="module")
def page(browser, lab_server):
    """One JupyterLab page with the notebook open; the tests of this module run its cells in order."""
    ARTIFACTS.mkdir(exist_ok=True)
    pg = browser.new_page(viewport={"width": 1400, "height": 2000})
    pg.outside = watch_requests(pg)
    open_notebook(pg, lab_server, "views.ipynb", "widgets")
    run_cell(pg, 0)
    yield pg
    pg.close()


def shot(locator, name: str):
    locator.evaluate("el => el.scrollIntoView({block: 'start'})")
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_attention_view_renders_and_hover_reads_python_weight(page, python_trace, nbdir):
    cell = run_cell(page, 1)
    heat = cell.locator("canvas.attnlab-heatmap")
    heat.wait_for(state="visible", timeout=60_000)
    assert canvas_ink(heat) > 50
    assert canvas_ink(cell.locator("canvas.attnlab-qlabels")) > 50      # token labels were drawn

    expected = python_trace.pattern(18, 6)
    box = heat.bounding_box()
    n = len(python_trace.tokens)
    cell_px = box["width"] / n
    readout = cell.locator(".attnlab-readout").first
    for q, k in [(n - 1, int(expected[n - 1].argmax())), (7, 0), (12, 5)]:
        heat.hover(position={"x": (k + 0.5) * cell_px, "y": (q + 0.5) * cell_px})
        page.wait_for_function("([el, q, k]) => el.dataset.q == q && el.dataset.k == k",
                               arg=[readout.element_handle(), q, k], timeout=5_000)
        shown = float(readout.get_attribute("data-weight"))
        assert shown == pytest.approx(float(expected[q, k]), abs=1e-3), (q, k)
        assert f"{expected[q, k]:.3f}" in readout.inner_text()
    shot(cell.locator(".attnlab-attention-view"), "attention-view-hover")

    cell.locator("select.attnlab-mode").select_option("lines")
    lines = cell.locator("canvas.attnlab-lines")
    lines.wait_for(state="visible")
    assert canvas_ink(lines) > 50
    lines.hover(position={"x": 40, "y": 4 + 9 * 18 + 9})            # query token 9 on the left
    assert "attends most to" in readout.inner_text()
    shot(cell.locator(".attnlab-attention-view"), "attention-view-lines")
    cell.locator("select.attnlab-mode").select_option("heatmap")

    # type a sentence: Python reruns the model, the view redraws with the new tokens
    box = cell.locator("textarea.attnlab-text")
    box.fill("Alice and Bob went to the market")
    box.press("Enter")
    seen = kernel_state(nbdir, "view", predicate=lambda v: v["text"].startswith("Alice")
                        and v["done"].get("trace") == v["request"].get("trace"))
    page.wait_for_function("([el, n]) => el.querySelectorAll('.attnlab-tok').length === n",
                           arg=[cell.locator(".attnlab-strip").element_handle(), len(seen["tokens"])])
    assert len(seen["tokens"]) < n
    assert page.outside == []


def test_head_grid_click_opens_head(page, nbdir):
    cell = run_cell(page, 2)
    grid = cell.locator("canvas.attnlab-grid")
    grid.wait_for(state="visible", timeout=60_000)
    assert canvas_ink(grid) > 2000
    center = grid.evaluate("c => c.attnlabCenter(17, 3)")
    grid.click(position=center)
    seen = kernel_state(nbdir, "grid", predicate=lambda v: v["open"] == [17, 3]
                        and v["done"].get("pattern") == v["request"].get("pattern"))
    assert seen["ablate"] == []
    detail = cell.locator(".attnlab-detail")
    assert detail.locator("select.attnlab-layer").input_value() == "17"
    assert detail.locator("select.attnlab-head").input_value() == "3"
    page.wait_for_function("el => !el.classList.contains('attnlab-stale')",
                           arg=detail.locator(".attnlab-area").element_handle())
    assert canvas_ink(detail.locator("canvas.attnlab-heatmap")) > 50
    # the second gesture: shift-click toggles the head's ablation instead of opening it
    grid.click(position=grid.evaluate("c => c.attnlabCenter(16, 0)"), modifiers=["Shift"])
    seen = kernel_state(nbdir, "grid", predicate=lambda v: v["ablate"] == [[16, 0]])
    assert seen["open"] == [17, 3]
    assert "L16H0" in cell.locator(".attnlab-ablated").inner_text()
    shot(cell.locator(".attnlab-head-grid"), "head-grid")
    cell.locator("select.attnlab-order").select_option("score")        # sorted by the score, no kernel round trip
    page.wait_for_function("c => c.attnlabCenter(0, 0).y > 100", arg=grid.element_handle())
    assert canvas_ink(grid) > 2000
    shot(cell.locator(".attnlab-gridwrap"), "head-grid-sorted")


def test_ablation_lab_toggles_change_prediction(page, nbdir):
    cell = run_cell(page, 3)
    results = cell.locator(".attnlab-results")
    results.wait_for(state="visible", timeout=60_000)
    table = cell.locator("table.attnlab-predictions")
    before_text = table.inner_text()
    grid = cell.locator("canvas.attnlab-grid")
    # three quick toggles: the previous-token head and two induction heads
    for layer, head in [(16, 0), (18, 6), (17, 3)]:
        grid.click(position=grid.evaluate(f"c => c.attnlabCenter({layer}, {head})"))
    want = [[16, 0], [17, 3], [18, 6]]
    seen = kernel_state(nbdir, "lab", predicate=lambda v: v["ablate"] == want
                        and v["done"].get("predict") == v["request"].get("predict"))
    page.wait_for_function("el => el.dataset.stale === 'false'", arg=results.element_handle(), timeout=60_000)
    after_text = table.inner_text()
    assert after_text != before_text
    shown_after = [t.strip().strip('"').strip() for t in cell.locator("td.attnlab-tok-after").all_inner_texts()]
    assert shown_after == [t.strip() for t in seen["after"]]          # the view shows the newest result
    assert seen["published"][-1] == seen["request"]["predict"]        # and the last publish was the newest
    assert "ablate=[(16, 0), (17, 3), (18, 6)]" in cell.locator("textarea.attnlab-code").input_value()
    assert f"{seen['loss_after']:.3f}" in cell.locator(".attnlab-loss-after").inner_text()
    shot(cell.locator(".attnlab-ablation-lab"), "ablation-lab")

    cell.locator("button.attnlab-reset").click()
    kernel_state(nbdir, "lab", predicate=lambda v: v["ablate"] == []
                 and v["done"]["predict"] == v["request"]["predict"])
    page.wait_for_function("([el, t]) => el.dataset.stale === 'false' && el.innerText.includes(t)",
                           arg=[results.element_handle(), before_text.splitlines()[-1].split("\t")[1]])


def test_sink_view_renders(page):
    cell = run_cell(page, 4)
    mass = cell.locator("canvas.attnlab-cells").first
    mass.wait_for(state="visible", timeout=60_000)
    assert canvas_ink(mass) > 100
    box = mass.bounding_box()
    mass.hover(position={"x": 2, "y": box["height"] * 0.8})          # a late-layer head, first key
    text = cell.locator(".attnlab-readout").first.inner_text()
    assert 'key 0 "The"' in text
    shot(cell.locator(".attnlab-sink-view"), "sink-view")
    assert page.outside == []


def test_512_tokens_render_zoom_and_hover(page):
    import attnlab

    cell = run_cell(page, 5)
    heat = cell.locator("canvas.attnlab-heatmap")
    heat.wait_for(state="visible", timeout=120_000)
    assert heat.bounding_box()["width"] == pytest.approx(512, abs=1)     # one pixel per cell to start
    assert canvas_ink(heat) > 500
    for _ in range(2):
        cell.locator("button.attnlab-zoom-in").click()
    heat.wait_for(state="visible")
    assert cell.locator("canvas.attnlab-heatmap").bounding_box()["width"] == pytest.approx(2048, abs=1)
    model = attnlab.load("smollm2")
    ids = (model.encode((Path(attnlab.__file__).parent / "data" / "reference.txt").read_text()) * 3)[:512]
    expected = model.run(ids).pattern(18, 6)
    q, k = 40, 3
    cell.locator("canvas.attnlab-heatmap").hover(position={"x": k * 4 + 2, "y": q * 4 + 2})
    readout = cell.locator(".attnlab-readout").first
    page.wait_for_function("([el, q, k]) => el.dataset.q == q && el.dataset.k == k",
                           arg=[readout.element_handle(), q, k], timeout=5_000)
    assert float(readout.get_attribute("data-weight")) == pytest.approx(float(expected[q, k]), abs=1e-3)
    shot(cell.locator(".attnlab-attention-view"), "attention-view-512-zoomed")


def test_encoder_lab_shows_a_note(page):
    cell = run_cell(page, 6)
    note = cell.locator(".attnlab-note")
    note.wait_for(state="visible", timeout=120_000)
    assert "encoder" in note.inner_text() and "no prediction" in note.inner_text()
    assert not cell.locator(".attnlab-results").is_visible()
    assert canvas_ink(cell.locator("canvas.attnlab-grid")) > 1000
    shot(cell.locator(".attnlab-ablation-lab"), "ablation-lab-encoder")
    assert page.outside == []


def test_voila_serves_the_lab(browser, nbdir):
    ARTIFACTS.mkdir(exist_ok=True)
    with Server("voila", nbdir, notebook="voila.ipynb") as srv:
        pg = browser.new_page(viewport={"width": 1400, "height": 2000})
        outside = watch_requests(pg)
        pg.goto(srv.url(""))
        grid = pg.locator("canvas.attnlab-grid")
        grid.wait_for(state="visible", timeout=180_000)
        assert canvas_ink(grid) > 2000
        grid.click(position=grid.evaluate("c => c.attnlabCenter(18, 6)"))
        seen = kernel_state(nbdir, "lab", predicate=lambda v: v["ablate"] == [[18, 6]]
                            and v["done"].get("predict") == v["request"].get("predict"))
        results = pg.locator(".attnlab-results")
        pg.wait_for_function("el => el.dataset.stale === 'false'", arg=results.element_handle(), timeout=60_000)
        assert f"{seen['loss_after']:.3f}" in pg.locator(".attnlab-loss-after").inner_text()
        pg.screenshot(path=str(ARTIFACTS / "voila-ablation-lab.png"), full_page=True)
        pg.close()
    # voila's own template asks a CDN for font-awesome icons; our views ask for nothing
    assert [u for u in outside if "font-awesome" not in u and "fontawesome" not in u] == []
