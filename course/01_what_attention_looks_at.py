# %% [markdown]
# # 1 · What attention looks at
#
# **Learning goals.** By the end of this lesson you can
# - explore any head on any sentence with the attention explorer;
# - measure *where* a head looks: how far back, how much on the first token, how spread out;
# - describe, with numbers, how attention changes from the first layers to the last;
# - tell a decoder's attention (only backwards) from an encoder's (both ways).

# %%
import numpy as np

import attnlab

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")

# %% [markdown]
# ## The explorer
#
# Type a sentence, pick a layer and a head, hover a word to see where it looks. Try layer 0, then layer 15,
# then layer 25. Switch to *lines* mode to read it like a sentence diagram.

# %%
attnlab.AttentionView(model, text="The quick brown fox jumps over the lazy dog because it was bored.",
                      layer=0, head=0)

# %% [markdown]
# ## Three numbers that describe a head
#
# Looking at 270 heads one by one is slow. Three numbers summarise where a head looks, for each query `q`:
#
# - **first-token share**: the weight on position 0. Many heads park attention there when they have nothing
#   better to do (lesson 3 is about these *sinks*);
# - **distance**: how far back the head looks, `sum_k A[q, k] (q - k)`, counted on the attention that does
#   *not* go to position 0 (renormalised), so the sink does not inflate it;
# - **entropy**: how spread out the row is (0 = one key gets everything).
#
# We average each over the queries of a short paragraph.

# %%
text = ("Every morning the baker on the corner opens her shop before the sun is up. She lights the ovens, "
        "sets out the flour and the butter, and listens to the radio while the first loaves rise.")
t = model.run(text)
p = t.patterns()                                  # [layer, head, query, key]
n = len(t)
print(p.shape, f"({n} tokens)")

q, k = np.arange(n)[:, None], np.arange(n)[None, :]
first_share = p[:, :, 1:, 0].mean(-1)                               # [layer, head]
rest = p[:, :, 1:, 1:]
distance = ((rest * (q - k)[1:, 1:]).sum(-1) / np.maximum(rest.sum(-1), 1e-9)).mean(-1)
entropy = -(p[:, :, 1:] * np.log(np.clip(p[:, :, 1:], 1e-12, None))).sum(-1).mean(-1)

print("layer  first-token share  distance  entropy")
for layer in range(model.n_layers):
    print(f"{layer:5d}  {first_share[layer].mean():17.2f}  {distance[layer].mean():8.2f}  {entropy[layer].mean():7.2f}")

# %% [markdown]
# Read the table from top to bottom; grouping the layers makes three regimes stand out:

# %%
groups = {"first layers 0-2": range(0, 3), "early-middle 3-9": range(3, 10), "later 12-29": range(12, 30)}
for name, layers in groups.items():
    ls = list(layers)
    print(f"{name:18s} first-token share {first_share[ls].mean():.2f}   distance {distance[ls].mean():5.2f}"
          f"   entropy {entropy[ls].mean():.2f}")

# %% [markdown]
# - **The first layers** hardly use the first token and have the most spread-out rows (highest entropy), mixed
#   with a few very local heads that look exactly one token back (exercise 1.2 finds one).
# - **The early-middle layers** reach furthest back: this is where information moves across the sentence.
# - **The later layers** send most of their attention to the first token, and what is left over is shorter-range
#   than in the early-middle layers: many of these heads are "off" for most tokens and read something
#   specific only when it matters.
#
# The same numbers as a picture, one cell per head:

# %%
attnlab.charts.head_scores(first_share, name="first-token share", title="Attention on position 0") | \
    attnlab.charts.head_scores(distance, name="distance", title="How far back (non-sink attention)")

# %% [markdown]
# ## All heads at once
#
# The head grid shows every head's pattern as a thumbnail. Colour it by one of our numbers; click a head to
# open it in the explorer.

# %%
attnlab.HeadGrid(model, text=text, scores=distance, score_name="distance")

# %% [markdown]
# ## Encoders look both ways
#
# SmolLM2 is a decoder: it writes text left to right, so a token may only read earlier tokens (the upper
# triangle of every pattern is zero). **MiniLM** is an encoder (a small BERT): every token reads every token.

# %%
encoder = attnlab.load("minilm")
e = encoder.run(text)
pe = e.patterns()
ahead = np.triu(np.ones(pe.shape[-2:], dtype=bool), k=1)
print("decoder, weight on later tokens:", float((p * np.triu(np.ones(p.shape[-2:], dtype=bool), k=1)).sum(-1).max()))
print("encoder tokens:", e.tokens[:8], "...")
print(f"encoder, mean weight on later tokens: {(pe * ahead).sum(-1).mean():.2f}")
attnlab.AttentionView(encoder, text="The quick brown fox jumps over the lazy dog.", layer=0, head=8)

# %% [markdown]
# ## Exercises
#
# **1.1** Which layer of SmolLM2 puts the largest share of its attention on the first token (averaged over its
# heads, on `text` above)? Answer with the layer number.

# %%
answer = ...  # your code here
attnlab.check("1.1", answer)

# %% [markdown]
# **1.2** Which head of layer 0 is the most local (smallest distance, sink left out)? Answer `(0, head)`.

# %%
answer = ...  # your code here
attnlab.check("1.2", answer)

# %% [markdown]
# **1.3** On `text`, what fraction of MiniLM's attention goes to tokens *after* the query (averaged over all
# layers, heads and queries)? Answer a float between 0 and 1.

# %%
answer = ...  # your code here
attnlab.check("1.3", answer)

# %% [markdown]
# ## What's next
#
# The most local heads of layer 0-2 are *previous-token heads*. Lesson 2 finds them with a score, and with
# them the *positional* heads that always look a fixed number of tokens back.
