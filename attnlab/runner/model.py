"""The model runner: load a real model, run it with hooks, intervene, generate.

>>> import attnlab
>>> model = attnlab.load("tiny-induction")
>>> t = model.run("P Q A B X Y S T A")
>>> [(token, round(p, 2)) for token, p in t.top_next(3)]
[('B', 0.26), ('y', 0.02), ('c', 0.02)]
>>> model.run(t.ids, ablate=[(0, 0)]).top_next(1)[0][0]     # without the previous-token head: no induction
'P'
"""
from __future__ import annotations

import contextlib
import inspect
import sys
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import AttnlabError
from . import families
from .attention import IMPLEMENTATION, Hooks, Owner, attention
from .checks import ModelBase, check_finite, check_heads, check_layer, check_unicode, is_int
from .interventions import HOW, compile_pass
from .trace import Trace

if TYPE_CHECKING:
    from transformers import GenerationMixin

_REFERENCE_TEXT = Path(__file__).parent.parent / "data" / "reference.txt"
_LOGITS_BUDGET = 256 * 2**20   # keep every position's logits only below this many bytes
_CHUNK = 512                   # positions per unembedding chunk
_LENGTHS_KEPT = 4              # prompt lengths whose block inputs are kept for passes that start late
_UNBOUNDED_CONTEXT = 8192      # the most tokens generate writes for a model without a context length
_BAR_FROM = 32                 # generate shows a progress bar from this many new tokens on


class Model(ModelBase):
    """A loaded model wrapped for inspection. Build one with :func:`attnlab.load`.

    Attributes: ``name``, ``n_layers``, ``n_heads`` (query heads per layer), ``n_kv_heads``, ``head_dim``,
    ``d_model``, ``is_causal``, ``has_lm_head``, ``device``, ``dtype``; ``module`` and ``tokenizer`` are the
    underlying torch module and tokenizer. Forwards are serialised by a lock, so several widgets may share
    one model from different threads.
    """

    def __init__(self, module: torch.nn.Module, tokenizer, name: str):
        self.module = module.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.anatomy = families.anatomy(module)  # where the blocks, attention, norm and unembedding live
        self._owner = Owner()
        self._lock = threading.RLock()
        self._means: torch.Tensor | None = None
        self._block_inputs: dict[tuple, dict[int, tuple]] = {}   # (length, device) -> layer -> inputs
        self._wrap()

    # -- shape of the model ---------------------------------------------------------------------
    n_layers = property(lambda self: self.anatomy.n_layers)
    n_heads = property(lambda self: self.anatomy.n_heads)
    n_kv_heads = property(lambda self: self.anatomy.n_kv_heads)
    head_dim = property(lambda self: self.anatomy.head_dim)
    d_model = property(lambda self: self.anatomy.d_model)
    is_causal = property(lambda self: self.anatomy.causal)
    has_lm_head = property(lambda self: self.anatomy.unembed is not None and self.anatomy.causal)
    family = property(lambda self: self.anatomy.family)

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.module.parameters()).dtype

    @property
    def max_tokens(self) -> int | None:
        """The longest prompt the model accepts (its context length), or None if unbounded."""
        return self.anatomy.max_positions

    def __repr__(self) -> str:
        kv = f" ({self.n_kv_heads} kv)" if self.n_kv_heads != self.n_heads else ""
        kind = "decoder" if self.is_causal else "encoder"
        return (f"<attnlab.Model {self.name}: {self.family} {kind}, {self.n_layers} layers x {self.n_heads} heads"
                f"{kv}, d_model {self.d_model}, on {self.device}>")

    # -- wrapping -------------------------------------------------------------------------------
    def _wrap(self):
        a = self.anatomy
        if a.family == "attnlab_tiny":
            for m in a.attn:
                m.attention_fn = attention
        else:
            self.module.set_attn_implementation(IMPLEMENTATION)
        for layer, m in enumerate(a.attn):
            m._attnlab_owner = self._owner
            m._attnlab_layer = layer
            m._attnlab_causal = a.causal
        for layer, block in enumerate(a.blocks):
            block.register_forward_pre_hook(partial(self._enter_block, layer), with_kwargs=True)
        if a.final_norm is not None:
            a.final_norm.register_forward_pre_hook(self._enter_final_norm)
        else:
            a.blocks[-1].register_forward_hook(self._leave_last_block)

    def _edit_resid(self, layer: int, h: torch.Tensor) -> torch.Tensor:
        run = self._owner.active
        assert run is not None, "a block hook ran outside a pass"
        edits = run.resid_edits.get(layer)
        if edits:
            h = h.clone()
            for edit in edits:
                edit(h)
        if run.record:
            run.resid[layer] = run.keep(h)
        return h

    def _enter_block(self, layer, module, args, kwargs):
        run = self._owner.active
        if run is None or layer < run.start:
            return None
        if args:
            resid, rest, others = args[0], args[1:], kwargs
        else:
            name = _first_parameter(module)  # the residual stream, whatever this transformers version calls it
            resid, rest, others = kwargs[name], (), {k: v for k, v in kwargs.items() if k != name}
        if run.start == 0 and resid.shape[0] == 1:
            # what the model passes a block besides the residual (masks, rotary angles) depends only on the
            # length: kept so that a later pass can start at this block (see _resume)
            key = (resid.shape[1], resid.device)
            if layer == 0:
                self._block_inputs.pop(key, None)
                self._block_inputs[key] = {}
                while len(self._block_inputs) > _LENGTHS_KEPT:
                    self._block_inputs.pop(next(iter(self._block_inputs)))
            self._block_inputs.get(key, {})[layer] = (rest, others)
        resid = self._edit_resid(layer, resid)
        if args:
            return (resid, *rest), kwargs
        return args, {**kwargs, name: resid}

    def _enter_final_norm(self, module, args):
        if self._owner.active is None:
            return None
        return (self._edit_resid(self.n_layers, args[0]), *args[1:])

    def _leave_last_block(self, module, args, output):
        if self._owner.active is None:
            return None
        return self._edit_resid(self.n_layers, output)

    @contextlib.contextmanager
    def _active(self, run: Hooks):
        """Make ``run`` the pass the hooks serve, for one forward (forwards never interleave)."""
        with self._lock:
            self._owner.active = run
            try:
                yield run
            finally:
                self._owner.active = None

    # -- tokens ---------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        """The tokens the model sees for ``text``, as strings.

        >>> import attnlab
        >>> attnlab.load("tiny-induction").tokenize("P Q A B")
        ['<bos>', 'P', 'Q', 'A', 'B']
        """
        return self.token_strings(self.encode(text))

    def encode(self, text) -> list[int]:
        """Token ids for ``text`` (a string, or already a list/array/tensor of ids, which is checked)."""
        if isinstance(text, str):
            if not text.strip():
                raise AttnlabError("the text is empty (or only whitespace): give the model at least one word.")
            ids = self._encode_str(check_unicode(text))
        elif isinstance(text, (list, tuple, np.ndarray, torch.Tensor)):
            if not _all_ints(text):
                raise AttnlabError("token ids must be integers; pass a string of text or a list of int ids.")
            ids = [int(i) for i in np.asarray(text.cpu() if isinstance(text, torch.Tensor) else text).reshape(-1)]
            bad = [i for i in ids if not 0 <= i < self.vocab_size]
            if bad:
                raise AttnlabError(f"token id {bad[0]} is outside the vocabulary (0..{self.vocab_size - 1}).")
        else:
            raise AttnlabError(f"expected text (a str) or a list of token ids, got {type(text).__name__}.")
        if not ids:
            raise AttnlabError("the prompt has no tokens; give the model some text.")
        if self.max_tokens is not None and len(ids) > self.max_tokens:
            raise AttnlabError(f"the prompt has {len(ids)} tokens but {self.name} reads at most {self.max_tokens}; "
                               "shorten it (for example keep its last part).")
        return ids

    @property
    def vocab_size(self) -> int:
        return int(getattr(self.module.config, "vocab_size", None) or len(self.tokenizer))

    def _encode_str(self, text: str) -> list[int]:
        if self.family == "attnlab_tiny":
            try:
                return list(self.tokenizer.encode(text))
            except AttnlabError as e:
                raise AttnlabError(f"{self.name} cannot read {text!r}: {e}") from None
        return list(self.tokenizer(text)["input_ids"])

    def token_strings(self, ids: list[int]) -> list[str]:
        if self.family == "attnlab_tiny":
            return list(self.tokenizer.token_strs(ids))
        if self.family == "bert":
            return list(self.tokenizer.convert_ids_to_tokens(ids))
        return [self.tokenizer.decode([i]) for i in ids]

    # -- running --------------------------------------------------------------------------------
    def run(self, text, *, ablate=(), how: str = "zero", patch=None, add=None, block=None, reuse: Trace | None = None,
            record: bool = True) -> Trace:
        """Run ``text`` (or token ids) through the model, optionally with interventions, and return a Trace.

        - ``ablate=[(layer, head), ...]`` with ``how="zero"`` (output set to 0) or ``"mean"`` (set to its mean
          over a reference text): a head is ablated on its own slice before the output projection.
        - ``patch=attnlab.Patch(source_trace, heads=..., resid=...)``: activation patching from another run.
        - ``add=attnlab.Add(vector, layer, position)``: add a vector to the residual stream.
        - ``block=attnlab.Block(heads, query, key)``: forbid attention edges (knockout).
        - ``reuse=earlier_trace`` (same prompt, ablations only): recompute only from the first layer whose
          ablations differ, reusing the earlier trace below it. Results are identical, just faster.
        - ``record=True`` keeps what patterns, head outputs and residuals need; ``False`` keeps nothing
          (predictions only).

        >>> import attnlab
        >>> model = attnlab.load("tiny-induction")
        >>> round(model.run("P Q A B X Y S T A").prob("B"), 2)
        0.26
        >>> round(model.run("P Q A B X Y S T A", ablate=[(1, 0), (1, 1)], how="mean").prob("B"), 2)
        0.02
        """
        if not isinstance(record, bool):
            raise AttnlabError(f"record must be True or False, got {record!r}.")
        ids = self.encode(text)
        run = compile_pass(self, len(ids), ablate=ablate, how=how, patch=patch, add=add, block=block,
                           record=record)
        heads = check_heads(self, ablate)
        layers, resid = {}, {}
        if reuse is not None:
            run.start = self._resume_from(reuse, ids, heads, how, (patch, add, block))
            layers = {l: r for l, r in reuse._layers.items() if l < run.start}
            resid = {l: r for l, r in reuse._resid.items() if l < run.start}
            cached = reuse._resid_t(run.start)
            run.resid_edits.setdefault(run.start, []).insert(0, lambda h: h.copy_(cached))
        hidden = self.forward(torch.tensor([ids], device=self.device), run)
        logits, next_logits, losses = self._predict(hidden[0], ids)
        layers.update(run.layers)
        resid.update(run.resid)
        return Trace(self, ids, layers=layers, resid=resid, logits=logits, next_logits=next_logits,
                     token_losses=losses, ablate=heads, how=how,
                     interventions={"patch": patch is not None, "add": add is not None, "block": block is not None})

    def _resume_from(self, reuse: Trace, ids, heads, how, others) -> int:
        if not isinstance(reuse, Trace) or reuse.model is not self:
            raise AttnlabError("reuse= takes a trace from model.run on this same model.")
        if reuse.ids != ids:
            raise AttnlabError("reuse= needs a trace of the same prompt; this prompt differs from the reused one.")
        if any(o is not None for o in others) or any(reuse.interventions.values()):
            raise AttnlabError("reuse= works with ablations only (no patch, add or block in either run).")
        if len(reuse._resid) < self.n_layers + 1:
            raise AttnlabError("the reused trace kept no residual stream; produce it with record=True (the default).")
        changed = set(heads) ^ set(reuse.ablate) if how == reuse.how else set(heads) | set(reuse.ablate)
        return min((layer for layer, _ in changed), default=self.n_layers)

    def forward(self, ids: torch.Tensor, run: Hooks) -> torch.Tensor:
        """One forward of ``ids`` ([batch, T] on ``model.device``) with the edits and records of ``run``.

        Returns the final hidden states [batch, T, d_model] (after the last norm; :meth:`unembed` turns
        them into logits). This is the door every experiment in attnlab goes through: ablation, patching,
        adding a vector and knockouts are edits of an :class:`~attnlab.Hooks`, and so can yours be.
        """
        grad = torch.enable_grad() if run.keep_grad else torch.no_grad()
        with grad, self._active(run):
            if run.start > 0:
                hidden = self._resume(ids, run)
                if hidden is not None:
                    return hidden
                run.start = 0   # nothing recorded for this length yet: run every block (same result, slower)
            if self.family == "attnlab_tiny":
                seen: dict[str, torch.Tensor] = {}
                assert self.anatomy.final_norm is not None   # a tiny model always has ln_f
                handle = self.anatomy.final_norm.register_forward_hook(lambda m, i, o: seen.setdefault("h", o))
                try:
                    self.module(ids)
                finally:
                    handle.remove()
                return seen["h"]
            return self.anatomy.base(input_ids=ids, use_cache=False).last_hidden_state

    def _resume(self, ids: torch.Tensor, run: Hooks) -> torch.Tensor | None:
        """Run only blocks ``run.start`` .. last, calling each module as the model itself does (no module
        is changed), with the other inputs an earlier pass of this length recorded; the input of block
        ``run.start`` comes from ``run``'s edits there. None when no such pass was recorded."""
        inputs = self._block_inputs.get((ids.shape[1], ids.device))
        if inputs is None or any(layer not in inputs for layer in range(run.start, self.n_layers)):
            return None
        a = self.anatomy
        h = torch.zeros(*ids.shape, self.d_model, device=ids.device, dtype=self.dtype)  # replaced by the edit
        for layer in range(run.start, self.n_layers):
            rest, kwargs = inputs[layer]
            out = a.blocks[layer](h, *rest, **kwargs)
            h = out[0] if isinstance(out, tuple) else out
        return h if a.final_norm is None else a.final_norm(h)

    def _predict(self, hidden: torch.Tensor, ids: list[int]):
        """Logits (all positions when small enough), last-position logits, and per-token losses."""
        if not self.has_lm_head:
            return None, None, None
        n = len(ids)
        keep_all = n * self.vocab_size * 4 <= _LOGITS_BUDGET
        targets = torch.tensor(ids[1:], device=hidden.device)
        chunks, losses = [], []
        with torch.no_grad():
            for s in range(0, n, _CHUNK):
                logits = families.unembed_logits(self.anatomy, hidden[s:s + _CHUNK]).float()
                tgt = targets[s:s + _CHUNK]
                if len(tgt):
                    losses.append(F.cross_entropy(logits[:len(tgt)], tgt, reduction="none"))
                if keep_all:
                    chunks.append(logits.cpu())
            next_logits = logits[-1].cpu()
        token_losses = torch.cat(losses).cpu().numpy() if losses else np.zeros(0, dtype=np.float32)
        return (torch.cat(chunks) if keep_all else None), next_logits, token_losses

    # -- the model's own maps ---------------------------------------------------------------------
    def unembed(self, hidden: torch.Tensor, tokens: list[int] | None = None) -> torch.Tensor:
        """Float32 logits of final hidden states ``hidden`` [..., d_model]; only the columns ``tokens`` if given."""
        a = self.anatomy
        if a.unembed is None:
            raise AttnlabError(f"{self.name} has no next-token head to unembed with.")
        if tokens is not None and isinstance(a.unembed, torch.nn.Linear):
            bias = a.unembed.bias[tokens] if a.unembed.bias is not None else None
            logits = F.linear(hidden, a.unembed.weight[tokens], bias)
            if a.logit_softcap is not None:
                logits = torch.tanh(logits / a.logit_softcap) * a.logit_softcap
            return logits.float()
        logits = families.unembed_logits(a, hidden).float()
        return logits if tokens is None else logits[..., tokens]

    def final_norm(self, resid_final: torch.Tensor) -> torch.Tensor:
        """The model's last norm applied to ``resid_final`` [..., d_model] (identity if it has none)."""
        norm = self.anatomy.final_norm
        if norm is None:
            return resid_final
        with self._lock:   # the norm carries the runner's hook: no pass may be active meanwhile
            return norm(resid_final)

    def W_O(self, layer: int) -> torch.Tensor:
        """Layer ``layer``'s output projection per head, [n_heads, head_dim, d_model]: head h writes z_h @ W_O[h]."""
        attn = self.anatomy.attn[check_layer(self, layer)]
        o_proj, c_proj = getattr(attn, "o_proj", None), getattr(attn, "c_proj", None)
        if o_proj is not None:
            weight = o_proj.weight                          # [d_model, n_heads * head_dim]
        elif c_proj is not None:
            weight = c_proj.weight.T                        # GPT-2's Conv1D stores [in, out]
        else:
            raise AttnlabError(f"attnlab cannot find the output projection of a {self.family} layer.")
        return weight.T.reshape(self.n_heads, self.head_dim, self.d_model)

    # -- reference statistics -------------------------------------------------------------------
    def head_means(self) -> torch.Tensor:
        """Mean output of every head over a reference text, [n_layers, n_heads, head_dim] (for mean ablation).

        The reference is a few paragraphs of plain English shipped with attnlab (positions after the first,
        whose outputs are atypical); models that cannot read English (the tiny models) use random sequences
        from their own vocabulary.
        """
        if self._means is None:
            ids = self._reference_ids()
            run = Hooks(record=True)
            self.forward(torch.tensor(ids, device=self.device), run)
            means = []
            for l in range(self.n_layers):
                z = run.layers[l].z
                assert z is not None    # record=True keeps every head's output
                means.append(z[:, 1:].float().mean(dim=(0, 1)))
            self._means = torch.stack(means).to(self.dtype)
        return self._means

    def _reference_ids(self) -> list[list[int]]:
        if self.family == "attnlab_tiny":
            g = torch.Generator().manual_seed(0)
            n = min(64, self.max_tokens or 64)
            return torch.randint(0, self.vocab_size, (8, n), generator=g).tolist()
        ids = self._encode_str(_REFERENCE_TEXT.read_text())   # no length check: it is cut to the context below
        return [ids[:min(len(ids), 256, self.max_tokens or 256)]]

    # -- generation -----------------------------------------------------------------------------
    def generate(self, prompt, max_new_tokens: int = 20, *, ablate=(), how: str = "zero",
                 temperature: float = 0.0, seed: int = 0, progress: bool = True) -> Trace:
        """Continue ``prompt`` and return a Trace over prompt + generated tokens (``t.n_prompt`` marks the split).

        Greedy by default (``temperature=0``); ``temperature > 0`` samples (reproducibly, from ``seed``).
        Ablations apply while generating and in the returned trace, so you can watch a model write without
        some heads. ``max_new_tokens`` may not exceed the room the model's context leaves after the prompt.
        A progress bar shows from 32 new tokens on (``progress=False`` hides it). Interrupting (Ctrl-C, or
        the notebook's stop button) ends generation early: the trace holds what was written so far.

        >>> import attnlab
        >>> t = attnlab.load("tiny-induction").generate("P Q A B X Y S T A", max_new_tokens=4)
        >>> "".join(t.tokens[t.n_prompt:])          # it goes on copying the sequence
        'BXYS'
        """
        if not self.has_lm_head:
            raise AttnlabError(f"{self.name} is an encoder without a next-token head: it cannot generate.")
        if not is_int(max_new_tokens) or max_new_tokens < 1:
            raise AttnlabError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}.")
        temperature = check_finite(temperature, "temperature (0 means greedy, above 0 samples)", minimum=0.0)
        if not is_int(seed):
            raise AttnlabError(f"seed must be an int, got {seed!r}.")
        if not isinstance(progress, bool):
            raise AttnlabError(f"progress must be True or False, got {progress!r}.")
        if how not in HOW:
            raise AttnlabError(f"how must be 'zero' or 'mean', got {how!r}.")
        ids = self.encode(prompt)
        context = self.max_tokens or _UNBOUNDED_CONTEXT
        room = context - len(ids)
        if room < 1:
            raise AttnlabError(f"the prompt already fills {self.name}'s context of {context} tokens; shorten it.")
        if max_new_tokens > room:
            raise AttnlabError(f"max_new_tokens={max_new_tokens} does not fit: {self.name} reads at most {context} "
                               f"tokens and the prompt has {len(ids)}, so at most {room} new tokens fit. "
                               f"Ask for max_new_tokens={min(room, 200)} or fewer.")
        run = compile_pass(self, len(ids), ablate=ablate, how=how, record=False)
        from tqdm.auto import tqdm

        out = list(ids)
        with tqdm(total=max_new_tokens, desc="generating", unit="token",
                  disable=not progress or max_new_tokens < _BAR_FROM) as bar:
            try:
                if self.family == "attnlab_tiny":
                    self._generate_by_recompute(out, max_new_tokens, run, temperature, seed, bar.update)
                else:
                    self._generate_with_cache(out, max_new_tokens, run, temperature, seed, bar.update)
            except KeyboardInterrupt:
                if len(out) == len(ids):
                    raise
                bar.write(f"attnlab: generation interrupted after {len(out) - len(ids)} new tokens; "
                          "the trace holds what was written so far.", file=sys.stderr)
        t = self.run(out, ablate=ablate, how=how)
        t.n_prompt = len(ids)
        return t

    def _generate_with_cache(self, out: list[int], steps: int, run: Hooks, temperature: float, seed: int,
                             tick=lambda n: None) -> list[int]:
        """transformers' generate with its KV cache; head ablations apply to every new position. New tokens
        are appended to ``out`` as they come (so an interrupted call leaves what was written)."""
        from transformers import GenerationConfig

        eos = getattr(self.tokenizer, "eos_token_id", None)
        config = GenerationConfig(max_new_tokens=steps, do_sample=temperature > 0, eos_token_id=eos,
                                  pad_token_id=eos, temperature=temperature if temperature > 0 else None,
                                  top_k=None, top_p=None)
        devices = [self.device] if self.device.type == "cuda" else []
        prompt = torch.tensor([out], device=self.device)
        with torch.no_grad(), self._active(run), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            generate = cast("GenerationMixin", self.module).generate     # a transformers model (tiny ones recompute)
            generate(prompt, generation_config=config, streamer=_Collect(out, tick))
        return out

    def _generate_by_recompute(self, out: list[int], steps: int, run: Hooks, temperature: float, seed: int,
                               tick=lambda n: None) -> list[int]:
        """A plain loop that recomputes the whole prefix each step (attnlab's tiny models); appends to ``out``."""
        g = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            hidden = self.forward(torch.tensor([out], device=self.device), run)
            with torch.no_grad():
                logits = families.unembed_logits(self.anatomy, hidden[0, -1:]).float()[0].cpu()
            if temperature > 0:
                out.append(int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=g)))
            else:
                out.append(int(logits.argmax()))
            tick(1)
        return out


class _Collect:
    """A transformers streamer that appends each new token to ``out`` (the first call is the prompt)."""

    def __init__(self, out: list[int], tick):
        self.out, self.tick, self.prompt_seen = out, tick, False

    def put(self, value: torch.Tensor):
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        new = value.reshape(-1).tolist()
        self.out.extend(new)
        self.tick(len(new))

    def end(self):
        pass

def _first_parameter(module) -> str:
    return next(iter(inspect.signature(module.forward).parameters))


def _all_ints(x) -> bool:
    arr = np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x)
    return arr.dtype.kind in "iu" or (arr.size == 0)
