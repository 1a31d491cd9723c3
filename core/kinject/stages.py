"""Persisted stages: a stage's output is kept with a fingerprint and reloaded when it matches.

Each stage writes ``data/<stage>.jsonl`` plus a fingerprint of its inputs and config; a re-run
with the same fingerprint loads the output instead of recomputing it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinject.records import Record, read_jsonl, write_jsonl


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

    def save(self, stage: str, fp: str, records: Iterable[Record], stats: dict[str, Any]) -> StageOutput:
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
        cached = self.load(stage, fp)
        if cached is not None:
            return cached
        start = time.perf_counter()
        records, stats = compute()
        records = list(records)
        stats = {**stats, "seconds": round(time.perf_counter() - start, 3)}
        return self.save(stage, fp, records, stats)
