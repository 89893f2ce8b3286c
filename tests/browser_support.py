"""Helpers for the widget browser tests: a throwaway JupyterLab or Voila server on 127.0.0.1, headless Debian
Chromium driven by Playwright, and the notebook cells that build each view.

Nothing here reaches beyond the machine: the servers listen on 127.0.0.1, the browser runs with background
networking off, and :func:`watch_requests` records any request to another host so tests can assert none.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KERNELSPEC = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, timeout: float):
    start = time.time()
    while time.time() - start < timeout:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


class Server:
    """``with Server("lab", root) as s: page.goto(s.url("lab/..."))``; kind is "lab" or "voila"."""

    def __init__(self, kind: str, root: Path, notebook: str | None = None, token: str = "attnlab-widgets"):
        self.kind, self.root, self.notebook, self.token = kind, Path(root), notebook, token
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"attnlab-{kind}-"))

    def __enter__(self):
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.tmp / "cfg"), JUPYTER_RUNTIME_DIR=str(self.tmp / "rt"),
                   PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        if self.kind == "lab":
            root_flag = ["--allow-root"] if os.geteuid() == 0 else []
            cmd = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", *root_flag, f"--port={self.port}",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                   f"--LabApp.workspaces_dir={self.tmp / 'ws'}", f"--LabApp.user_settings_dir={self.tmp / 'settings'}",
                   "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
            settings = self.tmp / "settings" / "@jupyterlab" / "apputils-extension"
            settings.mkdir(parents=True)
            (settings / "notification.jupyterlab-settings").write_text(
                '{"fetchNews": "false", "checkForUpdates": false}')
            ready = lambda: urllib.request.urlopen(self.url("api/status"), timeout=2).status == 200  # noqa: E731
        else:
            cmd = [str(BIN / "voila"), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={self.port}", self.notebook]
            ready = lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close() is None  # noqa: E731
        self.log_path = self.tmp / "server.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        _wait(ready, f"the {self.kind} server", 90)
        return self

    def url(self, path: str = "") -> str:
        base = f"http://127.0.0.1:{self.port}/{path}"
        return f"{base}?token={self.token}" if self.kind == "lab" else base

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def __exit__(self, *exc):
        self.proc.terminate()          # our own child, by its pid
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells with a kernelspec (without one, JupyterLab asks which kernel to use)."""
    nb = nbformat.v4.new_notebook(metadata=KERNELSPEC)
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, path)
    return path


def kernel_state(directory: Path, name: str, timeout: float = 60, predicate=lambda v: True):
    """Wait for the kernel to write ``name``.json (widget observers dump what Python sees) and return it."""
    path = Path(directory) / f"{name}.json"
    start = time.time()
    while time.time() - start < timeout:
        if path.exists():
            try:
                value = json.loads(path.read_text())
            except json.JSONDecodeError:
                value = None
            if value is not None and predicate(value):
                return value
        time.sleep(0.1)
    raise TimeoutError(f"the kernel did not write {path.name} as expected within {timeout:.0f} s "
                       f"(last: {path.read_text() if path.exists() else 'missing'})")


# -- JupyterLab page helpers -------------------------------------------------------------------------
def open_notebook(page, lab: Server, name: str, workspace: str, timeout: float = 120_000):
    """Open ``name`` in its own workspace (so no other notebook's cells linger) and wait for an idle kernel."""
    page.goto(lab.url(f"lab/workspaces/{workspace}/tree/{name}"))
    page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for(timeout=timeout)
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=timeout)


def run_cell(page, index: int, timeout: float = 240_000):
    """Run cell ``index`` (Shift+Enter, retried if the keypress was swallowed) and wait until it finished."""
    cell = page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(3):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function("el => !el.textContent.includes('[ ]')", arg=prompt.element_handle(),
                                   timeout=10_000)
            break
        except Exception:
            continue
    else:
        raise RuntimeError(f"cell {index} did not start")
    page.wait_for_function("el => /\\[\\d+\\]/.test(el.textContent)", arg=prompt.element_handle(), timeout=timeout)
    stderr = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    for text in stderr.all_inner_texts():
        if "Traceback" in text or "----------" in text:       # an exception, not a progress bar on stderr
            raise AssertionError(f"cell {index} raised:\n{text[-3000:]}")
    return cell


def canvas_ink(locator) -> int:
    """How many pixels of a canvas are not (near) white or transparent: > 0 means something was drawn."""
    return locator.evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) n++;
        return n;
    }""")


def watch_requests(page) -> list[str]:
    """Record every request the page makes to a host other than 127.0.0.1 (there should be none)."""
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None)
    return outside
