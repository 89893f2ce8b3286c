"""Docstring examples run: every module listed here has examples on the tiny models or toys (no downloads)."""
import doctest
import importlib

import pytest

MODULES = ["attnlab", "attnlab.runner", "attnlab.runner.attention", "attnlab.runner.checks", "attnlab.runner.trace",
           "attnlab.runner.families", "attnlab.heads", "attnlab.views", "attnlab.tiny", "attnlab.tiny.model",
           "attnlab.charts.raster"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
