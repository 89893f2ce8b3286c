"""Register tokens in a small bidirectional encoder (Darcet et al., 2024), on token sequences.

Input: ``<cls>``, the register tokens, then a row of symbols where about half are the background
symbol "." (no label, like empty background patches) and the rest are letters a-h, A-H. Each
letter must say whether its partner (the same letter in the other case: a <-> A) occurs anywhere
in the row. A head that looks for the partner has a content target when the partner is there and
none when it is not; that attention has to go somewhere (a sink). ``<cls>`` must say whether
partnered letters outnumber lonely ones (a summary of the whole row).
Train once with 0 and once with a few registers and compare where attention with no content
target goes, the norms of the token states, and how clean the letters' attention maps are.

>>> model, tok, hist = train_registers(n_registers=2, steps=3, progress=False)
>>> tok.token_strs(tok.encode("ab..a"))
['<cls>', '<reg0>', '<reg1>', 'a', 'b', '.', '.', 'a']
"""
from __future__ import annotations

import string
from typing import TypedDict

import pandas as pd
import torch
import torch.nn.functional as F

from .model import TinyConfig, TinyTransformer
from .probe import attention_weights
from .tokenizer import TinyTokenizer
from .training import fit, pick_device

LETTERS = list(string.ascii_lowercase[:8] + string.ascii_uppercase[:8])
BACKGROUND = "."
IGNORE = -100
ROW_LEN, P_BACKGROUND = 24, 0.5
class Defaults(TypedDict):
    steps: int
    batch: int
    lr: float


DEFAULTS = Defaults(steps=1000, batch=64, lr=1e-3)


def vocab(n_registers: int) -> list[str]:
    return ["<cls>"] + [f"<reg{i}>" for i in range(n_registers)] + [BACKGROUND] + LETTERS


def config(n_registers: int) -> TinyConfig:
    return TinyConfig(vocab=vocab(n_registers), n_layers=2, n_heads=2, d_model=64, d_mlp=128,
                      max_len=1 + n_registers + ROW_LEN, causal=False, n_registers=n_registers,
                      n_labels=2)


def make_batch(gen: torch.Generator, batch: int, n_registers: int):
    """(ids [b, 1+R+N], labels [b, 1+R+N]): label 1 = partner present (letters) or partnered
    letters outnumber lonely ones (<cls>); IGNORE on background and registers."""
    bg = 1 + n_registers  # id of "."; the letters follow it
    letters = torch.randint(bg + 1, bg + 1 + len(LETTERS), (batch, ROW_LEN), generator=gen)
    is_bg = torch.rand(batch, ROW_LEN, generator=gen) < P_BACKGROUND
    row = torch.where(is_bg, torch.full_like(letters, bg), letters)
    found = (_partner(row, bg)[:, :, None] == row[:, None, :]).any(-1).long()
    cls_label = (2 * (found * ~is_bg).sum(1) > (~is_bg).sum(1)).long()
    ids = torch.cat([torch.arange(1 + n_registers).expand(batch, -1), row], 1)
    labels = torch.cat([cls_label[:, None], torch.full((batch, n_registers), IGNORE),
                        torch.where(is_bg, IGNORE, found)], 1)
    return ids, labels


def _partner(ids: torch.Tensor, bg: int) -> torch.Tensor:
    """The id of each letter's partner (a <-> A); meaningless for non-letters."""
    return bg + 1 + (ids - bg - 1 + len(LETTERS) // 2) % len(LETTERS)


def train_registers(n_registers: int = 8, steps: int = DEFAULTS["steps"], seed: int = 0, device=None,
                    progress: bool = True, batch: int = DEFAULTS["batch"], lr: float = DEFAULTS["lr"]):
    """Train the encoder with ``n_registers`` register tokens; returns (model, tokenizer, history).

    history has one row per step: ``loss``, ``letter_acc`` (partner found or not, on the letters of
    the batch) and ``cls_acc`` (the row summary at <cls>).
    """
    device = pick_device(device)
    torch.manual_seed(seed)
    cfg = config(n_registers)
    model = TinyTransformer(cfg).to(device)
    gen = torch.Generator().manual_seed(seed + 1)

    def step_fn(model, data):
        ids, labels = (t.to(device) for t in data)
        logits = model(ids)
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)
        right = logits.argmax(-1) == labels
        letters = labels[:, 1 + n_registers:] != IGNORE
        return loss, {"letter_acc": right[:, 1 + n_registers:][letters].float().mean().item(),
                      "cls_acc": right[:, 0].float().mean().item()}

    history = fit(model, lambda s: make_batch(gen, batch, n_registers), step_fn, steps, lr,
                  progress=progress, desc=f"registers={n_registers}")
    return model, TinyTokenizer(cfg.vocab), history


KEY_KINDS = ["cls", "registers", "background", "partner", "self", "other letters"]


@torch.no_grad()
def register_stats(model: TinyTransformer, batch: int = 512, seed: int = 4321) -> dict:
    """Where attention goes, how large the token states are, and accuracy, on fresh rows.

    Returns a dict with
    ``mass``: DataFrame (layer, head, query = "partner present" / "partner absent", key kind
    from KEY_KINDS, mass = mean attention weight summed over keys of that kind);
    ``norms``: DataFrame (layer 0 = embeddings .. n_layers, token kind, norm) of residual-stream
    norms, one row per token; ``letter_acc``, ``cls_acc``.
    """
    R = model.config.n_registers
    device = next(model.parameters()).device
    ids, labels = make_batch(torch.Generator().manual_seed(seed), batch, R)
    ids = ids.to(device)
    logits = model(ids).cpu()
    right = logits.argmax(-1) == labels
    row_labels = labels[:, 1 + R:]
    letters = row_labels != IGNORE
    T, ids_cpu = ids.shape[1], ids.cpu()
    CLS, REG, BG, PARTNER, SELF, OTHER = range(len(KEY_KINDS))
    kind = torch.full((batch, T), BG)  # what each token is, as a key
    kind[:, 0], kind[:, 1:1 + R] = CLS, REG
    kind[:, 1 + R:][letters] = OTHER
    key_kind = kind[:, None, :].expand(batch, T, T).clone()  # [b, query, key]
    key_kind[(_partner(ids_cpu, 1 + R)[:, :, None] == ids_cpu[:, None, :]) & (key_kind == OTHER)] = PARTNER
    key_kind[:, torch.arange(T), torch.arange(T)] = SELF
    query_kind = torch.full((batch, T), -1)  # 0 = partner present, 1 = absent, -1 = not a letter
    query_kind[:, 1 + R:][letters] = 1 - row_labels[letters]
    one_hot = F.one_hot(key_kind, len(KEY_KINDS)).float()  # [b, Tq, Tk, K]
    rows = []
    for layer, w in enumerate(attention_weights(model, ids)):
        per_kind = torch.einsum("bhqk,bqkc->bhqc", w.cpu().float(), one_hot)
        for qk, qname in enumerate(["partner present", "partner absent"]):
            sel = query_kind == qk
            m = per_kind.permute(0, 2, 1, 3)[sel].mean(0)  # [h, K]
            for h in range(m.shape[0]):
                rows += [dict(layer=layer, head=h, query=qname, key=k, mass=m[h, c].item())
                         for c, k in enumerate(KEY_KINDS)]
    token_kind = ["cls"] + ["register"] * R
    norm_rows = []
    for layer, x in enumerate(model.residual_stream(ids)):
        n = x.norm(dim=-1).cpu()
        for b in range(batch):
            kinds = token_kind + ["letter" if l else "background" for l in letters[b].tolist()]
            norm_rows += [dict(layer=layer, token=k, norm=v) for k, v in zip(kinds, n[b].tolist(), strict=True)]
    return {"mass": pd.DataFrame(rows), "norms": pd.DataFrame(norm_rows),
            "letter_acc": right[:, 1 + R:][letters].float().mean().item(),
            "cls_acc": right[:, 0].float().mean().item()}


def summary(model: TinyTransformer) -> dict:
    """The final metrics stored with a checkpoint.

    The partner head is the head with the most attention on the partner when it is present. For
    letters whose partner is absent (no content target) it reports where that head's attention
    goes (``no_target_on_*``); ``background_mass`` is its attention on background tokens over all
    letters (lower = cleaner map); ``norm_*`` are final-layer token-state norms by token kind.
    """
    s = register_stats(model)
    m = s["mass"].set_index(["layer", "head", "query", "key"])["mass"]
    present = m.xs("partner present", level="query").unstack("key")
    layer, head = present["partner"].idxmax()
    absent = m.xs("partner absent", level="query").loc[(layer, head)]
    out = {"letter_acc": s["letter_acc"], "cls_acc": s["cls_acc"], "partner_head": [int(layer), int(head)],
           "partner_mass": present.loc[(layer, head), "partner"].item(),
           "background_mass": (present.loc[(layer, head), "background"].item()
                               + absent["background"].item()) / 2}
    out.update({f"no_target_on_{k.replace(' ', '_')}": absent[k].item() for k in KEY_KINDS if k != "partner"})
    norms = s["norms"][s["norms"].layer == model.config.n_layers].groupby("token").norm
    for stat, f in [("median", norms.median()), ("p99", norms.quantile(0.99)), ("max", norms.max())]:
        out.update({f"norm_{stat}_{k}": v for k, v in f.items()})
    return out
