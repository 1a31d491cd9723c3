"""The Record: the one data type that flows between data stages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RECORD_KINDS = ("document", "qa", "preference", "passage")


def content_hash(*parts: str) -> str:
    """A short, stable hash of text parts (used for Record ids and fingerprints)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


@dataclass
class Record:
    """A piece of text with where it came from and who touched it.

    ``kind`` is ``document`` (source text), ``qa`` (``meta['question']``/``meta['answer']``),
    ``preference`` (``meta['prompt']``/``meta['chosen']``/``meta['rejected']``) or ``passage``.
    ``source`` holds at least ``uri``, plus ``page``/``offset``/``row`` where they apply.
    ``lineage`` lists the plugins that made or changed the Record, oldest first.
    """

    text: str
    kind: str = "document"
    source: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    lineage: list[str] = field(default_factory=list)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = self.compute_id()

    def compute_id(self) -> str:
        """Content hash of kind, text and source location: stable across re-runs."""
        where = json.dumps(self.source, sort_keys=True, default=str)
        return content_hash(self.kind, self.text, where)

    def derive(self, text: str, plugin: str, **changes: Any) -> Record:
        """A new Record made from this one by ``plugin`` (new id, lineage extended)."""
        meta = {**self.meta, **changes.pop("meta", {})}
        return Record(
            text=text,
            kind=changes.pop("kind", self.kind),
            source=changes.pop("source", dict(self.source)),
            meta=meta,
            lineage=[*self.lineage, plugin],
        )

    def with_text(self, text: str, plugin: str) -> Record:
        """The same Record with changed text (keeps its id so lineage stays traceable)."""
        return Record(
            text=text,
            kind=self.kind,
            source=self.source,
            meta=self.meta,
            lineage=[*self.lineage, plugin],
            id=self.id,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(
            **{k: data[k] for k in ("text", "kind", "source", "meta", "lineage", "id") if k in data}
        )


@dataclass
class Rejected:
    """A Record a plugin dropped, with the reason code (e.g. ``near_duplicate``)."""

    record: Record
    reason: str
    plugin: str = ""
    detail: str = ""


def write_jsonl(path: Path, records: Iterable[Record]) -> int:
    """Write Records atomically (temp file then rename); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec.to_dict(), ensure_ascii=False) + "\n")
                n += 1
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk gets its space back; no half file is left
        raise
    tmp.replace(path)
    return n


def read_jsonl(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield Record.from_dict(json.loads(line))
