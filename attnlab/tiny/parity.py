"""Parity with and without a chain of thought, and the iteration head (Cabannes et al., 2024).

A training string is ``<bos> x : s <eos>`` where x is a random 0/1 string (length 1..16 for the
shipped models) and s its running parity ("0010101001:0011001110"); the direct variant has only
the last bit after ":". The recipe follows the authors' code (facebookresearch/pal, ``src/cot``):
one head per layer, no biases, their block form (``TinyConfig(block="pal")``), a fixed set of
strings per length, each batch a single length (the batches of an epoch in a random order), Adam at
a constant rate, and a loss on every target after ":" including the end-of-sequence padding, so the
model must know when the tape ends.
A quarter of the strings of each length 4.. is held out of training.

An iteration head attends, at the position whose next token is s_t, to x_t; to know t it needs the
distance to ":", which a layer-0 head fetches. ``head_stats`` measures both for every head.

>>> model, tok, hist = train_parity(steps=3, progress=False)
>>> tok.token_strs(tok.encode(cot_text("0010101001")))[-10:]
['0', '0', '1', '1', '0', '0', '1', '1', '1', '0']
"""
from __future__ import annotations

from typing import TypedDict

import torch
import torch.nn.functional as F

from .model import Block, TinyConfig, TinyTransformer
from .probe import ablate_heads, attention_weights
from .tokenizer import TinyTokenizer
from .training import fit, pick_device

VOCAB = ["<bos>", "0", "1", ":", "<eos>"]
BOS, ZERO, ONE, COLON, EOS = range(5)
MIN_LEN, MAX_LEN, TEST_MIN_LEN, TEST_FRACTION = 1, 16, 4, 0.25
EXTRA_POSITIONS = 4  # input lengths beyond training that still fit the position table (never trained)
TEST_CAP = 1024  # held-out strings evaluated per length (the first ones of the random split)
SPLIT_SEED = 20240  # fixes which strings are held out, whatever the training seed
class Defaults(TypedDict):
    steps: int
    max_train_len: int
    batch: int
    lr: float
    per_length: int
    d_model: int
    n_heads: int
    d_mlp: int
    pad_to_max: bool


DEFAULTS = Defaults(steps=1200, max_train_len=8, batch=256, lr=1e-3, per_length=1024, d_model=64, n_heads=1,
                    d_mlp=256, pad_to_max=True)


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
                      max_len=2 * (max_train_len + EXTRA_POSITIONS) + 3, causal=True, bias=False, block="pal")


def bit_rows(n: int, seed: int) -> torch.Tensor:
    """All 2**n strings of length n as bit rows [2**n, n], in a random order fixed by ``seed``."""
    codes = torch.randperm(2 ** n, generator=torch.Generator().manual_seed(seed + n))
    return (codes[:, None] >> torch.arange(n - 1, -1, -1)) & 1


def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All 2**n strings of length n as bit rows [2**n, n], split into (train, held-out test)."""
    bits = bit_rows(n, SPLIT_SEED)
    n_test = round(TEST_FRACTION * 2 ** n) if n >= TEST_MIN_LEN else 0
    return bits[n_test:], bits[:n_test]


def encode_bits(bits: torch.Tensor, cot: bool, length: int | None = None) -> torch.Tensor:
    """Bit rows [b, n] -> ids <bos> x : s <eos>, [b, 2n+3] (CoT) or [b, n+4] (direct), then
    padded with <eos> to ``length`` tokens if given."""
    running = bits.cumsum(1) % 2
    tape = running if cot else running[:, -1:]
    b = bits.shape[0]
    ids = torch.cat([torch.full((b, 1), BOS), bits + ZERO, torch.full((b, 1), COLON), tape + ZERO,
                     torch.full((b, 1), EOS)], 1)
    if length is not None and length > ids.shape[1]:
        ids = torch.cat([ids, torch.full((b, length - ids.shape[1]), EOS)], 1)
    return ids


def epoch_batches(gen: torch.Generator, train_sets: dict[int, torch.Tensor], batch: int,
                  mix_lengths: bool = True) -> list[torch.Tensor]:
    """One epoch: each length's strings in a fresh random order, cut into batches of one length each;
    the batches in a random order (``mix_lengths``) or by length, shortest first."""
    out = []
    for n in sorted(train_sets):
        pool = train_sets[n][torch.randperm(len(train_sets[n]), generator=gen)]
        out += list(pool.split(batch))
    if mix_lengths:
        out = [out[i] for i in torch.randperm(len(out), generator=gen).tolist()]
    return out


def make_batch(bits: torch.Tensor, cot: bool, length: int | None):
    """(ids [b, T], loss mask [b, T-1]) for strings of one length; the mask marks every position
    whose next token comes after ":" (the tape or answer, <eos>, and its padding)."""
    ids = encode_bits(bits, cot, length)
    mask = torch.zeros(ids.shape[0], ids.shape[1] - 1, dtype=torch.bool)
    mask[:, bits.shape[1] + 1:] = True
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


def longest_trained(model: TinyTransformer) -> int:
    """The longest input ``model`` was trained on (its position table holds EXTRA_POSITIONS more)."""
    return (model.config.max_len - 3) // 2 - EXTRA_POSITIONS


def trained_lengths(model: TinyTransformer) -> range:
    """The lengths with held-out strings that ``model`` was trained on: TEST_MIN_LEN .. its longest input."""
    return range(TEST_MIN_LEN, longest_trained(model) + 1)


def test_strings(n: int, cap: int = TEST_CAP) -> torch.Tensor:
    """Held-out strings of length n [<= cap, n]; beyond the training lengths every string is unseen."""
    return split(n)[1][:cap]


def accuracy(model: TinyTransformer, cot: bool, lengths=None, cap: int = TEST_CAP) -> dict:
    """Final-answer accuracy by greedy decoding on the held-out strings (at most ``cap`` per length):
    ``{"all": pooled, n: acc}`` (``lengths`` defaults to the model's trained lengths, from TEST_MIN_LEN)."""
    lengths = trained_lengths(model) if lengths is None else lengths
    right, total, out = 0, 0, {}
    for n in lengths:
        bits = test_strings(n, cap)
        ok = generate_answers(model, bits, cot)[:, -1] == bits.sum(1) % 2
        out[n] = ok.float().mean().item()
        right, total = right + int(ok.sum()), total + len(ok)
    return {"all": right / total, **out}


@torch.no_grad()
def head_stats(model: TinyTransformer, lengths=None, cap: int = TEST_CAP) -> dict[str, torch.Tensor]:
    """On teacher-forced CoT held-out strings, at every position whose next token is s_t
    (":" then s_1 .. s_{n-1}), for every head [layers, heads]:

    ``iteration``: fraction of positions whose attention argmax is x_t; ``iteration_peaky``: fraction
    whose weight on x_t is above 0.5 (the authors' "peakiness"); ``iteration_mass``: mean weight on
    x_t; ``colon``, ``colon_peaky``, ``colon_mass``: the same for ":".
    """
    lengths = trained_lengths(model) if lengths is None else lengths
    device = next(model.parameters()).device
    sums, total = torch.zeros(()), 0
    for n in lengths:
        bits = test_strings(n, cap)
        w = torch.stack(attention_weights(model, encode_bits(bits, True).to(device)))
        w = w[:, :, :, n + 1:2 * n + 1].cpu()  # [L, b, h, n queries, T]
        on_x = w.gather(-1, torch.arange(1, n + 1).view(1, 1, 1, n, 1).expand(*w.shape[:-1], 1))[..., 0]
        on_colon = w[..., n + 1]  # [L, b, h, n]
        top = w.argmax(-1)
        is_x = top == torch.arange(1, n + 1)
        sums = sums + torch.stack([is_x.float().sum((1, 3)), (on_x > 0.5).float().sum((1, 3)), on_x.sum((1, 3)),
                                   (top == n + 1).float().sum((1, 3)), (on_colon > 0.5).float().sum((1, 3)),
                                   on_colon.sum((1, 3))])
        total += bits.shape[0] * n
    s = sums / total
    names = ("iteration", "iteration_peaky", "iteration_mass", "colon", "colon_peaky", "colon_mass")
    return dict(zip(names, s.unbind(), strict=True))


def summary(model: TinyTransformer, cot: bool) -> dict:
    """The final metrics stored with a checkpoint: held-out accuracy by length (trained lengths
    and the EXTRA_POSITIONS beyond), and for CoT models the iteration head (the layer-1 head that
    most often attends to x_t), the ":" head (the layer-0 head that most often attends to ":"), and
    the accuracy with each of them ablated."""
    lengths = range(TEST_MIN_LEN, longest_trained(model) + EXTRA_POSITIONS + 1)
    acc = accuracy(model, cot, lengths)
    trained = trained_lengths(model)
    pooled = sum(acc[n] * len(test_strings(n)) for n in trained) / sum(len(test_strings(n)) for n in trained)
    out = {"test_acc": pooled, "test_acc_by_length": {str(n): acc[n] for n in lengths}}
    if cot:
        stats = head_stats(model)
        it = int(stats["iteration"][1].argmax())
        col = int(stats["colon"][0].argmax())
        with ablate_heads(model, {1: [it]}):
            without_iteration = accuracy(model, cot)["all"]
        with ablate_heads(model, {0: [col]}):
            without_colon = accuracy(model, cot)["all"]
        out.update(iteration_head=[1, it], iteration_argmax=stats["iteration"][1, it].item(),
                   iteration_peaky=stats["iteration_peaky"][1, it].item(),
                   iteration_mass=stats["iteration_mass"][1, it].item(),
                   iteration_argmax_layer0=stats["iteration"][0].max().item(),
                   colon_head=[0, col], colon_argmax=stats["colon"][0, col].item(),
                   colon_peaky=stats["colon_peaky"][0, col].item(),
                   colon_mass=stats["colon_mass"][0, col].item(),
                   test_acc_iteration_head_ablated=without_iteration,
                   test_acc_colon_head_ablated=without_colon,
                   position_probe_exact={site: r["exact"] for site, r in position_probe(model).items()})
    return out


@torch.no_grad()
def position_probe(model: TinyTransformer, lengths=None, ridge: float = 1e-3) -> dict[str, dict[str, float]]:
    """Is "the position being processed", t, linearly readable from layer 0's output? At every position
    whose next token is s_t (t = 1..n), over held-out CoT strings of every length in ``lengths``, fit a
    ridge regression from the stream to t on half the strings and test it on the other half.

    Sites: ``embedding`` (the stream entering layer 0: it cannot know where ":" is), ``attention``
    (after layer 0's attention) and ``mlp`` (after layer 0's MLP, the stream layer 1 reads).
    Returns per site ``r2`` and ``exact`` (share of test positions whose rounded prediction is t).
    """
    lengths = trained_lengths(model) if lengths is None else lengths
    block: Block = model.blocks[0]  # type: ignore[assignment]  # a ModuleList of Blocks
    seen: dict[str, torch.Tensor] = {}
    hooks = [block.register_forward_pre_hook(lambda m, args: seen.__setitem__("embedding", args[0])),
             block.attn.register_forward_hook(lambda m, args, out: seen.__setitem__("head_out", out)),
             block.register_forward_hook(lambda m, args, out: seen.__setitem__("mlp", out))]
    rows: dict[str, list[torch.Tensor]] = {"embedding": [], "attention": [], "mlp": []}
    targets, halves = [], []
    try:
        for n in lengths:
            bits = test_strings(n)
            model(encode_bits(bits, True).to(next(model.parameters()).device))
            x0 = seen["embedding"]
            after_attention = (block.ln1(x0) if block.pal else x0) + seen["head_out"]
            streams = {"embedding": x0, "attention": after_attention, "mlp": seen["mlp"]}
            for site, x in streams.items():
                rows[site].append(x[:, n + 1:2 * n + 1].reshape(-1, x.shape[-1]).cpu())
            t = torch.arange(1, n + 1).repeat(bits.shape[0])
            targets.append(t.float())
            halves.append((torch.arange(bits.shape[0]) % 2 == 0).repeat_interleave(n))
    finally:
        for h in hooks:
            h.remove()
    t, train = torch.cat(targets), torch.cat(halves)
    out = {}
    for site, parts in rows.items():
        x = torch.cat(parts).double()
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
        a, b = x[train], t[train].double()
        w = torch.linalg.solve(a.T @ a + ridge * torch.eye(a.shape[1], dtype=a.dtype), a.T @ b)
        pred, truth = x[~train] @ w, t[~train].double()
        r2 = 1 - ((pred - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()
        out[site] = {"r2": r2.item(), "exact": (pred.round() == truth).double().mean().item()}
    return out


def _progress_metrics(model: TinyTransformer, cot: bool, cap: int) -> dict:
    """What the history records every ``eval_every`` steps: held-out accuracy and, for CoT, how
    peaked the two heads are (layer 1 on x_t, layer 0 on ":"), on at most ``cap`` strings per length."""
    row = {"test_acc": accuracy(model, cot, cap=cap)["all"]}
    if cot:
        stats = head_stats(model, cap=cap)
        row.update(iteration=stats["iteration"][1].max().item(),
                   iteration_peaky=stats["iteration_peaky"][1].max().item(), colon=stats["colon"][0].max().item())
    return row


def train_parity(cot: bool = True, steps: int = DEFAULTS["steps"], seed: int = 0, device=None,
                 progress: bool = True, batch: int = DEFAULTS["batch"], lr: float = DEFAULTS["lr"],
                 per_length: int = DEFAULTS["per_length"], eval_every: int = 250,
                 max_train_len: int = DEFAULTS["max_train_len"], d_model: int = DEFAULTS["d_model"],
                 n_heads: int = DEFAULTS["n_heads"], d_mlp: int = DEFAULTS["d_mlp"],
                 pad_to_max: bool = DEFAULTS["pad_to_max"], start_from: TinyTransformer | None = None,
                 reset: tuple[str, ...] = (), mix_lengths: bool = True, eval_strings: int = TEST_CAP):
    """Train a 2-layer transformer (``n_heads`` per layer, MLPs, no biases, the authors' block form)
    on parity; returns (model, tokenizer, history).

    Training strings have lengths 1..max_train_len (8 by default, 16 for the shipped checkpoints):
    at most ``per_length`` fixed strings of each length, minus the held-out quarter. Each batch holds
    one length; an epoch's batches come in a random order (``mix_lengths``), or by length, shortest
    first, without it (the lesson compares the two). Adam at a constant ``lr``. With ``pad_to_max``
    every string is padded with <eos> to the longest training length, and the padding is in the loss.

    history has one row per step: ``loss`` and ``tape_acc`` (teacher-forced next-token accuracy after
    ":" in the batch), and every ``eval_every`` steps ``test_acc`` (final-answer accuracy by greedy
    decoding on held-out strings of lengths 4..max_train_len) and, with CoT, ``iteration`` and
    ``iteration_peaky`` (the best layer-1 head's argmax on x_t, and weight above 0.5 there) and
    ``colon`` (the best layer-0 head's argmax on ":"), on at most ``eval_strings`` strings per length.

    ``start_from``: continue from a copy of this model (its architecture and training lengths), with
    the parameters whose names start with one of ``reset`` (e.g. ``"blocks.1.attn"``) drawn afresh.
    """
    device = pick_device(device)
    torch.manual_seed(seed)
    if start_from is None:
        model = TinyTransformer(config(d_model, n_heads, d_mlp, max_train_len)).to(device)
    else:
        model = TinyTransformer(start_from.config).to(device)   # a clean copy (no hooks of a runner on it)
        fresh = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(start_from.state_dict())
        max_train_len = longest_trained(model)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.startswith(tuple(reset)):
                    p.copy_(fresh[name])
    cfg = model.config
    gen = torch.Generator().manual_seed(seed + 1)
    train_sets = {n: split(n)[0][:per_length] for n in range(MIN_LEN, max_train_len + 1)}
    length = (2 * max_train_len + 3 if cot else max_train_len + 4) if pad_to_max else None
    queue: list[torch.Tensor] = []

    def next_batch(step):
        if not queue:
            queue.extend(reversed(epoch_batches(gen, train_sets, batch, mix_lengths)))
        return make_batch(queue.pop(), cot, length)

    def step_fn(model, data):
        ids, mask = (t.to(device) for t in data)
        logits = model(ids[:, :-1])[mask]
        target = ids[:, 1:][mask]
        acc = (logits.argmax(-1) == target).float().mean().item()
        return F.cross_entropy(logits, target), {"tape_acc": acc}

    history = fit(model, next_batch, step_fn, steps, lr, evaluate=lambda m: _progress_metrics(model, cot, eval_strings),
                  eval_every=eval_every, progress=progress, desc=f"parity {'CoT' if cot else 'direct'}")
    return model, TinyTokenizer(cfg.vocab), history
