"""The course: every lesson notebook executes top to bottom headless, and every exercise's check works."""
import ast
import builtins
import re
import subprocess
import symtable
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import attnlab
from attnlab import course as _exercises

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"


def test_notebooks_are_built_from_their_sources():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_lessons.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_there_is_a_course():
    assert len(LESSONS) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_executes(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    took = time.perf_counter() - start
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "lesson-times.txt", "a") as f:
        f.write(f"{path.stem}\t{took:.1f} s\n")
    nbformat.write(nb, ARTIFACTS / f"{path.stem}.executed.ipynb")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


EXERCISES = _exercises.all_exercises()


@pytest.mark.slow
@pytest.mark.parametrize("ex", EXERCISES, ids=[e.key for e in EXERCISES])
def test_solution_passes_its_check(ex):
    verdict = attnlab.check(ex.key, ex.solution())
    assert verdict, verdict.text


def _global_names(table: symtable.SymbolTable):
    for symbol in table.get_symbols():
        if symbol.is_global() and not symbol.is_declared_global():
            yield symbol.get_name()
    for child in table.get_children():
        yield from _global_names(child)


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.key for e in EXERCISES])
def test_solution_is_code_a_learner_can_paste(ex):
    """The shown solution is one function that imports all it uses (public names only), then the call."""
    source = ex.solution_source
    assert source.rstrip().endswith(f"answer = {ex.solution.__name__}()")
    tree = ast.parse(source)
    assert [type(n) for n in tree.body] == [ast.FunctionDef, ast.Assign]
    assert isinstance(tree.body[0].body[-1], ast.Return), "a solution ends by returning the answer"
    function = symtable.symtable(source, "<solution>", "exec").get_children()[0]
    unbound = sorted(set(_global_names(function)) - set(dir(builtins)))
    assert not unbound, f"the solution uses names it does not import or define: {unbound}"
    assert not re.search(r"attnlab(?:\.\w+)*\._\w+|import [^\n]*\b_\w+", source), "private names"


def test_solution_is_shown(capsys):
    attnlab.solution("5.1")
    assert "def solve_5_1():" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("ex", EXERCISES, ids=[e.key for e in EXERCISES])
def test_wrong_answer_is_refused_with_feedback(ex):
    verdict = attnlab.check(ex.key, ex.wrong)
    assert not verdict and "Not yet" in verdict.text


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.key for e in EXERCISES])
def test_unanswered_exercise_is_reported_not_raised(ex):
    verdict = attnlab.check(ex.key, ...)
    assert not verdict and "not answered yet" in verdict.text


ODD_ANSWERS = [None, "x", (99, 99), (1.5, 2), [], -1, float("nan"), (0, "x"), {"a": 1}, -1.5]


@pytest.mark.slow
@pytest.mark.parametrize("ex", EXERCISES, ids=[e.key for e in EXERCISES])
def test_odd_answers_get_feedback_not_a_traceback(ex):
    for odd in ODD_ANSWERS:
        verdict = attnlab.check(ex.key, odd)
        assert isinstance(verdict, _exercises.Verdict) and not verdict and "Not yet" in verdict.text, (odd, verdict)
        assert "could not be checked" not in verdict.text, f"the check of {ex.key} did not foresee {odd!r}: {verdict}"


def test_an_error_inside_a_check_becomes_feedback(monkeypatch):
    ex = _exercises.get("5.1")

    def broken(answer):
        raise IndexError("index 99 is out of bounds")
    monkeypatch.setattr(ex, "verify", broken)
    verdict = attnlab.check("5.1", (99, 99))
    assert not verdict and "could not be checked" in verdict.text and ex.expects in verdict.text


def test_a_keyboard_interrupt_inside_a_check_is_not_swallowed(monkeypatch):
    ex = _exercises.get("5.1")

    def interrupted(answer):
        raise KeyboardInterrupt
    monkeypatch.setattr(ex, "verify", interrupted)
    with pytest.raises(KeyboardInterrupt):
        attnlab.check("5.1", (1, 2))


def test_every_exercise_says_what_it_expects():
    assert all(ex.expects for ex in EXERCISES)


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(attnlab.AttnlabError, match="no exercise"):
        attnlab.check("99.9", 1)
