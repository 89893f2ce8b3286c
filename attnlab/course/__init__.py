"""Exercises of the course: checks with helpful feedback, hints, and solutions hidden until asked for.

Each lesson's exercises live in a module of this package (``lesson03.py`` ...), registered with
:func:`exercise`. A check computes the right answer from the model itself (never a typed-in number)
and explains what is off.

>>> import attnlab
>>> attnlab.check("6.2", 4)              # lesson 6, on tiny-induction
❌ Not yet (exercise 6.2): that is where it looks *with* the previous-token head; ...
>>> attnlab.hint("6.2", 1)
💡 Ablate the previous-token head of layer 0 (`ablate=[(0, h)]`) and read the induction head's pattern ...
>>> attnlab.solution("6.2")
def solve_6_2():
    import attnlab
    ...
answer = solve_6_2()
>>> attnlab.check("6.2", 0)
✅ Right (exercise 6.2): without its partner the induction head puts 33% on '<bos>' (position 0) ...
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import AttnlabError


@dataclass
class Exercise:
    """One exercise: ``verify(answer)`` returns (passed, feedback); ``solution()`` is a function of the lesson's
    module that computes and returns a right answer, written as a learner would write it (it imports what it
    uses, so its source runs in a notebook cell); ``expects`` says what kind of answer the exercise wants;
    ``wrong`` is a plausible wrong answer (the tests check that it is refused)."""

    key: str
    title: str
    verify: Callable[[Any], tuple[bool, str]]
    solution: Callable[[], Any]
    wrong: Any
    expects: str
    hints: list[str] = field(default_factory=list)

    @property
    def solution_source(self) -> str:
        """The solution as code to paste into a cell: the function, then ``answer = solve_...()``."""
        code = textwrap.dedent(inspect.getsource(self.solution)).strip("\n")
        return f"{code}\n\n\nanswer = {self.solution.__name__}()\n"


_REGISTRY: dict[str, Exercise] = {}


__all__ = ["Exercise", "Verdict", "all_exercises", "check", "exercise", "get", "hint", "solution"]

def exercise(key: str, title: str, *, solution: Callable[[], Any], wrong: Any, expects: str,
             hints: tuple[str, ...] = ()):
    """Register the decorated ``verify(answer) -> (passed, feedback)`` as exercise ``key``.

    ``solution``: a function without arguments that returns a right answer; ``expects``: the kind of answer,
    as a learner should read it ("a (layer, head) pair of ints").
    """
    if not callable(solution):
        raise TypeError(f"exercise {key}: solution must be a function that returns the answer")

    def register(verify):
        _REGISTRY[key] = Exercise(key, title, verify, solution, wrong, expects, list(hints))
        return verify
    return register


def _load_all():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def get(key: str) -> Exercise:
    if not _REGISTRY:
        _load_all()
    if not isinstance(key, str) or key not in _REGISTRY:
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
    except Exception as e:          # an answer of a shape the check did not foresee; KeyboardInterrupt still stops
        passed, feedback = False, (f"this answer could not be checked ({type(e).__name__}: {e}). The exercise "
                                   f"expects {ex.expects}.")
    mark = "✅ Right" if passed else "❌ Not yet"
    more = "" if passed else f" Try `attnlab.hint({key!r})`, or `attnlab.solution({key!r})` to see one way."
    return Verdict(bool(passed), f"{mark} (exercise {key}): {feedback}{more}")


def hint(key: str, n: int | None = None) -> None:
    """Show the hints of exercise ``key`` (all of them, or only the ``n``-th, counting from 1)."""
    ex = get(key)
    if not ex.hints:
        _show(f"Exercise {key} has no hints; `attnlab.solution({key!r})` shows a solution.")
        return
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(ex.hints)):
        raise AttnlabError(f"exercise {key} has {len(ex.hints)} hint(s): n must be an int from 1 to {len(ex.hints)} "
                           f"(or left out for all of them), got {n!r}.")
    items = ex.hints if n is None else [ex.hints[n - 1]]
    _show("\n".join(f"💡 {h}" for h in items))


def solution(key: str) -> None:
    """Show a solution of exercise ``key``: a function that computes the answer, and the line that calls it.

    The code uses only attnlab's public names: paste it into a cell, run it, then ``attnlab.check(key, answer)``.
    """
    source = get(key).solution_source
    try:
        from IPython.display import Code, display
        display(Code(source, language="python"))
    except ImportError:
        print(source)


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
