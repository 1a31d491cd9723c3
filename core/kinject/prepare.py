"""The data stages: sources -> cleaners -> chunk -> eval set -> augmenters -> split (+
decontamination).

Each stage is persisted with a fingerprint, so a re-run of the same recipe skips finished stages,
and ``inject compare`` prepares the data once for every strategy.
"""

from __future__ import annotations

import glob
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinject.chunk_stage import (
    TokenBudget,
    chunk_stage,
    fit_records,
    make_budget,
    trainer_max_length,
)
from kinject.context import RunContext
from kinject.errors import ConfigError, InputError
from kinject.eval_set import (
    EVAL_SET_FILE,
    EvalSetChoice,
    build_questions,
    corpus_eval_set,
    fixed_eval_set,
    write_eval_set,
)
from kinject.manifest import Manifest
from kinject.records import Record, Rejected
from kinject.stages import (
    RecordsCache,
    StageOutput,
    StageRunner,
    StageStore,
    file_digest,
    fingerprint,
    timed_records,
)


@dataclass
class PreparedData:
    """Training and held-out records, plus the fingerprint that identifies them."""

    train: list[Record]
    eval: list[Record]
    fingerprint: str
    stats: dict[str, Any] = field(default_factory=dict)


def corpus_entries(context: RunContext) -> list[str]:
    """The recipe's corpus, or the domain pack's sample corpus; missing paths are an error."""
    entries = list(context.config.corpus)
    if not entries and context.domain is not None:
        entries = [str(context.domain.corpus)]
    if not entries:
        raise ConfigError(
            "no corpus: pass --corpus PATH or --domain NAME (its sample corpus is used)"
        )
    missing = [e for e in entries if "://" not in e and not Path(e).exists() and not glob.glob(e)]
    if missing:
        raise ConfigError([f"corpus path not found: {m}" for m in missing], source="corpus")
    return entries


def input_hashes(entries: list[str]) -> dict[str, str]:
    """Content hashes of every corpus file (URIs are recorded as given)."""
    hashes: dict[str, str] = {}
    for entry in entries:
        if "://" in entry:
            hashes[entry] = "uri"
            continue
        path = Path(entry)
        files = (
            sorted(p for p in path.rglob("*") if p.is_file())
            if path.is_dir()
            else ([path] if path.is_file() else [Path(p) for p in sorted(glob.glob(entry))])
        )
        for f in files:
            hashes[str(f)] = file_digest(f)
    return hashes


def prepare_data(context: RunContext, manifest: Manifest) -> PreparedData:
    """Run (or load) every data stage and return the train/eval split."""
    store = StageStore(context.data_dir)
    config = context.config
    entries = corpus_entries(context)
    hashes = input_hashes(entries)
    manifest.set("inputs", hashes)
    versions = {i.name: i.version for i in context.plugins.info.values()}

    fp = fingerprint("sources", hashes, config.sources, versions)
    sources = _run(context, manifest, store, "sources", fp, lambda: _ingest(entries, context))
    if not sources.records:
        raise InputError("empty_corpus", _empty_message(entries, sources.stats))

    fp = fingerprint("cleaners", fp, [s.model_dump() for s in config.cleaners])
    cleaned = _run(
        context, manifest, store, "cleaners", fp, lambda: _clean(sources.records, context, fp)
    )
    if not cleaned.records:
        raise InputError(
            "empty_corpus", "every record was dropped by the cleaners (see quarantine.jsonl)"
        )

    budget = _LazyBudget(context)
    fp = fingerprint(
        "chunk",
        fp,
        config.chunk.model_dump(),
        config.base_model,
        trainer_max_length(config, context.plugins),
    )
    chunked = _run(
        context,
        manifest,
        store,
        "chunk",
        fp,
        lambda: chunk_stage(cleaned.records, config, budget.get()),
    )

    _eval_set_stage(context, manifest, store, fp, chunked.records)

    fp = fingerprint(
        "augmenters", fp, [s.model_dump() for s in config.augmenters], config.augment, config.seed
    )
    augmented = _run(
        context, manifest, store, "augmenters", fp, lambda: _augment(chunked.records, context)
    )

    eval_ids = sorted(item.id for item in context.eval_items)
    fp = fingerprint("split", fp, eval_ids, config.holdout_fraction, config.decontaminate)
    originals = {r.id for r in chunked.records}
    train, held = _split_stage(context, manifest, store, fp, augmented.records, originals, budget)
    stats = {
        s: o.stats
        for s, o in (
            ("sources", sources),
            ("cleaners", cleaned),
            ("chunk", chunked),
            ("augmenters", augmented),
            ("split", train),
        )
    }
    return PreparedData(train.records, held.records, fp, stats)


class _LazyBudget:
    """The tokenizer is loaded only when a stage that needs it actually runs (not when cached)."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.budget: TokenBudget | None = None

    def get(self) -> TokenBudget:
        if self.budget is None:
            self.budget = make_budget(self.context.config, self.context.plugins)
        return self.budget


def _eval_set_stage(
    context: RunContext, manifest: Manifest, store: StageStore, fp: str, passages: list[Record]
) -> None:
    """Choose (or build from the corpus) the questions the run is measured on; write them out."""
    choice = fixed_eval_set(context)
    if choice is None:
        settings = context.config.eval_questions.model_dump()
        fp = fingerprint("eval_set", fp, settings, context.config.seed)
        built = _run(
            context,
            manifest,
            store,
            "eval_questions",
            fp,
            lambda: build_questions(context, passages),
        )
        choice = corpus_eval_set(context, built.records)

    def write() -> EvalSetChoice:
        context.eval_items = choice.items
        context.eval_origin = choice.stats()
        write_eval_set(context.run_dir / EVAL_SET_FILE, choice.items)
        return choice

    runner = StageRunner(context, manifest)
    runner.run("eval_set", write, lambda chosen, _, __: chosen.stats(), entry="eval_set")


def _run(
    context: RunContext,
    manifest: Manifest,
    store: StageStore,
    stage: str,
    fp: str,
    compute: Any,
    name: str | None = None,
) -> StageOutput:
    """One cached data stage; ``stage`` names its stored output, ``name`` (default the same) the
    stage in the manifest and the hooks."""
    name = name or stage
    before = Counter(context.quarantine.counts)
    timed = timed_records(compute)

    def computed() -> StageOutput:
        context.quarantine.restart(name)  # what an interrupted earlier attempt quarantined goes
        try:
            return timed()
        finally:
            context.quarantine.stage = ""

    def stats(out: StageOutput, skipped: bool, _: float) -> dict[str, Any]:
        out.skipped = skipped
        if not skipped:
            new = context.quarantine.counts - before
            if new:
                out.stats["quarantined"] = dict(new)
        return {**out.stats, "skipped": skipped, "fingerprint": fp}

    runner = StageRunner(context, manifest)
    return runner.run(name, computed, stats, fp=fp, cache=RecordsCache(store, stage))


def _empty_message(entries: list[str], stats: dict[str, Any]) -> str:
    where = ", ".join(entries)
    quarantined = stats.get("quarantined") or {}
    why = (
        f" ({sum(quarantined.values())} inputs quarantined: {dict(quarantined)})"
        if quarantined
        else ""
    )
    return f"corpus {where} produced no records{why}"


def _ingest(entries: list[str], context: RunContext) -> tuple[list[Record], dict[str, Any]]:
    from kinject.ingest import ingest

    records = list(ingest(entries, context))
    by_source = Counter(str(r.lineage[0]) if r.lineage else "unknown" for r in records)
    return records, {"by_source": dict(by_source)}


def _drop_rejected(
    stream: Iterable[Record | Rejected], context: RunContext, name: str, counts: Counter[str]
) -> Iterator[Record]:
    for item in stream:
        if isinstance(item, Rejected):
            counts[item.reason] += 1
            uri = str(item.record.source.get("uri", ""))
            context.quarantine.add(item.plugin or name, item.reason, item.detail, uri, item.record)
        else:
            yield item


def _clean(
    records: list[Record], context: RunContext, fp: str
) -> tuple[list[Record], dict[str, Any]]:
    from kinject.runners import make_runner

    per_cleaner: dict[str, Counter[str]] = {}
    cleaners = []
    for step in context.config.cleaners:
        cleaners.append(context.plugins.create("cleaner", step.name, step.options))
        cleaners[-1].setup(context)
        per_cleaner[step.name] = Counter()
    # the runner (runner: local or ray) decides where the cleaners run, shard by shard
    with make_runner(context.config) as runner:
        stream = runner.clean(records, cleaners, context.data_dir / "cleaners.shards", fp)
        items = context.progress(stream, "cleaning", total=len(records))
        kept = list(_kept(items, context, per_cleaner))
    dropped = {name: dict(c) for name, c in per_cleaner.items() if c}
    return kept, {"input": len(records), "dropped": dropped}


def _kept(
    items: Iterable[Record | Rejected], context: RunContext, counts: dict[str, Counter[str]]
) -> Iterator[Record]:
    """The Records; each Rejected is counted under the cleaner that names itself in it, and
    quarantined.
    """
    for item in items:
        if isinstance(item, Rejected):
            counts.setdefault(item.plugin, Counter())[item.reason] += 1
            context.quarantine.add(
                item.plugin,
                item.reason,
                item.detail,
                str(item.record.source.get("uri", "")),
                item.record,
            )
        else:
            yield item


def _augment(records: list[Record], context: RunContext) -> tuple[list[Record], dict[str, Any]]:
    from kinject.runners.augment import augment_records

    current = list(records)
    produced: dict[str, Any] = {}
    for step in context.config.augmenters:
        augmenter = context.plugins.create("augmenter", step.name, step.options)
        augmenter.setup(context)
        # the runner decides where: here, or on Ray by document (``per_document`` augmenters)
        stream, where = augment_records(augmenter, current, context.config)
        new = list(context.progress(stream, f"augmenting: {step.name}"))
        current.extend(new)
        produced[step.name] = {"records": len(new), **augmenter.stats}
        if where:
            produced[step.name]["runs_on"] = where
    kinds = Counter(r.kind for r in current)
    # what each augmenter's filters dropped, shown like a cleaner's drops
    dropped = {
        name: dict(stats["dropped"])
        for name, stats in produced.items()
        if isinstance(stats.get("dropped"), dict) and stats["dropped"]
    }
    return current, {
        "input": len(records),
        "produced": produced,
        "kinds": dict(kinds),
        "dropped": dropped,
    }


def _split_stage(
    context: RunContext,
    manifest: Manifest,
    store: StageStore,
    fp: str,
    records: list[Record],
    originals: set[str],
    budget: _LazyBudget,
) -> tuple[StageOutput, StageOutput]:
    """One stage with two outputs: ``train`` and ``eval``."""
    held: dict[str, StageOutput] = {}

    def compute() -> tuple[list[Record], dict[str, Any]]:
        counts: Counter[str] = Counter()
        fitted = list(
            _drop_rejected(
                fit_records(records, context.config, budget.get(), counts), context, "chunk", counts
            )
        )
        train, evaluation, stats = _split(fitted, originals, context)
        stats["fitted"] = dict(counts)
        held["eval"] = store.save("eval", fp, evaluation, {})
        return train, {**stats, "eval_records": len(evaluation)}

    # stored as data/train.jsonl (what a launched training reads), reported as the split stage
    train = _run(context, manifest, store, "train", fp, compute, name="split")
    evaluation = held.get("eval") or store.load("eval", fp) or StageOutput([], fp)
    return train, evaluation


def _split(
    records: list[Record], originals: set[str], context: RunContext
) -> tuple[list[Record], list[Record], dict[str, Any]]:
    """Decontaminate against the eval set, then hold out a fraction of augmented records."""
    config = context.config
    stats: dict[str, Any] = {}
    if (
        config.decontaminate
        and context.eval_items
        and "decontaminate" in context.plugins.registry("cleaner")
    ):
        # questions built from the corpus restate its sentences: the passages stay (their facts
        # are what is learned), only training questions that share the phrasing are dropped
        built = context.eval_origin.get("origin") == "corpus"
        cleaner = context.plugins.create(
            "cleaner", "decontaminate", {"kinds": ["qa", "preference"]} if built else {}
        )
        cleaner.setup(context)
        counts: Counter[str] = Counter()
        records = list(_drop_rejected(cleaner.apply(records), context, "decontaminate", counts))
        stats["contaminated_dropped"] = sum(counts.values())
    rng = random.Random(config.seed)
    derived = [r for r in records if r.id not in originals]
    n_hold = int(len(derived) * config.holdout_fraction)
    held_ids = {r.id for r in rng.sample(derived, n_hold)} if n_hold else set()
    train = [r for r in records if r.id not in held_ids]
    evaluation = [r for r in records if r.id in held_ids]
    rng.shuffle(train)
    return train, evaluation, stats
