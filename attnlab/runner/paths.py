"""Where attnlab keeps its files: one cache folder, ``$ATTNLAB_HOME`` or the user cache dir.

    $ ATTNLAB_HOME=/data/attnlab attnlab models     # models/ and wheels/ go under /data/attnlab

>>> models_dir() == home() / "models"
True
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    """The attnlab cache folder (created on demand): ``$ATTNLAB_HOME``, else the user cache dir.

    >>> home().is_dir()
    True
    """
    env = os.environ.get("ATTNLAB_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("attnlab"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """``home()/models``: converted models, one loadable folder per embedded model."""
    return _sub("models")


def wheels_dir() -> Path:
    """``home()/wheels``: model wheels downloaded from PyPI and extracted, one folder per model."""
    return _sub("wheels")


def _sub(name: str) -> Path:
    path = home() / name
    path.mkdir(exist_ok=True)
    return path
