"""The course: every lesson notebook executes top to bottom headless, and every exercise's check works."""
import subprocess
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
    namespace = {}
    exec(ex.solution, namespace)
    assert "answer" in namespace, "a solution must set `answer`"
    verdict = attnlab.check(ex.key, namespace["answer"])
    assert verdict, verdict.text


@pytest.mark.slow
@pytest.mark.parametrize("ex", EXERCISES, ids=[e.key for e in EXERCISES])
def test_wrong_answer_is_refused_with_feedback(ex):
    verdict = attnlab.check(ex.key, ex.wrong)
    assert not verdict and "Not yet" in verdict.text


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.key for e in EXERCISES])
def test_unanswered_exercise_is_reported_not_raised(ex):
    verdict = attnlab.check(ex.key, ...)
    assert not verdict and "not answered yet" in verdict.text


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(attnlab.AttnlabError, match="no exercise"):
        attnlab.check("99.9", 1)
