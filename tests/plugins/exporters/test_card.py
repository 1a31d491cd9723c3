from __future__ import annotations

import json

import pytest
import yaml

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject_plugins.exporters.card import CardExporter

METRICS = {
    "base": {"knowledge-qa.accuracy": 0.25, "perplexity.ppl": 40.0},
    "trained": {"knowledge-qa.accuracy": 0.75, "perplexity.ppl": 12.5},
    "delta": {"knowledge-qa.accuracy": 0.5, "perplexity.ppl": -27.5},
    "strategy": "sft",
}


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_card_carries_run_metrics(adapter_result: TrainResult, run_context: RunContext) -> None:
    run_context.config.domain = "legal"
    (run_context.run_dir / "metrics.json").write_text(json.dumps(METRICS))
    (run_context.run_dir / "export" / "hf").mkdir(parents=True)
    paths = CardExporter(license="apache-2.0", tags=["contracts"]).export(
        adapter_result, run_context.run_dir / "export" / "card", run_context
    )
    text = paths[0].read_text()
    meta = _front_matter(text)
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["license"] == "apache-2.0"
    assert meta["library_name"] == "peft"
    assert {"kinject", "legal", "sft", "contracts"} <= set(meta["tags"])
    assert meta["datasets"] == ["kinject-legal sample corpus"]
    values = {m["name"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert values == {"knowledge-qa.accuracy": 0.75, "perplexity.ppl": 12.5}
    assert "| knowledge-qa.accuracy | 0.25 | 0.75 | 0.5 |" in text
    assert "## Limitations" in text and "## Intended use" in text and "PeftModel" in text
    # copied into the merged export so it can be uploaded as it is
    assert run_context.run_dir / "export" / "hf" / "README.md" in paths


def test_card_without_metrics_or_hub_base(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    run_context.config.base_model = str(adapter_result.base_model)
    path = CardExporter().export(adapter_result, run_context.run_dir / "card", run_context)[0]
    meta = _front_matter(path.read_text())
    assert "base_model" not in meta and "model-index" not in meta
    assert "No metrics were recorded" in path.read_text()


def test_bad_metrics_file_is_an_error(adapter_result: TrainResult, run_context: RunContext) -> None:
    (run_context.run_dir / "metrics.json").write_text("{not json")
    with pytest.raises(KinjectError, match=r"metrics.json is not valid JSON"):
        CardExporter().export(adapter_result, run_context.run_dir / "card", run_context)
