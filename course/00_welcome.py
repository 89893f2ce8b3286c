# %% [markdown]
# # 0 · Welcome: a real model, its first trace, and how to poke it
#
# **Learning goals.** By the end of this lesson you can
# - load a real language model that runs on your own CPU, offline;
# - run a prompt and read what comes back: the tokens, the next-token prediction, the loss at each position;
# - look at one attention head's pattern, in numbers and in a live view;
# - switch heads off and see the prediction move.
#
# Every number in this course is measured on the model in front of you while the notebook runs. Nothing is typed in.

# %% [markdown]
# ## The model
#
# `attnlab.load("smollm2")` loads **SmolLM2-135M-Instruct**, a 135-million-parameter decoder in the Llama style.
# It has 30 layers, and each layer has 9 attention heads (which share 3 key/value heads: *grouped-query attention*).
# The weights come from a Python package, so nothing is downloaded while you work.

# %%
import attnlab

model = attnlab.load("smollm2")
model

# %% [markdown]
# ## A first trace
#
# `model.run(text)` runs the model once and returns a **trace**: everything the model saw and computed.
# The model does not read words; it reads *tokens*. Many tokens carry the space in front of them.

# %%
t = model.run("The cat sat on the mat. The cat")
print(t.tokens)
print("next token:", t.top_next(5))

# %% [markdown]
# At every position the model predicts the *next* token. `t.token_losses[i]` is the loss (in nats,
# `-log p`) of the token at position `i + 1` given everything before it: low means "expected", high means
# "surprising". Notice the second " cat": once the model has seen "The cat" it finds the repeat easy.

# %%
for i, loss in enumerate(t.token_losses):
    print(f"{t.tokens[i]!r:>10} -> {t.tokens[i + 1]!r:<8} loss {loss:5.2f}")
print(f"mean loss {t.loss:.2f}")

# %% [markdown]
# ## One attention head
#
# An attention head decides, for each token (the *query*), how much to read from each earlier token (the
# *keys*). Its **pattern** is a table: one row per query, one column per key, each row summing to 1.
# A decoder can only look back, so everything above the diagonal is zero.

# %%
p = t.pattern(16, 0)        # layer 16, head 0
print(p.shape, "rows sum to", p.sum(-1).round(3)[:4], "...")
print("the last token attends most to position", p[-1].argmax(), "=", repr(t.tokens[p[-1].argmax()]))

# %% [markdown]
# Numbers are hard to read. The same pattern in a live view: hover a cell or a token to see the weights,
# switch to *lines* mode, pick another layer or head, or type your own sentence.

# %%
attnlab.AttentionView(model, text="The cat sat on the mat. The cat", layer=16, head=0)

# %% [markdown]
# ## Poke it
#
# The point of attnlab is that you can intervene. `ablate=[(layer, head), ...]` switches heads off (their
# output is set to zero before the layer mixes them). Does the model still find " sat" after "The cat"?

# %%
plain = model.run("The cat sat on the mat. The cat")
knocked = model.run("The cat sat on the mat. The cat", ablate=[(16, 0), (17, 3), (18, 6)])
print("plain   :", plain.top_next(3))
print("ablated :", knocked.top_next(3))

# %% [markdown]
# The **AblationLab** does this live: click a head in the grid to see its pattern, shift-click to switch it
# off, and watch the top next tokens and the loss at every position change. "Copy as Python" gives you the
# `model.run(...)` call for the current set of switched-off heads.

# %%
attnlab.AblationLab(model, text="The cat sat on the mat. The cat")

# %% [markdown]
# ## Exercises
#
# Each exercise ends with `attnlab.check(...)`, which tells you whether your answer is right and, if not,
# what is off. `attnlab.hint("0.1")` gives a hint; `attnlab.solution("0.1")` shows one solution.
#
# **0.1** What is the model's most likely next token after "The capital of France is"? (a string, as in `t.top_next()`)

# %%
answer = ...  # your code here
attnlab.check("0.1", answer)

# %% [markdown]
# **0.2** How many tokens does the model read for the word "unbelievably"?

# %%
answer = ...  # your code here
attnlab.check("0.2", answer)

# %% [markdown]
# **0.3** In "The cat sat on the mat. The cat", which position does head 16.0 (layer 16, head 0) attend to most from the last token?

# %%
answer = ...  # your code here
attnlab.check("0.3", answer)

# %% [markdown]
# ## What's next
#
# Lesson 1 measures how attention changes from the first layers to the last. Each lesson stands on its own,
# so you can jump to the one you need; lesson 12 is a map of every head type in the course.
