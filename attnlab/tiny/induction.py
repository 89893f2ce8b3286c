"""Induction heads forming in a 2-layer attention-only transformer (Olsson et al., 2022).

Training text: <bos>, then copies of one random segment of random symbols, separated by random
filler. The first copy cannot be predicted; later copies can, once a layer-0 previous-token head
and a layer-1 induction head work together (K-composition). Training records the loss on both
and both scores at every step, so the phase change shows in the history.

>>> model, tok, hist = train_induction(steps=5, progress=False)
>>> sorted(c for c in hist.columns if c.startswith("induction"))
['induction_L1H0', 'induction_L1H1']
"""
from __future__ import annotations

import string
from typing import TypedDict

import pandas as pd
import torch
import torch.nn.functional as F

from .model import TinyConfig, TinyTransformer
from .probe import ablate_heads, attention_weights, recording_attention
from .tokenizer import TinyTokenizer
from .training import fit, pick_device

SYMBOLS = list(string.ascii_uppercase + string.ascii_lowercase + string.digits)
VOCAB = ["<bos>"] + SYMBOLS
SEQ_LEN, MIN_SEG, MAX_SEG, MAX_GAP = 64, 4, 24, 6
class Defaults(TypedDict):
    steps: int
    batch: int
    lr: float
    d_model: int
    n_heads: int


DEFAULTS = Defaults(steps=600, batch=32, lr=1e-3, d_model=64, n_heads=2)
SEED_EXAMPLE = "P Q A B X Y S T A"  # the 9th token (A) should attend to the 4th (B)
FIRST, REPEAT = 1, 2  # token kinds; 0 = unpredictable (filler, or the first token of a copy)


def config(d_model: int = DEFAULTS["d_model"], n_heads: int = DEFAULTS["n_heads"]) -> TinyConfig:
    return TinyConfig(vocab=VOCAB, n_layers=2, n_heads=n_heads, d_model=d_model, d_mlp=0,
                      max_len=SEQ_LEN, causal=True)


def make_batch(gen: torch.Generator, batch: int, seq_len: int = SEQ_LEN):
    """``batch`` sequences of ``seq_len`` ids: <bos>, then copies of one random segment (length
    MIN_SEG..MAX_SEG) separated by 0..MAX_GAP random symbols, until the sequence is full.

    Returns (ids [b, T], kind [b, T]): kind is FIRST for tokens 2..L of the first copy, REPEAT for
    tokens 2..L of later copies (what an induction head can predict), 0 otherwise.
    """
    ids = torch.randint(1, len(VOCAB), (batch, seq_len), generator=gen)
    ids[:, 0] = 0
    kind = torch.zeros(batch, seq_len, dtype=torch.long)
    lens = torch.randint(MIN_SEG, MAX_SEG + 1, (batch,), generator=gen).tolist()
    gaps = torch.randint(0, MAX_GAP + 1, (batch, seq_len), generator=gen).tolist()
    for b in range(batch):
        L, pos, copy = lens[b], 1 + gaps[b][0], 0
        seg = ids[b, pos:pos + L].clone()
        while pos < seq_len:
            m = min(L, seq_len - pos)
            ids[b, pos:pos + m] = seg[:m]
            kind[b, pos + 1:pos + m] = REPEAT if copy else FIRST
            pos += m + gaps[b][copy + 1]
            copy += 1
    return ids, kind


def template_scores(weights: list[torch.Tensor], ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Previous-token and induction template scores [layers, heads] from attention weights.

    prev: mean over queries i >= 1 of A[i, i-1]. induction: attention on the keys j whose previous
    token equals the query token (x[j-1] == x[i], j <= i), averaged over queries that have one.
    """
    prev_tok = torch.cat([torch.full_like(ids[:, :1], -1), ids[:, :-1]], 1)
    T = ids.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril()
    tmpl = (ids[:, :, None] == prev_tok[:, None, :]) & causal
    has = tmpl.any(-1)[:, None]  # [b, 1, T]
    prev, ind = [], []
    for w in weights:
        prev.append(w.diagonal(-1, -2, -1).mean((0, 2)))
        mass = (w * tmpl[:, None]).sum(-1)
        ind.append((mass * has).sum((0, 2)) / has.sum((0, 2)).clamp(min=1))
    return {"prev": torch.stack(prev), "induction": torch.stack(ind)}


def repeated_tokens(n: int = 20, batch: int = 32, seed: int = 1234) -> torch.Tensor:
    """The standard probe: <bos> then n distinct random symbols twice, [batch, 1 + 2n].

    Distinct, so that every query in the second copy has exactly one induction target (with only
    62 symbols, random draws would repeat symbols and split the attention between targets).
    """
    gen = torch.Generator().manual_seed(seed)
    r = torch.stack([torch.randperm(len(SYMBOLS), generator=gen)[:n] + 1 for _ in range(batch)])
    return torch.cat([torch.zeros(batch, 1, dtype=torch.long), r, r], 1)


@torch.no_grad()
def evaluate(model: TinyTransformer, n: int = 20, batch: int = 32, seed: int = 1234) -> dict:
    """On <bos> r r (``repeated_tokens``): ``induction`` [layers, heads], the prefix-matching score
    (mean of A[i, i-n+1] over the second copy); ``prev`` [layers, heads], the mean of A[i, i-1];
    ``loss_first`` / ``loss_repeat``, the mean loss on tokens 2..n of the first / second copy."""
    device = next(model.parameters()).device
    ids = repeated_tokens(n, batch, seed).to(device)
    weights = [w.cpu() for w in attention_weights(model, ids)]
    logp = F.log_softmax(model(ids)[:, :-1].float(), -1)
    nll = -logp.gather(-1, ids[:, 1:, None])[..., 0].cpu()  # nll[:, p] is the loss of token p + 1
    # query i = n+1+k (r_k in the second copy) should attend to key i-n+1 = 2+k (r_{k+1}, first copy)
    return {"loss_first": nll[:, 1:n].mean().item(), "loss_repeat": nll[:, n + 1:].mean().item(),
            "induction": torch.stack([w.diagonal(1 - n, -2, -1)[..., 2:].mean((0, 2)) for w in weights]),
            "prev": torch.stack([w.diagonal(-1, -2, -1).mean((0, 2)) for w in weights])}


def phase_change_step(history: pd.DataFrame, window: int = 25) -> int | None:
    """First step at which the best layer-1 induction score (running mean over ``window`` steps)
    passes halfway between its first and its final value; None if it never rises by 0.3."""
    best = history.filter(like="induction_L1").max(axis=1).rolling(window, min_periods=1).mean()
    lo, hi = best.iloc[:window].mean(), best.iloc[-window:].mean()
    if hi - lo < 0.3:
        return None
    return int(history["step"][best > (lo + hi) / 2].iloc[0])


@torch.no_grad()
def summary(model: TinyTransformer, tokenizer: TinyTokenizer, history: pd.DataFrame | None = None) -> dict:
    """The final metrics stored with a checkpoint: probe losses and scores, the best heads, the
    K-composition ablation (zero the best previous-token head of layer 0, or the other layer-0
    heads as a control, and re-measure the best induction head) and the seed example."""
    ev = evaluate(model)
    ind_h = int(ev["induction"][1].argmax())
    prev_h = int(ev["prev"][0].argmax())
    out = {"loss_first": ev["loss_first"], "loss_repeat": ev["loss_repeat"],
           "induction_scores_L1": ev["induction"][1].tolist(), "prev_scores_L0": ev["prev"][0].tolist(),
           "induction_head": [1, ind_h], "induction_score": ev["induction"][1, ind_h].item(),
           "prev_head": [0, prev_h], "prev_score": ev["prev"][0, prev_h].item()}
    others = [h for h in range(model.config.n_heads) if h != prev_h]
    for label, heads in [("prev_head_ablated", [prev_h]), ("other_L0_heads_ablated", others)]:
        with ablate_heads(model, {0: heads}):
            ab = evaluate(model)
        out[f"induction_score_{label}"] = ab["induction"][1, ind_h].item()
        out[f"loss_repeat_{label}"] = ab["loss_repeat"]
    ids = torch.tensor([tokenizer.encode(SEED_EXAMPLE)], device=next(model.parameters()).device)
    w = attention_weights(model, ids)[1][0, ind_h, -1]
    out["seed_example"] = {"text": SEED_EXAMPLE, "query_token": len(ids[0]) - 1,
                           "attends_to_token": int(w.argmax()), "attention": w.max().item(),
                           "prediction": tokenizer.vocab[int(model(ids)[0, -1].argmax())]}
    if history is not None:
        out["phase_change_step"] = phase_change_step(history)
    return out


def train_induction(steps: int = DEFAULTS["steps"], seed: int = 0, device=None, progress: bool = True,
                    batch: int = DEFAULTS["batch"], lr: float = DEFAULTS["lr"]):
    """Train the 2-layer attention-only model from scratch; returns (model, tokenizer, history).

    history has one row per step, measured on the training batch: ``loss``; ``loss_first`` and
    ``loss_repeat`` (tokens 2..L of the first copy of the segment / of later copies);
    ``prev_L0H*`` (previous-token score of each layer-0 head) and ``induction_L1H*`` (induction
    score of each layer-1 head). Plot with ``history.melt("step")`` and an altair line chart.
    """
    device = pick_device(device)
    torch.manual_seed(seed)
    cfg = config()
    model = TinyTransformer(cfg).to(device)
    gen = torch.Generator().manual_seed(seed + 1)

    def step_fn(model, data):
        ids, kind = (t.to(device) for t in data)
        with recording_attention(model) as weights:
            logits = model(ids[:, :-1])
        nll = F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten(), reduction="none")
        nll = nll.view(ids.shape[0], -1)
        scores = template_scores([w[-1].detach() for w in weights], ids[:, :-1])
        row = {"loss_first": nll[kind[:, 1:] == FIRST].mean().item(),
               "loss_repeat": nll[kind[:, 1:] == REPEAT].mean().item()}
        row.update({f"prev_L0H{h}": s.item() for h, s in enumerate(scores["prev"][0])})
        row.update({f"induction_L1H{h}": s.item() for h, s in enumerate(scores["induction"][1])})
        return nll.mean(), row

    history = fit(model, lambda s: make_batch(gen, batch), step_fn, steps, lr,
                  progress=progress, desc="induction")
    return model, TinyTokenizer(cfg.vocab), history
