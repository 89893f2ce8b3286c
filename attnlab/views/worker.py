"""A background thread that runs only the latest job of each channel, so the kernel stays responsive.

A widget asks for work on a named channel ("trace", "pattern", "predict"). A newer job on a channel
replaces one that has not started yet; jobs that already started finish, and their widget drops the
result if a newer request arrived meanwhile. Channels run in the order they were last asked for.

>>> w = Worker()
>>> out = []
>>> w.submit("a", lambda: out.append(1)); w.submit("a", lambda: out.append(2)); w.wait(5)
True
>>> out[-1]
2
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable


class Worker:
    """One daemon thread per widget, started on first use."""

    def __init__(self):
        self._jobs: OrderedDict[str, Callable[[], None]] = OrderedDict()
        self._cv = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None

    def submit(self, channel: str, job: Callable[[], None]) -> None:
        with self._cv:
            self._jobs.pop(channel, None)
            self._jobs[channel] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="attnlab-widget", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running; False if ``timeout`` seconds passed first."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._jobs and not self._running, timeout)

    def _loop(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: bool(self._jobs))
                _, job = self._jobs.popitem(last=False)
                self._running = True
            try:
                job()
            finally:
                with self._cv:
                    self._running = False
                    self._cv.notify_all()
