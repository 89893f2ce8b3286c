"""What a view runs on: a model (and a text), or a trace that was already computed.

>>> import attnlab
>>> model, trace, text = resolve(attnlab.load("tiny-induction"), "P Q A B")
>>> model.name, trace, text
('tiny-induction', None, 'P Q A B')
>>> resolve(model.run("P Q A B"), None)[2]        # a trace brings its own text
'<bos>PQAB'
"""
from __future__ import annotations

from ..errors import AttnlabError
from ..runner import Model, Trace

DEFAULT_TEXT = "The cat sat on the mat. The dog sat on the rug. The cat sat on the"


def resolve(source, text: str | None):
    """``(model, trace or None, text)`` for a view built from a Model or from a Trace."""
    if isinstance(source, Trace):
        if text is not None:
            raise AttnlabError("pass either a trace or text=, not both: the trace already fixes the text.")
        return source.model, source, trace_text(source)
    if not isinstance(source, Model):
        raise AttnlabError("a view takes a model from attnlab.load(...) or a trace from model.run(...), "
                           f"got {type(source).__name__}.")
    if text is None:
        text = getattr(source, "example_text", None) or DEFAULT_TEXT
        try:
            source.encode(text)
        except AttnlabError:
            text = repeated_symbols(source) or text    # a tiny model reads only its own symbols
    return source, None, check_text(source, text)


def repeated_symbols(model: Model, n: int = 8) -> str | None:
    """``n`` symbols of a small vocabulary, twice ("A B C ... A B C ..."): a text induction heads act on."""
    vocab = getattr(model.tokenizer, "vocab", None)
    if not isinstance(vocab, list):
        return None
    symbols = [s for s in vocab if not (s.startswith("<") and s.endswith(">"))][:n]
    return " ".join(symbols * 2) if symbols else None


def check_text(model: Model, text) -> str:
    """The text itself if the model can read it, else an :class:`AttnlabError` saying why."""
    if not isinstance(text, str):
        raise AttnlabError(f"text must be a string, got {type(text).__name__}.")
    model.encode(text)
    return text


def trace_text(trace: Trace) -> str:
    """The text a trace was run on, as well as its tokens tell it (special tokens dropped)."""
    try:
        return trace.model.tokenizer.decode(trace.ids, skip_special_tokens=True)
    except (AttributeError, TypeError):
        return "".join(trace.tokens)
