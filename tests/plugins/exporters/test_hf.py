from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject_plugins.exporters import hf as hf_module
from kinject_plugins.exporters.hf import HFExporter


def test_merged_model_reloads_and_matches(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    out = run_context.run_dir / "export" / "hf"
    paths = HFExporter(check_tokens=6).export(adapter_result, out, run_context)
    names = {p.name for p in paths}
    assert "model.safetensors" in names and "tokenizer.json" in names
    assert not any(n.endswith(".bin") for n in names)
    assert (out / "chat_template.jinja").exists() or "chat_template" in (
        out / "tokenizer_config.json"
    ).read_text()
    assert json.loads((out / "kinject_export.json").read_text())["merged_from_adapter"] is True
    merged = AutoModelForCausalLM.from_pretrained(str(out))
    base = AutoModelForCausalLM.from_pretrained(str(adapter_result.base_model))
    q = "model.layers.0.self_attn.q_proj.weight"
    # the adapter really was merged: the weights moved away from the base
    assert not torch.equal(merged.state_dict()[q], base.state_dict()[q])


def test_mismatch_after_reload_is_an_error(
    adapter_result: TrainResult,
    run_context: RunContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the reloaded model sees the base weights only: its tokens differ from the trained model's
    monkeypatch.setattr(
        hf_module,
        "load_model",
        lambda path: hf_module.load_unmerged(
            TrainResult(
                model_dir=adapter_result.base_model,
                base_model=adapter_result.base_model,
                adapter=False,
            )
        ),
    )
    with pytest.raises(KinjectError, match="export 'hf' failed.*generates"):
        HFExporter(check_tokens=12).export(adapter_result, tmp_path / "hf", run_context)


def test_full_model_is_resaved(
    full_result: TrainResult, run_context: RunContext, tmp_path: Path
) -> None:
    paths = HFExporter(check_tokens=4).export(full_result, tmp_path / "hf", run_context)
    assert (
        json.loads((tmp_path / "hf" / "kinject_export.json").read_text())["merged_from_adapter"]
        is False
    )
    assert any(p.suffix == ".safetensors" for p in paths)
