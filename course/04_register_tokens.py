# %% [markdown]
# # 4 · Register tokens
#
# **Learning goals.** By the end of this lesson you can
# - explain what register tokens are and why Darcet et al. (2024) added them to vision transformers;
# - compare two small encoders trained with and without registers: where a head's attention goes when it has
#   nothing to find, and how clean its map is over the real content;
# - check whether the high-norm outlier tokens of large vision transformers show up at this small scale;
# - explain, and measure, why a decoder cannot use registers.

# %%
import time

import altair as alt
import numpy as np
import pandas as pd

import attnlab

attnlab.charts.use_offline_charts()
no_regs = attnlab.load("tiny-registers-0")
with_regs = attnlab.load("tiny-registers-8")
models = {"no registers": no_regs, "8 registers": with_regs}

# %% [markdown]
# ## From sinks to registers
#
# Lesson 3 showed that a head with nothing useful to read still has to put its attention somewhere, and that a
# decoder parks it on the first token. Vision transformers do something similar. Darcet et al. (2024) found that
# large ViTs park attention on a few patches of uninformative **background** (sky, wall, empty table). Those
# patches stop describing their own piece of the image: their states grow unusually large and carry information
# about the *whole* image instead. Their attention maps, the pictures people use to see what a ViT looks at, get
# speckled with bright background spots.
#
# Their fix is simple. Add a few extra learned tokens to the input that stand for no patch at all, **register
# tokens**, and let the model use them as scratch space and as a place to rest attention. The background patches
# go back to being background, and the maps become clean.
#
# ## A toy version: letters on a background
#
# attnlab ships two tiny **encoders** (bidirectional: every token sees every other token) trained on the same
# task, one without registers and one with 8. Each input is a row of 24 symbols. About half are the background
# symbol ".", the rest are letters a-h and A-H. Every letter must say whether its **partner** (the same letter in
# the other case: a and A) occurs somewhere in the row, and a `<cls>` token in front must say whether partnered
# letters outnumber lonely ones. The tokenizer adds `<cls>` and, for the second model, `<reg0>` ... `<reg7>`.
#
# The interesting letters are the **lonely** ones. A head that looks for a letter's partner has a clear target
# when the partner is there, and *nothing* to look at when it is not: that attention has to go somewhere.

# %%
row = "a.B..c.A..d...b.E..h.H.."
lonely = [c for c in row if c != "." and c.swapcase() not in row]
print(f"row of {len(row)} symbols; lonely letters: {lonely}")
for name, model in models.items():
    t = model.run(row)
    print(f"{name:>12}: {len(t)} tokens, starting {t.tokens[:11]}")
stats = {name: attnlab.tiny.register_stats(model) for name, model in models.items()}
for name, s in stats.items():
    n_rows = ((s["norms"].layer == 0) & (s["norms"].token == "cls")).sum()   # one <cls> per row
    print(f"{name:>12}: letters answered right {s['letter_acc']:.1%}, <cls> right {s['cls_acc']:.1%} "
          f"({n_rows} fresh rows)")

# %% [markdown]
# Both models solve the task on fresh rows, so registers are not needed for accuracy here. The question is *how*
# each model solves it, which we read from the attention.
#
# ## The partner head
#
# `attnlab.tiny.measure(model)` finds the **partner head**: the head that puts the most attention on a letter's
# partner when the partner is there.

# %%
measured = {name: attnlab.tiny.measure(model) for name, model in models.items()}
for name, m in measured.items():
    layer, head = m["partner_head"]
    print(f"{name:>12}: partner head {layer}.{head} puts {m['partner_mass']:.0%} of a letter's attention "
          f"on its partner when the partner is present")
layer, head = measured["no registers"]["partner_head"]
attnlab.AttentionView(no_regs, text=row, layer=layer, head=head)

# %% [markdown]
# In the view, each row is a query token and each column a key. The partnered letters (a, A, B, b, h, H) send
# their attention to their partner. Now look at the rows of the lonely letters c, d and E: with nothing to find,
# their attention spreads over background dots or other letters. Hover a row to read the weights.
#
# ## Where does attention go when there is nothing to find?
#
# `measure` also averages, over fresh rows, where the partner head's attention goes for lonely letters
# (`no_target_on_...`), by kind of key token.

# %%
kinds = ["cls", "registers", "background", "self", "other letters"]
no_target = pd.DataFrame({name: {k: m["no_target_on_" + k.replace(" ", "_")] for k in kinds}
                          for name, m in measured.items()})
print(no_target.round(3))
bars = no_target.reset_index(names="key").melt("key", var_name="model", value_name="attention")
alt.Chart(bars).mark_bar().encode(
    y=alt.Y("key:N", sort=kinds, title=None), yOffset=alt.YOffset("model:N", sort=list(models)),
    x=alt.X("attention:Q", scale=alt.Scale(domain=[0, 1]), title="share of a lonely letter's attention"),
    color=alt.Color("model:N", sort=list(models), title=None),
    tooltip=["model:N", "key:N", alt.Tooltip("attention:Q", format=".3f")],
).properties(width=420, title="partner head, letters whose partner is absent")

# %% [markdown]
# Without registers, the partner head rests a lonely letter's attention mostly on background dots, with `<cls>`
# and other letters taking the rest. With 8 registers, the registers take most of it and `<cls>` gets almost
# nothing: the model has learned to use the meaningless tokens as the place to look when there is nothing to
# find. Same row, model with registers:

# %%
layer, head = measured["8 registers"]["partner_head"]
attnlab.AttentionView(with_regs, text=row, layer=layer, head=head)

# %%
for name, model in models.items():
    t = model.run(row)
    layer, head = measured[name]["partner_head"]
    p = t.pattern(layer, head)
    registers = [i for i, tok in enumerate(t.tokens) if tok.startswith("<reg")]
    background = [i for i, tok in enumerate(t.tokens) if tok == "."]
    for i, tok in enumerate(t.tokens):
        if tok in lonely:
            print(f"{name:>12}, lonely {tok!r}: <cls> {p[i, 0]:.2f}   registers {p[i, registers].sum():.2f}   "
                  f"background {p[i, background].sum():.2f}")

# %% [markdown]
# Not every lonely letter behaves the same way on this row. The averages above hide a per-letter habit: each
# letter's query has its own favourite resting place. We measure it on 200 random rows drawn like the training
# data (24 symbols, each a dot with probability 1/2, otherwise a random letter).

# %%
LETTERS = "abcdefghABCDEFGH"
rng = np.random.default_rng(0)
rows = ["".join("." if rng.random() < 0.5 else LETTERS[rng.integers(16)] for _ in range(24)) for _ in range(200)]


def resting_places(model, rows, layer, head):
    """Mean attention of each lonely letter (partner absent) on <cls>, registers and background."""
    records = []
    for r in rows:
        t = model.run(r)
        p = t.pattern(layer, head)
        start = len(t.tokens) - len(r)                      # <cls> and the registers come first
        background = [start + j for j, c in enumerate(r) if c == "."]
        for j, c in enumerate(r):
            if c != "." and c.swapcase() not in r:
                q = start + j
                records.append({"letter": c, "cls": p[q, 0], "registers": p[q, 1:start].sum(),
                                "background": p[q, background].sum()})
    return pd.DataFrame(records).groupby("letter").mean().reindex(list(LETTERS))


habits = pd.concat({name: resting_places(model, rows, *measured[name]["partner_head"])
                    for name, model in models.items()}, axis=1)
print(habits.drop(columns=[("no registers", "registers")]).round(2).T)
for name in models:
    h = habits[name]
    print(f"{name:>12}: letters resting mostly (> 0.5) on <cls>: {''.join(h.index[h['cls'] > 0.5])}   "
          f"on registers: {''.join(h.index[h['registers'] > 0.5])}   "
          f"on background: {''.join(h.index[h['background'] > 0.5])}")

# %% [markdown]
# Read the two lists. Without registers, most letters pick either `<cls>` or the background as their sink; the
# letters in neither list split their attention, much of it onto other letters. With registers, most letters
# moved to the registers; a few kept a background habit, or split between the two. Training found a solution that
# works, not necessarily the tidiest one.
#
# ## Cleaner maps
#
# Darcet et al.'s practical gain was cleaner attention maps: less attention wasted on background. Here is each
# head's attention on background tokens, averaged over letter queries with and without a partner (the
# `register_stats` table split by query kind, then averaged), for both models.

# %%
background_mass = pd.DataFrame({name: s["mass"][s["mass"].key == "background"].groupby(["layer", "head"]).mass.mean()
                                for name, s in stats.items()})
print(background_mass.round(3))
ratio = measured["8 registers"]["background_mass"] / measured["no registers"]["background_mass"]
print(f"partner head: background mass {measured['no registers']['background_mass']:.3f} without registers, "
      f"{measured['8 registers']['background_mass']:.3f} with: {ratio:.2f} times as much")

# %% [markdown]
# Every head puts less attention on background with registers, but by very different amounts: the partner
# head's map is several times cleaner, while one head of layer 1 barely changes.
#
# The sink view shows the same thing for all four heads at once, on our row: the mass each key token receives
# (columns), and below it the size of each token's state.

# %%
attnlab.SinkView(with_regs, text=row)

# %% [markdown]
# ## High-norm outliers? Not at this scale
#
# In large ViTs, the background patches used as sinks had states with norms far above every other token's, a
# small separate group of outliers; with registers, these outliers disappeared from the patches. Do our tiny
# models have such tokens? Below: the size of the final token states (the residual stream after the last layer)
# by kind of token, over the same fresh rows, and the largest state divided by the median of all states.

# %%
for name, s in stats.items():
    final = s["norms"][s["norms"].layer == models[name].n_layers]
    by_kind = final.groupby("token").norm.describe(percentiles=[0.5, 0.99])[["50%", "99%", "max"]]
    print(f"{name}:\n{by_kind.round(1)}")
    print(f"  largest state / median state: {final.norm.max() / final.norm.median():.1f}\n")

# %% [markdown]
# No kind of token stands out. Letters have the largest typical states; background, `<cls>` and register states
# vary more from row to row, but their largest values stay within a small factor of the median: nothing like a
# separate group of giants. For comparison, SmolLM2's sink token from lesson 3:

# %%
smol = attnlab.load("smollm2")
norms = smol.run("The cat sat on the mat. It was a sunny day, and the birds were singing in the trees.").resid_norms()
first_ratio = norms[:, 0] / np.median(norms[:, 1:], axis=1)
print(f"SmolLM2: first token's norm / median of the others, largest over layers: {first_ratio.max():.0f} "
      f"(entering layer {first_ratio.argmax()})")

# %% [markdown]
# So the toy reproduces the *attention* side of Darcet et al. (sinks move to registers, maps get cleaner) but not
# the *norm* side. That is an honest limit of a 2-layer, 64-dimensional model trained for a few minutes: Darcet
# et al. saw the outliers appear only in sufficiently large models, after substantial training.
#
# ## Train your own (about 15 s)
#
# Is the register habit a fluke of the shipped checkpoint? Train the 8-register model again with another seed,
# for only 250 steps, and measure it the same way.

# %%
start = time.perf_counter()
fresh, history = attnlab.tiny.train("tiny-registers-8", steps=250, seed=1, progress=False)
m = attnlab.tiny.measure(fresh)
resting = {k: m["no_target_on_" + k.replace(" ", "_")] for k in kinds}
print(f"trained in {time.perf_counter() - start:.0f} s; letters right {m['letter_acc']:.1%}, "
      f"<cls> right {m['cls_acc']:.1%}")
print(f"partner head {m['partner_head']}; a lonely letter's attention on:",
      {k: round(v, 2) for k, v in resting.items()}, "-> largest share:", max(resting, key=resting.get))

# %% [markdown]
# With another seed the partner head can be a different head, and after so few steps its habits are less sharp
# than the shipped model's. Still, the registers already take the largest share of a lonely letter's attention,
# at a point where the `<cls>` summary is far from learned: registers become resting places early.
#
# Optional, ~1.5 min: train both models for 1000 steps from scratch and compare where lonely letters rest.

# %%
RUN_OPTIONAL = False
if RUN_OPTIONAL:
    for name in ["tiny-registers-0", "tiny-registers-8"]:
        model, _ = attnlab.tiny.train(name, steps=1000, progress=False)
        m = attnlab.tiny.measure(model)
        print(name, {k: round(m["no_target_on_" + k.replace(" ", "_")], 2) for k in kinds},
              f"background mass {m['background_mass']:.3f}")

# %% [markdown]
# ## Why a decoder cannot use registers
#
# A register is useful because it is **written to**: in an encoder its state after every layer is computed
# from everything in the row, so it can collect information and offer a resting place that suits the input. In a
# decoder (causal attention) a token reads only the tokens *before* it. Tokens placed at the start can be read by
# everyone, but nothing that comes later can ever change their states: they are a fixed function of themselves.
#
# Measure it on SmolLM2: two prompts that share their first tokens, then differ.

# %%
a = smol.run("The old lighthouse keeper climbed the stairs every night to light the lamp.")
b = smol.run("The old lighthouse keeper sold his boat and moved to a quiet farm inland.")
shared = next(i for i, (x, y) in enumerate(zip(a.ids, b.ids, strict=False)) if x != y)
print("shared tokens:", a.tokens[:shared], "| then", repr(a.tokens[shared]), "vs", repr(b.tokens[shared]))
for layer in [0, 5, 10, 15, 20, 25, smol.n_layers]:
    ra, rb = a.resid(layer), b.resid(layer)
    same = np.abs(ra[:shared] - rb[:shared]).max()
    after = np.abs(ra[shared:shared + 3] - rb[shared:shared + 3]).max(axis=1)
    print(f"layer {layer:2d}: shared positions max |difference| {same:.1e} (largest entry there "
          f"{np.abs(ra[:shared]).max():8.1f})   next 3 positions {np.round(after, 1)}")

# %% [markdown]
# At the shared positions the states are identical at every layer (at most a float-rounding speck, far below the
# size of the entries: two runs of different lengths may group the arithmetic slightly differently). From the
# first differing token on, the states differ.
#
# Now the same measurement on the encoder with registers: two rows that share their first symbols, and the
# states of the 8 registers, which come *before* the whole row.

# %%
r1, r2 = "a.B..c.A..d...b.E..h.H..", "a.B..c.e.Ff..g...C.D..c."
t1, t2 = with_regs.run(r1), with_regs.run(r2)
reg = [i for i, tok in enumerate(t1.tokens) if tok.startswith("<reg")]
print(f"the rows share their first {next(i for i, (x, y) in enumerate(zip(r1, r2, strict=False)) if x != y)} symbols")
for layer in range(with_regs.n_layers + 1):
    print(f"layer {layer}: registers' states max |difference| between the two rows "
          f"{np.abs(t1.resid(layer)[reg] - t2.resid(layer)[reg]).max():.2f} "
          f"(largest entry there {np.abs(t1.resid(layer)[reg]).max():.2f})")

# %% [markdown]
# In the encoder the registers start identical (layer 0 is the embeddings) and then take in each row: they are
# written to. In the decoder, tokens at the start are frozen. That is why the course's decoders make their sink
# out of the first token (lesson 3) instead of learning registers: a token placed first is always visible, and
# that is all a sink needs. Adding "register" tokens in front of a decoder's input can only give it a *fixed*
# sink, a learned prefix whose keys and values are the same for every input; it cannot give it scratch space that
# gathers information about the input.

# %% [markdown]
# ## Exercises
#
# **4.1** In `tiny-registers-8`, which kind of key token receives most of the partner head's attention for
# letters whose partner is absent? Answer a key kind as a string (`"cls"`, `"registers"`, `"background"`,
# `"self"` or `"other letters"`).

# %%
answer = ...  # your code here
attnlab.check("4.1", answer)

# %% [markdown]
# **4.2** How much attention does the partner head put on background tokens with registers, relative to
# without? Answer the ratio `background_mass` (8 registers) / `background_mass` (no registers) from
# `attnlab.tiny.measure`.

# %%
answer = ...  # your code here
attnlab.check("4.2", answer)

# %% [markdown]
# **4.3** Run SmolLM2 on `PROMPT_A` and `PROMPT_B` (import them with
# `from attnlab.course.lesson04 import PROMPT_A, PROMPT_B`). For how many leading positions are the residual
# states of the two runs the same at *every* layer (max abs difference below 1e-5 times the largest entry)?
# Answer a whole number.

# %%
answer = ...  # your code here
attnlab.check("4.3", answer)

# %% [markdown]
# **4.4** Write a row of your own (at most 24 symbols from ".", a-h, A-H) that contains the letter "a" but no "A".
# Run it through `tiny-registers-8` and measure which share of the first "a"'s attention, in the partner head,
# lands on the 8 registers. Answer the pair `(row, share)`.

# %%
answer = ...  # your code here
attnlab.check("4.4", answer)

# %% [markdown]
# ## What's next
#
# Sinks and registers are where heads rest. Lesson 5 turns to heads that do real work across the whole context:
# induction heads, which copy what came next the last time a token appeared.
