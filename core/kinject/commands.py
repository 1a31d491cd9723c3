"""The engine side of the commands around a run: prepare, export and ingest (eval: ``model_eval``).

Each function here does one command's work and returns what the command shows; the CLI
(``kinject.cli.data_cmds``) only parses options and prints. They reuse the stages of a run
(``prepare_data``, ``export_stage``, ``ingest``), so what they write is what a full run would
have written.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinject.components import MODEL_FOLDER, RESULT_FILE, TrainResult, result_file
from kinject.config import RunConfig, Step, build_config, merge_recipe
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.ingest import IngestStats, ingest
from kinject.manifest import Manifest
from kinject.pipeline import export_stage
from kinject.plugins import Plugins
from kinject.prepare import PreparedData, prepare_data
from kinject.records import Record, write_jsonl
from kinject.runs import plugin_versions

#: the data stages in flow order, as the manifest names them
DATA_STAGES = (
    ("sources", "sources"),
    ("cleaners", "cleaners"),
    ("chunk", "chunk"),
    ("eval_questions", "eval questions"),
    ("augmenters", "augmenters"),
    ("split", "split"),
)


# -- run directories --------------------------------------------------------------------------


def is_run_dir(path: Path) -> bool:
    """A directory with a manifest and a finished training."""
    return result_file(path).is_file() and (path / "manifest.json").is_file()


def load_run_result(run_dir: Path) -> TrainResult:
    """The TrainResult of a finished run (saved by its training stage)."""
    if not result_file(run_dir).is_file():
        missing = f"{MODEL_FOLDER}/{RESULT_FILE}"
        raise ConfigError(
            f"no trained model here ({missing} is missing): run the training first",
            source=str(run_dir),
        )
    return TrainResult.load(run_dir, run_dir)


def run_config(run_dir: Path) -> RunConfig:
    """The resolved recipe a run was made with, from its manifest."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise ConfigError("not a run directory (no manifest.json)", source=str(run_dir))
    data = json.loads(path.read_text(encoding="utf-8")).get("config") or {}
    return build_config({**data, "run_dir": str(run_dir)}, source=str(path))


# -- inject prepare -----------------------------------------------------------------------------


@dataclass
class KindSummary:
    """The training records of one kind (``passage``, ``qa (qa-generate)``, ...)."""

    label: str
    records: int = 0
    tokens: int = 0
    samples: list[Record] = field(default_factory=list)


@dataclass
class PrepareOutcome:
    """What ``inject prepare`` shows: per-stage stats, the eval set, the training data by kind."""

    run_dir: Path
    stages: list[tuple[str, dict[str, Any]]]
    eval_set: dict[str, Any]
    kinds: list[KindSummary]
    held_out: int
    status: str


def prepare_run(context: RunContext, samples: int = 2) -> PrepareOutcome:
    """Run (or load) the data stages only, in the run directory a full run of this recipe uses."""
    manifest = Manifest(context.run_dir / "manifest.json")
    previous = manifest.data.get("status")
    manifest.start(context.run_dir.name, context.config.dump(), plugin_versions(context.plugins))
    prepared = prepare_data(context, manifest)
    stages = [
        (label, manifest.data["stages"][name])
        for name, label in DATA_STAGES
        if name in manifest.data["stages"]
    ]
    unchanged = all(stats.get("skipped") for _, stats in stages)
    # a finished run whose data did not change is still finished; anything else waits for training
    status = "finished" if previous == "finished" and unchanged else "prepared"
    manifest.set("status", status)
    kinds = summarize_kinds(prepared, context, samples)
    return PrepareOutcome(
        context.run_dir,
        stages,
        manifest.data.get("eval_set", {}),
        kinds,
        len(prepared.eval),
        status,
    )


def record_label(record: Record, augmenters: set[str]) -> str:
    """``kind``, plus the augmenter that made the record when one did (``qa (qa-generate)``)."""
    maker = next((step for step in reversed(record.lineage) if step in augmenters), "")
    return f"{record.kind} ({maker})" if maker else record.kind


def summarize_kinds(prepared: PreparedData, context: RunContext, samples: int) -> list[KindSummary]:
    """Training records and tokens per kind, with the first few of each as samples."""
    from kinject.chunk_stage import make_budget
    from kinject.chunking import TEXT_KINDS, passage_text

    augmenters = set(context.plugins.registry("augmenter").names())
    budget = make_budget(context.config, context.plugins)
    by_label: dict[str, KindSummary] = {}
    for record in prepared.train:
        label = record_label(record, augmenters)
        summary = by_label.setdefault(label, KindSummary(label))
        summary.records += 1
        summary.tokens += budget.count(
            passage_text(record) if record.kind in TEXT_KINDS else record.text
        )
        if len(summary.samples) < samples:
            summary.samples.append(record)
    return sorted(by_label.values(), key=lambda s: (-s.records, s.label))


def drop_counts(stats: dict[str, Any]) -> dict[str, int]:
    """Quarantined inputs and dropped records of one stage, as ``plugin:reason -> n``."""
    counts = dict(stats.get("quarantined") or {})
    for plugin, reasons in (stats.get("dropped") or {}).items():
        counts.update({f"{plugin}:{reason}": n for reason, n in reasons.items()})
    return counts


# -- inject export ------------------------------------------------------------------------------


def export_run(run_dir: Path, names: list[str], plugins: Plugins) -> dict[str, Any]:
    """Run the named exporters on a finished run; each result is added to the manifest."""
    registry = plugins.registry("exporter")
    unknown = [registry.unknown_message(n) for n in names if n not in registry]
    if unknown:
        raise ConfigError(unknown, source="--to")
    if not names:
        raise ConfigError("name at least one exporter, e.g. --to hf,gguf", source="--to")
    config = run_config(run_dir)
    result = load_run_result(run_dir)
    recipe = {s.name: s.options for s in config.exporters}
    steps = [Step(name=n, options=recipe.get(n, {})) for n in names]
    config = config.model_copy(update={"exporters": steps})
    pack = (
        plugins.domains().get(config.domain).obj
        if config.domain and config.domain in plugins.domains()
        else None
    )
    context = RunContext(
        run_dir=run_dir, config=config, plugins=plugins, domain=pack, show_progress=False
    )
    manifest = Manifest(run_dir / "manifest.json")
    earlier = dict(manifest.data.get("stages", {}).get("export") or {})
    exports = export_stage(context, manifest, result)
    manifest.stage("export", {**earlier, **exports})
    if (run_dir / "metrics.json").is_file():
        from kinject.report import write_report

        write_report(run_dir)  # the report's Exports section lists the new artifacts
    return exports


# -- inject ingest ------------------------------------------------------------------------------


@dataclass
class FileSummary:
    """The Records one input produced."""

    uri: str
    source: str
    records: int = 0
    pages: int = 0
    chars: int = 0


@dataclass
class IngestOutcome:
    """What ``inject ingest`` shows: records, per-file counts, quarantined inputs, source stats."""

    records: list[Record]
    files: list[FileSummary]
    quarantined: list[dict[str, Any]]
    stats: IngestStats


def ingest_paths(
    paths: list[str],
    plugins: Plugins,
    config: RunConfig,
    work_dir: Path | None = None,
    show_progress: bool = True,
) -> IngestOutcome:
    """The sources alone on ``paths``; nothing is written next to the inputs.

    Quarantine goes to ``work_dir`` (kept, with the records as ``ingest.jsonl``) or to a temporary
    directory that is removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="kinject-ingest-") as tmp:
        run_dir = work_dir or Path(tmp)
        run_dir.mkdir(parents=True, exist_ok=True)
        context = RunContext(
            run_dir=run_dir, config=config, plugins=plugins, show_progress=show_progress
        )
        quarantine = context.quarantine.path
        seen_lines = (
            len(quarantine.read_text(encoding="utf-8").splitlines()) if quarantine.exists() else 0
        )
        stats = IngestStats()
        records = list(ingest(paths, context, stats))
        lines = (
            quarantine.read_text(encoding="utf-8").splitlines()[seen_lines:]
            if quarantine.exists()
            else []
        )
        if work_dir is not None:
            write_jsonl(work_dir / "ingest.jsonl", records)
    quarantined = [json.loads(line) for line in lines if line.strip()]
    return IngestOutcome(records, file_summaries(records), quarantined, stats)


def file_summaries(records: list[Record]) -> list[FileSummary]:
    """Records, pages and characters per input, in ingestion order."""
    files: dict[str, FileSummary] = {}
    pages: dict[str, set[Any]] = defaultdict(set)
    for record in records:
        uri = str(record.source.get("uri", ""))
        summary = files.setdefault(
            uri, FileSummary(uri, record.lineage[0] if record.lineage else "")
        )
        summary.records += 1
        summary.chars += len(record.text)
        if record.source.get("page") is not None:
            pages[uri].add(record.source["page"])
    for uri, summary in files.items():
        summary.pages = len(pages[uri])
    return list(files.values())


def ingest_config(settings: dict[str, Any], recipe: dict[str, Any], corpus: list[str]) -> RunConfig:
    """Only the ``sources`` block of a recipe matters to ingestion; the rest is not checked."""
    layers = merge_recipe(
        {"sources": recipe.get("sources") or {}}, {"sources": settings.get("sources") or {}}
    )
    return build_config({**layers, "corpus": corpus}, source="inject ingest")


def reason_counts(quarantined: list[dict[str, Any]]) -> dict[str, int]:
    """How many inputs were quarantined for each reason."""
    return dict(Counter(str(q.get("reason", "")) for q in quarantined))
