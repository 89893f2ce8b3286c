# %% [markdown]
# # 6 · Induction heads II: watch them form
#
# **Learning goals.** By the end of this lesson you can
# - explain why an induction head needs a partner in an earlier layer, a *previous-token head*, and how it
#   reads that partner through its keys (*K-composition*);
# - train a two-layer model from scratch and watch the *phase change*: the loss on repeated text falls at the
#   moment the induction heads appear;
# - break the circuit by switching off the previous-token head, and show that its information is needed at
#   the key, not at the query;
# - compare this minimal circuit with the induction heads of SmolLM2 from lesson 5.

# %%
import time

import numpy as np

import attnlab
from attnlab.course.lesson06 import SEED_EXAMPLE, repeated_text

attnlab.charts.use_offline_charts()
RUN_OPTIONAL = False   # set to True to run the optional cell near the end (about 30 s more)
model = attnlab.load("tiny-induction")
model

# %% [markdown]
# ## A model small enough to watch
#
# `tiny-induction` is about as small as a transformer gets. It has attention layers and nothing else: no MLPs,
# so everything it computes is done by its four heads. Its vocabulary is a start token `<bos>` plus letters
# and digits, one token per symbol.

# %%
info = attnlab.tiny.recorded_metrics("tiny-induction")
cfg, training = info["config"], info["training"]
print(f"{cfg['n_layers']} layers x {cfg['n_heads']} heads, d_model {cfg['d_model']}, MLP width {cfg['d_mlp']}, "
      f"context {cfg['max_len']} tokens")
print(f"vocabulary: {len(cfg['vocab'])} tokens: {' '.join(cfg['vocab'][:8])} ... {' '.join(cfg['vocab'][-4:])}")
print(f"the shipped checkpoint: {training['steps']} training steps, {training['seconds']:.0f} s on a CPU")

# %% [markdown]
# Its training text is `<bos>`, then a random *segment* of symbols, some random filler, the same segment again,
# more filler, the segment again, and so on until the context is full. The first copy of a segment is pure
# noise: nothing can predict it, and the best loss there is that of a blind guess among all the symbols,
# `ln(number of symbols)` nats (printed after the training run below). Every later copy, after its first
# symbol, is fully predictable, but only to a model that copies. The loss pushes the model to invent the
# induction rule of lesson 5: *if the current token appeared before, predict what followed it then*.
#
# ## Why one head is not enough
#
# A head chooses where to look by comparing its **query**, computed from the current position, with the **key**
# of every earlier position, computed from that position. In layer 0 a position holds only its own token (and
# where it sits). Take "P Q A B X Y S T A". A layer-0 head at the last "A" can find the earlier "A" (same
# token), but it cannot find "B": nothing at B's position says that an "A" came just before it.
#
# Two heads in two layers solve it:
#
# 1. a **previous-token head** in layer 0: every position attends to the position just before it and copies
#    that token into its own residual stream. Now B's position carries "my previous token was A";
# 2. an **induction head** in layer 1: at the last "A" its query asks for "previous token = A", and B's key,
#    built from what the previous-token head wrote, answers. The head attends to B and copies B (its value)
#    into the prediction.
#
# The layer-1 head uses the layer-0 head's output to build its **keys**, so this is called **K-composition**
# (Elhage et al., 2021; Olsson et al., 2022). A single layer cannot do it; that is why this toy has two.
#
# ## The circuit in the shipped model
#
# First the finished product, the shipped checkpoint. For every head: how much of the last token's attention
# goes to "B", and where most of it goes.

# %%
t = model.run(SEED_EXAMPLE)
target = t.tokens.index(t.tokens[-1]) + 1           # the token after the first "A": "B"
print(t.tokens, "->", [(tok, round(p, 2)) for tok, p in t.top_next(3)])
for layer in range(model.n_layers):
    for head in range(model.n_heads):
        row = t.pattern(layer, head)[-1]
        print(f"head {layer}.{head}: {row[target]:4.0%} on {t.tokens[target]!r}, "
              f"most ({row.max():.0%}) on position {row.argmax()} ({t.tokens[row.argmax()]!r})")

# %% [markdown]
# Both layer-1 heads send most of the last "A"'s attention to "B" (the 4th symbol; `<bos>` is position 0),
# and "B" is the model's top prediction. The layer-0 heads look just behind the query. The head scores of
# lessons 2 and 5 work on this model too: the previous-token score (attention to position `i - 1`), the most
# common offset of each head's strongest attention, and the induction score.

# %%
prev = attnlab.scores.previous_token(model)
offset = attnlab.scores.positional_offset(model)
ind = attnlab.scores.induction(model)
for layer in range(model.n_layers):
    for head in range(model.n_heads):
        print(f"head {layer}.{head}: previous-token {prev[layer, head]:.2f}   usual offset {offset[layer, head]:+d}"
              f"   induction {ind[layer, head]:.2f}")
prev_head = (0, int(prev[0].argmax()))
ind_head = (1, int(ind[1].argmax()))
print(f"previous-token head: {prev_head[0]}.{prev_head[1]}   strongest induction head: {ind_head[0]}.{ind_head[1]}")

# %% [markdown]
# One layer-0 head is a clean previous-token head; the other one's strongest attention usually goes two tokens
# back. Both layer-1 heads
# are induction heads. All four heads on a random segment of symbols said twice (the frame colour is the
# induction score; click a head to open it). Look for the lines just below the diagonal in layer 0 and for the
# stripe in the second half of layer 1, one token to the right of "the same symbol, last time".

# %%
print(repeated_text())
attnlab.HeadGrid(model, text=repeated_text(), scores=ind, score_name="induction score")

# %% [markdown]
# The induction head on the seed example. Hover over the last "A" to see its attention; type your own
# sequence (symbols separated by spaces) to test it.

# %%
attnlab.AttentionView(model, text=SEED_EXAMPLE, layer=ind_head[0], head=ind_head[1])

# %% [markdown]
# ## Watch it form
#
# Now train the same model from scratch, live: 600 steps with the shipped checkpoint's recipe and seed
# (the cell prints how long it took). `train` returns the model and its **history**: one row per step with the
# loss on first copies (`loss_first`), the loss on later copies (`loss_repeat`), the previous-token score of
# each layer-0 head and the induction score of each layer-1 head, all measured on that step's training batch.

# %%
start = time.perf_counter()
live, history = attnlab.tiny.train("tiny-induction", steps=600)
print(f"trained {len(history)} steps in {time.perf_counter() - start:.0f} s")
step = attnlab.tiny.phase_change_step(history)
print(f"phase change (the induction score passes halfway between its start and its end) at step {step}")
history.tail(3)

# %%
attnlab.charts.training_curves(history, {"loss_first": "first copy", "loss_repeat": "later copies"}, smooth=25,
                               marks={"phase change": step}, y_title="loss (nats, mean over 25 steps)",
                               title="loss during training")

# %%
scores_cols = {"prev_L0H0": "previous-token 0.0", "prev_L0H1": "previous-token 0.1",
               "induction_L1H0": "induction 1.0", "induction_L1H1": "induction 1.1"}
attnlab.charts.training_curves(history, scores_cols, smooth=25, marks={"phase change": step},
                               y_title="score (mean over 25 steps)", title="head scores during training")

# %% [markdown]
# The same numbers (means over 25 steps) at the start, 50 steps before the phase change and 50 steps after it:

# %%
smooth = history.set_index("step").rolling(25).mean()
rows = {"start": smooth.loc[24], "before": smooth.loc[step - 50], "after": smooth.loc[step + 50]}
print(f"{'':15s}" + "".join(f"{f'step {s.name}':>11s}" for s in rows.values()))
for col in smooth.columns:
    print(f"{col:15s}" + "".join(f"{s[col]:11.2f}" for s in rows.values()))
print(f"ln({model.vocab_size - 1} symbols) = {np.log(model.vocab_size - 1):.2f}   (a blind guess)")

# %% [markdown]
# Three things happen in the same short window, after a long plateau:
#
# - the loss on later copies collapses, while the loss on first copies stays at a blind guess (or a bit worse);
# - both layer-1 heads become induction heads;
# - both layer-0 heads start to look at the previous token.
#
# This sudden joint jump is the **phase change** of Olsson et al. (2022). It is sudden because neither half of
# the circuit pays off alone: a previous-token head is useless without a layer-1 head that reads it, and an
# induction head has nothing to match without a previous-token head. Once both exist a little, each makes
# the other worth improving, and the pair forms fast.
#
# Look also at the plateau before the jump: the loss on later copies creeps down a little while the loss on
# first copies creeps *up*. That fits a cheaper rule the model learns first, "symbols already in the context
# tend to come back", which helps on repeats and hurts on fresh symbols.
#
# How does your 600-step model compare with the shipped one, trained much longer? `attnlab.tiny.measure`
# scores both on the same probe (random segments said twice).

# %%
mine, shipped = attnlab.tiny.measure(live), attnlab.tiny.measure(model)
for key in ("loss_first", "loss_repeat", "prev_score", "induction_score"):
    print(f"{key:16s} 600 steps: {mine[key]:.2f}   {training['steps']} steps: {shipped[key]:.2f}")
print("previous-token scores of layer 0, 600 steps:", np.round(mine["prev_scores_L0"], 2),
      f"  {training['steps']} steps:", np.round(shipped["prev_scores_L0"], 2))

# %% [markdown]
# After 600 steps the circuit works, but the previous-token job is still split between the two layer-0 heads.
# The shipped run's history shows what the long training added: later, one layer-0 head takes the whole
# job, the other leaves it, and the repeat loss falls again.

# %%
long = attnlab.tiny.history("tiny-induction")
long_step = attnlab.tiny.phase_change_step(long)
best = long.set_index("step")[f"prev_L0H{prev_head[1]}"].rolling(100, min_periods=1).mean()
takeover = int(best.index[best > 0.9][0])
print(f"shipped run: phase change at step {long_step}; head {prev_head[0]}.{prev_head[1]}'s previous-token "
      f"score (mean over 100 steps) first passes 0.9 at step {takeover}")
marks = {"phase change": long_step, "one previous-token head": takeover}
(attnlab.charts.training_curves(long, scores_cols, smooth=100, marks=marks, y_title="score",
                                title=f"the shipped run, {training['steps']} steps (means over 100 steps)")
 & attnlab.charts.training_curves(long, {"loss_first": "loss, first copy", "loss_repeat": "loss, later copies"},
                                  smooth=100, marks=marks, y_title="loss (nats)"))

# %% [markdown]
# ## Break the circuit
#
# If the story is right, the induction head should lose its target when the previous-token head is switched
# off, and should barely notice when the other layer-0 head is. Back to the shipped model and the seed example:

# %%
for ablate in ([], [(0, 0)], [(0, 1)]):
    ta = model.run(SEED_EXAMPLE, ablate=ablate)
    row = ta.pattern(*ind_head)[-1]
    print(f"ablate {str(ablate):9s} head {ind_head[0]}.{ind_head[1]} puts {row[target]:4.0%} on {t.tokens[target]!r}"
          f"   top next: {[(tok, round(p, 2)) for tok, p in ta.top_next(2)]}")

# %% [markdown]
# The same on the probe of random repeated segments, as `measure` records it (it ablates the best
# previous-token head, or the other layer-0 head as a control, and re-scores the best induction head):

# %%
m = shipped
print(f"previous-token head {m['prev_head']}, induction head {m['induction_head']}")
print(f"induction score:      intact {m['induction_score']:.2f}   previous-token head off "
      f"{m['induction_score_prev_head_ablated']:.2f}   other layer-0 head off {m['induction_score_other_L0_heads_ablated']:.2f}")
print(f"loss on later copies: intact {m['loss_repeat']:.2f}   previous-token head off "
      f"{m['loss_repeat_prev_head_ablated']:.2f}   other layer-0 head off {m['loss_repeat_other_L0_heads_ablated']:.2f}"
      f"   (first copies: {m['loss_first']:.2f})")

# %% [markdown]
# Without its previous-token head the induction head no longer finds its target, and the repeated copies
# become as hard as the first ones. Without the other layer-0 head, the induction head still finds its target
# and the loss rises far less: that head helps, but it is not the one the circuit hangs on.
#
# Try it yourself: click heads in the lab to switch them off, and watch the losses of the second copy.

# %%
attnlab.AblationLab(model, text=repeated_text())

# %% [markdown]
# ## K-composition: the information is needed at the key
#
# Ablation switches the previous-token head off everywhere. The story says more: the layer-1 head needs
# "my previous token was A" at the **key** position (B), not at the query (the last A). Test it by removing the
# previous-token head's output at one position only: `attnlab.Patch` copies that head's output, at the chosen
# positions, from a run where the head is ablated (so, zeros).

# %%
ablated = model.run(SEED_EXAMPLE, ablate=[prev_head])
last, b = len(t.tokens) - 1, t.tokens[target]
for where, positions in [("nowhere", None), (f"at the key ({b!r}, position {target})", [target]),
                         (f"at the query (last {t.tokens[last]!r}, position {last})", [last]),
                         ("everywhere", list(range(len(t.tokens))))]:
    patch = attnlab.Patch(ablated, heads=[prev_head], positions=positions) if positions else None
    tp = model.run(SEED_EXAMPLE, patch=patch)
    p_b = dict(tp.top_next(model.vocab_size))[b]        # probability of "B" as the next token
    print(f"head {prev_head[0]}.{prev_head[1]} removed {where:36s}: induction head on {b!r} "
          f"{tp.pattern(*ind_head)[-1, target]:4.0%}   p(next = {b!r}) {p_b:.2f}")

# %% [markdown]
# Removing the previous-token head at B's position alone does as much damage as removing it everywhere;
# removing it at the query does not hurt (here it even helps). The layer-0 head matters through the keys of the layer-1 head:
# K-composition, measured.
#
# ## The same circuit in SmolLM2
#
# In lesson 5 you found SmolLM2's induction heads in its middle layers. The circuit there is the same idea,
# spread over many more layers and heads. A quick look at the seed example and at SmolLM2's previous-token heads:

# %%
big = attnlab.load("smollm2")
print(f"SmolLM2: {big.n_layers} layers x {big.n_heads} heads = {big.n_layers * big.n_heads} heads; "
      f"tiny-induction: {model.n_layers * model.n_heads}")
tb = big.run(SEED_EXAMPLE)
big_target = tb.tokens.index(tb.tokens[-1]) + 1
to_target = tb.patterns()[:, :, -1, big_target]
bl, bh = (int(x) for x in np.unravel_index(to_target.argmax(), to_target.shape))
print(f"SmolLM2: head {bl}.{bh} sends {to_target[bl, bh]:.0%} of the last token's attention to {tb.tokens[big_target]!r}"
      f" (top next: {[(tok, round(p, 2)) for tok, p in tb.top_next(2)]})")
print(f"tiny   : head {ind_head[0]}.{ind_head[1]} sends {t.pattern(*ind_head)[-1, target]:.0%}")
big_prev = attnlab.scores.previous_token(big)
top_prev = [tuple(int(x) for x in np.unravel_index(i, big_prev.shape)) for i in np.argsort(big_prev, axis=None)[::-1][:5]]
print("SmolLM2's strongest previous-token heads:", [f"{l}.{h} ({big_prev[l, h]:.2f})" for l, h in top_prev])
print(f"of those, in layers below {bl}: {sum(l < bl for l, _ in top_prev)}")

# %% [markdown]
# SmolLM2 also has strong previous-token heads in layers below its induction head, where they can feed its keys.
# In a big model the picture is messier than in the toy: several heads share each job, and a head can do more
# than one thing. The tiny model is the clean version of the same mechanism.
#
# Optional, about 30 s: SmolLM2's induction scores (as in lesson 5), set side by side with the tiny model's.

# %%
if RUN_OPTIONAL:
    big_ind = attnlab.scores.induction(big)
    top_ind = [tuple(int(x) for x in np.unravel_index(i, big_ind.shape)) for i in np.argsort(big_ind, axis=None)[::-1][:5]]
    print("SmolLM2's strongest induction heads:", [f"{l}.{h} ({big_ind[l, h]:.2f})" for l, h in top_ind])
    print("tiny-induction, layer 1:", np.round(ind[1], 2))

# %% [markdown]
# ## Exercises
#
# **6.1** In your training run (`history`, above), at which step does the loss on later copies, averaged over
# 25 steps (`.rolling(25).mean()`), first fall below 2.0 nats? Compare it with the phase change of the
# induction score. (To verify, the check trains the same run again: it takes as long as the training cell.)

# %%
answer = ...  # your code here
attnlab.check("6.1", answer)

# %% [markdown]
# **6.2** Ablate the previous-token head of the shipped model and run `SEED_EXAMPLE`. Which position does the
# strongest induction head's last row now attend to most? Answer the position in `t.tokens` (an int). Which
# lesson does the answer remind you of?

# %%
answer = ...  # your code here
attnlab.check("6.2", answer)

# %% [markdown]
# **6.3** With the previous-token head ablated, what is the shipped model's mean loss on the second copy of
# `repeated_text()`? The tokens an induction head can predict are the second copy minus its first symbol:
# average `t.token_losses[N + 1:]` (`N` symbols, said twice, after `<bos>`).

# %%
answer = ...  # your code here
attnlab.check("6.3", answer)

# %% [markdown]
# **6.4** Write a sequence of your own, symbols separated by spaces, on which the shipped model predicts by
# induction: its last symbol appeared exactly once before, with other symbols between the two, and the model's
# top prediction is the symbol that followed it. Answer the text.

# %%
answer = ...  # your code here
attnlab.check("6.4", answer)

# %% [markdown]
# ## What's next
#
# Induction heads copy a token from far back in the context. Lesson 7 sorts heads by how far they reach:
# *streaming* heads that only look at recent tokens and the sinks, and *retrieval* heads that fetch a specific
# token from anywhere in a long context, the way an induction head does.
