# %% [markdown]
# # 7 · Streaming heads and retrieval heads
#
# **Learning goals.** By the end of this lesson you can
# - tell a *streaming* head (attends only to recent tokens and the sinks) from a *retrieval* head (fetches a
#   specific token from far back);
# - score every head for both, with the retrieval score of Wu et al. (2024);
# - run a needle-in-a-haystack test and show that a handful of retrieval heads carry it;
# - explain why this matters for long contexts: streaming heads can use a small cache, retrieval heads cannot.

# %%
import numpy as np

import attnlab
from attnlab.course.lesson07 import needle_accuracy, needle_prompts, top_heads

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")

# %% [markdown]
# ## Two kinds of long-context heads
#
# In lesson 3 a sliding window plus a few sink tokens was almost as good as full attention. That is because
# most heads are **streaming heads**: whatever they read, they read from the last few dozen tokens or the sinks.
# A few heads are different. To answer "what was the password?" from a long document, some head must reach
# back hundreds of tokens and copy the password. Wu et al. (2024) call these **retrieval heads** and found
# them to be rare (under 5% of heads), universal across models, and necessary for finding facts in long inputs.
#
# Two scores, one number per head:
# - the **local-span score**: the share of a head's attention that falls within the last 32 tokens or on the first
#   4 (measured on the second half of 512 tokens of prose). Near 1 means streaming;
# - the **retrieval score**: hide a *needle* sentence in a *haystack* of prose, ask for it, and while the model
#   copies the needle, count how often the head's strongest attention lands on exactly the needle token being
#   copied (Wu et al. call a head a retrieval head above 0.1).

# %%
local = attnlab.scores.local_span(model)
ret = attnlab.scores.retrieval(model)
print(f"retrieval heads (score > 0.1): {(ret > 0.1).sum()} of {ret.size}")
print("strongest:", [f"{l}.{h} ({ret[l, h]:.2f})" for l, h in top_heads(ret, 6)])
print(f"streaming heads (local span > 0.9): {(local > 0.9).sum()} of {local.size}")
attnlab.charts.head_scores(ret, name="retrieval score") | attnlab.charts.head_scores(local, name="local span")

# %% [markdown]
# ## A needle in a haystack
#
# Our test hides a sentence such as "The secret password is tangerine." at 10%, 50% or 90% of the depth of
# about 400 tokens of prose, and ends the prompt with a cue ("By the way, the secret password is"). The model
# passes when its top next token is the hidden word. Here is the end of one prompt:

# %%
prompts = needle_prompts(model)
print(f"{len(prompts)} prompts of about {len(model.encode(prompts[0][0]))} tokens; one of them ends with:")
print("...", prompts[0][0][-160:], "->", repr(prompts[0][1]))

# %% [markdown]
# Now switch off the 10 strongest retrieval heads, the 10 most streaming heads, or 10 random heads:

# %%
rng = np.random.default_rng(0)
all_heads = [(l, h) for l in range(model.n_layers) for h in range(model.n_heads)]
conditions = {
    "no ablation": [],
    "top-10 retrieval heads": top_heads(ret, 10),
    "top-10 streaming heads": top_heads(local, 10),
    "10 random heads": [all_heads[i] for i in rng.choice(len(all_heads), 10, replace=False)],
}
for name, heads in conditions.items():
    print(f"{name:24s} needle accuracy {needle_accuracy(model, ablate=heads):.0%}")

# %% [markdown]
# Compare the rows. Wu et al. report that masking 20 retrieval heads of Llama-2 7B drops needle-in-a-haystack
# accuracy from 94.7% to 63.6%, while random heads barely matter. With 270 heads in total, 10 heads here are a
# larger share of SmolLM2 than 20 are of Llama-2 (1,024 heads), and our test has only 9 prompts: treat each
# percentage as a count out of 9. Ablating streaming heads can also hurt: they include the local heads that
# read the text in the first place (exercise: try 5 or 20 heads instead of 10).
#
# ## Why it matters: caches for long contexts
#
# A streaming head only ever needs the sinks and the last few dozen keys, so a long-context system can give it a
# tiny cache; a retrieval head needs every key (DuoAttention, Xiao et al. 2025). Restrict only some heads to a
# window of 64 tokens plus 4 sinks and measure the perplexity on 512 tokens of prose:

# %%
ids = model.encode(attnlab.long_text())[:512]
full = attnlab.window_perplexity(model, ids, window=None)
k = 60
for name, heads in {"the 60 most streaming heads": top_heads(local, k),
                    "the 60 least streaming heads": top_heads(-local, k)}.items():
    ppl = attnlab.window_perplexity(model, ids, window=64, sinks=4, heads=heads)
    print(f"window on {name:28s}: perplexity {ppl:6.2f}   (full attention {full:.2f})")

# %% [markdown]
# Windowing the streaming heads costs little; windowing the same number of long-range heads costs more. (On a
# 512-token text, "far" is at most 512 tokens back; the gap grows with the length of the input.)
#
# ## Optional: Gemma 3's local and global layers
#
# Gemma 3 builds the idea into its architecture: five of every six layers use a sliding window of 512 tokens
# and only layers 5, 11 and 17 attend globally. It is an optional download (`attnlab models fetch gemma3-270m`,
# about 240 MB and a minute). Set `RUN_OPTIONAL = True` to score its heads.

# %%
RUN_OPTIONAL = False
if RUN_OPTIONAL:
    gemma = attnlab.load("gemma3-270m")
    g_ret = attnlab.scores.retrieval(gemma)
    print("Gemma 3 retrieval heads:", [f"{l}.{h} ({g_ret[l, h]:.2f})" for l, h in top_heads(g_ret, 5)])
    print("global layers:", [i for i, t in enumerate(gemma.module.config.layer_types) if t == "full_attention"])

# %% [markdown]
# ## Exercises
#
# **7.1** How many SmolLM2 heads are retrieval heads (score above 0.1)?

# %%
answer = ...  # your code here
attnlab.check("7.1", answer)

# %% [markdown]
# **7.2** What is the needle accuracy with the 10 strongest retrieval heads ablated? (a fraction)

# %%
answer = ...  # your code here
attnlab.check("7.2", answer)

# %% [markdown]
# **7.3** Which hurts needle retrieval more: ablating the 10 strongest retrieval heads or the 10 most streaming
# heads? Answer `"retrieval"` or `"streaming"`.

# %%
answer = ...  # your code here
attnlab.check("7.3", answer)

# %% [markdown]
# ## What's next
#
# Lesson 8 looks for heads that follow grammar: from a verb to its subject, from a noun to its determiner.
