# %% [markdown]
# # 2 · Previous-token and positional heads
#
# **Learning goals.** By the end of this lesson you can
# - define the previous-token score and the positional score of a head, and compute them for every head;
# - find the previous-token and positional heads of SmolLM2 and look at them;
# - show, by ablation, that the model needs its previous-token heads to continue a repeated sequence;
# - find a head in an encoder that reads the *next* token, something no decoder head can do.

# %%
import numpy as np

import attnlab

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")

# %% [markdown]
# ## Scores: one number per head
#
# The simplest attention pattern is "look at the token just before me". The **previous-token score** of a head
# is the average weight `A[i, i-1]` that each token puts on its predecessor (Olsson et al., 2022). A head is
# **positional** when its strongest key sits at the same relative offset almost always: its positional score
# is the share of queries whose argmax lands on the head's most common offset, and we call it positional at
# 0.9 or more (Voita et al., 2019). attnlab computes both on a few paragraphs of English it ships with.

# %%
prev = attnlab.scores.previous_token(model)
pos = attnlab.scores.positional(model)
offset = attnlab.scores.positional_offset(model)

order = np.argsort(prev, axis=None)[::-1][:6]
print("strongest previous-token heads:")
for flat in order:
    layer, head = np.unravel_index(flat, prev.shape)
    print(f"  {layer:2d}.{head}  previous-token score {prev[layer, head]:.2f}   positional {pos[layer, head]:.2f}"
          f" at offset {offset[layer, head]:+d}")
attnlab.charts.head_scores(prev, name="previous-token score", title="A[i, i-1], averaged over tokens")

# %% [markdown]
# A few heads spread across the depth of the network do this job, some in the first layers and one or two
# in the middle. Open the strongest one: its pattern is a clean line just below the diagonal.

# %%
best = tuple(int(i) for i in np.unravel_index(prev.argmax(), prev.shape))
attnlab.AttentionView(model, text="Alice gave Bob a small red book about the history of trains.",
                      layer=best[0], head=best[1])

# %% [markdown]
# ## Positional heads
#
# Which heads always look at the same offset, and which offset?

# %%
positional = np.argwhere(pos >= 0.9)
print(f"{len(positional)} positional heads (score >= 0.9):")
for layer, head in positional:
    print(f"  {layer:2d}.{head}  offset {offset[layer, head]:+d}   score {pos[layer, head]:.2f}")
print("offsets of all heads with score >= 0.5:", dict(zip(*np.unique(offset[pos >= 0.5], return_counts=True), strict=True)))

# %% [markdown]
# An offset of 0 means "attend to myself"; most of the strongly positional heads of a decoder look at
# themselves or one token back. Note that a head that attends to the **first token** (a *sink*, lesson 3)
# has a different offset for every query, so it is not positional even when its pattern is very regular.

# %% [markdown]
# ## What are they for? An ablation
#
# A previous-token head copies "which token came before me" into each position. That matters when the model
# has to continue a sequence it has seen before (lesson 5 explains the full circuit). Take 40 random tokens,
# repeat them, and measure the loss on the second copy with the top previous-token heads switched off,
# against the same number of randomly chosen heads.

# %%
rng = np.random.default_rng(0)
seq = rng.integers(1000, 20000, 40).tolist()
ids = seq + seq
clean = model.run(ids, record=False)
second = slice(len(seq), None)              # losses of predicting tokens in the second copy
top = [tuple(int(i) for i in np.unravel_index(f, prev.shape)) for f in np.argsort(prev, axis=None)[::-1][:4]]
others = [(l, h) for l in range(model.n_layers) for h in range(model.n_heads) if (l, h) not in top]
random_heads = [others[i] for i in rng.choice(len(others), 4, replace=False)]
rows = {"no ablation": clean,
        f"top-4 previous-token heads {top}": model.run(ids, ablate=top, record=False),
        f"4 random heads {random_heads}": model.run(ids, ablate=random_heads, record=False)}
for name, t in rows.items():
    print(f"{name:70s} loss on 1st copy {t.token_losses[:len(seq) - 1].mean():5.2f}"
          f"   2nd copy {t.token_losses[second].mean():5.2f}")

# %% [markdown]
# Without its previous-token heads the model loses much of its ability to continue the repeat, while four
# random heads cost far less (run the cell again with another seed to see the spread). The first copy was
# random all along, so its loss is high in every row.

# %% [markdown]
# ## Encoders can look forward
#
# MiniLM reads the whole sentence at once, so it can also have heads that look at the **next** token.

# %%
encoder = attnlab.load("minilm")
epos = attnlab.scores.positional(encoder)
eoff = attnlab.scores.positional_offset(encoder)
for off in (-1, 0, 1):
    heads = [f"{l}.{h}" for l, h in np.argwhere((eoff == off) & (epos >= 0.9))]
    print(f"offset {off:+d}: {heads}")

# %% [markdown]
# ## Exercises
#
# **2.1** Which SmolLM2 head has the highest previous-token score? Answer `(layer, head)`.

# %%
answer = ...  # your code here
attnlab.check("2.1", answer)

# %% [markdown]
# **2.2** How many SmolLM2 heads are positional (positional score of at least 0.9)?

# %%
answer = ...  # your code here
attnlab.check("2.2", answer)

# %% [markdown]
# **2.3** Find a MiniLM head that attends to the *next* token (offset +1) with a positional score of at least 0.9.

# %%
answer = ...  # your code here
attnlab.check("2.3", answer)

# %% [markdown]
# ## What's next
#
# Many of the later heads put most of their attention on the very first token. Lesson 3 asks why, what the
# model stores there, and what happens when you take that token away.
