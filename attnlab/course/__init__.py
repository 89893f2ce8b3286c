"""Exercises of the course: checks with helpful feedback, hints, and solutions hidden until asked for.

Each lesson's exercises live in a module of this package (``lesson03.py`` ...), registered with
:func:`exercise`. A check computes the right answer from the model itself (never a typed-in number)
and explains what is off.

>>> import attnlab
>>> attnlab.check("3.1", (18, 8))        # doctest: +SKIP
✅ Right (exercise 3.1): ...
>>> attnlab.hint("3.1")                  # doctest: +SKIP
>>> attnlab.solution("3.1")              # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import AttnlabError


@dataclass
class Exercise:
    """One exercise: ``verify(answer)`` returns (passed, feedback); ``solution`` is runnable code that sets
    ``answer``; ``wrong`` is a plausible wrong answer (the tests check that it is refused)."""

    key: str
    title: str
    verify: Callable[[Any], tuple[bool, str]]
    solution: str
    wrong: Any
    hints: list[str] = field(default_factory=list)


_REGISTRY: dict[str, Exercise] = {}


__all__ = ["Exercise", "Verdict", "all_exercises", "check", "exercise", "get", "hint", "solution"]

def exercise(key: str, title: str, *, solution: str, wrong: Any, hints: tuple[str, ...] = ()):
    """Register the decorated ``verify(answer) -> (passed, feedback)`` as exercise ``key``."""
    def register(verify):
        _REGISTRY[key] = Exercise(key, title, verify, solution.strip("\n"), wrong, list(hints))
        return verify
    return register


def _load_all():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def get(key: str) -> Exercise:
    if not _REGISTRY:
        _load_all()
    if key not in _REGISTRY:
        raise AttnlabError(f"there is no exercise {key!r}; exercises are named like '3.1' "
                           f"(known: {', '.join(sorted(_REGISTRY, key=_order))}).")
    return _REGISTRY[key]


def all_exercises() -> list[Exercise]:
    if not _REGISTRY:
        _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY, key=_order)]


def _order(key: str):
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


class Verdict:
    """The result of :func:`check`: true when the answer is right; shows its feedback in a notebook."""

    def __init__(self, passed: bool, text: str):
        self.passed, self.text = passed, text

    def __bool__(self) -> bool:
        return self.passed

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def check(key: str, answer: Any) -> Verdict:
    """Check your ``answer`` to exercise ``key``. The result shows feedback and is true when the answer is right.

    An unanswered exercise (``answer = ...``) is reported as such, so a lesson still runs top to bottom.
    """
    ex = get(key)
    if answer is Ellipsis:
        return Verdict(False, f"⏳ **Exercise {key}** ({ex.title}): not answered yet. Replace `...` with your "
                              f"answer. Stuck? `attnlab.hint({key!r})`.")
    try:
        passed, feedback = ex.verify(answer)
    except AttnlabError as e:
        passed, feedback = False, str(e)
    mark = "✅ Right" if passed else "❌ Not yet"
    more = "" if passed else f" Try `attnlab.hint({key!r})`, or `attnlab.solution({key!r})` to see one way."
    return Verdict(bool(passed), f"{mark} (exercise {key}): {feedback}{more}")


def hint(key: str, n: int | None = None) -> None:
    """Show the hints of exercise ``key`` (all of them, or only the ``n``-th, counting from 1)."""
    ex = get(key)
    if not ex.hints:
        _show(f"Exercise {key} has no hints; `attnlab.solution({key!r})` shows a solution.")
        return
    items = ex.hints if n is None else [ex.hints[min(max(n, 1), len(ex.hints)) - 1]]
    _show("\n".join(f"💡 {h}" for h in items))


def solution(key: str) -> None:
    """Show a solution of exercise ``key``: code that computes ``answer``."""
    ex = get(key)
    try:
        from IPython.display import Code, display
        display(Code(ex.solution, language="python"))
    except ImportError:
        print(ex.solution)


def _show(markdown: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
        if get_ipython() is not None:
            display(Markdown(markdown))
            return
    except ImportError:
        pass
    print(markdown)
