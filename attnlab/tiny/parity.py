"""Parity with and without a chain of thought, and the iteration head (Cabannes et al., 2024).

A training string is ``<bos> x : s`` where x is a random 0/1 string (length 1..12 for the shipped
models) and s its running parity ("0010101001:0011001110"); the direct variant has only the last
bit after ":". A quarter of the strings of each length 6..12 is held out of training (shorter
strings are all trained on: there are too few to hold any out). An iteration head attends, at
the position whose next token is s_t, to x_t; to know t it needs the distance to ":", which a
layer-0 head can fetch. ``head_stats`` measures both; in these small models the work is shared
between the two layers rather than done by one clean iteration head (see the shipped metrics).

>>> model, tok, hist = train_parity(steps=3, progress=False)
>>> tok.token_strs(tok.encode(cot_text("0010101001")))[-10:]
['0', '0', '1', '1', '0', '0', '1', '1', '1', '0']
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .model import TinyConfig, TinyTransformer
from .probe import ablate_heads, attention_weights
from .tokenizer import TinyTokenizer
from .training import fit, pick_device

VOCAB = ["<bos>", "0", "1", ":"]
BOS, ZERO, ONE, COLON = range(4)
MIN_LEN, MAX_LEN, TEST_MIN_LEN, TEST_FRACTION = 1, 12, 6, 0.25
TEST_CAP = 1024  # held-out strings evaluated per length (the first ones of the random split)
SPLIT_SEED = 20240  # fixes which strings are held out, whatever the training seed
DEFAULTS = dict(steps=1200, max_train_len=8, batch=128, lr=1e-3, weight_decay=0.1, d_model=64, n_heads=2,
                d_mlp=256)


def cot_text(x: str) -> str:
    """"0010101001" -> "0010101001:0011001110" (the input, ":", the running parity)."""
    s, bits = 0, []
    for c in x:
        s ^= c == "1"
        bits.append(str(int(s)))
    return f"{x}:{''.join(bits)}"


def config(d_model: int = DEFAULTS["d_model"], n_heads: int = DEFAULTS["n_heads"],
           d_mlp: int = DEFAULTS["d_mlp"], max_train_len: int = MAX_LEN) -> TinyConfig:
    return TinyConfig(vocab=VOCAB, n_layers=2, n_heads=n_heads, d_model=d_model, d_mlp=d_mlp,
                      max_len=2 * max_train_len + 2, causal=True)


def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All 2**n strings of length n as bit rows [2**n, n], split into (train, held-out test)."""
    codes = torch.randperm(2 ** n, generator=torch.Generator().manual_seed(SPLIT_SEED + n))
    bits = (codes[:, None] >> torch.arange(n - 1, -1, -1)) & 1
    n_test = round(TEST_FRACTION * 2 ** n) if n >= TEST_MIN_LEN else 0
    return bits[n_test:], bits[:n_test]


def encode_bits(bits: torch.Tensor, cot: bool) -> torch.Tensor:
    """Bit rows [b, n] -> ids [b, 2n+2] (CoT) or [b, n+3] (direct): <bos> x : s."""
    running = bits.cumsum(1) % 2
    tape = running if cot else running[:, -1:]
    b = bits.shape[0]
    return torch.cat([torch.full((b, 1), BOS), bits + ZERO, torch.full((b, 1), COLON), tape + ZERO], 1)


def make_batch(gen: torch.Generator, train_sets: dict[int, torch.Tensor], batch: int, cot: bool):
    """Random training strings of random lengths, right-padded: (ids [b, T], loss mask [b, T-1]).

    The mask marks the positions whose next token is on the tape (or is the direct answer).
    """
    lens = sorted(train_sets)
    n_of = torch.tensor(lens)[torch.randint(len(lens), (batch,), generator=gen)]
    T = 2 * max(lens) + 2 if cot else max(lens) + 3
    ids = torch.full((batch, T), ZERO)
    mask = torch.zeros(batch, T - 1, dtype=torch.bool)
    for n in n_of.unique().tolist():
        rows = (n_of == n).nonzero()[:, 0]
        pool = train_sets[n]
        seqs = encode_bits(pool[torch.randint(len(pool), (len(rows),), generator=gen)], cot)
        ids[rows, :seqs.shape[1]] = seqs
        mask[rows, n + 1:seqs.shape[1] - 1] = True
    return ids, mask


@torch.no_grad()
def generate_answers(model: TinyTransformer, bits: torch.Tensor, cot: bool) -> torch.Tensor:
    """Greedy decoding after "<bos> x :"; returns the generated tape [b, n] (or answer [b, 1])."""
    device = next(model.parameters()).device
    ids = encode_bits(bits, cot)[:, :bits.shape[1] + 2].to(device)
    for _ in range(bits.shape[1] if cot else 1):
        nxt = model(ids)[:, -1, ZERO:ONE + 1].argmax(-1) + ZERO
        ids = torch.cat([ids, nxt[:, None]], 1)
    return (ids[:, bits.shape[1] + 2:] - ZERO).cpu()


def trained_lengths(model: TinyTransformer) -> range:
    """The lengths with held-out strings that ``model`` was trained on: TEST_MIN_LEN .. its longest input."""
    return range(TEST_MIN_LEN, (model.config.max_len - 2) // 2 + 1)


def accuracy(model: TinyTransformer, cot: bool, lengths=None) -> dict:
    """Final-answer accuracy by greedy decoding on the held-out strings: ``{"all": pooled, n: acc}``
    (``lengths`` defaults to the model's trained lengths, from TEST_MIN_LEN)."""
    lengths = trained_lengths(model) if lengths is None else lengths
    right, total, out = 0, 0, {}
    for n in lengths:
        bits = split(n)[1][:TEST_CAP]
        ok = generate_answers(model, bits, cot)[:, -1] == bits.sum(1) % 2
        out[n] = ok.float().mean().item()
        right, total = right + ok.sum().item(), total + len(ok)
    return {"all": right / total, **out}


@torch.no_grad()
def head_stats(model: TinyTransformer, lengths=None) -> dict[str, torch.Tensor]:
    """On teacher-forced CoT held-out strings, at every position whose next token is s_t
    (":" then s_1 .. s_{n-1}), for every head [layers, heads]:

    ``iteration``: fraction of positions whose attention argmax is x_t; ``iteration_mass``: mean
    attention on x_t; ``colon``: fraction whose argmax is ":"; ``colon_mass``: mean attention on ":".
    """
    lengths = trained_lengths(model) if lengths is None else lengths
    device = next(model.parameters()).device
    sums, total = 0, 0
    for n in lengths:
        bits = split(n)[1][:TEST_CAP]
        w = torch.stack(attention_weights(model, encode_bits(bits, True).to(device)))
        w = w[:, :, :, n + 1:2 * n + 1].cpu()  # [L, b, h, n queries, T]
        x_t = F.one_hot(torch.arange(1, n + 1), w.shape[-1]).float()  # [n, T]
        arg = F.one_hot(w.argmax(-1), w.shape[-1]).float()
        sums = sums + torch.stack([(arg * x_t).sum((1, 3, 4)), (w * x_t).sum((1, 3, 4)),
                                   arg[..., n + 1].sum((1, 3)), w[..., n + 1].sum((1, 3))])
        total += bits.shape[0] * n
    s = sums / total
    return {"iteration": s[0], "iteration_mass": s[1], "colon": s[2], "colon_mass": s[3]}


def summary(model: TinyTransformer, cot: bool) -> dict:
    """The final metrics stored with a checkpoint: held-out accuracy, and for CoT models the
    iteration head, the ":" head and the accuracy with the ":" head ablated."""
    acc = accuracy(model, cot)
    out = {"test_acc": acc["all"], "test_acc_by_length": {str(n): a for n, a in acc.items() if n != "all"}}
    if cot:
        stats = head_stats(model)
        it = int(stats["iteration"][1].argmax())
        col = int(stats["colon"][0].argmax())
        with ablate_heads(model, {0: [col]}):
            ablated = accuracy(model, cot)["all"]
        out.update(iteration_head=[1, it], iteration_argmax=stats["iteration"][1, it].item(),
                   iteration_mass=stats["iteration_mass"][1, it].item(),
                   iteration_argmax_layer0=stats["iteration"][0].max().item(),
                   colon_head=[0, col], colon_argmax=stats["colon"][0, col].item(),
                   colon_mass=stats["colon_mass"][0, col].item(),
                   test_acc_colon_head_ablated=ablated)
    return out


def train_parity(cot: bool = True, steps: int = DEFAULTS["steps"], seed: int = 0, device=None,
                 progress: bool = True, batch: int = DEFAULTS["batch"], lr: float = DEFAULTS["lr"],
                 weight_decay: float = DEFAULTS["weight_decay"], eval_every: int = 250,
                 max_train_len: int = DEFAULTS["max_train_len"], d_model: int = DEFAULTS["d_model"],
                 n_heads: int = DEFAULTS["n_heads"], d_mlp: int = DEFAULTS["d_mlp"]):
    """Train a 2-layer transformer (2 heads per layer, MLPs) on parity; returns (model, tokenizer,
    history). Training strings have lengths 1..max_train_len: 8 by default (a lesson-sized run,
    about a minute on a laptop CPU), 12 for the shipped checkpoints.

    history has one row per step: ``loss`` and ``tape_acc`` (teacher-forced next-token accuracy on
    the tape, or on the answer, of the batch); every ``eval_every`` steps also ``test_acc``, the
    final-answer accuracy by greedy decoding on the held-out strings of lengths 6..max_train_len.
    """
    device = pick_device(device)
    torch.manual_seed(seed)
    cfg = config(d_model, n_heads, d_mlp, max_train_len)
    model = TinyTransformer(cfg).to(device)
    gen = torch.Generator().manual_seed(seed + 1)
    train_sets = {n: split(n)[0] for n in range(MIN_LEN, max_train_len + 1)}

    def step_fn(model, data):
        ids, mask = (t.to(device) for t in data)
        logits = model(ids[:, :-1])[mask]
        target = ids[:, 1:][mask]
        acc = (logits.argmax(-1) == target).float().mean().item()
        return F.cross_entropy(logits, target), {"tape_acc": acc}

    history = fit(model, lambda s: make_batch(gen, train_sets, batch, cot), step_fn, steps, lr,
                  weight_decay=weight_decay, cosine=True,
                  evaluate=lambda m: {"test_acc": accuracy(m, cot)["all"]},
                  eval_every=eval_every,
                  progress=progress, desc=f"parity {'CoT' if cot else 'direct'}")
    return model, TinyTokenizer(cfg.vocab), history
