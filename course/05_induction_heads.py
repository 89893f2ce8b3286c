# %% [markdown]
# # 5 · Induction heads I: copying what came next last time
#
# **Learning goals.** By the end of this lesson you can
# - explain the induction rule: "if the current token appeared before, predict what followed it then";
# - see it at work on a repeated sequence, in the loss and in the attention;
# - score every head for it and find SmolLM2's induction heads;
# - show by ablation that they carry the model's ability to continue a repeat, far more than random heads;
# - connect them to in-context learning.

# %%
import numpy as np

import attnlab
from attnlab.course.lesson05 import ICL, SEQ_LEN, repeated

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")

# %% [markdown]
# ## The rule, on letters
#
# Read "P Q A B X Y S T A". What comes next? Most people say "B": the last time "A" appeared, "B" followed.
# An **induction head** implements exactly this. At the last "A" it attends to the token *after* the earlier
# "A" (the 4th token, " B") and copies it into the prediction (Olsson et al., 2022). Which SmolLM2 head
# sends the most attention from the last token to " B"?

# %%
t = model.run("P Q A B X Y S T A")
print(t.tokens, "->", t.top_next(3))
p = t.patterns()                                      # [layer, head, query, key]
to_b = p[:, :, -1, 3]                                 # from the last "A" to " B"
layer, head = np.unravel_index(to_b.argmax(), to_b.shape)
print(f"head {layer}.{head} sends {to_b[layer, head]:.0%} of the last token's attention to {t.tokens[3]!r}")
attnlab.AttentionView(model, text="P Q A B X Y S T A", layer=int(layer), head=int(head))

# %% [markdown]
# On such a short prompt most heads are still resting on the first token. The effect is far clearer on a
# longer repeat.
#
# ## Random tokens, repeated
#
# Take 40 random tokens and repeat them. The first copy is unpredictable (the loss is near `ln(vocab)`), the
# second copy is perfectly predictable *if* the model copies from the first.

# %%
ids = repeated()
t = model.run(ids)
first, second = t.token_losses[:SEQ_LEN - 1], t.token_losses[SEQ_LEN:]
print(f"loss on the 1st copy {first.mean():.2f} nats, on the 2nd copy {second.mean():.2f} nats "
      f"(ln vocab = {np.log(model.vocab_size):.2f})")
attnlab.charts.token_losses(t.tokens, t.token_losses, title="loss per token: random, then repeated")

# %% [markdown]
# ## The induction score
#
# The **induction score** of a head is its average attention, from each token of the second copy, to the token
# right after that token's first occurrence: `A[i, i - n + 1]` for a repeat of length `n` (a diagonal stripe
# in the pattern, offset by one). attnlab computes it on its own repeated random tokens.

# %%
ind = attnlab.scores.induction(model)
top = [tuple(int(x) for x in np.unravel_index(i, ind.shape)) for i in np.argsort(ind, axis=None)[::-1][:8]]
print("top induction heads:", [f"{l}.{h} ({ind[l, h]:.2f})" for l, h in top])
print(f"heads with score > 0.4: {(ind > 0.4).sum()}")
attnlab.charts.head_scores(ind, name="induction score")

# %% [markdown]
# The strongest induction head on a sentence said twice: in the second half, each token looks at the token
# that followed it the first time.

# %%
phrase = "Mary paints small boats near the old harbour every summer."
attnlab.AttentionView(model, text=f"{phrase} {phrase}", layer=top[0][0], head=top[0][1])

# %% [markdown]
# ## Do the induction heads do the work? Ablate them
#
# Switch off the top 5 induction heads, and compare with 5 heads drawn at random (several draws, since a draw
# can hit an important head by chance).

# %%
clean = model.run(ids, record=False).token_losses[SEQ_LEN:].mean()
top5 = top[:5]
induction_loss = model.run(ids, ablate=top5, record=False).token_losses[SEQ_LEN:].mean()
rng = np.random.default_rng(0)
others = [(l, h) for l in range(model.n_layers) for h in range(model.n_heads) if (l, h) not in top[:8]]
random_losses = [model.run(ids, ablate=[others[i] for i in rng.choice(len(others), 5, replace=False)],
                           record=False).token_losses[SEQ_LEN:].mean() for _ in range(5)]
print(f"2nd-copy loss: clean {clean:.2f}   top-5 induction ablated {induction_loss:.2f}   "
      f"5 random heads {np.mean(random_losses):.2f} (5 draws: {np.round(random_losses, 2)})")
print(f"increase from induction heads / increase from random heads: "
      f"{(induction_loss - clean) / max(np.mean(random_losses) - clean, 1e-6):.1f}x")

# %% [markdown]
# Try it live: in the lab below, shift-click the induction heads listed above and watch the losses of the second
# copy climb.

# %%
attnlab.AblationLab(model, text="The blue whale dove deep. Then the red fox ran far. The blue whale dove deep. Then the red")

# %% [markdown]
# ## In-context learning
#
# Induction heads are one of the simplest mechanisms behind *in-context learning*: using examples in the
# prompt. In the prompt below the model has to label "apple" again; the label it saw before is "A".

# %%
print(ICL)
plain = model.run(ICL)
no_induction = model.run(ICL, ablate=top5)
print("plain               :", [(tok, round(p, 2)) for tok, p in plain.top_next(3)])
print("top-5 induction off :", [(tok, round(p, 2)) for tok, p in no_induction.top_next(3)])

# %% [markdown]
# Compare the probability of the correct label in both rows. On this prompt the answer survives the ablation
# with a lower probability: other heads (and the fact that "A" is a common first label) still help. Real
# in-context learning uses more than one mechanism; lesson 11 shows how to find backup heads that take over.

# %% [markdown]
# ## Exercises
#
# **5.1** Which head has the highest induction score? Answer `(layer, head)`.

# %%
answer = ...  # your code here
attnlab.check("5.1", answer)

# %% [markdown]
# **5.2** With the 5 strongest induction heads ablated, what is the mean loss on the second copy of `repeated()`?

# %%
answer = ...  # your code here
attnlab.check("5.2", answer)

# %% [markdown]
# **5.3** What is the model's top next token after `ICL` (no ablation)?

# %%
answer = ...  # your code here
attnlab.check("5.3", answer)

# %% [markdown]
# ## What's next
#
# An induction head cannot work alone: it needs to know, at every position, which token came *before*. Lesson 6
# trains a two-layer model from scratch and watches the two heads that make this circuit appear together.
