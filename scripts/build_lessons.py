#!/usr/bin/env python3
"""Build the lesson notebooks in lessons/ from their sources in course/ (percent-format Python files).

    python scripts/build_lessons.py           # write lessons/*.ipynb
    python scripts/build_lessons.py --check   # exit 1 if a notebook is out of date

A source is plain Python with cell markers: ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown
cell whose lines start with ``# ``. Notebooks are written without outputs, with a python3 kernelspec.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES, LESSONS = ROOT / "course", ROOT / "lessons"


def cells_of(source: str):
    kind, lines = None, []
    for line in source.splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                yield kind, lines
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line[2:] if kind == "markdown" and line.startswith("# ") else
                         ("" if kind == "markdown" and line == "#" else line))
    if kind is not None:
        yield kind, lines


def notebook(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, lines) in enumerate(cells_of(source)):
        text = "\n".join(lines).strip("\n")
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        cell["id"] = f"cell-{i:02d}"
        nb.cells.append(cell)
    return nb


def render(path: Path) -> str:
    return nbformat.writes(notebook(path.read_text()), version=4) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for src in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
        out = LESSONS / f"{src.stem}.ipynb"
        text = render(src)
        if out.exists() and out.read_text() == text:
            continue
        stale.append(out.name)
        if not check:
            out.write_text(text)
    if check and stale:
        print("out of date (run python scripts/build_lessons.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
