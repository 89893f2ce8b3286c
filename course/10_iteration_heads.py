# %% [markdown]
# # 10 · Iteration heads: how a chain of thought works inside
#
# **Learning goals.** By the end of this lesson you can
# - explain why writing down intermediate steps (a *chain of thought*) turns parity, a task that small
#   transformers find very hard, into a simple loop;
# - compare a model that writes a chain of thought with one that must answer at once, on strings neither
#   has seen;
# - state the *iteration head* hypothesis (Cabannes et al., 2024) and explain why it needs two layers;
# - test the hypothesis on a trained model with attention statistics, attention maps and ablations, and
#   report what the model actually does, even when it is less tidy than the story.

# %%
import time
from collections import Counter

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import display

import attnlab
from attnlab.course.lesson10 import EXAMPLE, cot_text, random_inputs, running_parity

attnlab.charts.use_offline_charts()
RUN_OPTIONAL = False   # set to True to also train the direct model live near the end (30-60 s more)
cot = attnlab.load("tiny-parity-cot")
direct = attnlab.load("tiny-parity-direct")
cot

# %% [markdown]
# ## Parity, in one go or step by step
#
# The **parity** of a string of bits is 1 if it holds an odd number of 1s, and 0 if it holds an even number.
# It looks trivial, yet it is a classic hard case for neural networks trained by gradient descent: every bit
# matters, and flipping any single bit flips the answer. No part of the input says anything about the answer
# on its own, so there is no partial pattern to learn first and improve later.
#
# Now let the model write down its intermediate results. After the input `x` and a colon, it writes the
# **running parity** `s`: `s_t` is the parity of the first `t` bits. Each new bit follows from the last one
# and one input bit,
#
# `s_t = s_(t-1) XOR x_t`   (with `s_0 = 0`),
#
# so the whole task becomes a loop with one bit of memory: read input bit `t`, combine it with the bit you
# wrote last, write the result. The part after the colon works like the tape of a Turing machine: the model's
# memory is what it has written, and since it reads its own output at the next step, it picks the state up
# again. The last bit of the tape is the parity of the whole input.

# %%
x = EXAMPLE
s = 0
for t, bit in enumerate(x, start=1):
    s_next = s ^ int(bit)
    print(f"t = {t:2d}:  s_{t - 1} = {s}  x_{t} = {bit}  ->  s_{t} = {s_next}")
    s = s_next
print("the text with its chain of thought:", cot_text(x))

# %% [markdown]
# Two tiny models learned this task. `tiny-parity-cot` was trained on texts like the one above, input, colon,
# tape; `tiny-parity-direct` on the same inputs with only the final bit after the colon. Same architecture, same
# number of training steps. Both read one character per token, after a `<bos>` token.

# %%
info = attnlab.tiny.recorded_metrics("tiny-parity-cot")
cfg, training = info["config"], info["training"]
print(f"{cfg['n_layers']} layers x {cfg['n_heads']} heads per layer, d_model {cfg['d_model']}, MLP width {cfg['d_mlp']}, "
      f"vocabulary {cfg['vocab']}")
for name in ("tiny-parity-cot", "tiny-parity-direct"):
    tr = attnlab.tiny.recorded_metrics(name)["training"]
    print(f"{name:19s}: {tr['steps']} steps on inputs of 1 to {tr['max_train_len']} bits, {tr['seconds']:.0f} s on a CPU")

t_cot = cot.generate(x + ":", max_new_tokens=len(x))
t_direct = direct.generate(x + ":", max_new_tokens=1)
print("the chain-of-thought model writes:", "".join(t_cot.tokens[1:]))
print("the direct model writes:          ", "".join(t_direct.tokens[1:]))
print(f"right answer: {cot_text(x)}  (final parity {running_parity(x)[-1]})")

# %% [markdown]
# ## Which one generalises?
#
# A quarter of all strings of each length from 6 to 12 bits was held out of training. `parity_accuracy`
# lets a model write its answer greedily on those unseen strings and checks the final bit (for the CoT model:
# the last bit of the tape it wrote itself, so one mistake anywhere on the way spoils it). Chance is 50%.

# %%
acc = pd.DataFrame({"chain of thought": attnlab.tiny.parity_accuracy(cot),
                    "direct": attnlab.tiny.parity_accuracy(direct)}).T
print("final-answer accuracy on held-out strings, by input length")
print(acc.round(3).to_string())

# %% [markdown]
# The chain-of-thought model is right on nearly every unseen string, whatever its length. The direct model is
# well above chance on the shortest strings but falls to a coin flip as the strings grow. The training histories,
# recorded every 250 steps on the same held-out strings, show how each got there.

# %%
hist_cot = attnlab.tiny.history("tiny-parity-cot")
hist_direct = attnlab.tiny.history("tiny-parity-direct")
both = (hist_cot[["step", "test_acc"]].dropna()
        .merge(hist_direct[["step", "test_acc"]].dropna(), on="step", suffixes=("_cot", "_direct")))
cot_99 = int(both.step[both.test_acc_cot >= 0.99].iloc[0])
print(f"CoT:    held-out accuracy first reaches 99% at step {cot_99}; "
      f"at the end: {both.test_acc_cot.iloc[-1]:.3f}")
print(f"direct: between {both.test_acc_direct.min():.3f} and {both.test_acc_direct.max():.3f} over the whole run "
      f"(steps 0 to {both.step.iloc[-1]}); at the end: {both.test_acc_direct.iloc[-1]:.3f}")
attnlab.charts.training_curves(both, {"test_acc_cot": "chain of thought", "test_acc_direct": "direct answer"},
                               marks={"CoT reaches 99%": cot_99},
                               y_title="held-out accuracy", title="the two shipped runs")

# %% [markdown]
# The CoT model leaves chance after a short plateau and passes 99% at the marked step. The direct model never
# leaves chance on the held-out strings, pooled over all lengths, in the whole run; only its shortest held-out
# strings end above chance (the table above). Yet it was not idle: on its own training batches it does better
# than chance.

# %%
flat = hist_direct[hist_direct.step >= 1000]
n_short = sum(2 ** n for n in range(1, 6))
print(f"direct model, steps 1000 to {hist_direct.step.iloc[-1]}: accuracy on its training batches {flat.tape_acc.mean():.2f}, "
      f"on held-out strings {flat.test_acc.mean():.2f}")
print(f"learn by heart the {n_short} strings of 1 to 5 bits (5 of the 12 lengths), guess the rest: "
      f"{5 / 12 + 7 / 12 * 0.5:.2f}")

# %% [markdown]
# That fits a model that has learned the few short strings, by heart or with a rule that only works for a few
# bits, and guesses on the long ones: what it learned barely carries over to new long strings. The chain of thought removes the difficulty: each tape bit
# depends on only two bits, the one written last and one input bit, a rule simple enough to learn from examples.
#
# ## Train one yourself
#
# A lesson-sized run of the CoT model: 1200 steps on inputs of up to 8 bits (the shipped one had 12000 steps
# and inputs up to 12 bits). It prints how long it took. The held-out test of this run uses lengths 6 to 8.

# %%
start = time.perf_counter()
live, live_hist = attnlab.tiny.train("tiny-parity-cot")
print(f"trained {len(live_hist)} steps in {time.perf_counter() - start:.0f} s")
evals = live_hist.dropna(subset=["test_acc"])
print(evals[["step", "loss", "tape_acc", "test_acc"]].round(3).to_string(index=False))
last_tape = live_hist.tape_acc.tail(50).mean()
print(f"tape bits right on training batches (last 50 steps): {last_tape:.3f}; if each of 8 steps were right "
      f"with that probability, a whole 8-bit tape would be right {last_tape ** 8:.2f} of the time")
print("held-out accuracy by length:", {k: round(v, 3) for k, v in attnlab.tiny.parity_accuracy(live).items()})

# %%
(attnlab.charts.training_curves(live_hist, {"tape_acc": "tape bits right (training batches)"}, smooth=25,
                                y_title="accuracy (mean over 25 steps)", title="your run")
 & attnlab.charts.training_curves(evals, {"test_acc": "final answer right (held-out)"}, y_title="accuracy"))

# %% [markdown]
# The tape accuracy on training batches rises fast; the held-out accuracy of the final answer lags behind. Two
# reasons: the final answer needs *every* step right, so small per-step errors compound along the tape (the
# product printed above), and the held-out strings are new, while the training batches also hold short, easy
# strings. A longer run closes the gap, as the shipped history showed.
#
# ## The iteration head hypothesis
#
# Number the positions from `<bos>` = 0. For an input of `n` bits, `x_t` sits at position `t`, the colon at
# `n + 1`, and the tape bit `s_t` at `n + 1 + t`. The prediction of `s_t` is made at the position just before
# it, `p = n + t`: the colon for `t = 1`, and the last bit written, `s_(t-1)`, after that. To compute
# `s_t = s_(t-1) XOR x_t` the model at `p` needs one thing it does not have: the bit `x_t`, which sits
# at position `t = p - n`. It knows its own position `p`, but not `n`.
#
# Cabannes et al. (2024) report that transformers trained on this task solve it with two layers:
#
# 1. a layer-0 head attends to the **colon**, found by its token, and copies the colon's *position*
#    (`n + 1`) into the current position;
# 2. the MLP in between computes `p - (n + 1) + 1 = t`: "I am at step `t`, I need input position `t`";
# 3. a layer-1 head, the **iteration head**, uses that as its query; each input position's key says "I am
#    position `t'`", so it attends to `x_t` and copies the bit;
# 4. the last MLP combines `x_t` with the current token `s_(t-1)` and writes `s_t`.
#
# The iteration head is a pointer that moves one step to the right each time the model writes a bit.
#
# ## Test 1: attention statistics
#
# The shipped model has two heads in each layer. If it works like this, one layer-0 head should put its
# attention on the colon, and one layer-1 head on `x_t`, at every position whose next token is a tape bit.
# `iteration_stats` measures exactly that on the held-out strings: for each head, how often its strongest
# attention (the argmax of the row) lands on `x_t` (`iteration`) or on the colon (`colon`), and the mean weight
# it puts there (`..._mass`).

# %%
stats = attnlab.tiny.iteration_stats(cot).set_index(["layer", "head"])
print(stats.round(3).to_string())
heads = list(stats.index)                           # (layer, head) for all four heads
colon_head = stats["colon"].idxmax()
layer1 = stats.loc[1]
print(f"\ncolon head: L{colon_head[0]}H{colon_head[1]}, argmax on the colon at {stats['colon'].max():.0%} of steps")
print(f"argmax on x_t: at most {stats['iteration'].max():.0%} of steps (head L{stats['iteration'].idxmax()[0]}"
      f"H{stats['iteration'].idxmax()[1]}); the layer-1 heads: {layer1['iteration'].max():.0%} at most")

# %% [markdown]
# A clean iteration head would have its argmax on `x_t` almost every time. No head comes close, and the two
# layer-1 heads, where the hypothesis puts the pointer, come least close of all. The colon head exists, in
# layer 0 as predicted, but it lands on the colon only in about a third of the steps; the same layer-0 head also
# hits `x_t` more often than either layer-1 head. The textbook picture is not what this model shows. Time to
# look.
#
# ## Test 2: look at the patterns
#
# All four heads on the lesson's example. Click a thumbnail to open a head; the rows from the colon on are the
# ones that matter: each predicts the next tape bit. Hover over a row to read its weights.

# %%
text = cot_text(EXAMPLE)
attnlab.HeadGrid(cot, text=text, layer=colon_head[0], head=colon_head[1])

# %% [markdown]
# The same rows in numbers: for each step `t`, the query position and its token, and for each head
# (`L0H1` is layer 0, head 1) where its attention peaks (position, token, weight) and how much it puts on `x_t`.

# %%
tr = cot.run(text)
n = len(EXAMPLE)
rows = []
for t in range(1, n + 1):
    p = n + t
    row = {"t": t, "query": f"{p} {tr.tokens[p]!r}", "x_t at": t}
    for layer, head in heads:
        w = tr.pattern(layer, head)[p]
        a = int(w.argmax())
        row[f"L{layer}H{head} peak"] = f"{a} {tr.tokens[a]!r} {w[a]:.2f}"
        row[f"L{layer}H{head} on x_t"] = round(float(w[t]), 2)
    rows.append(row)
pd.DataFrame(rows).set_index("t")

# %% [markdown]
# Read the rows one by one. At the colon (`t = 1`) the layer-0 heads peak on `x_1` itself: the first input
# bit is always at position 1, so no pointer is needed. After that, the colon head `L0H1` peaks on the colon at
# most steps, and `L0H0` peaks on input bits, usually to the right of `x_t`. The two layer-1 heads, where the
# hypothesis puts the pointer, peak on the tape, often on the query position itself or the bit before it, and
# from the middle of the tape on they put next to nothing on `x_t`. One string is an anecdote; next, the same
# count over 700 random strings.
#
# ## Where does the attention actually go?
#
# For every step of every string, where does each head's strongest attention land, relative to `x_t`? The
# steps are split by the token at the query: the colon (`t = 1`), or the bit written last, `0` or `1`. The
# strings are random, so most of them were seen in training: here the question is *how* the model computes,
# not whether it generalises.

# %%
xs = random_inputs()                      # 100 random strings of each length 6..12
records = []
for xx in xs:
    nn = len(xx)
    tt = cot.run(cot_text(xx))
    for layer, head in heads:
        pat = tt.pattern(layer, head)
        for t in range(1, nn + 1):
            p = nn + t
            w, a = pat[p], int(pat[p].argmax())
            if a == 0:
                where = "<bos>"
            elif a == nn + 1:
                where = "colon"
            elif a > nn + 1:
                where = "tape"
            else:
                where = {-1: "x_t-1", 0: "x_t", 1: "x_t+1"}.get(a - t, "other input bit")
            records.append({"head": f"L{layer}H{head}", "query": tt.tokens[p], "where": where,
                            "offset": a - t if 1 <= a <= nn else None,
                            "on x_t": w[t], "on x_t-1..x_t+1": w[max(t - 1, 1):min(t + 2, nn + 1)].sum(),
                            "on colon": w[nn + 1], "on <bos>": w[0], "on tape": w[nn + 2:p + 1].sum()})
steps = pd.DataFrame(records)
order = ["x_t-1", "x_t", "x_t+1", "other input bit", "colon", "<bos>", "tape"]
share = (steps.groupby(["head", "query"])["where"].value_counts(normalize=True)
         .unstack(fill_value=0.0).reindex(columns=order, fill_value=0.0))
print("where the argmax lands (share of steps)")
print(share.round(2).to_string())
print("\nmean attention weight")
print(steps.groupby(["head", "query"])[["on x_t", "on x_t-1..x_t+1", "on colon", "on <bos>", "on tape"]]
      .mean().round(2).to_string())

# %%
bars = share.reset_index().melt(["head", "query"], var_name="where", value_name="share")
bars["query"] = bars["query"].map({":": "query: the colon (t = 1)", "0": "query: last bit 0", "1": "query: last bit 1"})
alt.Chart(bars).mark_bar().encode(
    y=alt.Y("where:N", sort=order, title=None), yOffset="head:N",
    x=alt.X("share:Q", scale=alt.Scale(domain=[0, 1]), title="share of steps"),
    color=alt.Color("head:N", title=None), tooltip=["head:N", "where:N", alt.Tooltip("share:Q", format=".2f")],
).properties(width=190, height=260).facet(column=alt.Column("query:N", title=None))

# %% [markdown]
# The split by query token shows what the averages of Test 1 hid:
#
# - **At the colon** the colon head `L0H1` reads `x_1` directly: its peak is on `x_t` at every such step, and
#   `L0H0` mostly does the same (you will test in exercise 10.4 which layer the first step needs).
# - **The colon head** peaks on the colon mostly when the last bit is `1` (sometimes on `<bos>`, the other
#   fixed landmark); when it is `0`, its peaks spread over the input around `x_t` and the colon.
# - **`L0H0`** peaks on input bits around and to the right of `x_t`, whatever the last bit.
# - **Both layer-1 heads** peak on the tape in most steps and put over half of their weight there, and little on
#   `x_t`. Neither is a pointer to `x_t`: layer 1 reads back what the model wrote. If the model finds `x_t` by
#   attention at all, it does so blurrily in layer 0; the attention maps alone cannot show the rest, which the
#   MLPs must do.
#
# How far from `x_t` do the peaks that land on the input fall? (Offset 0 is `x_t`, -1 is `x_t-1`.)

# %%
offsets = steps.dropna(subset=["offset"])
n_steps = len(steps) / len(heads)
for head, group in offsets.groupby("head"):
    counts = group["offset"].astype(int).value_counts(normalize=True).sort_index()
    print(f"{head}: peaks on the input in {len(group) / n_steps:.0%} of steps; by offset from x_t:",
          {k: round(v, 2) for k, v in counts.items() if v >= 0.01})

# %% [markdown]
# When a layer-0 head peaks on the input, `x_t` is its most common single target, but only a minority of
# the time: the rest spreads over its neighbours, mostly to its right. When a layer-1 head peaks on the input, it is
# more often next to `x_t` than on it. No head aims at bit `t`.
#
# ## Why one layer is not enough
#
# Take position 9. If the input has 6 bits, position 9 holds `s_2` (6 input bits, the colon, 2 tape bits) and
# the model must fetch `x_3`. If it has 5 bits, position 9 holds `s_3` (5 input bits, the colon, 3 tape bits)
# and it must fetch `x_4`. A layer-0 head builds its query from the token and
# the position alone, which are the same in both cases, and the keys of the input bits say only "a bit, at
# position so-and-so". So a single layer cannot aim at position 3 in one case and 4 in the other. A layer-0
# head *can* find the colon, whose key is unlike any other, but it can use where it found it only in a later
# layer. Hence two layers, if the pointer is to be done by attention.
#
# Check it on the model: all strings of 6 and of 5 bits whose position 9 holds a `1` (the query token for which
# the colon head looks at the colon most). How much does the colon head put on the colon from position 9, and
# where do the two layer-1 heads peak?

# %%
for nn in (6, 5):
    t_needed = 9 - nn                         # position 9 = n + t predicts s_t
    peaks, on_colon = {h: Counter() for h in range(cot.n_heads)}, []
    for code in range(2 ** nn):
        xx = format(code, f"0{nn}b")
        tt = cot.run(cot_text(xx))
        if tt.tokens[9] != "1":
            continue
        for h in range(cot.n_heads):
            peaks[h][int(tt.pattern(1, h)[9].argmax())] += 1
        on_colon.append(tt.pattern(*colon_head)[9, nn + 1])
    print(f"{nn} bits: position 9 is s_{t_needed - 1}, the model needs x_{t_needed} (position {t_needed}); "
          f"the colon is at {nn + 1}; {len(on_colon)} strings")
    print(f"   colon head on the colon: {np.mean(on_colon):.2f} on average")
    for h in range(cot.n_heads):
        print(f"   L1H{h} peak positions (count of strings): {dict(peaks[h].most_common())}; "
              f"on position {t_needed}: {peaks[h][t_needed] / len(on_colon):.0%}")

# %% [markdown]
# The colon head does look at the colon from position 9, in both cases. But neither layer-1 head moves its
# peak to the position the model needs: their peaks sit mostly elsewhere (often on position 9 itself, the
# query), and the share on the needed position stays at a third or less. The argument above says what an attention
# pointer would need; this model's layer 1 is not that pointer.
#
# ## Test 3: ablations
#
# Attention maps show where a head looks, not whether the model needs what it reads. Switch heads off (their
# output set to zero), one at a time and then a whole layer at once, and measure two things on the same 700
# random strings: the share of tape bits the model gets right when it is given the correct tape so far
# (*teacher forcing*, split by query token as above), and the share of final answers right when it writes the
# whole tape itself. (The first step, at the colon, counts in "all"; exercise 10.4 looks at it on its own.)

# %%
def ablation_row(ablate):
    right, final = {":": [], "0": [], "1": []}, []
    for xx in xs:
        nn, tape = len(xx), running_parity(xx)
        tt = cot.run(cot_text(xx), ablate=ablate, record=False)
        guess = tt.logits[nn + 1:2 * nn + 1, 1:3].argmax(-1).numpy()   # ids 1, 2 are "0", "1"
        for t in range(1, nn + 1):
            right[tt.tokens[nn + t]].append(guess[t - 1] == int(tape[t - 1]))
        written = cot.generate(xx + ":", max_new_tokens=nn, ablate=ablate)
        final.append(written.tokens[-1] == tape[-1])
    row = {f"tape bits after {k!r}": np.mean(right[k]) for k in ("0", "1")}
    row["tape bits, all"] = np.mean(sum(right.values(), []))
    row["final answer"] = np.mean(final)
    return row


start = time.perf_counter()
settings = {"none": []}
settings.update({f"L{layer}H{head} off": [(layer, head)] for layer, head in heads})
settings.update({f"layer {layer} off (both heads)": [(layer, h) for h in range(cot.n_heads)]
                 for layer in range(cot.n_layers)})
ablations = pd.DataFrame({name: ablation_row(ablate) for name, ablate in settings.items()}).T
print(ablations.round(3).to_string())
print(f"({time.perf_counter() - start:.0f} s)\n")
right_tape = running_parity(EXAMPLE)
colon_name = f"L{colon_head[0]}H{colon_head[1]} off"
print(f"{'the right tape':24s}        {EXAMPLE}:{right_tape}")
for name in ("none", colon_name, "layer 0 off (both heads)", "layer 1 off (both heads)"):
    wrote = cot.generate(EXAMPLE + ":", max_new_tokens=len(EXAMPLE), ablate=settings[name])
    tape = "".join(wrote.tokens[wrote.n_prompt:])
    wrong = "".join(" " if a == b else "^" for a, b in zip(tape, right_tape, strict=False))
    print(f"{name:24s} writes {EXAMPLE}:{tape}")
    if wrong.strip():
        print(f"{'':32s}{' ' * len(EXAMPLE)} {wrong}")
measured = attnlab.tiny.measure(cot)
col_l, col_h = measured["colon_head"]
print(f"\nheld-out strings (measure): final answer {measured['test_acc']:.3f} intact, "
      f"{measured['test_acc_colon_head_ablated']:.3f} with head {col_l}.{col_h} (the colon head) off")

# %% [markdown]
# Every head matters, but not equally. With either layer-0 head off, or with `L1H1` off, the final answer
# falls to about chance; with all of layer 0 off, the tape bits are a coin flip too, after a `0` and after a
# `1`. `L1H0` is the one head the model can lose and still stay well above chance. With all of layer 1 off the
# tape bits after a `1` fall to chance while those after a `0` stay above it, yet the final answer is a coin
# flip anyway: one wrong bit anywhere spoils the tape. On the lesson's example the ablated models write tapes
# full of wrong bits (marked `^`). The held-out measurement agrees: without the colon head the final answer is
# a coin flip.
#
# Try it yourself on single strings: click a head to switch it off and watch the predictions along the tape.

# %%
attnlab.AblationLab(cot, text=text)

# %% [markdown]
# ## A model is not obliged to be tidy
#
# What did we find? One ingredient of the hypothesis is there: a layer-0 head, `L0H1`, that finds the
# colon (mostly after a `1`), and the model cannot do without it. But the clean iteration head, one head whose
# attention sits on `x_t` at every step, did not form in this model: neither layer-1 head points at `x_t`; both
# read back the tape, and the only attention that lands near `x_t` is the blurry attention of layer 0. The
# model needs most of its four heads, yet what it computes with them is not visible in the attention maps
# alone. Gradient descent finds *a* solution that fits the training data, not the one that is easiest for us
# to read; with a different size, seed or training recipe, a cleaner or a messier circuit may appear. That is
# the general lesson of this course's tiny models: a hypothesis from a paper is something to test on *your*
# model, with statistics over many inputs, not with one pretty attention map.
#
# Your own run from the start of the lesson is another model, trained much less. The same statistics:

# %%
live_stats = attnlab.tiny.iteration_stats(live).set_index(["layer", "head"])
print(live_stats.round(3).to_string())


def best(table, column):
    layer, head = table[column].idxmax()
    return f"L{layer}H{head} ({table[column].max():.0%} of steps)"


print(f"in your run, the argmax lands on x_t most often in {best(live_stats, 'iteration')} and on the colon most "
      f"often in {best(live_stats, 'colon')}; shipped model: x_t {best(stats, 'iteration')}, "
      f"colon {best(stats, 'colon')}")

# %% [markdown]
# Same architecture, same task, different training: the statistics can come out quite differently (compare
# the two lines). Which head does what is a property of one trained network, and worth measuring every time.
#
# Optional, 30 to 60 s: train the direct model with the same lesson-sized recipe and compare the two runs
# step by step.

# %%
if RUN_OPTIONAL:
    start = time.perf_counter()
    live_direct, live_direct_hist = attnlab.tiny.train("tiny-parity-direct")
    print(f"trained in {time.perf_counter() - start:.0f} s")
    runs = (evals[["step", "test_acc"]]
            .merge(live_direct_hist[["step", "test_acc"]].dropna(), on="step", suffixes=("_cot", "_direct")))
    print(runs.round(3).to_string(index=False))
    display(attnlab.charts.training_curves(runs, {"test_acc_cot": "chain of thought", "test_acc_direct": "direct"},
                                           y_title="held-out accuracy", title="your two runs"))

# %% [markdown]
# ## Exercises
#
# **10.1** What is the direct model's final-answer accuracy on the held-out strings of 12 bits (a float
# between 0 and 1)?

# %%
answer = ...  # your code here
attnlab.check("10.1", answer)

# %% [markdown]
# **10.2** Run the CoT model on `cot_text(EXERCISE_X)` (import `EXERCISE_X` from `attnlab.course.lesson10`).
# For each of the four heads, take its attention rows at the positions whose next token is a tape bit (the colon
# and `s_1` to `s_(n-1)`) and average the weight they put on the colon. Which head puts the most? Answer the head
# as a pair `(layer, head)`.

# %%
answer = ...  # your code here
attnlab.check("10.2", answer)

# %% [markdown]
# **10.3** Pick an input of your own, 6 to 12 bits, and let the CoT model write its chain of thought with
# `cot.generate`. Answer the full text it produced, input, colon and tape, like `"1011100101:1101000110"`. The
# check confirms that this is what the model writes, and tells you whether every bit is the right running parity.

# %%
answer = ...  # your code here
attnlab.check("10.3", answer)

# %% [markdown]
# **10.4** The first tape bit is `s_1 = x_1`. On `random_inputs()`, let the model write only that bit
# (`max_new_tokens=1`), once with both layer-1 heads ablated and once with both layer-0 heads ablated. Answer the
# pair of accuracies `(layer 1 off, layer 0 off)`. Why are they so different?

# %%
answer = ...  # your code here
attnlab.check("10.4", answer)

# %% [markdown]
# ## What's next
#
# Here a model small enough to read head by head still held a surprise, and ablations were the test that
# settled what matters. Lesson 11 scales that test up: sweeps that ablate every head of SmolLM2 in turn,
# a fast approximation of them (attribution patching), and activation patching to follow an answer through
# the layers.
