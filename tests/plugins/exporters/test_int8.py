from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject.evaluation import EvalItem
from kinject_plugins.exporters.int8 import WEIGHTS, Int8Exporter, load_int8


def test_int8_saves_safetensors_and_reports(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    from safetensors import safe_open

    out = run_context.run_dir / "export" / "int8"
    Int8Exporter().export(adapter_result, out, run_context)
    report = json.loads((out / "quantization.json").read_text())
    assert report["int8_file_bytes"] < report["float32_bytes"]
    assert abs(report["mean_loglik_change"]) < 0.5
    assert report["scored_on"] == "built-in prompts"
    with safe_open(str(out / WEIGHTS), framework="pt") as f:
        assert str(f.get_tensor("model.layers.0.self_attn.q_proj.qweight").dtype) == "torch.int8"
        names = set(f.keys())
    # kept float
    assert "lm_head.qweight" not in names and "model.layers.0.mlp.down_proj.weight" in names


def test_keep_float_empty_quantizes_the_output_layer(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    out = run_context.run_dir / "int8-all"
    Int8Exporter(keep_float=[]).export(adapter_result, out, run_context)
    assert isinstance(load_int8(out).lm_head, DynamicLinear)


def test_loaded_int8_model_matches_quantized_in_memory(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    import torch

    from kinject_plugins.exporters.int8 import quantize
    from kinject_plugins.exporters.loading import load_merged

    out = run_context.run_dir / "int8"
    Int8Exporter().export(adapter_result, out, run_context)
    in_memory = quantize(load_merged(adapter_result))
    ids = torch.tensor([[5, 9, 30, 7, 2]])
    with torch.no_grad():
        assert torch.allclose(
            load_int8(out)(input_ids=ids).logits, in_memory(input_ids=ids).logits, atol=1e-5
        )


def test_scored_on_eval_set_when_present(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    run_context.eval_items = [
        EvalItem(id="1", question="What secures a contract?", answer_text="Earnest money")
    ]
    out = run_context.run_dir / "int8"
    Int8Exporter().export(adapter_result, out, run_context)
    report = json.loads((out / "quantization.json").read_text())
    assert report["scored_on"] == "eval set" and report["scored_texts"] == 1


def test_accuracy_limit_enforced(
    adapter_result: TrainResult, run_context: RunContext, tmp_path: Path
) -> None:
    with pytest.raises(KinjectError, match="log-likelihood fell"):
        Int8Exporter(max_loglik_drop=-1.0).export(adapter_result, tmp_path / "int8", run_context)


def test_not_an_int8_file(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / WEIGHTS))
    with pytest.raises(KinjectError, match="not a kinject int8 file"):
        load_int8(tmp_path)
