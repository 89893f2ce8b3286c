# %% [markdown]
# # 12 · A map of heads
#
# **Learning goals.** By the end of this lesson you can
# - place every head type of this course in the four stages the survey *Attention Heads of Large Language
#   Models* (Zheng et al., 2024) uses to describe how a model answers;
# - run a census of all the heads of a model and read it: how many of each kind, and where in the depth;
# - say for each head type how it is detected, and where in the course you met it.

# %%
import altair as alt

import attnlab

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")

# %% [markdown]
# ## Four stages
#
# The survey describes a model answering a question like a person thinking it through, in four stages:
#
# 1. **Knowledge recalling**: bring up what the model knows that is relevant (facts stored in its weights).
#    Heads that help here attend to the subject of a question and pull in associated facts; finding them needs
#    task-specific data (a set of facts), so no generic score in attnlab labels them.
# 2. **In-context identification**: work out what is in the prompt: its structure (previous-token and positional
#    heads), repeated tokens (duplicate-token heads), syntax (lesson 8), and specific content to fetch
#    (retrieval heads, lesson 7).
# 3. **Latent reasoning**: combine what was found into an answer: induction heads (lessons 5-6), the heads that
#    carry in-context tasks (function vectors, lesson 9), iteration heads (lesson 10).
# 4. **Expression preparation**: turn the answer into output tokens: heads that copy a token into the
#    prediction (copying heads), or amplify the chosen answer.
#
# Attention sinks (lesson 3) sit outside this scheme: they are where heads rest when they are not needed.

# %% [markdown]
# ## A census of SmolLM2
#
# `attnlab.census(model)` computes every score of the course for every head (on text and random tokens
# attnlab generates) and gives each head a label, checked in this order: induction, retrieval, copying,
# duplicate-token, previous-token, positional, sink, streaming; heads that pass none are *global*. The first
# call takes a minute or two; the result is cached on disk.

# %%
df = attnlab.census(model)
print(attnlab.census_summary(df))
df.head()

# %% [markdown]
# Where do the labels sit in the depth of the network?

# %%
named = df[~df.label.isin(["global", "streaming"])]
alt.Chart(named).mark_bar().encode(
    x=alt.X("layer:O"), y=alt.Y("count():Q", title="heads"), color=alt.Color("label:N"),
    tooltip=["layer", "head", "label"]).properties(width=520, height=200, title="Labelled heads by layer")

# %% [markdown]
# And by the survey's stages:

# %%
df[df.stage != ""].groupby(["stage", "label"]).size().rename("heads").reset_index()

# %% [markdown]
# Every head, coloured by its induction score (swap in any column of `df`):

# %%
attnlab.HeadGrid(model, text="The cat sat on the mat. The cat sat on the mat.",
                 scores=df.pivot(index="layer", columns="head", values="induction").to_numpy(),
                 score_name="induction")

# %% [markdown]
# ## Head types, detection, and where you met them
#
# | head type | stage | how it is detected | score in attnlab | lesson |
# |---|---|---|---|---|
# | attention sink | (rest) | mass on the first token (or [CLS]/[SEP]) | `scores.sink` | 3 |
# | previous-token | in-context identification | mean `A[i, i-1]` | `scores.previous_token` | 2 |
# | positional | in-context identification | argmax at one fixed offset >= 90% of queries | `scores.positional`, `positional_offset` | 2 |
# | duplicate-token | in-context identification | attention to the earlier copy of the same token | `scores.duplicate_token` | 5, 11 |
# | syntactic | in-context identification | attention along dependency arcs vs a positional baseline | (lesson code) | 8 |
# | retrieval | in-context identification | attends to the needle token it copies, needle-in-a-haystack | `scores.retrieval` | 7 |
# | streaming vs global | (efficiency) | attention within a recent window plus sinks | `scores.local_span` | 7 |
# | induction | latent reasoning | `A[i, i-n+1]` on repeated random tokens | `scores.induction` | 5, 6 |
# | function-vector heads | latent reasoning | causal effect on an in-context task | (lesson code) | 9 |
# | iteration | latent reasoning | attends to the t-th input while writing the t-th step | (tiny model) | 10 |
# | copying | expression preparation | the head's output raises the logit of the token it attends to | `scores.copying` | 5, 11 |
#
# A label is a summary, not the truth about a head: one head can do several things (the strongest induction
# head is also a strong retrieval head here), and a score on one probe is not the head's behaviour on every
# input. Ablation and patching (lesson 11) test what a head *does*, not only where it looks.

# %% [markdown]
# ## Exercises
#
# **12.1** Which survey stage holds the most labelled heads in SmolLM2's census? (a stage name)

# %%
answer = ...  # your code here
attnlab.check("12.1", answer)

# %% [markdown]
# **12.2** What label does the census give head 16.0?

# %%
answer = ...  # your code here
attnlab.check("12.2", answer)

# %% [markdown]
# **12.3** What is the earliest layer that holds an induction head?

# %%
answer = ...  # your code here
attnlab.check("12.3", answer)

# %% [markdown]
# ## Where to go from here
#
# Load your own model with `attnlab.load("path/to/folder")`, run `attnlab.census` on it, and compare its map with
# SmolLM2's. The widgets work on any model attnlab can load.
