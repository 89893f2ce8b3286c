# %% [markdown]
# # 9 · Function vectors
#
# **Learning goals.** By the end of this lesson you can
# - watch in-context learning happen: five demonstrations turn "fast:" into "slow";
# - build a **function vector**: the average change that demonstrations make to the residual stream at the
#   last token;
# - add it to a prompt *without* demonstrations with `attnlab.Add`, and measure top-1 accuracy per task and
#   per layer;
# - say honestly which tasks a 135M-parameter model carries in such a vector, and which it does not.
#
# Every number below is measured while the notebook runs.

# %%
import inspect
import json
from importlib.resources import files

import numpy as np
import pandas as pd
from IPython.display import Code

import attnlab
from attnlab.course.helpers import pack

model = attnlab.load("smollm2")
tasks = {name: t for name, t in json.loads((files("attnlab") / "data" / "function_tasks.json").read_text()).items()
         if not name.startswith("_")}
for name, task in tasks.items():
    print(f"{name:16s} {task['description']:58s} train {len(task['train']):2d}  test {len(task['test']):2d}   "
          f"e.g. {task['test'][0]}")

# %% [markdown]
# ## In-context learning
#
# Seven tasks, each a list of word pairs. The **train** pairs are used as demonstrations, the **test** pairs
# only to measure; they never overlap. Show the model five demonstrations and it continues the pattern; show
# it the bare query and it has no idea what you want.
#
# Every prompt starts with a newline. The first token of a prompt is the *sink* (lesson 3): the model parks
# attention there and reads little of what it says. Starting with `"\n"` keeps the first real word off that
# position. (It matters: without the newline, the vectors built below barely work.)

# %%
def top(t, k=3, position=-1):
    """The k most likely next tokens, with rounded probabilities."""
    return [(tok, round(p, 2)) for tok, p in t.top_next(k, position=position)]


demo = "\nblack: white\nrich: poor\nloud: quiet\nfull: empty\nwin: lose\nfast:"
print(repr(demo), "->", top(model.run(demo, record=False)))
print(repr("\nfast:"), "->", top(model.run("\nfast:", record=False)))

# %% [markdown]
# Where is "the task" while the model reads the demonstrations? Todd et al. (2024, *Function Vectors in Large
# Language Models*) found that a small set of attention heads in the middle layers carries it: their outputs
# at the last token, averaged over many prompts and summed, form a **function vector**. Added to the
# residual stream of a prompt without demonstrations, it makes the model perform the task.
#
# We build a simpler cousin with the public API, in the residual stream directly:
#
# $$v_L = \operatorname{mean}_{\text{few-shot prompts}} r_L(\text{last}) \;-\; \operatorname{mean}_{\text{zero-shot prompts}} r_L(\text{last})$$
#
# where $r_L$ is the residual stream entering layer $L$ (`t.resid(L)`). The difference is what the
# demonstrations *added* at the last position; averaging over prompts with different query words washes
# out the words and keeps the task. (Todd et al. select heads by their causal effect and sum only their
# outputs; the optional section at the end finds those heads.)
#
# A free lunch from causality: in `"\nblack: white\n..."`, the first ":" has seen only `"\nblack:"`, so its
# residual stream is *exactly* that of the zero-shot prompt `"\nblack:"`. One run of each few-shot prompt gives
# us both means.

# %% [markdown]
# ## Many prompts in one forward pass
#
# `model.run` takes one sequence. To run ten prompts at once we lay them end to end and forbid attention
# between them with `attnlab.Block` (attention knockout): each prompt then sees only itself. SmolLM2 encodes
# positions with rotary embeddings, which depend only on the *distance* between tokens, so each packed
# prompt is computed exactly as if it ran alone. `pack` (from `attnlab.course.helpers`, shared with the
# exercises) does it:

# %%
Code(inspect.getsource(pack), language="python")

# %% [markdown]
# A quick check:

# %%
ids, blocks, starts, last = pack(model, [demo, "\nfast:"])
packed = model.run(ids, block=blocks, record=False)
for label, p, pos in zip(["few-shot", "zero-shot"], [demo, "\nfast:"], last, strict=True):
    alone = model.run(p, record=False)
    print(f"{label:9s} alone {top(alone, 1)}   packed {top(packed, 1, pos)}   "
          f"max logit difference {float((alone.next_logits - packed.logits[pos]).abs().max()):.1e}")

# %% [markdown]
# ## Building the vectors
#
# For each task: ten prompts of five demonstrations each, taken from the train pairs in a fixed rotation (no
# randomness), one packed run, and the difference of the two means at **every** layer. The same run tells
# us how well the model does the task *with* demonstrations (top-1: does the most likely next token equal the
# first token of the answer?).

# %%
def first_token(word):
    return model.encode(" " + word)[0]


def few_shot_prompts(train, k=5, n=10):
    prompts, answers = [], []
    for i in range(n):
        demos = [train[(i + j) % len(train)] for j in range(k)]
        x, y = train[(i + k) % len(train)]
        prompts.append("\n" + "".join(f"{a}: {b}\n" for a, b in demos) + f"{x}:")
        answers.append(y)
    return prompts, answers


def task_vector(train):
    """The function vector at every layer, [n_layers + 1, d_model], and the few-shot top-1 accuracy."""
    prompts, answers = few_shot_prompts(train)
    ids, blocks, starts, last = pack(model, prompts)
    t = model.run(ids, block=blocks)
    colon = [s + len(model.encode(p[:p.index(":") + 1])) - 1 for s, p in zip(starts, prompts, strict=True)]  # first ":" of each
    resid = np.stack([t.resid(layer) for layer in range(model.n_layers + 1)])                     # [layers, T, d]
    vector = resid[:, last].mean(1) - resid[:, colon].mean(1)
    hits = t.logits[last].argmax(-1).numpy() == np.array([first_token(y) for y in answers])
    return vector, float(hits.mean())


vectors, few_shot = {}, {}
for name, task in tasks.items():
    vectors[name], few_shot[name] = task_vector(task["train"])
print("vector shape:", vectors["antonym"].shape)
print("few-shot top-1 accuracy:", {k: round(v, 2) for k, v in few_shot.items()})

# %% [markdown]
# ## Adding a vector to a zero-shot prompt
#
# Now the test: the prompt is only `"\n" + word + ":"`, and we add $v_L$ to the residual stream at the last
# position, entering layer $L$, with `attnlab.Add(vector, layer=L, position=...)`. Which layer? We try a few
# across the depth of the model.

# %%
SWEEP = [10, 18, 22, 26]


def zero_shot(test, vector=None, layer=None, template="\n{x}:"):
    """Top-1 predictions and accuracy on the test words, optionally with the vector added at `layer`."""
    ids, blocks, starts, last = pack(model, [template.format(x=x) for x, _ in test])
    add = None if vector is None else attnlab.Add(vector, layer=layer, position=last)
    t = model.run(ids, block=blocks, add=add, record=False)
    hits = t.logits[last].argmax(-1).numpy() == np.array([first_token(y) for _, y in test])
    return [t.top_next(1, position=p)[0][0] for p in last], float(hits.mean())


rows, predictions = [], {}
for name, task in tasks.items():
    predictions[name, None], acc = zero_shot(task["test"])
    row = {"task": name, "few-shot": few_shot[name], "zero-shot": acc}
    for layer in SWEEP:
        predictions[name, layer], row[f"+v at L{layer}"] = zero_shot(task["test"], vectors[name][layer], layer)
    rows.append(row)
table = pd.DataFrame(rows).set_index("task")
table["best layer"] = table[[f"+v at L{l}" for l in SWEEP]].to_numpy().argmax(1)
table["best layer"] = [SWEEP[i] for i in table["best layer"]]
table.round(2)

# %% [markdown]
# `few-shot` is measured on the ten demonstration prompts, the other columns on the 20 test words of each
# task. What the table shows:
#
# - Without demonstrations the model never produces the answer: "word:" alone does not say which task you mean.
# - Added in the **first third** of the network the vector does nothing useful. About **three quarters of the way up**
#   it works: for most tasks the zero-shot prompt plus one vector gets close to the few-shot accuracy. After
#   that it fades. (Todd et al. found their head-based vectors work best in the early-middle layers of
#   6-70B models; this residual-stream version, in a 30-layer model, peaks later.)
# - A vector can only carry a task the model can do. Read the rows where even the few-shot accuracy is low.
#
# The verdict, computed from the table:

# %%
for name, row in table.iterrows():
    layer = int(row["best layer"])
    best = row[f"+v at L{layer}"]
    if row["few-shot"] < 0.3:
        verdict = "fails: the model cannot do this task even with demonstrations, so there is no task to carry"
    elif best >= 0.8 * row["few-shot"] and row["few-shot"] >= 0.75:
        verdict = "works: the vector recovers most of the few-shot accuracy"
    elif best >= 0.8 * row["few-shot"]:
        verdict = "as good as the demonstrations, but the model only half knows this task"
    elif best >= 0.3:
        verdict = "partly: the vector helps, but far less than demonstrations"
    else:
        verdict = "fails: the model can do it with demonstrations, but this vector does not carry it"
    print(f"{name:16s} few-shot {row['few-shot']:.2f}  zero-shot {row['zero-shot']:.2f}  "
          f"vector {best:.2f} at layer {layer:2d}  -> {verdict}")

# %% [markdown]
# What does a failure look like? Here are the first test words of each task, with the top token without and
# with the vector at its best layer.

# %%
for name, task in tasks.items():
    layer = int(table.loc[name, "best layer"])
    shown = ", ".join(f"{x}->{a!r}" for (x, _), a in zip(task["test"][:6], predictions[name, layer], strict=False))
    print(f"{name:16s} without: {predictions[name, None][:3]}  with (L{layer}): {shown}")

# %% [markdown]
# Two rows deserve a closer look.
#
# - **successor** mixes three sequences (numbers, days, months), and so does its vector: look for a number
#   whose "successor" comes out as a day. The model is unsure of this task even with demonstrations.
# - **english_french** fails before any vector is involved. Here is what the model predicts *with* five
#   demonstrations:

# %%
prompts = ["\n" + "".join(f"{a}: {b}\n" for a, b in tasks["english_french"]["train"][:5]) + f"{x}:"
           for x, _ in tasks["english_french"]["test"][:4]]
ids, blocks, starts, last = pack(model, prompts)
t = model.run(ids, block=blocks, record=False)
for (x, y), pos in zip(tasks["english_french"]["test"][:4], last, strict=False):
    print(f"{x:7s} (French: {y:8s}) top tokens: {top(t, 3, pos)}")

# %% [markdown]
# The model is guessing: word fragments and copies of the English word, none of them likely. A 135M model
# trained mostly on English does not know these French words, and a vector cannot carry a skill the model
# lacks.
#
# ## One vector, many words, both directions
#
# The antonym vector is one fixed vector, yet it sends "hot" to "cold" *and* "cold" to "hot". If adding it
# simply pushed the word along a fixed direction, that would be impossible (hot + v = cold and cold + v = hot
# would force v = 0). What the vector carries is an instruction; the layers after $L$ (attention reading the
# word, then the MLPs) apply it to whatever word is there.

# %%
best_antonym = int(table.loc["antonym", "best layer"])
both_ways = [("hot", "cold"), ("cold", "hot"), ("fast", "slow"), ("slow", "fast"), ("good", "bad"), ("bad", "good")]
preds, acc = zero_shot(both_ways, vectors["antonym"][best_antonym], best_antonym)
for (x, y), p in zip(both_ways, preds, strict=False):
    print(f"{x:5s} -> {p!r:8} (expected {y!r})")

# %% [markdown]
# ## Another prompt format
#
# The vectors were built from "word: answer" lines. Do they work in a sentence? The example from the
# function-vector paper: 'The word "fast" means'.

# %%
sentence = ['\nThe word "fast" means']
ids, blocks, starts, last = pack(model, sentence)
print("without:", top(model.run(ids, record=False)))
print("with   :", top(model.run(ids, record=False, add=attnlab.Add(vectors["antonym"][best_antonym],
                                                                  layer=best_antonym, position=last))))
for name in ("antonym", "capitalize"):
    layer = int(table.loc[name, "best layer"])
    plain = zero_shot(tasks[name]["test"], template='\nThe word "{x}" means')[1]
    steered = zero_shot(tasks[name]["test"], vectors[name][layer], layer, template='\nThe word "{x}" means')[1]
    print(f"{name:16s} 'The word \"x\" means': accuracy {plain:.2f} without, {steered:.2f} with the vector at L{layer}")

# %% [markdown]
# The vectors work in a sentence they were never built from; compare with the table above: for some tasks as
# well as in their own "word:" format, for others less. They carry the task, not only the layout.
#
# ## Optional: which heads carry the task? (a few minutes)
#
# Todd et al. build function vectors from heads, not from the whole residual stream. To find the heads they
# use **activation patching**: run prompts whose demonstrations have *shuffled* answers (so the task is
# unclear), copy one head's output at the last token from the clean run, and measure how much the probability
# of the right answer comes back. The cell below does this for the antonym task and layers 12-22 (one run per
# head, 99 runs). Set `RUN_OPTIONAL = True` to run it.
#
# (Todd et al. then sum the chosen heads' average outputs, projected by each layer's output projection into
# the residual stream. attnlab's public API gives head outputs *before* that projection, `t.head_output`,
# which is why this lesson uses the residual-stream version above.)

# %%
RUN_OPTIONAL = False

if RUN_OPTIONAL:
    import torch

    prompts, answers = few_shot_prompts(tasks["antonym"]["train"])
    shuffled = []
    for p in prompts:
        lines = p.strip("\n").split("\n")
        demos, query = [line.split(": ") for line in lines[:-1]], lines[-1]
        labels = [b for _, b in demos][1:] + [demos[0][1]]                  # rotate the answers by one
        shuffled.append("\n" + "".join(f"{a}: {b}\n" for (a, _), b in zip(demos, labels, strict=True)) + query)
    ids, blocks, _, last = pack(model, prompts)
    ids_s, blocks_s, _, last_s = pack(model, shuffled)
    assert last == last_s
    clean = model.run(ids, block=blocks)
    targets = [first_token(y) for y in answers]

    def p_right(t):
        return float(np.mean([torch.softmax(t.logits[p], -1)[y] for p, y in zip(last, targets, strict=True)]))

    base = p_right(model.run(ids_s, block=blocks_s, record=False))
    effect = np.zeros((model.n_layers, model.n_heads))
    for layer in range(12, 23):
        for head in range(model.n_heads):
            t = model.run(ids_s, block=blocks_s, record=False,
                          patch=attnlab.Patch(clean, heads=[(layer, head)], positions=last))
            effect[layer, head] = p_right(t) - base
    print(f"p(right answer): clean {p_right(clean):.2f}, shuffled {base:.2f}")
    for flat in np.argsort(effect, axis=None)[::-1][:8]:
        layer, head = np.unravel_index(flat, effect.shape)
        print(f"  head {layer}.{head}: +{effect[layer, head]:.3f}")
    from IPython.display import display

    attnlab.charts.use_offline_charts()
    display(attnlab.charts.head_scores(effect, name="indirect effect", title="antonym: patch one head, clean -> shuffled"))
else:
    print("skipped (set RUN_OPTIONAL = True to run it)")

# %% [markdown]
# When you run it, a handful of heads stand out, in the layers just below and among those where the
# residual-stream vector starts to work. That fits: the residual stream entering layer $L$ holds only what
# the layers below $L$ wrote, so the vector can carry the task only above the heads that write it. Each head
# alone brings back a small part of the probability; the task is spread over several heads, which is why
# Todd et al. sum about ten of them.
#
# ## Exercises
#
# **9.1** For `singular_plural`, measure the zero-shot top-1 accuracy with the template 'The word "x" means'
# (`template='\nThe word "{x}" means'`) on the test words, without and with the task's vector added at
# **layer 22**. Answer `(without, with)`.

# %%
answer = ...  # your code here
attnlab.check("9.1", answer)

# %% [markdown]
# **9.2** The sweep above skipped most layers. Find the best layer for the antonym vector among
# layers 14 to 26 (zero-shot "\nword:" prompts on the antonym test words). Answer an int.

# %%
answer = ...  # your code here
attnlab.check("9.2", answer)

# %% [markdown]
# **9.3** Build a function vector for a new task, adjective → comparative, from these demonstrations (the
# check tests it on 20 other adjectives). Answer `(layer, vector)`: the check adds your vector at your layer
# to prompts "\nadjective:" and needs at least half of them right.

# %%
comparative_train = [["big", "bigger"], ["small", "smaller"], ["fast", "faster"], ["tall", "taller"],
                     ["old", "older"], ["young", "younger"], ["long", "longer"], ["cold", "colder"],
                     ["hard", "harder"], ["strong", "stronger"]]
answer = ...  # your code here
attnlab.check("9.3", answer)

# %% [markdown]
# ## What's next
#
# Function vectors are a glimpse of heads that *do* something with what they read. Lesson 10 trains a tiny
# model on a task that needs a loop and finds the heads that carry the loop's counter: iteration heads.
