from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject_plugins.exporters.adapter import AdapterExporter


def test_adapter_copied_and_loads_onto_base(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    out = run_context.run_dir / "export" / "adapter"
    paths = AdapterExporter().export(adapter_result, out, run_context)
    assert {p.name for p in paths} == {
        "adapter_config.json",
        "adapter_model.safetensors",
        "kinject_adapter.json",
    }
    info = json.loads((out / "kinject_adapter.json").read_text())
    assert info["base_model_dir"] == str(adapter_result.base_model)
    assert info["r"] == 4


def test_corrupt_adapter_is_a_clear_error(
    adapter_result: TrainResult, run_context: RunContext, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text(
        (adapter_result.model_dir / "adapter_config.json").read_text()
    )
    (broken / "adapter_model.safetensors").write_bytes(b"not safetensors")
    result = TrainResult(model_dir=broken, base_model=adapter_result.base_model)
    with pytest.raises(KinjectError, match="export 'adapter' failed: loading the adapter back"):
        AdapterExporter().export(result, tmp_path / "out", run_context)


def test_full_model_has_no_adapter(
    full_result: TrainResult, run_context: RunContext, tmp_path: Path
) -> None:
    with pytest.raises(KinjectError, match="full model, not an adapter"):
        AdapterExporter().export(full_result, tmp_path / "out", run_context)
