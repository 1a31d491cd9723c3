"""The engine side of the commands around a run: prepare, eval, export and ingest.

Each function here does one command's work and returns what the command shows; the CLI
(``kinject.cli.data_cmds``) only parses options and prints. All four reuse the stages of a run
(``prepare_data``, ``run_evaluators``, ``export_stage``, ``ingest``), so what they write is what a
full run would have written.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.config import RunConfig, Step, build_config, check_plugins, merge_recipe
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.evaluation import EvalItem, EvalModel, load_eval_items
from kinject.ingest import IngestStats, ingest
from kinject.manifest import Manifest
from kinject.pipeline import _plugin_versions, export_stage, load_result
from kinject.plugins import Plugins, require_domain
from kinject.prepare import PreparedData, prepare_data
from kinject.records import Record, write_jsonl
from kinject.scoring import _cached, _save, evaluator_steps, run_evaluators, wilson_interval
from kinject.stages import fingerprint

if TYPE_CHECKING:
    from kinject.domains import DomainPack

#: the data stages in flow order, as the manifest names them (the split is stored as ``train``)
DATA_STAGES = (("sources", "sources"), ("cleaners", "cleaners"), ("chunk", "chunk"),
               ("eval_questions", "eval questions"), ("augmenters", "augmenters"), ("train", "split"))
RESULT_FILE = Path("model") / "result.json"


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
    manifest.start(context.run_dir.name, context.config.dump(), _plugin_versions(context.plugins))
    prepared = prepare_data(context, manifest)
    stages = [(label, manifest.data["stages"][name]) for name, label in DATA_STAGES if name in manifest.data["stages"]]
    unchanged = all(stats.get("skipped") for _, stats in stages)
    # a finished run whose data did not change is still finished; anything else waits for training
    status = "finished" if previous == "finished" and unchanged else "prepared"
    manifest.set("status", status)
    kinds = summarize_kinds(prepared, context, samples)
    return PrepareOutcome(context.run_dir, stages, manifest.data.get("eval_set", {}), kinds, len(prepared.eval), status)


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
        summary.tokens += budget.count(passage_text(record) if record.kind in TEXT_KINDS else record.text)
        if len(summary.samples) < samples:
            summary.samples.append(record)
    return sorted(by_label.values(), key=lambda s: (-s.records, s.label))


def drop_counts(stats: dict[str, Any]) -> dict[str, int]:
    """Quarantined inputs and dropped records of one stage, as ``plugin:reason -> n``."""
    counts = dict(stats.get("quarantined") or {})
    for plugin, reasons in (stats.get("dropped") or {}).items():
        counts.update({f"{plugin}:{reason}": n for reason, n in reasons.items()})
    return counts


# -- inject eval --------------------------------------------------------------------------------


@dataclass
class EvalTarget:
    """The model ``inject eval`` measures: how to load it and what to call it."""

    spec: str
    label: str
    #: what identifies the weights (the cache key of the evaluation)
    key: str
    path: Path
    run_dir: Path | None = None
    run_config: RunConfig | None = None

    def load(self, context: RunContext) -> EvalModel:
        """The run's trained model through its trainer (base + adapter, rag's index), or the model."""
        from kinject.models import load_causal_lm

        if self.run_dir is not None and self.run_config is not None:
            trainer = context.plugins.create("trainer", self.run_config.strategy, self.run_config.trainer)
            handle: EvalModel = trainer.load_for_eval(load_run_result(self.run_dir), context)
            handle.label = self.label
            return handle
        model, tokenizer = load_causal_lm(self.path)
        model.eval()
        return EvalModel(model, tokenizer, self.label)


@dataclass
class EvalOutcome:
    """Metrics of one model on one eval set, and where they were written."""

    out_dir: Path
    target: EvalTarget
    metrics: dict[str, float]
    details: dict[str, Any]
    eval_set: dict[str, Any]
    cached: bool
    report: Path


def is_run_dir(path: Path) -> bool:
    return (path / RESULT_FILE).is_file() and (path / "manifest.json").is_file()


def load_run_result(run_dir: Path) -> Any:
    """The TrainResult of a finished run (``model/result.json``)."""
    path = run_dir / RESULT_FILE
    if not path.is_file():
        raise ConfigError("no trained model here (model/result.json is missing): run the training first", source=str(run_dir))
    return load_result(path, run_dir)


def run_config(run_dir: Path) -> RunConfig:
    """The resolved recipe a run was made with, from its manifest."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise ConfigError("not a run directory (no manifest.json)", source=str(run_dir))
    data = json.loads(path.read_text(encoding="utf-8")).get("config") or {}
    return build_config({**data, "run_dir": str(run_dir)}, source=str(path))


def eval_target(spec: str) -> EvalTarget:
    """A run directory, an alias, a model directory, a ``.gguf`` file or a cached hub id."""
    from kinject.models import resolve_model

    path = Path(spec).expanduser()
    if path.is_dir() and is_run_dir(path):
        config = run_config(path)
        result = load_run_result(path)
        key = fingerprint(str(result.model_dir), result.metrics)
        return EvalTarget(spec, _safe_label(path.resolve().name), key, Path(result.model_dir), path, config)
    resolved = resolve_model(spec)
    name = spec if not path.exists() else path.resolve().name
    return EvalTarget(spec, _safe_label(name), str(resolved.resolve()), resolved)


def _safe_label(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.replace("/", "--")).strip("-") or "model"


def eval_config(plugins: Plugins, target: EvalTarget, domain: str | None, evaluators: list[str] | None,
                settings: dict[str, Any]) -> tuple[RunConfig, DomainPack | None]:
    """The run's recipe (for a run directory) or the domain's, with the command's evaluators."""
    base = target.run_config.dump() if target.run_config else {}
    for volatile in ("run_dir", "runs_root"):  # the evaluation gets its own directory
        base.pop(volatile, None)
    domain = domain or base.get("domain")
    pack = require_domain(plugins, domain) if domain else None
    layers = [base if base else (pack.load_recipe() if pack else {}), settings, {"domain": domain}]
    if evaluators is not None:
        layers.append({"evaluators": evaluators, "forgetting": False})
    config = build_config(merge_recipe(*layers), source="inject eval")
    check_plugins(config, plugins, "inject eval")
    return config, pack


def eval_items_for(eval_set: Path | None, pack: DomainPack | None, explicit_domain: bool,
                   target: EvalTarget) -> tuple[list[EvalItem], dict[str, Any]]:
    """``--eval-set``, else the domain's questions (when named), else the run's, else the run's domain's."""
    run_file = target.run_dir / "eval_set.jsonl" if target.run_dir else None
    if eval_set is not None:
        if not eval_set.is_file():
            raise ConfigError("eval set not found", source=str(eval_set))
        items, origin, label = load_eval_items(eval_set), "file", f"your eval set {eval_set}"
    elif pack is not None and (explicit_domain or run_file is None or not run_file.is_file()):
        items, origin, label = load_eval_items(pack.eval), "pack", f"the {pack.name} pack's sample questions"
    elif run_file is not None and run_file.is_file():
        items, origin, label = load_eval_items(run_file), "run", f"the questions of run {target.run_dir}"
    else:
        raise ConfigError("no questions to ask: pass --eval-set FILE or --domain NAME", source="inject eval")
    return items, {"origin": origin, "label": f"{label}: {len(items)} questions", "questions": len(items)}


def eval_dir(config: RunConfig, target: EvalTarget, items: list[EvalItem]) -> Path:
    """``--run-dir``, else ``runs/eval-<label>-<hash of model, evaluators and questions>``."""
    if config.run_dir:
        return Path(config.run_dir)
    key = fingerprint(target.key, [s.model_dump() for s in config.evaluators], config.forgetting, [i.id for i in items])
    return Path(config.runs_root) / f"eval-{target.label}-{key[:8]}"


def evaluate_target(context: RunContext, target: EvalTarget) -> EvalOutcome:
    """Run the recipe's evaluators on one model; cached by model, evaluators and questions."""
    hook = context.plugins.pm.hook
    hook.stage_started(stage="evaluate", context=context)
    start = time.perf_counter()
    steps = evaluator_steps(context)
    fp = fingerprint("eval", target.key, [s.model_dump() for s in steps], [i.id for i in context.eval_items])
    path = context.run_dir / "evaluation" / f"{target.label}.json"
    saved = _cached(path, fp)
    cached = saved is not None
    if saved is None:
        built = [(step, context.plugins.create("evaluator", step.name, step.options)) for step in steps]
        for _, evaluator in built:
            evaluator.setup(context)
        metrics, details = run_evaluators(target.load(context), built, context)
        saved = _save(path, fp, metrics, details)
    stats = {"seconds": round(time.perf_counter() - start, 2), "evaluators": [s.name for s in steps], "skipped": cached}
    manifest = Manifest(context.run_dir / "manifest.json")
    manifest.start(context.run_dir.name, context.config.dump(), _plugin_versions(context.plugins))
    manifest.set("evaluated_model", {"spec": target.spec, "label": target.label, "path": str(target.path)})
    manifest.set("eval_set", context.eval_origin)
    manifest.stage("evaluate", stats)
    manifest.set("headline", {k: {"value": v} for k, v in saved["metrics"].items() if k in HEADLINE_KEYS})
    manifest.set("status", "evaluated")
    outcome = EvalOutcome(context.run_dir, target, saved["metrics"], saved["details"], context.eval_origin, cached,
                          context.run_dir / "report.md")
    outcome.report.write_text(render_eval_report(outcome), encoding="utf-8")
    hook.stage_finished(stage="evaluate", context=context, stats=stats)
    return outcome


HEADLINE_KEYS = ("knowledge-qa.accuracy", "retention.accuracy", "rubric.score")


def metric_line(key: str, metrics: dict[str, float]) -> str:
    """``knowledge-qa.accuracy: 50.0% (2 questions; 95% interval 9.5-90.5%)``."""
    from kinject.report import fmt

    value = metrics[key]
    n = metrics.get(key.rsplit(".", 1)[0] + ".n")
    if not n or not key.endswith("accuracy"):
        return f"{key}: {fmt(key, value)}"
    low, high = wilson_interval(round(value * n), int(n))
    return f"{key}: {fmt(key, value)} ({int(n)} questions; 95% interval {low * 100:.1f}–{high * 100:.1f}%)"


def render_eval_report(outcome: EvalOutcome) -> str:
    """``report.md`` of one model's evaluation: headline lines, then every metric."""
    from kinject.report import fmt

    metrics, target = outcome.metrics, outcome.target
    out = [f"# kinject evaluation of `{target.label}`", "", f"Model **{target.spec}** ({target.path}).",
           f"Questions: {outcome.eval_set.get('label', '–')}.", ""]
    out += [f"- {metric_line(k, metrics)}" for k in HEADLINE_KEYS if k in metrics] + [""]
    out += ["## Metrics", "", "| metric | value |", "|---|---|"]
    keys = sorted((k for k in metrics if not k.endswith(".n")), key=lambda k: (k.count("."), k))
    out += [f"| {k} | {fmt(k, metrics[k])} |" for k in keys]
    failed = {name: d["error"] for name, d in outcome.details.items() if isinstance(d, dict) and "error" in d}
    if failed:
        out += ["", "## Evaluators that failed", ""] + [f"- **{name}**: {error}" for name, error in failed.items()]
    out += ["", f"Per-question results are in `evaluation/{target.label}.json`."]
    return "\n".join(out) + "\n"


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
    pack = plugins.domains().get(config.domain).obj if config.domain and config.domain in plugins.domains() else None
    context = RunContext(run_dir=run_dir, config=config, plugins=plugins, domain=pack, show_progress=False)
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


def ingest_paths(paths: list[str], plugins: Plugins, config: RunConfig, work_dir: Path | None = None,
                 show_progress: bool = True) -> IngestOutcome:
    """The sources alone on ``paths``; nothing is written next to the inputs.

    Quarantine goes to ``work_dir`` (kept, with the records as ``ingest.jsonl``) or to a temporary
    directory that is removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="kinject-ingest-") as tmp:
        run_dir = work_dir or Path(tmp)
        run_dir.mkdir(parents=True, exist_ok=True)
        context = RunContext(run_dir=run_dir, config=config, plugins=plugins, show_progress=show_progress)
        quarantine = context.quarantine.path
        seen_lines = len(quarantine.read_text(encoding="utf-8").splitlines()) if quarantine.exists() else 0
        stats = IngestStats()
        records = list(ingest(paths, context, stats))
        lines = quarantine.read_text(encoding="utf-8").splitlines()[seen_lines:] if quarantine.exists() else []
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
        summary = files.setdefault(uri, FileSummary(uri, record.lineage[0] if record.lineage else ""))
        summary.records += 1
        summary.chars += len(record.text)
        if record.source.get("page") is not None:
            pages[uri].add(record.source["page"])
    for uri, summary in files.items():
        summary.pages = len(pages[uri])
    return list(files.values())


def ingest_config(settings: dict[str, Any], recipe: dict[str, Any], corpus: list[str]) -> RunConfig:
    """Only the ``sources`` block of a recipe matters to ingestion; the rest is not checked."""
    layers = merge_recipe({"sources": recipe.get("sources") or {}}, {"sources": settings.get("sources") or {}})
    return build_config({**layers, "corpus": corpus}, source="inject ingest")


def reason_counts(quarantined: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(str(q.get("reason", "")) for q in quarantined))
