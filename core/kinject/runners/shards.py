"""A data stage's records on disk in shards, each finished (and resumed) on its own.

A shard is ``<folder>/<step>/<n>.jsonl`` plus ``<n>.done.json``, which holds the fingerprint the
shard was made from and the digest of what it holds. A shard whose marker names the current
fingerprint is finished; any other is computed again. Each line is one Record, or one Record a
cleaner rejected (``reason``, ``plugin``, ``detail`` beside it), so a resumed stage still reports
and quarantines what its finished shards dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kinject.records import Record, Rejected

Item = Record | Rejected


@dataclass(frozen=True)
class Shard:
    """One finished shard: where it is and the digest of its content."""

    path: Path
    digest: str

    def items(self) -> Iterator[Item]:
        """Every line, in order: kept Records and Rejected ones."""
        return read_items(self.path)

    def records(self) -> Iterator[Record]:
        """The kept Records only (the input of the next step)."""
        return (i for i in self.items() if isinstance(i, Record))


def item_line(item: Item) -> str:
    if isinstance(item, Rejected):
        row = {
            "record": item.record.to_dict(),
            "reason": item.reason,
            "plugin": item.plugin,
            "detail": item.detail,
        }
    else:
        row = {"record": item.to_dict()}
    return json.dumps(row, ensure_ascii=False) + "\n"


def read_items(path: Path) -> Iterator[Item]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            record = Record.from_dict(row["record"])
            if "reason" in row:
                yield Rejected(record, row["reason"], row.get("plugin", ""), row.get("detail", ""))
            else:
                yield record


def write_shard(path: Path, fp: str, items: Iterable[Item]) -> Shard:
    """Write the shard then its done-marker (a kill in between leaves it unfinished)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for item in items:
                line = item_line(item)
                h.update(line.encode("utf-8"))
                f.write(line)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    digest = h.hexdigest()[:16]
    marker = _marker(path)
    partial = marker.with_name(marker.name + ".partial")
    partial.write_text(json.dumps({"fingerprint": fp, "digest": digest}), encoding="utf-8")
    partial.replace(marker)
    return Shard(path, digest)


def finished(path: Path, fp: str) -> Shard | None:
    """The shard at ``path`` if it was finished from fingerprint ``fp``."""
    marker = _marker(path)
    if not (path.exists() and marker.exists()):
        return None
    meta = json.loads(marker.read_text(encoding="utf-8"))
    return Shard(path, meta["digest"]) if meta.get("fingerprint") == fp else None


def _marker(path: Path) -> Path:
    return path.with_name(path.stem + ".done.json")


def shard_path(folder: Path, step: str, index: int) -> Path:
    return folder / step / f"{index:05d}.jsonl"


def split_records(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Consecutive groups of about ``size`` Records, cut only where the document changes.

    The pages of one document (same ``source.uri``, each with a ``page``) stay in one shard, so a
    cleaner that looks at a document's pages together (``normalize``'s headers) sees the same
    groups in any shard.
    """
    group: list[Record] = []
    for record in records:
        if len(group) >= size and not _same_document(group[-1], record):
            yield group
            group = []
        group.append(record)
    if group:
        yield group


def _same_document(a: Record, b: Record) -> bool:
    uri = a.source.get("uri")
    return bool(uri) and uri == b.source.get("uri") and "page" in a.source and "page" in b.source
