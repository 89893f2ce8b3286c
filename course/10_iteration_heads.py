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
from attnlab._exercises.lesson10 import EXAMPLE, cot_text, random_inputs, running_parity

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
print(f"{cfg['n_layers']} layers x {cfg['n_heads']} head per layer, d_model {cfg['d_model']}, MLP width {cfg['d_mlp']}, "
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
# well above chance on short strings but falls towards a coin flip as the strings grow. The training histories,
# recorded every 250 steps on the same held-out strings, show how each got there.

# %%
hist_cot = attnlab.tiny.history("tiny-parity-cot")
hist_direct = attnlab.tiny.history("tiny-parity-direct")
both = (hist_cot[["step", "test_acc"]].dropna()
        .merge(hist_direct[["step", "test_acc"]].dropna(), on="step", suffixes=("_cot", "_direct")))
cot_99 = int(both.step[both.test_acc_cot >= 0.99].iloc[0])
direct_up = int(both.step[both.test_acc_direct > 0.55].iloc[0])
plateau = both[both.step < direct_up].test_acc_direct
print(f"CoT:    held-out accuracy first reaches 99% at step {cot_99}; "
      f"at the end: {both.test_acc_cot.iloc[-1]:.3f}")
print(f"direct: between {plateau.min():.3f} and {plateau.max():.3f} until step {direct_up}, "
      f"when it first passes 0.55; at the end: {both.test_acc_direct.iloc[-1]:.3f}")
attnlab.charts.training_curves(both, {"test_acc_cot": "chain of thought", "test_acc_direct": "direct answer"},
                               marks={"CoT reaches 99%": cot_99, "direct leaves chance": direct_up},
                               y_title="held-out accuracy", title="the two shipped runs")

# %% [markdown]
# The CoT model leaves chance after a short plateau and passes 99% at the marked step. The direct model sits at
# chance for most of its training and only starts to move in the last stretch; at the end it does best on the
# short strings (the table above). Yet it was not idle during its long plateau: on its own training batches it
# does better than chance.

# %%
flat = hist_direct[(hist_direct.step >= 1000) & (hist_direct.step < direct_up)]
n_short = sum(2 ** n for n in range(1, 6))
print(f"direct model, steps 1000 to {direct_up}: accuracy on its training batches {flat.tape_acc.mean():.2f}, "
      f"on held-out strings {flat.test_acc.mean():.2f}")
print(f"learn by heart the {n_short} strings of 1 to 5 bits (5 of the 12 lengths), guess the rest: "
      f"{5 / 12 + 7 / 12 * 0.5:.2f}")

# %% [markdown]
# That fits a model that memorises the few short strings and guesses on the long ones: memorising helps on
# strings it has seen and does nothing for new ones. The chain of thought removes the difficulty: each tape bit
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
# If the shipped model works like this, its layer-0 head should put its attention on the colon, and its
# layer-1 head on `x_t`, at every position whose next token is a tape bit. `iteration_stats` measures exactly
# that on the held-out strings: for each head, how often its strongest attention (the argmax of the row)
# lands on `x_t` (`iteration`) or on the colon (`colon`), and the mean weight it puts there (`..._mass`).

# %%
stats = attnlab.tiny.iteration_stats(cot).set_index(["layer", "head"])
print(stats.round(3).to_string())
colon_head, iter_head = (0, 0), (1, 0)

# %% [markdown]
# A clean iteration head would have its argmax on `x_t` almost every time. The layer-1 head does not come
# close: its argmax lands on `x_t` at under a fifth of the steps, and its mean weight there is small. The layer-0
# head lands on the colon about half of the time; surprisingly, its own argmax hits `x_t` more often than the
# layer-1 head's does. The textbook picture is not what this model shows. Time to look.
#
# ## Test 2: look at the patterns
#
# The two heads on the lesson's example. The rows from the colon on are the ones that matter: each predicts the
# next tape bit. Hover over a row to read its weights, or type another string (characters `0`, `1` and `:`).

# %%
text = cot_text(EXAMPLE)
attnlab.AttentionView(cot, text=text, layer=0, head=0)

# %%
attnlab.AttentionView(cot, text=text, layer=1, head=0)

# %% [markdown]
# The same rows in numbers: for each step `t`, the query position and its token, where each head's attention
# peaks (position, token, weight), and how much each head puts on `x_t`.

# %%
tr = cot.run(text)
n = len(EXAMPLE)
rows = []
for t in range(1, n + 1):
    p = n + t
    row = {"t": t, "query": f"{p} {tr.tokens[p]!r}", "x_t at": t}
    for layer in range(2):
        w = tr.pattern(layer, 0)[p]
        a = int(w.argmax())
        row[f"L{layer} peak"] = f"{a} {tr.tokens[a]!r} {w[a]:.2f}"
        row[f"L{layer} on x_t"] = round(float(w[t]), 2)
    rows.append(row)
pd.DataFrame(rows).set_index("t")

# %% [markdown]
# Read the rows one by one. At the colon (`t = 1`), layer 0 puts most of its weight on `x_1` itself: the first
# input bit is always at position 1, so no pointer is needed. After that the two heads behave differently
# depending on the token at the query, the bit written last. When it is `1`, layer 0 peaks on the colon and
# layer 1 often peaks on `x_t` or next to it, though not every time: close to the textbook. When it is `0`,
# layer 0 spreads over input bits around `x_t`, and layer 1 looks back at the tape. One string is an anecdote;
# next, the same count over 700 random strings.
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
    for layer in range(2):
        pat = tt.pattern(layer, 0)
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
            records.append({"layer": f"layer {layer}", "query": tt.tokens[p], "where": where,
                            "offset": a - t if 1 <= a <= nn else None,
                            "on x_t": w[t], "on x_t-1..x_t+1": w[max(t - 1, 1):min(t + 2, nn + 1)].sum(),
                            "on colon": w[nn + 1], "on <bos>": w[0], "on tape": w[nn + 2:p + 1].sum()})
steps = pd.DataFrame(records)
order = ["x_t-1", "x_t", "x_t+1", "other input bit", "colon", "<bos>", "tape"]
share = (steps.groupby(["layer", "query"])["where"].value_counts(normalize=True)
         .unstack(fill_value=0.0).reindex(columns=order, fill_value=0.0))
print("where the argmax lands (share of steps)")
print(share.round(2).to_string())
print("\nmean attention weight")
print(steps.groupby(["layer", "query"])[["on x_t", "on x_t-1..x_t+1", "on colon", "on <bos>", "on tape"]]
      .mean().round(2).to_string())

# %%
bars = share.reset_index().melt(["layer", "query"], var_name="where", value_name="share")
bars["query"] = bars["query"].map({":": "query: the colon (t = 1)", "0": "query: last bit 0", "1": "query: last bit 1"})
alt.Chart(bars).mark_bar().encode(
    y=alt.Y("where:N", sort=order, title=None), yOffset="layer:N",
    x=alt.X("share:Q", scale=alt.Scale(domain=[0, 1]), title="share of steps"),
    color=alt.Color("layer:N", title=None), tooltip=["layer:N", "where:N", alt.Tooltip("share:Q", format=".2f")],
).properties(width=190, height=200).facet(column=alt.Column("query:N", title=None))

# %% [markdown]
# The split by query token tells the story that the averages of Test 1 hid:
#
# - **At the colon** layer 0 reads `x_1` directly (layer 1 looks elsewhere; you will test in exercise 10.4
#   whether it is needed there).
# - **When the last bit is 1** the textbook mechanism is there, roughly: layer 0 puts its peak on the colon
#   (sometimes on `<bos>`, the other fixed landmark), and layer 1's peak lands on `x_t` in about half of these
#   steps, with about half of its weight on `x_t` and its two neighbours.
# - **When the last bit is 0** it is not: layer 0 peaks on input bits around `x_t` and layer 1 peaks on the
#   tape. How the bit is recovered there is not visible in the attention maps alone; the MLPs and the
#   information layer 1 picks up from earlier tape positions must do the rest.
#
# How far from `x_t` do the peaks that land on the input fall? (Offset 0 is `x_t`, -1 is `x_t-1`.)

# %%
offsets = steps.dropna(subset=["offset"])
for layer, group in offsets.groupby("layer"):
    counts = group["offset"].astype(int).value_counts(normalize=True).sort_index()
    print(f"{layer}: peaks on the input in {len(group) / (len(steps) / 2):.0%} of steps; by offset from x_t:",
          {k: round(v, 2) for k, v in counts.items() if v >= 0.01})

# %% [markdown]
# When a head peaks on the input, `x_t` is its most common target in both layers, but only about half of the
# time; the rest spreads over the neighbours (and, for layer 1, a few far-off positions). The work of "find
# bit `t`" is shared between the two layers, smeared over neighbouring positions, and it switches routes with
# the bit written last.
#
# ## Why one layer is not enough
#
# Take position 9. If the input has 6 bits, position 9 holds `s_2` (6 input bits, the colon, 2 tape bits) and
# the model must fetch `x_3`. If it has 5 bits, position 9 holds `s_3` (5 input bits, the colon, 3 tape bits)
# and it must fetch `x_4`. A layer-0 head builds its query from the token and
# the position alone, which are the same in both cases, and the keys of the input bits say only "a bit, at
# position so-and-so". So a single layer cannot aim at position 3 in one case and 4 in the other. A layer-0
# head *can* find the colon, whose key is unlike any other, but it can use where it found it only in a later
# layer. Hence two layers.
#
# Check it on the model: all strings of 6 and of 5 bits whose position 9 holds a `1` (the case where the
# textbook route showed up). Where does layer 1 peak from position 9, and how much does layer 0 put on the colon?

# %%
for nn in (6, 5):
    t_needed = 9 - nn                         # position 9 = n + t predicts s_t
    peaks, on_colon = Counter(), []
    for code in range(2 ** nn):
        xx = format(code, f"0{nn}b")
        tt = cot.run(cot_text(xx))
        if tt.tokens[9] != "1":
            continue
        peaks[int(tt.pattern(1, 0)[9].argmax())] += 1
        on_colon.append(tt.pattern(0, 0)[9, nn + 1])
    print(f"{nn} bits: position 9 is s_{t_needed - 1}, the model needs x_{t_needed} (position {t_needed}); "
          f"the colon is at {nn + 1}")
    print(f"   layer 0 on the colon: {np.mean(on_colon):.2f} on average;   layer-1 peak positions "
          f"(count of {sum(peaks.values())} strings): {dict(peaks.most_common())}")

# %% [markdown]
# Same position, same token, and in most strings layer 1 moves its peak from position 3 to position 4 as the
# colon moves from 7 to 6: it knows where the input ends, and the only head that could have told it is the
# layer-0 head looking at the colon.
#
# ## Test 3: ablations
#
# Attention maps show where a head looks, not whether the model needs what it reads. Switch each head off
# (its output set to zero) and measure two things on the same 700 random strings: the share of tape bits the
# model gets right when it is given the correct tape so far (*teacher forcing*, split by query token as above),
# and the share of final answers right when it writes the whole tape itself. (The first step, at the colon,
# counts in "all"; exercise 10.4 looks at it on its own.)

# %%
def ablation_row(ablate):
    right, final = {":": [], "0": [], "1": []}, []
    for xx in xs:
        nn, tape = len(xx), running_parity(xx)
        tt = cot.run(cot_text(xx), ablate=ablate, keep="none")
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
ablations = pd.DataFrame({"none": ablation_row([]), "layer 0 off": ablation_row([colon_head]),
                          "layer 1 off": ablation_row([iter_head]),
                          "both off": ablation_row([colon_head, iter_head])}).T
print(ablations.round(3).to_string())
print(f"({time.perf_counter() - start:.0f} s)\n")
right_tape = running_parity(EXAMPLE)
print(f"{'the right tape':15s}        {EXAMPLE}:{right_tape}")
for name, ablate in [("none", []), ("layer 0 off", [colon_head]), ("layer 1 off", [iter_head])]:
    wrote = cot.generate(EXAMPLE + ":", max_new_tokens=len(EXAMPLE), ablate=ablate)
    tape = "".join(wrote.tokens[wrote.n_prompt:])
    wrong = "".join(" " if a == b else "^" for a, b in zip(tape, right_tape))
    print(f"{name:15s} writes {EXAMPLE}:{tape}")
    if wrong.strip():
        print(f"{'':23s}{' ' * len(EXAMPLE)} {wrong}")
measured = attnlab.tiny.measure(cot)
col_l, col_h = measured["colon_head"]
print(f"\nheld-out strings (measure): final answer {measured['test_acc']:.3f} intact, "
      f"{measured['test_acc_colon_head_ablated']:.3f} with head {col_l}.{col_h} (the colon head) off")

# %% [markdown]
# Switching off either head sends the final answer to chance. The tape bits fall to about chance with layer 0
# off, and stay a little above it with layer 1 off; both routes suffer, after a `0` and after a `1`. The model
# needs both heads. On the lesson's example, both ablated models write tapes full of wrong bits (marked `^`).
# The held-out measurement agrees: without the colon head the final answer is a coin flip.
#
# Try it yourself on single strings: click a head to switch it off and watch the predictions along the tape.

# %%
attnlab.AblationLab(cot, text=text)

# %% [markdown]
# ## A model is not obliged to be tidy
#
# What did we find? The ingredients of the hypothesis are all there: a layer-0 head that finds the colon, a
# layer-1 head that, after a `1`, often finds `x_t`, both indispensable. But the clean iteration head, one head whose attention
# sits on `x_t` at every step, did not form in this model. The job is split by the bit written last, shared
# between the layers and smeared over the neighbours of `x_t`. Gradient descent finds *a* solution that
# fits the training data, not the one that is easiest for us to read; with a different size, seed or training
# recipe, a cleaner or a messier circuit may appear. That is the general lesson of this course's tiny models:
# a hypothesis from a paper is something to test on *your* model, with statistics over many inputs, not with
# one pretty attention map.
#
# Your own run from the start of the lesson is another model, trained much less. The same statistics:

# %%
live_stats = attnlab.tiny.iteration_stats(live).set_index(["layer", "head"])
print(live_stats.round(3).to_string())
best_iter = live_stats["iteration"].idxmax()
best_colon = live_stats["colon"].idxmax()
print(f"in your run, the argmax lands on x_t most often in layer {best_iter[0]} ({live_stats['iteration'].max():.0%} "
      f"of steps) and on the colon most often in layer {best_colon[0]} ({live_stats['colon'].max():.0%}); "
      f"shipped model: x_t layer {stats['iteration'].idxmax()[0]} ({stats['iteration'].max():.0%}), "
      f"colon layer {stats['colon'].idxmax()[0]} ({stats['colon'].max():.0%})")

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
# **10.2** Run the CoT model on `cot_text(EXERCISE_X)` (import `EXERCISE_X` from `attnlab._exercises.lesson10`).
# Average the layer-0 head's attention rows over the positions whose next token is a tape bit (the colon and
# `s_1` to `s_(n-1)`). Which position gets the most attention on average? Answer the position (an int,
# `<bos>` = 0).

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
# (`max_new_tokens=1`), once with the layer-1 head ablated and once with the layer-0 head ablated. Answer the
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
