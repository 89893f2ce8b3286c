"""Docstring examples run: every module of attnlab that has examples runs them, on the tiny models or toys.

Modules are discovered, so a new module's examples run without being listed here. Examples that need an
embedded model (SmolLM2) are marked ``# doctest: +SKIP``; there are only a few.
"""
import doctest
import importlib
import pkgutil

import pytest

import attnlab

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples() -> list[str]:
    names = ["attnlab"] + [info.name for info in pkgutil.walk_packages(attnlab.__path__, "attnlab.")]
    finder = doctest.DocTestFinder()
    return [name for name in names if any(t.examples for t in finder.find(importlib.import_module(name)))]


MODULES = _modules_with_examples()


def test_the_rooms_have_examples():
    for name in ["attnlab", "attnlab.runner.model", "attnlab.runner.trace", "attnlab.heads.sweep",
                 "attnlab.views.ablation_lab", "attnlab.charts", "attnlab.course", "attnlab.tiny.api", "attnlab.cli"]:
        assert name in MODULES, f"{name} lost its examples"


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=OPTIONS, verbose=False)
    assert result.attempted > 0, f"{name} has no example that runs (all skipped?)"
    assert result.failed == 0
