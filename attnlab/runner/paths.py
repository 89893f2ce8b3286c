"""Where attnlab keeps its files: one cache folder, ``$ATTNLAB_HOME`` or the user cache dir.

    $ ATTNLAB_HOME=/data/attnlab attnlab models     # models/ and wheels/ go under /data/attnlab

>>> models_dir() == home() / "models"
True
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from ..errors import AttnlabError


def home() -> Path:
    """The attnlab cache folder (created on demand): ``$ATTNLAB_HOME``, else the user cache dir.

    >>> home().is_dir()
    True
    """
    env = os.environ.get("ATTNLAB_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("attnlab"))
    make_folder(path, "ATTNLAB_HOME" if env else "the attnlab cache folder", _FIX)
    return path


def models_dir() -> Path:
    """``home()/models``: converted models, one loadable folder per embedded model."""
    return _sub("models")


def wheels_dir() -> Path:
    """``home()/wheels``: model wheels downloaded from PyPI and extracted, one folder per model."""
    return _sub("wheels")


def _sub(name: str) -> Path:
    path = home() / name
    make_folder(path, "the attnlab cache folder", _FIX)
    return path


_FIX = "point ATTNLAB_HOME at a folder you can write to (or unset it)"


def make_folder(path: Path, what: str, fix: str) -> None:
    """Create ``path`` (and its parents) or say in one line why it cannot be (naming it ``what``), and ``fix``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise AttnlabError(f"{what} {str(path)!r} is a file, not a folder: {fix}.") from None
    except NotADirectoryError:
        raise AttnlabError(f"{what} {str(path)!r} lies inside a file, not a folder: {fix}.") from None
    except OSError as e:
        raise AttnlabError(f"cannot create {what} {str(path)!r} ({e.strerror or e}): {fix}.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise AttnlabError(f"{what} {str(path)!r} is not writable: {fix}.")
