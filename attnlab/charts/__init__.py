"""Altair charts that work offline: attention heatmaps, head mosaics, losses, score distributions, sweeps.

Dense heatmaps are drawn as one embedded PNG (numpy-made, same colours as the live views) under
vector axes, so a 512-token pattern saves in well under a second. Nothing is fetched from the internet:
call :func:`use_offline_charts` once in a notebook, and save with :func:`save_chart` (vl-convert).

>>> import attnlab, tempfile
>>> chart = attnlab.charts.loss_curve({"train": [3.1, 2.4, 2.0]})
>>> attnlab.charts.save_chart(chart, f"{tempfile.mkdtemp()}/loss.svg").name
'loss.svg'
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import altair as alt
import numpy as np

from ..errors import AttnlabError
from .raster import COLORS, colorize, data_url, rgb, upscale

__all__ = ["sink_mass", "use_offline_charts", "save_chart", "attention_heatmap", "attention_lines", "head_mosaic",
           "head_scores", "score_distribution", "loss_curve", "training_curves", "token_losses", "top_tokens"]


def use_offline_charts(renderer: str = "jupyter") -> None:
    """Make altair render without internet: ``"jupyter"`` (interactive, bundled offline) or ``"svg"``.

    Altair's default renderer loads Vega from a CDN and shows an error offline.
    """
    if renderer == "jupyter":
        alt.renderers.enable("jupyter", offline=True)
    elif renderer in ("svg", "png"):
        alt.renderers.enable(renderer)
    else:
        raise AttnlabError(f"renderer must be 'jupyter' or 'svg' (or 'png'), got {renderer!r}.")


def save_chart(chart, path, *, scale: float = 2.0) -> Path:
    """Write ``chart`` to a .png or .svg file (rendered in Python by vl-convert, offline)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise AttnlabError(f"charts are saved as .png or .svg, got {path.name!r}.")
    chart.save(str(path), **({"scale_factor": scale} if suffix == ".png" else {}))
    return path


def label(token: str) -> str:
    """A token as an axis label: newlines and tabs made visible."""
    return token.replace("\n", "↵").replace("\t", "⇥") or "∅"


# -- building blocks ------------------------------------------------------------------------------
def _raster(img: np.ndarray, width: int, height: int, x_labels, y_labels, x_title: str, y_title: str,
            x_angle: int = -90):
    """A picture ``img`` filling a width x height plot, with one axis tick per column and per row."""
    n_x, n_y = len(x_labels), len(y_labels)
    factor = max(1, int(np.ceil(max(width / img.shape[1], height / img.shape[0]))))
    picture = alt.Chart(alt.Data(values=[{"url": data_url(upscale(img, factor))}])).mark_image(
        width=width, height=height, align="left", baseline="top", aspect=False).encode(
        x=alt.value(0), y=alt.value(0), url="url:N")
    rows = [{"x": min(i, n_x - 1), "y": min(i, n_y - 1)} for i in range(max(n_x, n_y))]
    axes = alt.Chart(alt.Data(values=rows)).mark_point(opacity=0).encode(
        x=alt.X("x:O", title=x_title, scale=alt.Scale(domain=list(range(n_x))),
                axis=alt.Axis(labelExpr=_lookup(x_labels), labelAngle=x_angle, labelOverlap=True, ticks=False,
                              domain=False)),
        y=alt.Y("y:O", title=y_title, scale=alt.Scale(domain=list(range(n_y))),
                axis=alt.Axis(labelExpr=_lookup(y_labels), labelOverlap=True, ticks=False, domain=False)))
    return alt.layer(picture, axes).properties(width=width, height=height)


def _lookup(labels) -> str:
    return f"{json.dumps([str(x) for x in labels])}[datum.value]"


def _legend(title: str, scale: str, domain, *, scale_type: Literal["linear", "sqrt"] = "linear"):
    """An empty layer whose only job is a colour legend matching a raster's colours."""
    rows = [{"v": float(domain[0])}, {"v": float(domain[1])}]
    return alt.Chart(alt.Data(values=rows)).mark_point(opacity=0).encode(
        color=alt.Color("v:Q", title=title, scale=alt.Scale(type=scale_type, domain=list(domain),
                                                            range=COLORS[scale], interpolate="rgb")))


def _side(n: int, cell: int, lo: int = 160, hi: int = 640) -> int:
    return int(min(hi, max(lo, n * cell)))


# -- attention ------------------------------------------------------------------------------------
def attention_heatmap(pattern, tokens, *, title: str = "", color_scale: str = "linear", causal: bool = True,
                      size: int | None = None):
    """One head's query x key weights as a heatmap with token labels (query rows, key columns)."""
    p = np.asarray(pattern, dtype=np.float32)
    n = len(tokens)
    if p.shape != (n, n):
        raise AttnlabError(f"the pattern has shape {p.shape} but there are {n} tokens.")
    mask = np.triu(np.ones((n, n), dtype=bool), 1) if causal else None
    shown = np.sqrt(p) if color_scale == "sqrt" else p
    side = size or _side(n, 12)
    labels = [label(t) for t in tokens]
    chart = _raster(colorize(shown, "attention", mask=mask), side, side, labels, labels, "key", "query")
    legend = _legend("weight", "attention", (0, 1), scale_type="sqrt" if color_scale == "sqrt" else "linear")
    return alt.layer(chart, legend).properties(title=title)


def attention_lines(pattern, tokens, *, title: str = "", threshold: float = 0.01, row: int = 16):
    """bertviz-style lines: query tokens on the left, key tokens on the right, line weight = attention."""
    p = np.asarray(pattern, dtype=np.float32)
    n = len(tokens)
    q, k = np.nonzero(p >= threshold)
    edges = [{"q": int(a), "k": int(b), "w": float(p[a, b])} for a, b in zip(q, k, strict=True)]
    width, left, right = 420, 130, 290
    y = alt.Y("q:O", axis=None, scale=alt.Scale(domain=list(range(n))))
    lines = alt.Chart(alt.Data(values=edges)).mark_rule(color=COLORS["attention"][-2]).encode(
        x=alt.value(left + 6), x2=alt.value(right - 6), y=y, y2="k:O",
        opacity=alt.Opacity("w:Q", scale=alt.Scale(domain=[0, 1], range=[0, 1]), legend=None),
        strokeWidth=alt.StrokeWidth("w:Q", scale=alt.Scale(domain=[0, 1], range=[0.5, 4]), legend=None))
    words = alt.Data(values=[{"q": i, "k": i, "tok": label(t)} for i, t in enumerate(tokens)])
    left_words = alt.Chart(words).mark_text(align="right", fontSize=11).encode(x=alt.value(left), y=y, text="tok:N")
    right_words = alt.Chart(words).mark_text(align="left", fontSize=11).encode(
        x=alt.value(right), y=alt.Y("k:O", axis=None, scale=alt.Scale(domain=list(range(n)))), text="tok:N")
    return alt.layer(lines, left_words, right_words).properties(width=width, height=n * row, title=title)


def head_mosaic(thumbs, *, scores=None, score_name: str = "score", ablate=(), selected=None, title: str = "",
                cell: int = 36):
    """Every head's pattern as a thumbnail: rows are layers, columns heads; frames coloured by ``scores``."""
    th = np.asarray(thumbs, dtype=np.float32)
    n_layers, n_heads, r, _ = th.shape
    factor = max(1, cell // r)
    s, pad = r * factor, 4
    step = s + 2 * pad
    img = np.full((n_layers * step, n_heads * step, 3), 255, dtype=np.uint8)
    frame = None
    if scores is not None and np.size(scores):
        sc = np.asarray(scores, dtype=np.float32)
        lo, hi = float(sc.min()), float(sc.max())
        frame = colorize((sc - lo) / (hi - lo if hi > lo else 1), "score")
    for layer in range(n_layers):
        for head in range(n_heads):
            y, x = layer * step, head * step
            if frame is not None:
                img[y:y + step, x:x + step] = frame[layer, head]
            img[y + pad:y + pad + s, x + pad:x + pad + s] = upscale(colorize(th[layer, head], "attention"), factor)
    for layer, head in ablate:
        y, x = layer * step + pad, head * step + pad
        diag = np.arange(s)
        for d in (0, 1):
            img[y + diag, x + np.clip(diag + d, 0, s - 1)] = rgb(COLORS["ablated"])
            img[y + diag, x + np.clip(s - 1 - diag + d, 0, s - 1)] = rgb(COLORS["ablated"])
    if selected is not None:
        layer, head = selected
        y, x = layer * step, head * step
        for e in (0, 1):
            img[y + e, x:x + step] = img[y + step - 1 - e, x:x + step] = rgb(COLORS["selected"])
            img[y:y + step, x + e] = img[y:y + step, x + step - 1 - e] = rgb(COLORS["selected"])
    chart = _raster(img, n_heads * step, n_layers * step, [f"H{h}" for h in range(n_heads)],
                    [f"L{layer}" for layer in range(n_layers)], "head", "layer", x_angle=0)
    if frame is not None:
        chart = alt.layer(chart, _legend(score_name, "score", (lo, hi)))
    return chart.properties(title=title)


def head_scores(scores, *, name: str = "score", baseline: float | None = None, title: str = ""):
    """A layer x head heatmap of any per-head number (a census score, the loss after ablating each head...).

    With ``baseline`` the colour shows ``score - baseline`` (for sweeps: the change each head causes).
    Numbers of both signs (or a baseline) get a diverging scale centred on 0.
    """
    sc = np.asarray(scores, dtype=np.float64)
    if sc.ndim != 2:
        raise AttnlabError(f"scores must be a [layers, heads] array, got shape {sc.shape}.")
    shown = sc - baseline if baseline is not None else sc
    field = f"{name} - {baseline:g}" if baseline else name
    if baseline is None and np.nanmin(sc) < 0 < np.nanmax(sc):
        baseline = 0.0
    rows = [{"layer": layer, "head": head, "value": float(shown[layer, head]), "raw": float(sc[layer, head])}
            for layer in range(sc.shape[0]) for head in range(sc.shape[1])]
    color = alt.Color("value:Q", title=field, scale=alt.Scale(range=COLORS["score"], interpolate="rgb")
                      if baseline is None else alt.Scale(range=COLORS["diverging"], domainMid=0, interpolate="rgb"))
    return alt.Chart(alt.Data(values=rows)).mark_rect().encode(
        x=alt.X("head:O"), y=alt.Y("layer:O"), color=color,
        tooltip=["layer:O", "head:O", alt.Tooltip("raw:Q", title=name, format=".3f")]).properties(
        width=max(120, 22 * sc.shape[1]), height=max(120, 14 * sc.shape[0]), title=title)


# -- numbers --------------------------------------------------------------------------------------
def score_distribution(scores, *, name: str = "score", bins: int = 30, title: str = ""):
    """A histogram of per-head scores (any shape; flattened)."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    rows = [{name: float(v)} for v in values]
    return alt.Chart(alt.Data(values=rows)).mark_bar(color=COLORS["score"][5]).encode(
        x=alt.X(f"{name}:Q", bin=alt.Bin(maxbins=bins), title=name),
        y=alt.Y("count():Q", title="heads")).properties(width=360, height=180, title=title)


def loss_curve(losses, *, title: str = "", x_title: str = "step", y_title: str = "loss"):
    """Line chart of one curve (a sequence) or several (a dict name -> sequence)."""
    curves = losses if isinstance(losses, dict) else {y_title: losses}
    rows = [{"step": i, "value": float(v), "curve": name}
            for name, seq in curves.items() for i, v in enumerate(np.asarray(seq, dtype=np.float64).ravel())]
    return alt.Chart(alt.Data(values=rows)).mark_line(point=len(rows) <= 60).encode(
        x=alt.X("step:Q", title=x_title), y=alt.Y("value:Q", title=y_title),
        color=alt.Color("curve:N", title=None), tooltip=["curve:N", "step:Q", "value:Q"]).properties(
        width=420, height=220, title=title)


def training_curves(history, columns=None, *, smooth: int = 1, points: int = 400, title: str = "",
                    y_title: str = "value", marks=None):
    """Lines of some columns of a training history (one row per step, a ``step`` column) against the step.

    ``columns``: names (default every column but ``step``) or a dict column -> legend name; ``smooth``: a
    running mean over that many steps; at most ``points`` points per line are drawn; ``marks``: a dict
    label -> step drawn as vertical rules (a phase change, say).

    >>> import attnlab
    >>> history = attnlab.tiny.history("tiny-induction")
    >>> chart = attnlab.charts.training_curves(history, {"loss_first": "1st copy", "loss_repeat": "repeat"},
    ...                                        smooth=25)
    >>> points = chart.data.values           # 6,000 steps, at most 400 points per line
    >>> len(points), sorted({p["curve"] for p in points})
    (800, ['1st copy', 'repeat'])
    """
    import pandas as pd

    if not isinstance(history, pd.DataFrame) or "step" not in history.columns:
        raise AttnlabError("training_curves wants a DataFrame with a 'step' column (a training history).")
    if columns is None:
        columns = [c for c in history.columns if c != "step"]
    names = (dict(columns) if isinstance(columns, dict)
             else {c: c for c in ([columns] if isinstance(columns, str) else columns)})
    missing = [c for c in names if c not in history.columns]
    if missing:
        raise AttnlabError(f"no column {missing} in this history; it has {list(history.columns)}")
    if not isinstance(smooth, int) or smooth < 1:
        raise AttnlabError(f"smooth must be a positive int (steps), got {smooth!r}")
    frame = history[list(names)].rolling(smooth, min_periods=1).mean()
    frame.insert(0, "step", history["step"].to_numpy())
    frame = frame.iloc[::max(1, -(-len(frame) // points))]
    rows = [{"step": int(r["step"]), "curve": names[c], "value": float(r[c])}
            for _, r in frame.iterrows() for c in names if np.isfinite(r[c])]
    chart = alt.Chart(alt.Data(values=rows)).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("value:Q", title=y_title),
        color=alt.Color("curve:N", title=None), tooltip=["curve:N", "step:Q", alt.Tooltip("value:Q", format=".3f")])
    if marks:
        rules = alt.Chart(alt.Data(values=[{"step": int(v), "mark": k} for k, v in marks.items() if v is not None]))
        chart = chart + rules.mark_rule(strokeDash=[4, 3], color="#555").encode(
            x="step:Q", tooltip=["mark:N", "step:Q"])
    return chart.properties(width=480, height=220, title=title)


def token_losses(tokens, before, after=None, *, title: str = ""):
    """Per-token next-token loss: bar i is the loss of predicting token i+1 (``after`` drawn beside)."""
    targets = [label(t) for t in tokens[1:]]
    series = {"before": before} if after is None else {"before": before, "after": after}
    rows = [{"i": i, "token": targets[i], "run": name, "loss": float(v)}
            for name, seq in series.items() for i, v in enumerate(np.asarray(seq, dtype=np.float64))]
    return alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x=alt.X("i:O", title="predicted token", axis=alt.Axis(labelExpr=_lookup(targets), labelOverlap=True)),
        xOffset="run:N", y=alt.Y("loss:Q", title="loss (nats)"),
        color=alt.Color("run:N", title=None, scale=alt.Scale(domain=list(series),
                                                             range=["#9e9e9e", COLORS["ablated"]])),
        tooltip=["token:N", "run:N", alt.Tooltip("loss:Q", format=".3f")]).properties(
        width=_side(len(targets), 14, 240, 900), height=180, title=title)


def top_tokens(before, after=None, *, title: str = "next token"):
    """Bars of the most likely next tokens: ``before``/``after`` are lists of (token, probability)."""
    series = {"before": before} if after is None else {"before": before, "after": after}
    colors = {"before": "#9e9e9e", "after": COLORS["ablated"]}
    panels = []
    for name, pairs in series.items():
        rows = [{"token": f"{r + 1}. {label(tok)}", "p": float(p)} for r, (tok, p) in enumerate(pairs)]
        panels.append(alt.Chart(alt.Data(values=rows)).mark_bar(color=colors[name]).encode(
            y=alt.Y("token:N", sort=None, title=None),
            x=alt.X("p:Q", title=f"probability ({name})", scale=alt.Scale(domain=[0, 1])),
            tooltip=["token:N", alt.Tooltip("p:Q", format=".3f")]).properties(width=160, height=18 * len(rows)))
    return alt.hconcat(*panels).properties(title=title)


def sink_mass(mass, norms, tokens, *, rows: str = "heads", norm_layer: int = 0, title: str = ""):
    """Where attention lands (``mass`` [layers, heads, key]; rows of heads or of layer means) above the
    residual-stream norm of each token (``norms`` [layers + 1, tokens]) and a bar chart of one layer's norms."""
    tokens = [label(t) for t in tokens]
    n_layers, n_heads, n = mass.shape
    if rows == "layers":
        mass, names = mass.mean(axis=1), [f"L{layer}" for layer in range(n_layers)]
    else:
        mass = mass.reshape(-1, n)
        names = [f"L{layer}H{head}" for layer in range(n_layers) for head in range(n_heads)]
    width = _side(n, 12, 240, 720)
    top = alt.layer(_raster(colorize(mass, "attention"), width, min(540, max(180, 4 * len(names))), tokens,
                            names, "key token", "head" if rows == "heads" else "layer"),
                    _legend("share of attention", "attention", (0, 1))).properties(title=title)
    logn = np.log10(np.maximum(norms, 1e-6))
    lo, hi = float(logn.min()), float(logn.max())
    norm_map = _raster(colorize((logn - lo) / (hi - lo if hi > lo else 1), "score"), width,
                       max(120, 6 * norms.shape[0]), tokens,
                       [f"L{layer}" for layer in range(norms.shape[0])], "token", "entering layer")
    norm_map = alt.layer(norm_map, _legend("log10 norm", "score", (lo, hi))).properties(
        title="residual-stream norm per token")
    bars = alt.Chart(alt.Data(values=[{"i": i, "token": t, "norm": float(v)} for i, (t, v) in enumerate(
        zip(tokens, norms[norm_layer], strict=True))])).mark_bar(color="#d94801").encode(
        x=alt.X("i:O", title="token", axis=alt.Axis(labelExpr=_lookup(tokens), labelOverlap=True)),
        y=alt.Y("norm:Q", title=f"norm entering layer {norm_layer}"),
        tooltip=["token:N", alt.Tooltip("norm:Q", format=".1f")]).properties(width=width, height=140)
    return alt.vconcat(top, norm_map, bars).resolve_scale(color="independent")
