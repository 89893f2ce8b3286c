# %% [markdown]
# # 3 · Attention sinks
#
# **Learning goals.** By the end of this lesson you can
# - measure which heads park their attention on the first token (and on punctuation), and see it live;
# - find the huge activations that sink tokens carry in the residual stream;
# - show what the sink is worth by forbidding attention to it;
# - run the StreamingLLM experiment: a sliding window alone breaks the model, a window plus a few first tokens does not.

# %%
import numpy as np

import attnlab

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")

# %% [markdown]
# ## A head must attend somewhere
#
# Softmax makes every row of a pattern sum to 1, so a head cannot "not attend". When a head has nothing
# useful to read for the current token, it still has to put its weight somewhere. Trained models learn to
# put it on a token that is always there and whose value is harmless: in a decoder, the **first token**.
# Such a token is called an **attention sink** (Xiao et al., 2024). SmolLM2 has no beginning-of-text token,
# so the first *word* plays this role.
#
# The **sink score** of a head is the average weight its queries put on position 0.

# %%
sink = attnlab.scores.sink(model)
punct = attnlab.scores.sink(model, on="punctuation")
print(f"heads with sink score > 0.5: {(sink > 0.5).sum()} of {sink.size}")
print("per-layer mean sink score:", np.round(sink.mean(1), 2))
top = np.argsort(sink, axis=None)[::-1][:5]
print("strongest sinks:", [f"{l}.{h} ({sink[l, h]:.2f})" for l, h in zip(*np.unravel_index(top, sink.shape), strict=True)])
print(f"punctuation and newlines take at most {punct.max():.2f} of a head's attention "
      f"(head {np.unravel_index(punct.argmax(), punct.shape)})")
attnlab.charts.head_scores(sink, name="sink score", title="Attention on the first token")

# %% [markdown]
# ## See it: attention mass per token, and norms
#
# The sink view shows, for every head (rows), how much attention each token (columns) receives on average.
# The first column lights up. Below it, the size (norm) of each token's hidden state in the residual stream.

# %%
sentence = "The cat sat on the mat. It was a sunny day, and the birds were singing in the trees."
attnlab.SinkView(model, text=sentence)

# %% [markdown]
# ## Huge activations
#
# The sink token is not an ordinary token. In some layers its hidden state becomes enormous compared with
# every other token's (Sun et al., 2024 call these *massive activations*). A huge, nearly constant vector is
# easy for every head's query to find, and carries little information: an ideal place to park attention.
# Below: for the residual stream entering each layer, the first token's norm divided by the median norm of the
# other tokens, next to that layer's mean sink score.

# %%
t = model.run(sentence)
norms = t.resid_norms()                       # [layer + 1, token]
ratio = norms[:, 0] / np.median(norms[:, 1:], axis=1)
for layer in range(model.n_layers):
    print(f"layer {layer:2d}: first-token norm / median {ratio[layer]:7.1f}   mean sink score {sink[layer].mean():.2f}")
print(f"correlation between log norm ratio and sink score across layers: "
      f"{np.corrcoef(np.log(ratio[:model.n_layers]), sink.mean(1))[0, 1]:.2f}")

# %% [markdown]
# Read the two columns together. Where the first token is only a little larger than the others, few heads rest
# on it; from the layer where its norm explodes, most heads do. The sink and the massive activation go
# together.
#
# ## Forbid the sink
#
# `attnlab.Block(key=0)` forbids every head to attend to position 0 (an *attention knockout*): the weight that
# used to go there must go to other tokens. For scale, we also forbid one ordinary token in the middle.

# %%
plain = model.run(sentence, record=False)
no_sink = model.run(sentence, block=attnlab.Block(key=0), record=False)
middle = len(plain) // 2
no_middle = model.run(sentence, block=attnlab.Block(key=middle), record=False)
print(f"mean loss: plain {plain.loss:.2f}   no head may read token 0: {no_sink.loss:.2f}   "
      f"no head may read token {middle} ({plain.tokens[middle]!r}): {no_middle.loss:.2f}")

# %% [markdown]
# Compare the two increases. On a full sentence the weight taken from the sink is spread thinly over every
# other token, so the damage is moderate. The next experiment takes away the sink *and* most of the context,
# and there the spare attention has nowhere harmless to go.
#
# ## StreamingLLM: windows need sinks
#
# To process endless text, one would like to keep only the last `w` tokens in memory (a sliding window).
# But once the first token falls out of the window, every sink head loses its resting place. Xiao et al. (2024)
# found that keeping the first few tokens **plus** the window restores the quality. Here each head may see
# only the last 64 positions, with 0, 1 or 4 first tokens kept, on 512 tokens of prose attnlab ships.

# %%
ids = model.encode(attnlab.long_text())[:512]
table = attnlab.window_table(model, ids, windows=(64,), sinks=(0, 1, 4))
table

# %% [markdown]
# Read the perplexities: the first row is full attention, then the window alone, then the window with 1 and
# with 4 first tokens kept. The window alone is far worse than full attention; adding back a single first token
# recovers most of the gap. The model does not need the *content* of the first tokens, it needs a place to put
# attention. (Lesson 4 shows how an encoder can be given dedicated "register" tokens for the same purpose.)

# %% [markdown]
# ## Exercises
#
# **3.1** Entering layer 15, how many times larger is the first token's residual norm than the median norm of the
# other tokens of `sentence`? (a number)

# %%
answer = ...  # your code here
attnlab.check("3.1", answer)

# %% [markdown]
# **3.2** By how much (in nats) does the mean loss on `sentence` go up when no head may attend to position 0?

# %%
answer = ...  # your code here
attnlab.check("3.2", answer)

# %% [markdown]
# **3.3** On the first 512 tokens of `attnlab.long_text()`, with a window of 64, what is the smallest number of
# sink tokens (among 0, 1, 2, 4, 8) that brings the perplexity within 20% of full attention?

# %%
answer = ...  # your code here
attnlab.check("3.3", answer)

# %% [markdown]
# ## What's next
#
# Lesson 4 trains small encoders with and without *register tokens*, extra tokens whose only job is to absorb
# this kind of attention, and asks why a decoder cannot use them.
