"""Widget benchmarks on SmolLM2, measured in one run (prints numbers and ratios; not a test).

1. Toggle latency: from a browser toggle message reaching the AblationLab to the updated prediction being
   sent back, at 64 tokens, against a full forward (``model.run``) timed in the same run, interleaved and
   on the same (widget worker) thread. Target: median <= 0.6x a full forward.
2. Bytes sent per head change at 512 tokens (target: <= 2 bytes per pattern element).
3. Time until a HeadGrid of all 270 heads at 64 tokens has rendered in headless Chromium (JupyterLab),
   and the browser-side redraw of the 270 thumbnails alone.

    .venv/bin/python benchmarks/widgets_bench.py [--rounds 15] [--no-browser]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import attnlab  # noqa: E402
from attnlab import AblationLab, AttentionView  # noqa: E402

PROSE = ("Every morning the baker opens the small shop on the corner before the sun is up. She lights the ovens, "
         "mixes the dough and shapes the loaves while the street is still quiet. By seven the first customers "
         "arrive: a nurse going home after the night shift, two students, and an old man who buys the same "
         "rye bread every day and tells her about his garden. The baker likes")


def tokens_of(model, n: int) -> list[int]:
    ids = model.encode(PROSE)
    while len(ids) < n:
        ids = ids + ids
    return ids[:n]


def browser_update(widget, state: dict):
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}},
                        "buffers": []})


def watch_sends(widget):
    """Every message the widget sends: (time, data, buffers)."""
    log, cv = [], threading.Condition()
    original = widget.comm.send

    def send(data=None, metadata=None, buffers=None):
        with cv:
            log.append((time.perf_counter(), data, list(buffers or [])))
            cv.notify_all()
        return original(data, metadata, buffers)

    widget.comm.send = send
    return log, cv


def toggle_latency(model, rounds: int, rng) -> dict:
    """Random toggles (any layer) interleaved with full forwards run on the widget's own worker thread."""
    ids = tokens_of(model, 64)
    text = model.tokenizer.decode(ids)
    lab = AblationLab(model, text=text)
    assert len(lab.tokens) == 64, len(lab.tokens)
    log, cv = watch_sends(lab)
    full, toggles, layers = [], [], []

    def full_forward():
        done = threading.Event()
        t = []
        lab._worker.submit("bench", lambda: (t.append(time.perf_counter()), model.run(text),
                                             t.append(time.perf_counter()), done.set()))
        done.wait()
        return t[1] - t[0]

    def toggle(pairs, request):
        start = time.perf_counter()
        browser_update(lab, {"ablate": pairs, "request": {"predict": request}})
        with cv:
            cv.wait_for(lambda: any(_done(d) == request for _, d, _ in log), timeout=60)
        return next(ts for ts, d, _ in log if _done(d) == request) - start

    for i in range(3):                                    # warm up both paths
        full_forward()
        toggle([[int(rng.integers(model.n_layers)), 0]], f"warm-{i}")
    toggle([], "warm-reset")
    for i in range(rounds):
        full.append(full_forward())
        layer, head = int(rng.integers(model.n_layers)), int(rng.integers(model.n_heads))
        current = [list(p) for p in lab.ablate]
        nxt = [p for p in current if p != [layer, head]] if [layer, head] in current else current + [[layer, head]]
        toggles.append(toggle(nxt[-6:], f"bench-{i}"))   # keep the set lesson-sized
        layers.append(layer)
    lesson = []                                           # a lesson's clicks: induction heads on, then off again
    heads = [[18, 6], [17, 3], [17, 4], [17, 5], [18, 7]]
    toggle([], "lesson-reset")
    for i in range(len(heads)):
        lesson.append(toggle(heads[:i + 1], f"lesson-on-{i}"))
    for i in reversed(range(len(heads))):
        lesson.append(toggle(heads[:i], f"lesson-off-{i}"))
    return {"full": full, "toggle": toggles, "layers": layers, "lesson": lesson}


def _done(data) -> str | None:
    return (data or {}).get("state", {}).get("done", {}).get("predict")


def bytes_per_head_change(model) -> dict:
    ids = tokens_of(model, 512)
    view = AttentionView(model.run(ids), layer=0, head=0)
    log, cv = watch_sends(view)
    sizes = []
    for i, (layer, head) in enumerate([(18, 6), (17, 3), (3, 1), (29, 8)]):
        before = len(log)
        browser_update(view, {"layer": layer, "head": head, "request": {"pattern": f"b{i}"}})
        view.wait(60)
        msgs = log[before:]
        sizes.append(sum(len(json.dumps(d)) + sum(memoryview(b).nbytes for b in bufs) for _, d, bufs in msgs))
    return {"tokens": len(view.tokens), "bytes": sizes, "elements": len(view.tokens) ** 2}


def headgrid_render(tmp: Path) -> dict:
    from browser_support import CHROME_ARGS, CHROMIUM, Server, canvas_ink, open_notebook, write_notebook
    from playwright.sync_api import sync_playwright

    text = PROSE
    write_notebook(tmp / "grid.ipynb", [
        "import attnlab\nfrom attnlab import HeadGrid\nmodel = attnlab.load('smollm2')\n"
        f"ids = model.encode({text!r})\nids = (ids * 2)[:64]\nmodel.run(ids); None",
        "grid = HeadGrid(model.run(ids))\ngrid"])
    with Server("lab", tmp) as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        open_notebook(page, srv, "grid.ipynb", "bench")
        from browser_support import run_cell
        run_cell(page, 0)
        cell = page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(1)
        cell.locator(".jp-InputArea-editor").click()
        start = time.perf_counter()
        page.keyboard.press("Shift+Enter")
        grid = cell.locator("canvas.attnlab-grid")
        grid.wait_for(state="visible", timeout=120_000)
        while canvas_ink(grid) < 5000:
            time.sleep(0.01)
        total = time.perf_counter() - start
        redraw = page.evaluate("""() => new Promise(done => {
            const sel = document.querySelector('select.attnlab-scale');
            const times = [];
            let n = 0;
            const step = () => {
                const t0 = performance.now();
                sel.value = sel.value === 'sqrt' ? 'linear' : 'sqrt';
                sel.dispatchEvent(new Event('change'));
                queueMicrotask(() => requestAnimationFrame(() => { times.push(performance.now() - t0);
                    if (++n < 6) step(); else done(times); }));
            };
            step();
        })""")
        browser.close()
    return {"cell_to_pixels_s": total, "redraw_ms": redraw}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    import torch
    print(f"torch threads {torch.get_num_threads()}, {attnlab.__version__}")
    model = attnlab.load("smollm2")
    rng = np.random.default_rng(0)

    r = toggle_latency(model, args.rounds, rng)
    f, t = statistics.median(r["full"]), statistics.median(r["toggle"])
    print(f"\n1. toggle -> updated prediction sent, 64 tokens, {args.rounds} toggles at random heads")
    print(f"   full forward (model.run)   median {f * 1000:7.1f} ms  (min {min(r['full']) * 1000:.1f})")
    print(f"   toggle round trip          median {t * 1000:7.1f} ms  (min {min(r['toggle']) * 1000:.1f}, "
          f"max {max(r['toggle']) * 1000:.1f})")
    print(f"   ratio toggle / full forward: {t / f:.2f}  (target <= 0.60); toggled layers {r['layers']}")
    le = statistics.median(r["lesson"])
    print(f"   lesson clicks (5 induction heads on, then off again; undo hits the trace cache): median "
          f"{le * 1000:.1f} ms, ratio {le / f:.2f}")

    b = bytes_per_head_change(model)
    per = [x / b["elements"] for x in b["bytes"]]
    print(f"\n2. bytes sent per head change at {b['tokens']} tokens: {b['bytes']} "
          f"-> {statistics.median(per):.3f} bytes per pattern element (target <= 2)")

    if not args.no_browser:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            g = headgrid_render(Path(d))
        print("\n3. HeadGrid of 270 heads at 64 tokens in headless Chromium (JupyterLab)")
        print(f"   run cell -> thumbnails on screen: {g['cell_to_pixels_s']:.2f} s "
              "(kernel computes 270 patterns + sends + draws)")
        print("   browser redraw after a colour change (270 thumbnails + opened head): median "
              f"{statistics.median(g['redraw_ms']):.1f} ms "
              f"({', '.join(f'{x:.0f}' for x in g['redraw_ms'])})")


if __name__ == "__main__":
    main()
