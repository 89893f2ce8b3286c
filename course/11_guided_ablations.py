# %% [markdown]
# # 11 · Guided ablations: finding the heads that matter
#
# **Learning goals.** By the end of this lesson you can
# - measure how much every head matters for one task with an exact **ablation sweep**, and read its map;
# - get the same map from one backward pass with **attribution patching**, and check whether to trust it;
# - find the heads SmolLM2 uses for *indirect object identification* (IOI), and see what they attend to and
#   what they write;
# - use **activation patching** to follow the answer's information through the layers, from the name to the
#   last token;
# - test for **backup heads**: when you switch heads off, do others make up for them?

# %%
import inspect
import time

import altair as alt
import numpy as np
from IPython.display import Code

import attnlab
from attnlab.course.helpers import direct_effects_with_norm_of
from attnlab.course.lesson11 import CORRUPTED, IO, PAIRS, PROMPT, S, head_writes, ioi, name_movers

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")

# %% [markdown]
# ## The task: who gets the drink?
#
# Read "When Mary and John went to the store, John gave a drink to". Anyone who speaks English answers
# "Mary". The sentence names two people; one of them (John, the **subject**, S) is mentioned again as the giver,
# so the drink goes to the other one (Mary, the **indirect object**, IO). Wang et al. (2022) took this task apart
# in GPT-2 small, head by head. We repeat the hunt on SmolLM2.
#
# Our measure of success is the **logit difference** `logit(" Mary") - logit(" John")` at the last position.
# It ignores every other word and asks only: how strongly does the model prefer the right name over the wrong
# one? Zero means a coin toss between the two; large and positive means a confident, correct answer.

# %%
t = model.run(PROMPT)
ld = attnlab.metrics.logit_diff(IO, S)
print(t.tokens)
print("top next tokens:", [(tok, round(p, 3)) for tok, p in t.top_next(3)])
print(f"logit difference: {ld(t):.2f}")

# %% [markdown]
# One prompt can be a fluke. The same template with other names (each a single token for SmolLM2, so that
# every prompt has the same length) tells us whether the model really solves the task:

# %%
for io, s in PAIRS:
    assert len(model.tokenize(io)) == len(model.tokenize(s)) == 1, (io, s)
    run = model.run(ioi(io, s), record=False)
    print(f"{ioi(io, s)!r:70} logit diff {attnlab.metrics.logit_diff(io, s)(run):5.2f}   top: {run.top_next(1)[0][0]!r}")

# %% [markdown]
# The model picks the indirect object each time, by a wide margin. Now: which heads does it use?
#
# ## An exact ablation sweep
#
# Switch one head off (zero its output), run the prompt, and record how the logit difference changes. Do that
# for every head. `attnlab.ablation_sweep` returns `metric(ablated) - metric(clean)` for all of them:
# **negative means the head helps the answer**, positive means it works against it. It is exact (the same
# numbers as a loop of `model.run(..., ablate=[head])`), just faster: below the ablated head's layer nothing
# changes, so each run restarts from the cached clean residual stream, and the heads of a layer run as one batch.

# %%
start = time.perf_counter()
sweep = attnlab.ablation_sweep(model, PROMPT, ld, progress=False)
sweep_seconds = time.perf_counter() - start
print(f"exact sweep: {sweep_seconds:.1f} s for {model.n_layers * model.n_heads} heads "
      f"(clean logit difference {sweep.clean:.2f})")
exact_v = np.asarray(sweep)                               # [layer, head]
order = [tuple(int(x) for x in np.unravel_index(i, exact_v.shape)) for i in np.argsort(exact_v, axis=None)]
helpers = [(head, exact_v[head]) for head in order[:8]]  # most negative first: the heads that help most
print("ablating these lowers the logit difference most:")
for (l, h), v in helpers:
    print(f"  head {l:2}.{h}  {v:+.2f}")
print("ablating these raises it most:", [(f"{l}.{h}", round(float(exact_v[l, h]), 2)) for l, h in order[::-1][:3]])
attnlab.charts.head_scores(sweep, name="change in logit diff", baseline=0.0,
                           title="ablating each head: change in logit(' Mary') - logit(' John')")

# %% [markdown]
# The map is mostly pale: most heads hardly matter for this prompt. A handful in the late layers and a few in
# the first two layers stand out, and a few heads have the opposite sign: without them the model is *more*
# sure of Mary.
#
# A sweep cannot tell you *why* a head matters. Early heads often build basic features every prediction
# needs, so switching them off hurts everything, not just IOI. A quick test: ablate the same heads on an ordinary
# sentence and look at the loss (mean over every position).

# %%
neutral = "The old lighthouse keeper climbed the stairs every evening to light the lamp before the ships came in."
base_loss = model.run(neutral, record=False).loss
print(f"loss on an ordinary sentence: {base_loss:.3f} nats")
for (l, h), v in helpers[:6]:
    loss = model.run(neutral, ablate=[(l, h)], record=False).loss
    print(f"  head {l:2}.{h}: IOI logit diff {v:+.2f}   ordinary-text loss {loss - base_loss:+.3f}")

# %% [markdown]
# Compare the two columns: the heads whose ablation also raises the ordinary-text loss are general-purpose
# machinery; the ones that barely touch that loss but cost a lot of logit difference are the task-specific
# heads worth a closer look.
#
# ## Attribution: the map from one backward pass
#
# A sweep costs one forward pass per head (batched). **Attribution patching** estimates all of them at once with
# a first-order Taylor expansion: if a head outputs `z` and the metric has gradient `g = d metric / d z`, then
# setting `z` to zero changes the metric by about `(0 - z) · g`. One forward and one backward pass give every
# head's estimate. It is exact when the metric is linear in `z`, and drifts when ablating a head changes a lot
# downstream (saturated softmaxes, norms).

# %%
start = time.perf_counter()
estimate = attnlab.attribution(model, PROMPT, ld)
attribution_seconds = time.perf_counter() - start
top_exact = {head for head, _ in sweep.top(10)}
top_estimate = {head for head, _ in estimate.top(10)}
print(f"attribution: {attribution_seconds:.2f} s   exact sweep: {sweep_seconds:.1f} s   "
      f"({sweep_seconds / attribution_seconds:.0f}x faster)")
print(f"rank correlation (Spearman) with the exact sweep: {estimate.agreement(sweep):.2f}")
print(f"top-10 heads (by |effect|) in common: {len(top_exact & top_estimate)} of 10")
est_v = np.asarray(estimate)
worst = np.argsort(-np.abs(est_v - exact_v), axis=None)[:4]
for i in worst:
    l, h = np.unravel_index(i, exact_v.shape)
    print(f"  biggest miss: head {l:2}.{h}  exact {exact_v[l, h]:+.2f}   estimate {est_v[l, h]:+.2f}")

# %%
points = [{"layer": l, "head": h, "exact": float(exact_v[l, h]), "estimate": float(est_v[l, h])}
          for l in range(model.n_layers) for h in range(model.n_heads)]
alt.Chart(alt.Data(values=points)).mark_circle(size=40, opacity=0.7).encode(
    x=alt.X("exact:Q", title="exact sweep (change in logit diff)"),
    y=alt.Y("estimate:Q", title="attribution estimate"),
    color=alt.Color("layer:Q", scale=alt.Scale(scheme="viridis")),
    tooltip=["layer:Q", "head:Q", alt.Tooltip("exact:Q", format=".2f"), alt.Tooltip("estimate:Q", format=".2f")],
).properties(width=320, height=320, title="every head: estimate vs exact")

# %% [markdown]
# The estimate finds the big late heads and ranks the heads well overall, in a fraction of the time. Where it
# misses, look at the layers: in the lines above, the worst misses are heads of the very first layers.
# Switching off a layer-0 head changes the input to everything after it, far from the "small change" a Taylor
# expansion assumes. Use attribution to shortlist, and the exact sweep (or a direct `model.run`) to confirm.
#
# ## Is it this prompt, or the task?
#
# Run the exact sweep on the other name pairs and see whether the same heads come out on top.

# %%
sweeps = {PAIRS[0]: np.asarray(sweep)}
for io, s in PAIRS[1:]:
    sweeps[(io, s)] = np.asarray(attnlab.ablation_sweep(model, ioi(io, s), attnlab.metrics.logit_diff(io, s), progress=False))
mean_sweep = np.mean(list(sweeps.values()), axis=0)
key = tuple(int(i) for i in np.unravel_index(mean_sweep.argmin(), mean_sweep.shape))
print(f"head whose ablation hurts most on average: {key[0]}.{key[1]} ({mean_sweep[key]:+.2f})")
for (io, s), values in sweeps.items():
    order = np.argsort(values, axis=None)
    rank = int(np.flatnonzero(order == np.ravel_multi_index(key, values.shape))[0]) + 1
    top3 = [f"{l}.{h} ({values[l, h]:+.2f})" for l, h in zip(*np.unravel_index(order[:3], values.shape), strict=True)]
    print(f"{io:>7} /{s:<6}: head {key[0]}.{key[1]} is #{rank} of 270 ({values[key]:+.2f});  top 3: {', '.join(top3)}")

# %% [markdown]
# One late head is near the top for every pair; the rest of the top list shifts from prompt to prompt. That is
# why circuit studies average over many prompts. We stay with the first prompt,
# keeping in mind that the supporting cast varies.
#
# ## What do the important heads look at, and what do they write?
#
# In GPT-2 the key heads of IOI are **name movers**: at the last token they attend to the indirect object and
# copy it into the prediction. Let us look at where our late heads attend from the last token: the IO (" Mary"),
# the first S, and the second S.

# %%
P = t.patterns()                                   # [layer, head, query, key]
io_pos = t.tokens.index(IO)
s1_pos = t.tokens.index(S)
s2_pos = len(t.tokens) - 1 - t.tokens[::-1].index(S)
print(f"positions: IO {io_pos}, S1 {s1_pos}, S2 {s2_pos}, last {len(t.tokens) - 1}")
late_helpers = [(l, h) for (l, h), v in helpers if l >= model.n_layers // 2][:4]
to_io = P[:, :, -1, io_pos]
attends_io = [tuple(int(x) for x in np.unravel_index(i, to_io.shape)) for i in np.argsort(-to_io, axis=None)[:5]]
print("head     attention from last token to:  IO    S1    S2    | ablation effect")
for l, h in late_helpers + [x for x in attends_io if x not in late_helpers]:
    row = P[l, h, -1]
    print(f"{l:2}.{h}                                 {row[io_pos]:.2f}  {row[s1_pos]:.2f}  {row[s2_pos]:.2f}  "
          f"| {exact_v[l, h]:+.2f}")

# %% [markdown]
# The first rows are the late heads that hurt most when ablated; the others are the five heads that attend
# most to " Mary". Read the table carefully: the most important head does **not** look at Mary. It looks at the
# *second* John. And the heads that look hardest at Mary do not help when ablated one at a time: removing one
# costs next to nothing, or even raises the logit difference. Here is the most important head in the live view:

# %%
top_head = late_helpers[0]
print(f"head {top_head[0]}.{top_head[1]}: the last row is the last token")
attnlab.AttentionView(model, text=PROMPT, layer=top_head[0], head=top_head[1])

# %% [markdown]
# Attention says where a head reads, not what it writes. A head adds a vector `W_O z` to the residual stream.
# Pushed straight through the final norm and the unembedding, that vector changes the logit difference by an
# amount called the head's **direct effect** (direct logit attribution). It counts only the head's own path to
# the output, not what later layers do with it. `attnlab.direct_effects(t, good, bad)` computes it for every
# head: with the final norm's scale frozen at its value in the run `t`,
#
# `direct effect = (W_O z) * (gamma / rms(final residual)) . (W_U[good] - W_U[bad])`

# %%
direct = attnlab.direct_effects(t, IO, S).values     # a numpy array [layer, head]
print(f"sum of all heads' direct effects: {direct.sum():+.2f} (the rest of the logit difference comes from "
      "the MLPs and the embeddings)")
print("head    direct effect   ablation effect   raises most / lowers most")
for l, h in late_helpers + [x for x in attends_io if x not in late_helpers]:
    up, down = head_writes(model, t, l, h, k=3)
    print(f"{l:2}.{h}        {direct[l, h]:+.2f}          {exact_v[l, h]:+.2f}         {up} / {down}")

# %% [markdown]
# The last column is a logit lens on each head's output: the tokens it pushes up and down. Now the picture is
# clear:
#
# - the most important head reads the repeated name and writes **against** it: " John" sits at the bottom of
#   its list. It does not move the answer; it removes the wrong one;
# - some heads that attend to Mary write *for* Mary (a positive direct effect): those are name movers in the
#   sense of Wang et al.;
# - at least one head attends to Mary and writes **against** her (a negative direct effect). GPT-2 has such
#   *negative name movers* (also called copy-suppression heads) too;
# - a head with a large ablation effect but a small direct effect works **indirectly**: it changes what later
#   heads read or write, not the logits themselves.
#
# We call a head a name mover if it sends more than 0.3 of the last token's attention to the IO and has a
# direct effect above +0.3:

# %%
movers = name_movers(model, t, io_position=io_pos)
print("name movers:", [f"{l}.{h}" for l, h in movers])
print(f"their direct effects add up to {sum(direct[m] for m in movers):+.2f}; "
      f"their ablation effects (one at a time) add up to {sum(exact_v[m] for m in movers):+.2f}")

# %% [markdown]
# Their direct contributions are large, yet removing any one of them costs almost nothing. Keep that puzzle for
# the section on backup heads.
#
# ## Activation patching: following the information
#
# Ablation asks "what breaks without this head?". **Activation patching** asks "where is the information that
# decides the answer?". Take a *corrupted* prompt that differs in one place, here the second subject: with
# "..., Mary gave a drink to" the answer becomes John. Run the corrupted prompt, copy one component's activation
# from the clean run into it, and see how much of the clean logit difference comes back:
#
# `restored = (metric(corrupted + patch) - metric(corrupted)) / (metric(clean) - metric(corrupted))`
#
# 1 means that component alone carries the difference; 0 means it carries none. The two prompts must have
# the same number of tokens, position by position.

# %%
print("clean:    ", model.tokenize(PROMPT))
print("corrupted:", model.tokenize(CORRUPTED))
start = time.perf_counter()
patched = attnlab.patch_heads(model, PROMPT, CORRUPTED, ld, progress=False)
print(f"patch_heads: {time.perf_counter() - start:.1f} s; logit diff clean {patched.clean:+.2f}, "
      f"corrupted {patched.corrupted:+.2f}")
print("heads that restore most:", [(f"{l}.{h}", round(v, 2)) for (l, h), v in patched.top(5, absolute=False)])
print("heads that restore 'negatively':", [(f"{l}.{h}", round(v, 2)) for (l, h), v in patched.top(270)
                                           if v < 0][:3])
attnlab.charts.head_scores(patched, name="fraction restored", baseline=0.0,
                           title="patching one head from clean into corrupted")

# %% [markdown]
# The head at the top of the ablation sweep carries the largest share again. Several heads each restore a
# part; what do they restore together? `attnlab.patch_fraction` patches any set of heads (and residual sites)
# in one run:

# %%
best = [head for head, _ in patched.top(5, absolute=False)]
for k in (1, 2, 3, 5):
    together = attnlab.patch_fraction(model, PROMPT, CORRUPTED, ld, heads=best[:k])
    alone = sum(np.asarray(patched)[h] for h in best[:k])
    print(f"top {k}: patched together {together:.2f}   sum of single-head fractions {alone:.2f}")
print(f"the name movers together: {attnlab.patch_fraction(model, PROMPT, CORRUPTED, ld, heads=movers):.2f}")

# %% [markdown]
# A few heads restore about all of the difference, and the numbers do not add up: heads interact (a later head
# reads what an earlier one wrote), so the whole is not the sum of its parts. The name movers, patched together,
# restore much less than the best heads, in line with their small ablation effects.
#
# ### The residual stream, position by position
#
# Patching the residual stream at one (layer, position) site asks where the deciding information *lives* at
# that depth. `attnlab.patch_resid` does it for every site: rows are the stream entering each layer, columns
# are token positions.

# %%
start = time.perf_counter()
resid = attnlab.patch_resid(model, PROMPT, CORRUPTED, ld, progress=False)
print(f"patch_resid: {time.perf_counter() - start:.1f} s for {resid.shape[0]} x {resid.shape[1]} sites")
R = np.asarray(resid)
cells = [{"layer": l, "pos": p, "token": f"{p}:{resid.tokens[p]}", "restored": float(R[l, p])}
         for l in range(R.shape[0]) for p in range(R.shape[1])]
alt.Chart(alt.Data(values=cells)).mark_rect().encode(
    x=alt.X("token:N", sort=[c["token"] for c in cells[:R.shape[1]]], title="position (corrupted prompt)"),
    y=alt.Y("layer:O", title="residual stream entering layer"),
    color=alt.Color("restored:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)),
    tooltip=["layer:O", "token:N", alt.Tooltip("restored:Q", format=".2f")],
).properties(width=420, height=420, title="fraction of the logit difference restored by patching one site")

# %%
last = R.shape[1] - 1
for l in range(R.shape[0]):
    if l % 4 == 0 or 0.1 < R[l, s2_pos] < 0.9 or 0.1 < R[l, last] < 0.9:
        print(f"entering layer {l:2}: patch at S2 restores {R[l, s2_pos]:+.2f}, at the last token {R[l, last]:+.2f}")
moved = int(np.argmax(R[:, s2_pos] < 0.5))
print(f"first layer where the S2 position restores less than half: {moved}")
drops = np.diff(R[:, s2_pos])                      # drops[l]: change from entering layer l to entering l + 1
print("biggest drops of the S2 column happen across layers:",
      [f"{l} ({drops[l]:+.2f})" for l in np.argsort(drops)[:2]])
readers = [(l, h) for l in range(model.n_layers) for h in range(model.n_heads) if P[l, h, -1, s2_pos] > 0.5]
print("heads that send more than half of the last token's attention to S2:", [f"{l}.{h}" for l, h in readers])

# %% [markdown]
# The picture reads like a story. In the lower layers everything that distinguishes the two prompts sits where
# the two prompts differ, at the second name: patch it and the answer comes back whole. The rest of the
# prompt carries nothing. In a band of late layers the information leaves that position and turns up at the
# last token, and above the band the last token carries it all. Heads do that moving: the two big drops of the
# S2 column happen across the very layers of the heads that read S2 from the last token, the strongest
# head among them.
#
# ## Backup heads: does the model make up for lost heads?
#
# In GPT-2 small, knocking out the name movers costs surprisingly little, because other heads (*backup name
# movers*) start doing their job (Wang et al., 2022). We saw the same hint above: big direct effects, small
# ablation effects. Test it: ablate all the name movers together, then compare
#
# - the **expected** loss if nothing compensated: the sum of their direct effects;
# - the **actual** loss: the change in the logit difference;
# - every other head's direct effect before and after. Ablating heads also changes the size of the final
#   residual stream, which rescales every direct effect a little; to see only what the heads *write*
#   differently, both are computed with the final norm's scale of the clean run. `attnlab.direct_effects`
#   freezes the scale of the run it is given, so the course's helper `direct_effects_with_norm_of` takes the
#   scale of another run (`norm_of=t`): for an RMSNorm that is one factor, the ratio of the two runs' rms.

# %%
Code(inspect.getsource(direct_effects_with_norm_of), language="python")

# %%
without = model.run(PROMPT, ablate=movers)
direct_without = direct_effects_with_norm_of(without, IO, S, norm_of=t)   # same final-norm scale as before
expected, actual = sum(direct[m] for m in movers), ld(t) - ld(without)
print(f"name movers {[f'{l}.{h}' for l, h in movers]} ablated together:")
print(f"  logit difference {ld(t):.2f} -> {ld(without):.2f}: actual loss {actual:.2f}, "
      f"expected from their direct effects {expected:.2f}")
print(f"  compensated: {1 - actual / expected:.0%} of the expected loss")
change = direct_without - direct
for m in movers:
    change[m] = 0.0
rise = np.clip(change, 0, None)
print(f"  total rise of heads that wrote against the answer before: {rise[direct < 0].sum():+.2f}; "
      f"of heads that wrote for it: {rise[direct > 0].sum():+.2f}")
print("  heads whose direct effect changes most:")
for i in np.argsort(-np.abs(change), axis=None)[:5]:
    l, h = np.unravel_index(i, change.shape)
    print(f"    head {l:2}.{h}: {direct[l, h]:+.2f} -> {direct_without[l, h]:+.2f}   "
          f"(attention to IO {P[l, h, -1, io_pos]:.2f} before)")

# %% [markdown]
# The compensation is real, and most of it comes from an unexpected place: the head that changes most is the
# one that attends to Mary and writes *against* her. With the name movers gone, there is less Mary in the
# residual stream to suppress, and it suppresses much less. This is the self-repair McDougall et al. (2023)
# found in GPT-2's copy-suppression head, rather than a backup head that starts copying Mary. Heads that
# already wrote *for* the answer and write more of it are the classic backup name movers: compare the two
# totals above. In SmolLM2 on this prompt that classic backup exists but is the smaller part.
#
# The same question with total effects: re-run the sweep over the heads after the name movers' layer, with the
# name movers already switched off, and compare each head's effect with the clean sweep. (The public
# `ablation_sweep` has no "already ablated" option, so this loops over `model.run`, reusing the run below each
# head's layer with `reuse=`.)

# %%
first = max(l for l, _ in movers) + 1
conditional = np.full(exact_v.shape, np.nan)
for l in range(first, model.n_layers):
    for h in range(model.n_heads):
        run = model.run(PROMPT, ablate=movers + [(l, h)], reuse=without, record=False)
        conditional[l, h] = ld(run) - ld(without)
shift = conditional - exact_v
print(f"layers {first}-{model.n_layers - 1}: heads whose ablation effect changes most with the name movers off")
for i in np.argsort(-np.abs(np.nan_to_num(shift)), axis=None)[:4]:
    l, h = np.unravel_index(i, shift.shape)
    print(f"  head {l:2}.{h}: effect {exact_v[l, h]:+.2f} with the name movers on, {conditional[l, h]:+.2f} with them off")

# %% [markdown]
# With the name movers off, removing the suppressor no longer helps the answer, and some heads that mattered
# little become more important: the circuit has rearranged itself.
#
# And the head that matters most: does anything back it up?

# %%
no_top = model.run(PROMPT, ablate=[top_head])
print(f"ablating head {top_head[0]}.{top_head[1]}: logit difference {ld(t):.2f} -> {ld(no_top):.2f} "
      f"(loss {ld(t) - ld(no_top):.2f}; its direct effect was {direct[top_head]:+.2f})")
print(f"  compensated: {1 - (ld(t) - ld(no_top)) / direct[top_head]:.0%}")

# %% [markdown]
# Compare the two "compensated" lines. The head that suppresses the repeated name has no backup worth the
# name: the model loses at least what the head wrote directly. The name movers are the opposite: several heads
# write Mary at once and a suppressor keeps the total in check, so one of them missing barely shows. This is
# the lesson of backup heads: **a small ablation effect does not prove a head is unimportant**. Check the
# direct effect too, and ablate groups, not just single heads.
#
# ## Try it live
#
# The AblationLab below runs the IOI prompt; the frames show the sweep's effects. Switch off the most important
# head, then the name movers one at a time and together, then add the suppressor. Watch " Mary" and " John" in
# the top next tokens. "Copy as Python" gives the `model.run` call for what you clicked.

# %%
print("suggested heads to toggle:", [f"{l}.{h}" for l, h in [top_head, *movers, *attends_io[:1]]])
attnlab.AblationLab(model, text=PROMPT, scores=np.asarray(sweep))

# %% [markdown]
# ## Exercises
#
# **11.1** Which head's ablation lowers the IOI logit difference on `PROMPT` the most? Answer `(layer, head)`.

# %%
answer = ...  # your code here
attnlab.check("11.1", answer)

# %% [markdown]
# **11.2** Take the three heads with the largest fractions in `attnlab.patch_heads(model, PROMPT, CORRUPTED, ld)`.
# What fraction of the logit difference do they restore when patched *together*?

# %%
answer = ...  # your code here
attnlab.check("11.2", answer)

# %% [markdown]
# **11.3** In `attnlab.patch_resid(model, PROMPT, CORRUPTED, ld)`, at which layer (row) does patching the
# position of the second " John" first restore *less than half* of the logit difference?

# %%
answer = ...  # your code here
attnlab.check("11.3", answer)

# %% [markdown]
# **11.4** Ablate the name movers (`name_movers(model, t, io_position=...)`). Apart from them, which head's direct
# effect (`attnlab.direct_effects`, then `direct_effects_with_norm_of(..., norm_of=t)`) *increases* the most?
# Answer `(layer, head)`.

# %%
answer = ...  # your code here
attnlab.check("11.4", answer)

# %% [markdown]
# ## What's next
#
# You now have the tools of a circuit hunt: sweeps to find candidates, attribution to find them fast, direct
# effects to see what they write, patching to follow information, and group ablations to catch backup. Lesson 12
# steps back and draws a map of all the head types of the course, across the whole depth of the model.
