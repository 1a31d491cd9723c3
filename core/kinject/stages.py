"""The stage runner: every stage of a run (data, split, train, evaluate, export) in one shape.

:meth:`StageRunner.run` fires ``stage_started``, asks the stage's cache for a result made from
the same fingerprint (:func:`cached`, the one place that decides "cached?"), computes and saves
it otherwise, writes the stage's entry and its time to the manifest and fires
``stage_finished`` with the same stats. A cache is anything with ``load(fp)`` / ``save(fp,
value)``: :class:`RecordsCache` for the data stages (``data/<stage>.jsonl`` plus a done-marker),
:class:`JsonCache` for an evaluation (``evaluation/<label>.json``), and the training's
``model/result.json`` (``pipeline.ResultCache``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kinject.records import Record, read_jsonl, write_jsonl

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.manifest import Manifest

T = TypeVar("T")

#: every stage a run goes through, in order, by the name its hooks and manifest entry carry
#: (``eval_questions`` only when the questions are built from a user's corpus); the list in
#: docs/plugins/hooks.md is checked against it, and a run's stages against it
STAGES: tuple[str, ...] = (
    "sources",
    "cleaners",
    "chunk",
    "eval_questions",
    "eval_set",
    "augmenters",
    "split",
    "train",
    "evaluate",
    "export",
)


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-serialisable parts."""
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash of one input file (recorded in the manifest)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]


class Cache(Protocol[T]):
    """Where a stage keeps its result, keyed by the fingerprint of what it was made from."""

    def load(self, fp: str) -> T | None:
        """The result saved under ``fp``; None when there is none (or another fingerprint's)."""

    def save(self, fp: str, value: T) -> T:
        """Keep ``value`` under ``fp`` and return it as a later :meth:`load` would."""


def cached(cache: Cache[T] | None, fp: str, compute: Callable[[], T]) -> tuple[T, bool]:
    """``(value, True)`` when ``cache`` holds a result for ``fp``; else compute, save, ``False``."""
    if cache is not None and fp:
        found = cache.load(fp)
        if found is not None:
            return found, True
    value = compute()
    return (cache.save(fp, value) if cache is not None and fp else value), False


#: a stage's manifest entry (and ``stage_finished`` stats) from its value, whether it was
#: loaded from its cache, and the seconds the stage took
StatsOf = Callable[[T, bool, float], dict[str, Any]]


class StageRunner:
    """Runs the stages of one run: hooks, cache by fingerprint, manifest entry, timing."""

    def __init__(self, context: RunContext, manifest: Manifest) -> None:
        self.context = context
        self.manifest = manifest

    def run(
        self,
        name: str,
        compute: Callable[[], T],
        stats: StatsOf[T],
        *,
        fp: str = "",
        cache: Cache[T] | None = None,
        entry: str = "",
    ) -> T:
        """Run (or load) stage ``name`` and return its value.

        ``entry``: the manifest key the stats go to instead of ``stages.<name>`` (the eval set).
        """
        hook = self.context.plugins.pm.hook
        hook.stage_started(stage=name, context=self.context)
        start = time.perf_counter()
        value, skipped = cached(cache, fp, compute)
        seconds = round(time.perf_counter() - start, 3)
        shown = stats(value, skipped, seconds)
        if entry:
            self.manifest.set(entry, shown)
        else:
            self.manifest.stage(name, shown)
        self.manifest.timing(name, seconds)
        hook.stage_finished(stage=name, context=self.context, stats=shown)
        return value


# -- data stages: records in data/<stage>.jsonl ----------------------------------------------------


@dataclass
class StageOutput:
    """A stage's records plus what the manifest records about it."""

    records: list[Record]
    fingerprint: str
    stats: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


class StageStore:
    """Reads and writes stage outputs under ``<run_dir>/data``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def _paths(self, stage: str) -> tuple[Path, Path]:
        return self.data_dir / f"{stage}.jsonl", self.data_dir / f"{stage}.done.json"

    def load(self, stage: str, fp: str) -> StageOutput | None:
        """The stored output if it exists and was made from the same fingerprint."""
        data, done = self._paths(stage)
        if not (data.exists() and done.exists()):
            return None
        meta = json.loads(done.read_text(encoding="utf-8"))
        if meta.get("fingerprint") != fp:
            return None
        return StageOutput(list(read_jsonl(data)), fp, meta.get("stats", {}), skipped=True)

    def save(
        self, stage: str, fp: str, records: Iterable[Record], stats: dict[str, Any]
    ) -> StageOutput:
        """Write records then the done-marker (so a crash never leaves a 'finished' stage)."""
        data, done = self._paths(stage)
        kept = list(records)
        write_jsonl(data, kept)
        stats = {**stats, "records": len(kept)}
        tmp = done.with_name(done.name + ".partial")
        tmp.write_text(json.dumps({"fingerprint": fp, "stats": stats}, indent=2), encoding="utf-8")
        tmp.replace(done)
        return StageOutput(kept, fp, stats)

    def run(
        self, stage: str, fp: str, compute: Callable[[], tuple[Iterable[Record], dict[str, Any]]]
    ) -> StageOutput:
        """Load the stage if current, else compute and save it; timing goes into stats."""
        return cached(RecordsCache(self, stage), fp, timed_records(compute))[0]


@dataclass
class RecordsCache:
    """The :class:`Cache` of one data stage: its records in a :class:`StageStore`."""

    store: StageStore
    stage: str

    def load(self, fp: str) -> StageOutput | None:
        return self.store.load(self.stage, fp)

    def save(self, fp: str, value: StageOutput) -> StageOutput:
        return self.store.save(self.stage, fp, value.records, value.stats)


def timed_records(
    compute: Callable[[], tuple[Iterable[Record], dict[str, Any]]],
) -> Callable[[], StageOutput]:
    """A data stage's computation, its seconds in its stats (kept with the records)."""

    def run() -> StageOutput:
        start = time.perf_counter()
        records, stats = compute()
        kept = list(records)
        return StageOutput(kept, "", {**stats, "seconds": round(time.perf_counter() - start, 3)})

    return run


# -- evaluations: one JSON file each ---------------------------------------------------------------


@dataclass
class JsonCache:
    """The :class:`Cache` of one evaluation: ``{"fingerprint", **value}`` in a JSON file."""

    path: Path

    def load(self, fp: str) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and data.get("fingerprint") == fp else None

    def save(self, fp: str, value: dict[str, Any]) -> dict[str, Any]:
        data = {"fingerprint": fp, **{k: v for k, v in value.items() if k != "fingerprint"}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.path)  # replaced whole: a kill never leaves half an evaluation
        return data
