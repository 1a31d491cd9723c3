"""``card``: a model card (``README.md`` with Hugging Face YAML metadata) describing the run.

The metadata names the base model, the training data, the license, tags and the run's metrics
(from ``metrics.json``, as a ``model-index``); the body says what the model is for, what it
cannot do, how it was measured and how to load each export. The card is checked by parsing it
back with ``huggingface_hub.ModelCard``. When the ``hf`` or ``adapter`` exports exist, the card
is copied into them too, so each folder can be uploaded as it is.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Exporter, TrainResult
from kinject.redact import redact, redact_text
from kinject_plugins.exporters.loading import ExportError, export_step, require

if TYPE_CHECKING:
    from kinject.context import RunContext

#: kinject model aliases -> Hugging Face ids, for the ``base_model`` field
BASE_MODEL_IDS = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class CardOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: SPDX id or ``other``; the model inherits the base model's and the data's terms
    license: str = "other"
    tags: list[str] = Field(default_factory=list)
    #: Hugging Face id of the base model when the run used a local path
    base_model_id: str | None = None
    datasets: list[str] = Field(default_factory=list)
    model_name: str | None = None


class CardExporter(Exporter):
    """Writes ``README.md`` and parses it back with ``huggingface_hub.ModelCard``."""

    name = "card"
    description = "model card README.md with Hugging Face metadata and the run's metrics"
    Options = CardOptions
    opts: CardOptions

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        metrics = _read_metrics(self.context.run_dir / "metrics.json")
        meta = redact(self.metadata(result, self.context, metrics))
        body = redact_text(self.body(result, self.context, metrics, meta))
        path = out_dir / "README.md"
        path.write_text(
            "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body,
            encoding="utf-8",
        )
        require("huggingface_hub", self.name)
        with export_step(self.name, f"parsing {path} back"):
            verify_card(path, meta)
        paths = [path]
        for sibling in ("hf", "adapter"):
            folder = out_dir.parent / sibling
            if folder.is_dir():
                paths.append(Path(shutil.copy2(path, folder / "README.md")))
        return paths

    def metadata(
        self, result: TrainResult, context: RunContext, metrics: dict[str, Any]
    ) -> dict[str, Any]:
        """The YAML front matter."""
        domain = context.config.domain
        tags = [
            "kinject",
            "text-generation",
            *([domain] if domain else []),
            context.config.strategy,
        ]
        meta: dict[str, Any] = {"license": self.opts.license}
        base_id = self._base_model_id(context)
        if base_id:
            meta["base_model"] = base_id
        meta["library_name"] = "peft" if result.adapter else "transformers"
        meta["pipeline_tag"] = "text-generation"
        meta["tags"] = list(dict.fromkeys(tags + self.opts.tags))
        datasets = self.opts.datasets or _corpus_names(context)
        if datasets:
            meta["datasets"] = datasets
        results = _model_index_metrics(metrics)
        if results:
            meta["model-index"] = [
                {
                    "name": self._model_name(context),
                    "results": [
                        {
                            "task": {
                                "type": "text-generation",
                                "name": "domain question answering",
                            },
                            "dataset": {
                                "name": f"{domain or 'custom'} held-out eval set",
                                "type": domain or "custom",
                            },
                            "metrics": results,
                        }
                    ],
                }
            ]
        return meta

    def body(
        self,
        result: TrainResult,
        context: RunContext,
        metrics: dict[str, Any],
        meta: dict[str, Any],
    ) -> str:
        """The markdown below the metadata."""
        from kinject_plugins.exporters.card_text import render_body

        return render_body(
            name=self._model_name(context),
            base=meta.get("base_model") or context.config.base_model,
            domain=context.config.domain,
            strategy=context.config.strategy,
            adapter=result.adapter,
            corpus=_corpus_names(context),
            eval_count=len(context.eval_items),
            metrics=metrics,
            exports=_exports(result, context),
            adapter_dir=_adapter_dir(result, context),
        )

    def _model_name(self, context: RunContext) -> str:
        if self.opts.model_name:
            return self.opts.model_name
        domain = context.config.domain or "custom"
        return f"{domain}-{context.config.strategy}-{context.run_dir.name}"

    def _base_model_id(self, context: RunContext) -> str | None:
        if self.opts.base_model_id:
            return self.opts.base_model_id
        spec = context.config.base_model
        if spec in BASE_MODEL_IDS:
            return BASE_MODEL_IDS[spec]
        return spec if _HUB_ID.match(spec) and not Path(spec).exists() else None


def _exports(result: TrainResult, context: RunContext) -> list[str]:
    """Export folders of the run, plus the adapter itself for an adapter result."""
    names = {p.name for p in (context.run_dir / "export").glob("*") if p.is_dir()}
    if result.adapter:
        names.add("adapter")
    return sorted(names)


def _adapter_dir(result: TrainResult, context: RunContext) -> str:
    exported = context.run_dir / "export" / "adapter"
    return str(exported if exported.is_dir() else result.model_dir)


def _read_metrics(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError("card", f"{path} is not valid JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _corpus_names(context: RunContext) -> list[str]:
    names = [Path(c.rstrip("/")).name or c for c in context.config.corpus]
    if not names and context.config.domain:
        names = [f"kinject-{context.config.domain} sample corpus"]
    return names


def _model_index_metrics(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The trained model's numeric metrics in Hugging Face ``model-index`` form."""
    trained = metrics.get("trained", {})
    return [
        {"name": key, "type": key, "value": round(float(value), 6)}
        for key, value in sorted(trained.items())
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def verify_card(path: Path, expected: dict[str, Any]) -> None:
    """The card must parse with ``huggingface_hub`` and carry the metadata it was written with."""
    from huggingface_hub import ModelCard

    card = ModelCard.load(str(path))
    data = card.data.to_dict()
    for key in ("license", "base_model", "tags", "datasets"):
        if key in expected and data.get(key) != expected[key]:
            raise ExportError(
                "card", f"{path}: metadata field {key} reads back as {data.get(key)!r}"
            )
    if "model-index" in expected and not card.data.eval_results:
        raise ExportError("card", f"{path}: model-index has no readable results")
    if not card.text.strip():
        raise ExportError("card", f"{path}: the card has no body")
