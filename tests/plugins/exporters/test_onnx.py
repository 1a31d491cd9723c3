from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject_plugins.exporters.onnx import MODEL_FILE, ONNXExporter

pytest.importorskip("onnxruntime", reason="the onnx exporter needs kinject[export]")
pytest.importorskip("onnxscript", reason="torch's dynamo ONNX exporter needs onnxscript")

# the dynamo exporter takes about 10 s even for the tiny model
pytestmark = pytest.mark.slow


def test_onnx_matches_pytorch_and_enforces_tolerance(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    import numpy as np
    import onnxruntime

    from kinject_plugins.exporters.loading import load_merged, load_tokenizer

    out = run_context.run_dir / "export" / "onnx"
    paths = ONNXExporter().export(adapter_result, out, run_context)
    assert out / MODEL_FILE in paths
    check = json.loads((out / "kinject_export.json").read_text())
    assert check["rel_error"] < 1e-4 and check["top1_agreement"] == 1.0
    # dynamic axes: a batch of three and a length the export never saw
    session = onnxruntime.InferenceSession(
        str(out / MODEL_FILE), providers=["CPUExecutionProvider"]
    )
    ids = np.arange(3 * 13, dtype=np.int64).reshape(3, 13) % 100
    logits = session.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
    assert logits.shape[:2] == (3, 13)
    # the tolerance is enforced: no float export is bit-exact
    strict = ONNXExporter(max_rel_error=0.0)
    with pytest.raises(KinjectError, match="onnxruntime logits differ"):
        strict.verify(
            load_merged(adapter_result),
            load_tokenizer(adapter_result),
            out / MODEL_FILE,
            run_context,
        )


def test_wrong_graph_is_caught(
    adapter_result: TrainResult, run_context: RunContext, tmp_path: Path
) -> None:
    from kinject_plugins.exporters.loading import load_merged, load_model, load_tokenizer

    exporter = ONNXExporter()
    exporter._export(load_model(adapter_result.base_model), tmp_path / MODEL_FILE)
    with pytest.raises(KinjectError, match="onnxruntime logits differ"):
        exporter.verify(
            load_merged(adapter_result),
            load_tokenizer(adapter_result),
            tmp_path / MODEL_FILE,
            run_context,
        )
