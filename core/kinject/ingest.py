"""Ingestion: a corpus (files, folders, globs, ``scheme://`` URIs) in, Records out.

``ingest(corpus, context)`` expands every corpus entry, routes each file to the source that reads
it (``Source.matches`` and ``Source.priority``), parses it in a worker process with a time limit
and yields the Records in a deterministic order: corpus order, then sorted paths, then the order
the source produced. A file that cannot be read goes to quarantine with a reason code and the rest
of the batch carries on; a corpus entry that does not exist is a :class:`ConfigError`.

Settings live under ``sources.ingest`` in a recipe (see :class:`IngestOptions`); each source's own
options under ``sources.<name>``.
"""

from __future__ import annotations

import glob
import os
import time
from collections import Counter
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kinject.errors import ConfigError, PluginError
from kinject.ingest_worker import (
    Outcome,
    PagedSource,
    Task,
    WorkerPool,
    merge_parts,
    parse,
    report_issue,
)
from kinject.records import Record

if TYPE_CHECKING:
    from kinject.components import Source
    from kinject.config import RunConfig
    from kinject.context import RunContext

__all__ = ["IngestOptions", "IngestStats", "Planned", "ingest", "plan", "report_issue"]

#: the key under ``sources`` that holds ingestion settings rather than a source's options
SETTINGS_KEY = "ingest"
_GLOB_CHARS = frozenset("*?[")


class IngestOptions(BaseModel):
    """Ingestion settings (``sources.ingest`` in a recipe)."""

    model_config = ConfigDict(extra="forbid")

    #: worker processes that parse files; 0 parses in this process (no time limit)
    workers: int = Field(default_factory=lambda: min(2, os.cpu_count() or 1), ge=0)
    #: seconds one file may take before its worker is stopped (reason ``timeout``)
    timeout_s: float = Field(default=600.0, gt=0)
    #: bigger files are refused (reason ``file_too_large``)
    max_file_mb: float = Field(default=512.0, gt=0)
    #: resident memory of each worker in MiB (0 = no limit); a parse over it is stopped alone
    #: (reason ``out_of_memory``); not enforced with ``workers: 0``
    max_memory_mb: int = Field(default=2048, ge=0)
    #: walk into hidden files and folders (``.git``, ``.DS_Store``) when expanding folders
    include_hidden: bool = False
    #: extra routing: file suffix -> source name, e.g. ``{".log": "text"}``
    route: dict[str, str] = Field(default_factory=dict)


@dataclass
class Planned:
    """One input of the corpus: a URI and the source that reads it, or why it is refused."""

    uri: str
    source: str = ""
    reason: str = ""
    detail: str = ""


@dataclass
class SourceStats:
    """Counters of one source over an ingestion run."""

    files: int = 0
    failed: int = 0
    records: int = 0
    #: distinct pages the Records name in ``source.page``; 0 for sources without pages
    pages: int = 0
    parse_seconds: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class IngestStats:
    """What an ingestion run did; fill one by passing it to :func:`ingest`."""

    sources: dict[str, SourceStats] = field(default_factory=dict)
    quarantined: Counter[str] = field(default_factory=Counter)
    skipped_hidden: int = 0
    #: Records already yielded from another corpus entry (same source location, same text)
    duplicates: int = 0
    seconds: float = 0.0

    def source(self, name: str) -> SourceStats:
        return self.sources.setdefault(name, SourceStats())

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": {k: vars(v) for k, v in sorted(self.sources.items())},
            "quarantined": dict(sorted(self.quarantined.items())),
            "skipped_hidden": self.skipped_hidden,
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 3),
        }


def ingest(
    corpus: list[str], context: RunContext, stats: IngestStats | None = None
) -> Iterator[Record]:
    """Yield the Records of every input in ``corpus``; bad inputs go to quarantine.

    :raises ConfigError: a corpus entry does not exist, or source options are invalid.
    :raises MissingDependencyError: a source needed by the corpus lacks a package or a program.
    """
    stats = stats if stats is not None else IngestStats()
    settings, sources = _load_sources(context)
    planned = plan(corpus, sources, settings, stats)
    for name in sorted({p.source for p in planned if p.source and not p.reason}):
        sources[name].setup(context)
    start = time.perf_counter()
    seen: set[str] = set()
    on_ray = context.config if context.config.runner == "ray" else None
    outcomes = _in_order(planned, sources, settings, on_ray)
    try:
        for item, outcome in context.progress(outcomes, "ingest", total=len(planned)):
            yield from _emit(item, outcome, context, stats, seen)
    finally:
        outcomes.close()  # stops the workers now when the caller stops early, not at GC
        stats.seconds += time.perf_counter() - start


def _load_sources(context: RunContext) -> tuple[IngestOptions, dict[str, Source]]:
    """Validate ``sources.*`` at once; every registered source is instantiated."""
    config = dict(context.config.sources)
    problems: list[str] = []
    raw = config.pop(SETTINGS_KEY, None) or {}
    settings = IngestOptions()
    try:
        settings = IngestOptions(**raw)
    except ValidationError as exc:
        problems += _validation_problems(exc, SETTINGS_KEY)
    registry = context.plugins.registry("source")
    for name in sorted(set(config) - set(registry.names())):
        problems.append(f"{name}: {registry.unknown_message(name)}")
    sources: dict[str, Source] = {}
    for name in registry.names():
        try:
            sources[name] = context.plugins.create("source", name, config.get(name) or {})
        except ValidationError as exc:
            problems += _validation_problems(exc, name)
    route: dict[str, Any] = raw["route"] if isinstance(raw.get("route"), dict) else {}
    for suffix, name in sorted(route.items()):
        if name not in registry:
            problems.append(f"{SETTINGS_KEY}.route.{suffix}: {registry.unknown_message(name)}")
    if problems:
        raise ConfigError(problems, source="sources")
    return settings, sources


def _validation_problems(exc: ValidationError, where: str) -> list[str]:
    return [f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


# -- planning -----------------------------------------------------------------------------------


def plan(
    corpus: list[str],
    sources: dict[str, Source],
    settings: IngestOptions,
    stats: IngestStats | None = None,
) -> list[Planned]:
    """Expand corpus entries into inputs, each routed to a source or refused with a reason."""
    stats = stats if stats is not None else IngestStats()
    problems: list[str] = []
    seen: set[str] = set()
    planned: list[Planned] = []
    for entry in corpus:
        try:
            uris = _expand(entry, settings, stats)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        for uri in uris:
            key = uri if "://" in uri else str(Path(uri).resolve())
            if key not in seen:  # overlapping entries must not ingest a file twice
                seen.add(key)
                planned.append(_route(uri, sources, settings))
    if problems:
        raise ConfigError(problems, source="corpus")
    return planned


def _expand(entry: str, settings: IngestOptions, stats: IngestStats) -> list[str]:
    if entry.startswith("file://"):
        entry = entry[len("file://") :]
    if "://" in entry:
        return [entry]
    path = Path(os.path.expanduser(entry))
    if path.is_dir():
        return _walk(path, settings, stats)
    if path.is_file():
        return [os.path.abspath(path)]
    if _GLOB_CHARS & set(entry):
        matches = sorted(glob.glob(os.path.expanduser(entry), recursive=True))
        if not matches:
            raise ValueError(f"no file matches {entry!r}")
        out: list[str] = []
        for match in matches:
            m = Path(match)
            out += _walk(m, settings, stats) if m.is_dir() else [os.path.abspath(m)]
        return out
    raise ValueError(f"not found: {entry}")


def _walk(folder: Path, settings: IngestOptions, stats: IngestStats) -> list[str]:
    out: list[str] = []
    for root, dirs, files in os.walk(folder):
        hidden_dirs = [d for d in dirs if d.startswith(".")] if not settings.include_hidden else []
        dirs[:] = sorted(d for d in dirs if d not in hidden_dirs)
        stats.skipped_hidden += len(hidden_dirs)
        for name in sorted(files):
            if name.startswith(".") and not settings.include_hidden:
                stats.skipped_hidden += 1
                continue
            out.append(os.path.abspath(os.path.join(root, name)))
    return out


def _route(uri: str, sources: dict[str, Source], settings: IngestOptions) -> Planned:
    if "://" not in uri:
        refused = _check_file(uri, settings)
        if refused:
            return refused
    suffix = "" if "://" in uri else Path(uri).suffix.lower()
    if suffix and suffix in settings.route:
        return Planned(uri, source=settings.route[suffix])
    candidates = [s for s in sources.values() if s.matches(uri)]
    if not candidates:
        kind = f"'{uri.split('://', 1)[0]}://' URIs" if "://" in uri else _describe_suffix(suffix)
        detail = f"no source reads {kind}; map it with sources.ingest.route or install a plugin"
        return Planned(uri, reason="unsupported_type", detail=detail)
    best = max(candidates, key=lambda s: (s.priority, [-ord(c) for c in s.name]))
    return Planned(uri, source=best.name)


def _describe_suffix(suffix: str) -> str:
    return f"'{suffix}' files" if suffix else "files without a suffix"


def _check_file(uri: str, settings: IngestOptions) -> Planned | None:
    try:
        size = os.stat(uri).st_size
    except OSError as exc:
        return Planned(uri, reason="unreadable", detail=f"cannot stat the file: {exc.strerror}")
    if not os.access(uri, os.R_OK):
        return Planned(uri, reason="unreadable", detail="permission denied")
    if size == 0:
        return Planned(uri, reason="empty_file", detail="the file is empty (0 bytes)")
    if size > settings.max_file_mb * 1024 * 1024:
        detail = (
            f"{size / 2**20:.1f} MiB is over the limit of {settings.max_file_mb:g} MiB "
            "(sources.ingest.max_file_mb)"
        )
        return Planned(uri, reason="file_too_large", detail=detail)
    return None


# -- running ------------------------------------------------------------------------------------


def _in_order(
    planned: list[Planned],
    sources: dict[str, Source],
    settings: IngestOptions,
    on_ray: RunConfig | None = None,
) -> Generator[tuple[Planned, Outcome], None, None]:
    """Outcomes of every planned input in plan order, parsed in parallel where configured.

    With several workers a :class:`PagedSource` may split one input into parts (a long PDF read
    page-parallel); the parts' Outcomes are merged back into the input's one Outcome.
    """
    ready: dict[int, Outcome] = {
        i: Outcome(index=i, reason=p.reason, detail=p.detail)
        for i, p in enumerate(planned)
        if p.reason
    }
    lookahead = 4 * max(1, settings.workers)
    cursor = 0
    owner: dict[int, int] = {}  # task number -> index of its input in ``planned``
    expected: dict[int, int] = {}  # input index -> number of parts it was split into
    done: dict[int, list[Outcome]] = {}

    def tasks() -> Iterator[Task]:
        for i, p in enumerate(planned):
            if p.reason:
                continue
            source = sources[p.source]
            parts = _parts(source, p.uri, settings.workers)
            expected[i] = parts
            for part in range(parts):
                owner[len(owner)] = i
                yield len(owner) - 1, source, p.uri, ((part, parts) if parts > 1 else None)

    def drain() -> Iterator[tuple[Planned, Outcome]]:
        nonlocal cursor
        while cursor in ready:
            yield planned[cursor], ready.pop(cursor)
            cursor += 1

    def arrived(outcome: Outcome) -> None:
        i = owner[outcome.index]
        if expected[i] == 1:
            ready[i] = outcome
            outcome.index = i
            return
        done.setdefault(i, []).append(outcome)
        if len(done[i]) == expected[i]:
            parts = sorted(done.pop(i), key=lambda o: o.index)  # task numbers follow part order
            ready[i] = merge_parts(i, parts)

    if on_ray is not None:  # runner: ray: batches of inputs on Ray tasks
        from kinject.runners.ray_runner import parse_on_ray

        outcomes: Generator[Outcome, None, None] = parse_on_ray(tasks(), on_ray, settings)
    elif settings.workers == 0:
        outcomes = (parse(*task) for task in tasks())
    else:
        pool = WorkerPool(settings.workers, settings.timeout_s, settings.max_memory_mb)
        outcomes = pool.run(tasks(), can_submit=lambda t: owner[t] < cursor + lookahead)
    try:
        yield from drain()
        for outcome in outcomes:
            arrived(outcome)
            yield from drain()
        yield from drain()
    finally:
        outcomes.close()


def _parts(source: Source, uri: str, workers: int) -> int:
    """How many parts to parse ``uri`` in: one unless the source splits it and workers can share."""
    if workers < 2 or not isinstance(source, PagedSource):
        return 1
    return max(1, min(workers, source.parts(uri, workers)))


def _emit(
    item: Planned, outcome: Outcome, context: RunContext, stats: IngestStats, seen: set[str]
) -> Iterator[Record]:
    """Quarantine what went wrong with one input, count it, and yield its Records."""
    if outcome.fatal:
        # a package or program is missing: every other file of this kind would fail the same way
        raise PluginError(outcome.fatal)
    plugin = item.source or "ingest"
    for issue in outcome.issues:
        context.quarantine.add(plugin, issue.reason, issue.detail, issue.uri)
        stats.quarantined[issue.reason] += 1
    if outcome.reason:
        context.quarantine.add(plugin, outcome.reason, outcome.detail, item.uri)
        stats.quarantined[outcome.reason] += 1
    if not item.source:
        return
    counters = stats.source(item.source)
    counters.files += 1
    counters.failed += bool(outcome.reason)
    counters.parse_seconds += outcome.seconds
    counters.peak_rss_mb = max(counters.peak_rss_mb, outcome.peak_rss_mb)
    counters.pages += len(
        {r["source"]["page"] for r in outcome.records if r["source"].get("page") is not None}
    )
    counters.records += len(outcome.records)
    for data in outcome.records:
        if data["id"] in seen:  # the same text at the same location, reached twice
            stats.duplicates += 1
            continue
        seen.add(data["id"])
        yield Record.from_dict(data)
