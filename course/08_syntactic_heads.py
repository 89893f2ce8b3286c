# %% [markdown]
# # 8 · Syntactic heads
#
# **Learning goals.** By the end of this lesson you can
# - read a dependency parse: every word has one *head* word and a *relation* to it (subject, object, determiner...);
# - line up words with the model's tokens, and say which arcs a left-to-right model can see at all;
# - measure how often a head's strongest attention lands on a word's syntactic partner, and compare it with a
#   positional baseline, as Clark et al. (2019) did for BERT;
# - score grammatical and ungrammatical *minimal pairs* by their likelihood, phenomenon by phenomenon.
#
# Every number below is measured while the notebook runs.

# %%
import inspect
import json
from collections import Counter, defaultdict
from importlib.resources import files

import numpy as np
import pandas as pd
from IPython.display import Code

import attnlab
from attnlab.course.helpers import align, pack

attnlab.charts.use_offline_charts()
model = attnlab.load("smollm2")
DATA = files("attnlab") / "data" / "syntax"

# %% [markdown]
# ## Dependency parses
#
# A dependency parse links every word of a sentence to one other word, its **head**, with a labelled arc.
# In "The cat sat on the mat." the word "cat" is the *nominal subject* (`nsubj`) of "sat", "The" is the
# *determiner* (`det`) of "cat", and "mat" is an oblique argument (`obl`) of "sat", marked by the
# preposition "on" (`case`). One word, usually the main verb, has no head: it is the **root**.
#
# attnlab ships a set of short sentences parsed by hand for this lesson, following the Universal Dependencies
# conventions. Those conventions make *content* words the heads: a preposition hangs off its noun (`case`),
# and in "Our teacher is very kind" the adjective "kind" is the root, with "is" attached to it as a copula
# (`cop`). The relations you will meet most:
#
# | relation | dependent → head | example |
# |---|---|---|
# | `det` | determiner → noun | **the** → cat |
# | `amod` | adjective → noun | **red** → car |
# | `poss` (UD: `nmod:poss`) | possessive → noun | **my** → sister |
# | `nsubj` | subject → verb (or predicate) | **cat** → sat |
# | `obj` | direct object → verb | **car** → bought |
# | `aux` | auxiliary → verb | **will** → eat |
# | `cop` | copula → predicate | **is** → kind |
# | `advmod` | adverb → what it modifies | **slowly** → opened |
# | `case` | preposition → its noun | **on** → mat |
# | `obl` | prepositional phrase (its noun) → verb | **mat** → sat |
#
# The file stores the words, the index of each word's head (counting words from 1; 0 means root, as in the
# CoNLL-U format) and the relation.

# %%
sentences = json.loads((DATA / "sentences.json").read_text())
print(len(sentences), "sentences,", sum(len(s["words"]) for s in sentences), "words")

s = sentences[2]
print("\n" + s["text"])
for i, (word, head, rel) in enumerate(zip(s["words"], s["heads"], s["rels"], strict=True), start=1):
    print(f"  {i:2d} {word:8s} --{rel:>7s}--> {s['words'][head - 1] if head else 'ROOT'}")

print("\nrelations:", Counter(r for s in sentences for r in s["rels"]).most_common())

# %% [markdown]
# ## Words are not tokens
#
# Attention connects tokens, and a word can be several tokens. To compare a head with a parse we need
# word-to-word attention. Clark et al. (2019) add up the attention going *to* a word's tokens and average the
# attention coming *from* them. We keep the first rule and change the second for a left-to-right model:
#
# - **to** a word, we **add up** the attention that goes to all of its tokens (a word split in three pieces
#   should not count as three weak candidates);
# - **from** a word, we read the attention row of its **last** token only. In a left-to-right model the last
#   token is the only one that has seen the whole word; the earlier pieces do not know yet how it ends.
#
# `align` finds which tokens spell each word, for SmolLM2 (tokens carry their leading space) and for
# BERT-style tokenizers (continuation pieces start with `##`) alike. It lives in `attnlab.course.helpers`,
# where the exercises use it too:

# %%
Code(inspect.getsource(align), language="python")

# %%
t = model.run(s["text"])
print(t.tokens)
print(align(t.tokens, s["words"]))

split = sorted({w for s in sentences for w in s["words"] if len(model.tokenize(" " + w)) > 1})
print(f"\n{len(split)} of the {len({w for s in sentences for w in s['words']})} distinct words are several tokens:", split)

# %% [markdown]
# Most words of these simple sentences are one token each, so the convention matters little here; it
# matters a lot on technical text.
#
# ## What a decoder can see
#
# SmolLM2 reads left to right: a token attends only to itself and to earlier tokens (lesson 0: everything
# above the diagonal of a pattern is zero). So an arc between two words can only be seen **from its later
# word**:
#
# - when the head comes first ("bought ... **car**", `obj`), the dependent can look back at its head:
#   *dependent → head*;
# - when the dependent comes first ("**The** cat", `det`; "**cat** sat", `nsubj`), only the head can look
#   back at its dependent: *head → dependent*.
#
# In English most of these relations point one way, so for a decoder each relation is tested in one
# direction only. An encoder such as BERT reads the whole sentence at once and can be tested both ways.

# %%
direction = Counter()
for s in sentences:
    for i, (h, rel) in enumerate(zip(s["heads"], s["rels"], strict=True)):
        if rel not in ("root", "punct"):
            direction[rel, "dep→head" if h - 1 < i else "head→dep"] += 1
print("arcs seen from the later word, per relation and direction:")
for (rel, d), n in sorted(direction.items(), key=lambda kv: -kv[1]):
    print(f"  {rel:8s} {d}  {n}")

# %% [markdown]
# ## The measurement
#
# For every arc and every head we ask one question: **from the later word of the arc, which earlier word of
# the same sentence does this head attend to most?** If it is the other end of the arc, the head "got" the
# arc. A head's accuracy for a relation is the share of arcs it gets.
#
# Two practical choices:
#
# - We run the sentences ten at a time, as one paragraph that starts with a lead-in sentence. A decoder parks
#   most of its attention on the first token of its input (the *sink*, lesson 3). If the first word of a
#   sentence were that token, every head that parks on the sink would seem to find "The" from "cat".
# - The argmax is taken over the earlier words of the same sentence only. Attention that goes to the sink,
#   to punctuation or to earlier sentences does not count either way. (Heads with nothing to do park their
#   attention on a sink; Clark et al. saw BERT's syntactic heads do that on `[SEP]`.)

# %%
LEAD = "Here are some short sentences."


def attention_arcs(model, sentences, per_run=10):
    """One record per visible (arc, direction): hit[layer, head] is True where the head's top word is right."""
    lead = LEAD[:-1].split() + ["."]
    records = []
    for first in range(0, len(sentences), per_run):
        group = sentences[first:first + per_run]
        t = model.run(" ".join([LEAD] + [s["text"] for s in group]))
        spans = align(t.tokens, lead + [w for s in group for w in s["words"]])[len(lead):]
        P = t.patterns()                                           # [layers, heads, query, key]
        for k, s in enumerate(group):
            n = len(s["words"])
            sp, spans = spans[:n], spans[n:]
            member = np.zeros((len(t), n), dtype=np.float32)       # token -> word membership
            for j, toks in enumerate(sp):
                member[toks, j] = 1
            A = P[:, :, [toks[-1] for toks in sp], :] @ member     # [layers, heads, word, word]
            for i, (h, rel) in enumerate(zip(s["heads"], s["rels"], strict=True)):
                if rel in ("root", "punct"):
                    continue
                for q, target, d in ((i, h - 1, "dep→head"), (h - 1, i, "head→dep")):
                    if model.is_causal:
                        if target > q:
                            continue                                # the later word cannot be seen
                        cands = list(range(q))
                    else:
                        cands = [j for j in range(n) if j != q and s["rels"][j] != "punct"]
                    top = np.array(cands)[A[:, :, q, cands].argmax(-1)]
                    records.append(dict(rel=rel, dir=d, sent=first + k, offset=target - q, hit=top == target))
    return records


records = attention_arcs(model, sentences)
print(len(records), "arcs, each scored for", records[0]["hit"].size, "heads")

# %% [markdown]
# ## The positional baseline
#
# Many arcs are short: the determiner is usually the word right before its noun. A head that always looks one
# word back gets those arcs "right" without knowing any syntax. So, like Clark et al., we compare every head
# with a **fixed-offset baseline**: for each relation, always pick the word at the offset most common for that
# relation (e.g. one word back for `det`). A syntactic head must beat that.
#
# Choosing the best of 270 heads on a few dozen arcs flatters the winner, so the table also shows an honest
# check: the head is **chosen on the even-numbered sentences** and **scored on the odd-numbered ones**
# (and the baseline offset likewise).

# %%
def summary(records, min_n=9):
    groups = defaultdict(list)
    for r in records:
        groups[r["rel"], r["dir"]].append(r)
    rows = []
    for (rel, d), g in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if len(g) < min_n:
            continue
        acc = np.mean([r["hit"] for r in g], axis=0)
        off = Counter(r["offset"] for r in g).most_common(1)[0][0]
        best = np.unravel_index(acc.argmax(), acc.shape)
        even = [r for r in g if r["sent"] % 2 == 0]
        odd = [r for r in g if r["sent"] % 2 == 1]
        chosen = np.unravel_index(np.mean([r["hit"] for r in even], axis=0).argmax(), acc.shape)
        off_even = Counter(r["offset"] for r in even).most_common(1)[0][0]
        held = np.mean([r["hit"][chosen] for r in odd])
        held_base = np.mean([r["offset"] == off_even for r in odd])
        rows.append({"relation": rel, "seen as": d, "arcs": len(g), "offset": off,
                     "baseline": np.mean([r["offset"] == off for r in g]),
                     "best head": f"{best[0]}.{best[1]}", "best acc": acc[best],
                     "held-out head": f"{chosen[0]}.{chosen[1]}", "held-out acc": held, "held-out baseline": held_base,
                     "beats baseline": "yes" if held >= held_base + 0.1 else "no"})
    return pd.DataFrame(rows).round(2)


table = summary(records)
table

# %% [markdown]
# How to read it: `offset` is the baseline's fixed offset in words (-1 = the previous word), `best acc` the
# accuracy of the best head on all arcs, and the three `held-out` columns the honest version. "beats baseline"
# asks for at least 10 points on the held-out half, a rule of thumb: with a dozen arcs in a half, one arc is
# already 8 points.
#
# What this shows for SmolLM2-135M:
#
# - **`det`, `nsubj` and `obj` have real syntactic heads.** From a noun, one head finds its determiner even
#   when an adjective sits in between (the baseline misses exactly those); from a verb, another head finds
#   the subject across auxiliaries and adverbs; from an object, a head finds its verb. All three beat the
#   baseline on sentences they were not chosen on.
# - **`amod`, `poss`, `aux`, `advmod`:** in these simple sentences the partner is almost always the previous
#   word, so the baseline is already high and no head can beat it by much. That says nothing against the
#   model: the test has no room.
# - **`case` and `obl`: no win.** Some head looks perfect on all arcs, but the head chosen on one half does
#   not beat the baseline on the other. Prepositional phrases are where this small test (and small models)
#   say least.
# - **`cop`** passes the rule on a handful of arcs: a hint, not a finding.
#
# Where do the good heads sit? Here is every head's accuracy on `nsubj` (verb → subject), coloured by how far
# it is above the baseline.

# %%
def head_accuracy(records, rel, d):
    g = [r for r in records if r["rel"] == rel and r["dir"] == d]
    return np.mean([r["hit"] for r in g], axis=0), np.mean([r["offset"] == Counter(x["offset"] for x in g).most_common(1)[0][0] for r in g])


acc, base = head_accuracy(records, "nsubj", "head→dep")
subject_head = tuple(int(i) for i in np.unravel_index(acc.argmax(), acc.shape))
print(f"nsubj: baseline {base:.2f}; best head {subject_head} {acc[subject_head]:.2f};",
      f"{int((acc >= base + 0.1).sum())} heads beat the baseline by 10 points or more")
attnlab.charts.head_scores(acc, name="nsubj accuracy", baseline=base, title="verb -> subject: accuracy minus baseline")

# %% [markdown]
# Watch that head at work. Hover the verb "opened": most of its attention goes to "man", three words back,
# past "old" and "slowly". Try other sentences in the text box; questions and passives are good tests.

# %%
attnlab.AttentionView(model, text="The old man slowly opened the heavy door.", layer=subject_head[0], head=subject_head[1])

# %% [markdown]
# ## An encoder can look both ways
#
# MiniLM (a 6-layer BERT) reads the whole sentence at once, so every arc can be tested in both directions,
# including subject → verb, which no decoder head can do. Same sentences, same measurement; the baseline
# offsets can now be positive (+1 = the next word).

# %%
encoder = attnlab.load("minilm")
records_bert = attention_arcs(encoder, sentences)
summary(records_bert)

# %% [markdown]
# MiniLM has 72 heads instead of 270, and it was fine-tuned to produce sentence embeddings, not to predict
# words. Still, its best heads track determiners and objects above the baseline, including in the forward
# direction no decoder can use: from a determiner to its noun (`det`, dep→head) and from a verb to its
# object (`obj`, head→dep). Subjects, which SmolLM2 tracks well from the verb, are a weak spot here. Clark et
# al. (2019) report the same kind of picture for the larger BERT-base, whose best heads reach 87% on direct
# objects and 94% on determiners on the Penn Treebank.

# %% [markdown]
# ## Grammar as likelihood: minimal pairs
#
# Attention patterns are one window on syntax; behaviour is another. A **minimal pair** is two sentences
# that differ in one word, one grammatical and one not: "The cats eat fish." / "The cats eats fish."
# (the BLiMP benchmark, Warstadt et al. 2020, is built this way). A model "knows" the contrast if it gives the
# grammatical sentence the higher probability. The log-probability of a sentence is the sum of the
# log-probabilities of its tokens, `-t.token_losses.sum()`.
#
# Two details make the comparison fair:
#
# - Nothing comes before the first token of a prompt, so its probability is never predicted, and the first
#   position is the sink, whose next-token predictions are poor. We start every sentence with
#   `<|endoftext|>`, the token that separated documents when SmolLM2 was trained: now every word of the
#   sentence is predicted, from a familiar starting state.
# - A sum of log-probabilities punishes every extra token, so in each pair both sentences have the same
#   number of tokens (the next cell checks it).
#
# The course ships 30 pairs in five groups: plain subject-verb agreement, agreement across an *attractor*
# ("The key to the **cabinets** is/are..."), determiner-noun agreement, reflexive pronouns (anaphors) and
# irregular past tenses.
#
# Sixty short sentences are sixty forward passes. To save time we pack ten of them at a time into **one**
# sequence and forbid attention between them with `attnlab.Block` (attention knockout): each sentence then
# sees only itself. SmolLM2 encodes positions with rotary embeddings, which depend only on the *distance*
# between two tokens, so a packed sentence is computed exactly as if it ran alone. The next cell checks that
# on one pair.

# %%
BOS = "<|endoftext|>"


def run_packed(model, texts, **kwargs):
    """Run several texts in one forward pass, each blind to the others. Returns the trace and each text's (start, end)."""
    ids, blocks, starts, last = pack(model, texts)     # from attnlab.course.helpers, as in lesson 9
    return model.run(ids, block=blocks, **kwargs), [(s, e + 1) for s, e in zip(starts, last, strict=True)]


def sentence_logprobs(model, sentences, per_run=10):
    """Log-probability of each sentence after <|endoftext|>, ten sentences per forward pass."""
    out = []
    for i in range(0, len(sentences), per_run):
        t, spans = run_packed(model, [BOS + s for s in sentences[i:i + per_run]], record=False)
        out += [-float(t.token_losses[start:end - 1].sum()) for start, end in spans]
    return out


pairs = json.loads((DATA / "minimal_pairs.json").read_text())
same_length = all(len(model.encode(p["good"])) == len(model.encode(p["bad"])) for g in pairs.values() for p in g)
print("both sentences of every pair have the same number of tokens:", same_length)

first = pairs["agreement across an attractor"][0]
packed = sentence_logprobs(model, [first["good"], first["bad"]])
for text, lp in zip((first["good"], first["bad"]), packed, strict=True):
    alone = model.run(BOS + text, record=False)
    print(f"{text:45s} alone {-alone.token_losses.sum():8.4f}   packed {lp:8.4f}")

# %%
texts = [p[k] for group in pairs.values() for p in group for k in ("good", "bad")]
scores = dict(zip(texts, sentence_logprobs(model, texts), strict=True))

rows = []
for phenomenon, group in pairs.items():
    wins = [scores[p["good"]] > scores[p["bad"]] for p in group]
    rows.append({"phenomenon": phenomenon, "pairs": len(group), "accuracy": np.mean(wins)})
    for p, ok in zip(group, wins, strict=False):
        print(f"{'ok  ' if ok else 'MISS'} {scores[p['good']] - scores[p['bad']]:+6.2f}  {p['good']}  /  {p['bad']}")
print()
print(f"overall accuracy: {np.mean([scores[p['good']] > scores[p['bad']] for g in pairs.values() for p in g]):.2f}")
pd.DataFrame(rows).round(2)

# %% [markdown]
# The number before each pair is how much more log-probability (in nats) the grammatical sentence gets.
# SmolLM2 prefers the grammatical sentence in almost every pair, attractors included: agreement across "to
# the cabinets" is no harder for it here than agreement next door. Look at the pairs marked MISS and at the
# small margins. Keep the scale in mind, too: six pairs per phenomenon is a smoke test, not a benchmark (BLiMP
# has a thousand pairs per paradigm). Linzen et al. (2016) found that attractors do trip up recurrent language
# models; whether and how often they trip up SmolLM2 would take many more pairs to say.

# %% [markdown]
# ## Exercises
#
# **8.1** Which SmolLM2 head best tracks the `det` relation, seen from the noun (head → dependent)? Use the
# `records` computed above; answer `(layer, head)`.

# %%
answer = ...  # your code here
attnlab.check("8.1", answer)

# %% [markdown]
# **8.2** Compute SmolLM2's accuracy on these existential-*there* minimal pairs (the share of pairs where the
# grammatical sentence gets the higher log-probability), scoring each sentence as above (after `<|endoftext|>`).
# Answer a float between 0 and 1.

# %%
there_pairs = [
    ("There is a cat in the garden.", "There are a cat in the garden."),
    ("There are two cats in the garden.", "There is two cats in the garden."),
    ("There was a problem with the car.", "There were a problem with the car."),
    ("There were many people at the party.", "There was many people at the party."),
    ("There is some milk in the fridge.", "There are some milk in the fridge."),
    ("There are three books on the shelf.", "There is three books on the shelf."),
    ("There was one apple left.", "There were one apple left."),
    ("There were no chairs in the room.", "There was no chairs in the room."),
]
answer = ...  # your code here
attnlab.check("8.2", answer)

# %% [markdown]
# **8.3** In "The cat sat on the mat.", what is the largest attention weight that **any** of SmolLM2's 270
# heads puts from " cat" (the query) onto " sat" (the key)? Compute it, then explain it to yourself: why can a
# decoder never find a subject's verb from the subject?

# %%
answer = ...  # your code here
attnlab.check("8.3", answer)

# %% [markdown]
# ## What's next
#
# Syntactic heads read the structure of the sentence in front of them. Lesson 9 turns to heads that carry
# something more abstract from a prompt: the *task* itself, as a vector you can add to another prompt.
