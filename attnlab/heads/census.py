"""The head census: every score for every head in one table, with a label and the survey's stage.

Computed once per model and cached in memory and on disk (``attnlab.runner.paths.home()/census/<name>.json``),
keyed by a version string and a fingerprint of the weights, so a notebook reopens it instantly.

>>> import attnlab
>>> df = attnlab.census(attnlab.load("tiny-induction"), progress=False)
>>> df.sort_values("induction", ascending=False)[["layer", "head", "label", "induction"]].head(2).round(2)
   layer  head      label  induction
3      1     1  induction       0.87
2      1     0  induction       0.78
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import weakref
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..errors import AttnlabError
from ..runner import check_model, home
from . import scores as score_fns
from .probes import DEPTHS, NEEDLES, reads_english

if TYPE_CHECKING:
    from ..runner import Model

VERSION = "census-2"   # bump when a score's definition or probe changes: cached tables are then recomputed

# label -> (column, threshold), checked in this order; the first that passes names the head.
LABELS = (
    ("induction", "induction", 0.4),
    ("retrieval", "retrieval", 0.1),
    ("copying", "copying", 0.2),
    ("duplicate-token", "duplicate_token", 0.4),
    ("previous-token", "previous_token", 0.4),
    ("positional", "positional", 0.9),
    ("sink", "sink", 0.8),
    ("streaming", "local_span", 0.9),
)
# The survey's four stages (Zheng et al., 2024, *Attention Heads of Large Language Models: A Survey*, Fig. 7)
# for the labels a score can give. Knowledge recalling heads need task-specific data, so no score assigns it.
STAGES = {
    "induction": "latent reasoning",
    "retrieval": "in-context identification",
    "duplicate-token": "in-context identification",
    "previous-token": "in-context identification",
    "positional": "in-context identification",
    "copying": "expression preparation",
}
COLUMNS = ("sink", "punctuation_sink", "sep_sink", "previous_token", "positional", "offset", "duplicate_token",
           "induction", "copying", "retrieval", "local_span")

_memory: weakref.WeakKeyDictionary[Model, pd.DataFrame] = weakref.WeakKeyDictionary()


def census(model: Model, *, refresh: bool = False, progress: bool = True) -> pd.DataFrame:
    """One row per head: ``layer``, ``head``, ``label``, ``stage`` and every score of :mod:`attnlab.scores`.

    Scores: ``sink`` (mass on the first position), ``punctuation_sink``, ``sep_sink`` (encoders),
    ``previous_token``, ``positional`` with its ``offset``, ``duplicate_token``, ``induction``, ``copying``,
    ``retrieval`` and ``local_span`` (streaming share); NaN where a score does not apply (induction in an
    encoder, anything reading predictions without a next-token head, retrieval for models that read no
    English). ``label`` is the first of induction (>= 0.4), retrieval (>= 0.1), copying (>= 0.2),
    duplicate-token (>= 0.4), previous-token (>= 0.4), positional (>= 0.9), sink (>= 0.8) and streaming
    (local_span >= 0.9) that the head passes, else "global". ``stage`` maps the label to the survey's stage
    (Zheng et al., 2024): induction -> latent reasoning; retrieval, duplicate-token, previous-token and
    positional -> in-context identification; copying -> expression preparation; the others have none.

    ``refresh=True`` recomputes instead of using the cache. SmolLM2 takes under a minute on a laptop CPU.

    >>> import attnlab
    >>> df = attnlab.census(attnlab.load("tiny-induction"), progress=False)
    >>> df[df.label == "induction"][["layer", "head", "induction"]].round(2)
       layer  head  induction
    2      1     0       0.78
    3      1     1       0.87
    """
    model = check_model(model, "attnlab.census")
    key = _fingerprint(model)
    if not refresh:
        df = _memory.get(model)
        if df is not None and df.attrs.get("fingerprint") == key:
            return df.copy()
        df = _read(model, key)
        if df is not None:
            _memory[model] = df
            return df.copy()
    df = _compute(model, progress)
    df.attrs.update(model=model.name, fingerprint=key, version=VERSION)
    _memory[model] = df
    _write(model, df)
    return df.copy()


def census_summary(df: pd.DataFrame, k: int = 5) -> str:
    """A text summary of a census: the ``k`` strongest heads of each kind and how many pass the threshold.

    >>> import attnlab
    >>> print(attnlab.census_summary(attnlab.census(attnlab.load("tiny-induction"), progress=False), k=2))
    Head census of tiny-induction: 4 heads (2 layers x 2)
      induction             2 heads >= 0.4   top: L1H1 0.87, L1H0 0.78
    ...
      previous-token        1 heads >= 0.4   top: L0H0 0.97, L0H1 0.02
    ...
    """
    if not isinstance(df, pd.DataFrame) or not {"layer", "head", "label"} <= set(df.columns):
        raise AttnlabError("census_summary takes the DataFrame returned by attnlab.census(model).")
    name = df.attrs.get("model", "model")
    lines = [f"Head census of {name}: {len(df)} heads ({df.layer.nunique()} layers x {df['head'].nunique()})"]
    rows = [("induction", "induction", 0.4), ("retrieval", "retrieval", 0.1), ("copying", "copying", 0.2),
            ("duplicate-token", "duplicate_token", 0.4), ("previous-token", "previous_token", 0.4),
            ("positional", "positional", 0.9), ("sink (first token)", "sink", 0.5),
            ("punctuation sink", "punctuation_sink", 0.3), ("[SEP] sink", "sep_sink", 0.3)]
    for title, col, threshold in rows:
        s = df[col]
        if s.isna().all():
            continue
        top = df.loc[s.sort_values(ascending=False).index[:k]]
        heads = ", ".join(_head(r) + f" {r[col]:.2f}" + (f" ({int(r.offset):+d})" if col == "positional" else "")
                          for _, r in top.iterrows())
        lines.append(f"  {title:<19}{int((s >= threshold).sum()):>4} heads >= {threshold:<4}  top: {heads}")
    glob = df.sort_values("local_span").head(k)
    lines.append(f"  {'long-range':<19}{int((df.local_span < 0.9).sum()):>4} heads local_span < 0.9  most global: "
                 + ", ".join(_head(r) + f" {1 - r.local_span:.2f}" for _, r in glob.iterrows()))
    counts = df.label.value_counts()
    lines.append("  labels: " + ", ".join(f"{lab} {n}" for lab, n in counts.items()))
    stages = df.stage[df.stage != ""].value_counts()
    if len(stages):
        lines.append("  survey stages: " + ", ".join(f"{st} {n}" for st, n in stages.items()))
    return "\n".join(lines)


def _head(row) -> str:
    return f"L{int(row.layer)}H{int(row['head'])}"


def _compute(model: Model, progress: bool) -> pd.DataFrame:
    english = reads_english(model)
    decoder_lm = model.is_causal and model.has_lm_head
    steps = 2 + (len(NEEDLES) * len(DEPTHS) if decoder_lm and english else 0)
    with tqdm(total=steps, desc=f"census of {model.name}", disable=not progress) as bar:
        bar.set_postfix_str("prose")
        scores = dict(score_fns.prose_scores(model))
        bar.update()
        bar.set_postfix_str("repeated tokens")
        scores.update(score_fns.repeat_scores(model))
        bar.update()
        if decoder_lm and english:
            bar.set_postfix_str("needles")
            scores["retrieval"] = score_fns.retrieval_scores(model, tick=bar.update)
        else:
            scores["retrieval"] = np.full((model.n_layers, model.n_heads), np.nan)
    L, H = model.n_layers, model.n_heads
    df = pd.DataFrame({"layer": np.repeat(np.arange(L), H), "head": np.tile(np.arange(H), L)})
    for col in COLUMNS:
        df[col] = scores[col].reshape(-1)
    df["label"] = [_label(r) for _, r in df.iterrows()]
    df["stage"] = df.label.map(STAGES).fillna("")
    return df[["layer", "head", "label", "stage", *COLUMNS]]


def _label(row) -> str:
    for label, col, threshold in LABELS:
        if not np.isnan(row[col]) and row[col] >= threshold:
            return label
    return "global"


# -- caching -----------------------------------------------------------------------------------
def _fingerprint(model: Model) -> str:
    """A short hash of the census version, the model's name and a sample of every parameter."""
    h = hashlib.sha1(f"{VERSION}|{model.name}|{model.n_layers}x{model.n_heads}".encode())
    with torch.no_grad():
        for name, p in model.module.named_parameters():
            flat = p.detach().reshape(-1)
            sample = flat[:: max(1, flat.numel() // 64)][:64].float().cpu().numpy()
            h.update(name.encode())
            h.update(sample.tobytes())
    return h.hexdigest()[:16]


def _path(model: Model):
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", model.name).strip("._") or "model"
    return home() / "census" / f"{safe}.json"


def _read(model: Model, key: str) -> pd.DataFrame | None:
    path = _path(model)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != VERSION or data.get("fingerprint") != key:
        return None
    df = pd.read_json(io.StringIO(json.dumps(data["table"])), orient="split")
    for col in ("label", "stage"):
        df[col] = df[col].fillna("").astype(object)
    df.attrs.update(model=model.name, fingerprint=key, version=VERSION)
    return df


def _write(model: Model, df: pd.DataFrame):
    path = _path(model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = json.loads(df.to_json(orient="split", index=False))
        path.write_text(json.dumps({"version": VERSION, "model": model.name, "fingerprint": df.attrs["fingerprint"],
                                    "table": table}))
    except OSError:
        pass  # a read-only cache folder only costs a recomputation next time
