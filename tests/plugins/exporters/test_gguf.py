from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject_plugins.exporters import gguf as gguf_module
from kinject_plugins.exporters.gguf import GGUFExporter


@pytest.mark.parametrize("outtype", ["f32", "f16", "q8_0"])
def test_gguf_loads_back_with_matching_logits(
    outtype: str, adapter_result: TrainResult, run_context: RunContext
) -> None:
    out = run_context.run_dir / "export" / "gguf"
    paths = GGUFExporter(outtype=outtype).export(adapter_result, out, run_context)
    gguf_file = out / f"model-{outtype}.gguf"
    assert gguf_file in paths
    check = json.loads((out / "kinject_export.json").read_text())
    assert check["outtype"] == outtype
    assert check["top1_agreement"] >= 0.9
    if outtype == "f32":
        assert check["max_abs_diff"] < 1e-4


def test_gguf_metadata_and_tokenizer(adapter_result: TrainResult, run_context: RunContext) -> None:
    from gguf import GGUFReader

    out = run_context.run_dir / "gguf"
    GGUFExporter(outtype="f16", tokenizer_pre="smollm").export(adapter_result, out, run_context)
    fields = GGUFReader(str(out / "model-f16.gguf")).fields

    def text(key: str) -> str:
        field = fields[key]
        return bytes(field.parts[field.data[0]]).decode()

    assert text("general.architecture") == "llama"
    assert text("tokenizer.ggml.model") == "gpt2"
    assert text("tokenizer.ggml.pre") == "smollm"
    assert "tokenizer.chat_template" in fields


def test_smaller_files_for_smaller_types(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    sizes = {}
    for outtype in ("f32", "q8_0"):
        out = run_context.run_dir / outtype
        GGUFExporter(outtype=outtype).export(adapter_result, out, run_context)
        sizes[outtype] = (out / f"model-{outtype}.gguf").stat().st_size
    assert sizes["q8_0"] < sizes["f32"] / 2


def test_wrong_weights_are_caught(
    adapter_result: TrainResult,
    run_context: RunContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # without llama.cpp's q/k permutation the file loads but computes something else
    monkeypatch.setattr(gguf_module, "_permute", lambda weights, heads: weights)
    with pytest.raises(KinjectError, match="export 'gguf' failed.*logits differ"):
        GGUFExporter(outtype="f32").export(adapter_result, tmp_path / "gguf", run_context)


def test_other_architectures_refused(tmp_path: Path, run_context: RunContext) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    from kinject.models import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "gpt2")
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=512)).save_pretrained(
        str(model_dir)
    )
    result = TrainResult(model_dir=model_dir, base_model=model_dir, adapter=False)
    with pytest.raises(KinjectError, match="only Llama-architecture"):
        GGUFExporter().export(result, tmp_path / "out", run_context)
