"""The package's layout is its design: rooms import only downwards, through public doors, without cycles.

Rooms, lowest first: ``errors`` (the one exception type) -> ``runner`` -> ``tiny`` -> ``heads`` -> ``charts``
-> ``views`` -> ``course`` -> the package root and the CLI. A module may import its own room freely and a
lower room only through that room's package (``from ..runner import Model``), by names in its ``__all__``.
The course, the top room, is written as a learner writes code: it may also use the package's public face
(``import attnlab``), whose names the root ``__init__`` lists.
"""
from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "attnlab"
RANK = {"errors": 0, "runner": 1, "tiny": 2, "heads": 3, "charts": 4, "views": 5, "course": 6, "cli": 7, "": 7}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PKG.rglob("*.py")}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(path: Path):
    """(target module, imported names, under TYPE_CHECKING) for every import of the package itself."""
    tree = ast.parse(path.read_text())
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "attnlab" or target.startswith("attnlab."):
                names = [a.name for a in node.names]
                subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                if subs and len(subs) == len(names):      # from . import scores: the submodules themselves
                    for s in subs:
                        yield s, [], id(node) in typing_only
                else:
                    yield target, names, id(node) in typing_only
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("attnlab"):
                    yield a.name, [], id(node) in typing_only


def test_rooms_import_downwards_through_public_doors():
    problems = []
    for me, path in MODULES.items():
        for target, names, _ in imports(path):
            mine, theirs = room(me), room(target)
            if theirs == mine or target == "attnlab.errors":
                continue
            if target == "attnlab" and mine in ("course", "cli", ""):
                continue
            where = f"{path.relative_to(ROOT)} imports {target} {names}"
            if RANK[theirs] > RANK[mine]:
                problems.append(f"{where}: {theirs} is above {mine}")
            elif target != f"attnlab.{theirs}":
                problems.append(f"{where}: go through the room's package, attnlab.{theirs}")
            else:
                public = set(importlib.import_module(target).__all__)
                hidden = [n for n in names if n not in public]
                if hidden:
                    problems.append(f"{where}: {hidden} are not in attnlab.{theirs}.__all__")
    assert not problems, "\n".join(problems)


def test_import_graph_has_no_cycle():
    graph = {me: {t for t, _, typing_only in imports(p) if not typing_only and t in MODULES and t != me}
             for me, p in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def course_sources():
    for path in sorted((ROOT / "course").glob("*.py")):
        yield path, path.read_text()
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        yield path, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for path in sorted((PKG / "course").glob("*.py")):
        yield path, path.read_text()


@pytest.mark.parametrize("path,source", list(course_sources()), ids=lambda x: getattr(x, "name", ""))
def test_the_course_uses_public_names_only(path, source):
    private = re.findall(r"attnlab(?:\.\w+)*\._\w+", source)
    private += re.findall(r"from attnlab(?:\.\w+)* import [^\n]*\b_\w+", source)
    assert not private, f"{path.name} reaches into private names: {sorted(set(private))}"
