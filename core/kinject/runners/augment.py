"""Where an augmenter runs: in this process, or on Ray one group of whole documents per task.

An augmenter that declares ``per_document = True`` promises that what it writes for a document
depends only on that document's Records: not on other documents or their number, and on where
the document sits in the stage's input only through ``input_offset`` (the position of the
group's first Record, which the runner sets on each task's copy); that its ``stats`` are
counts (numbers, or dicts of numbers) that add up over documents; and that it writes nothing
through the run context (a Ray task works on a copy of it). Under ``runner: ray`` such an
augmenter is given groups of about ``shard_records`` Records, cut only where the document
(``source.uri``) changes, one Ray task per group; the new Records come back in group order and
the groups' stats are added. The output is then the one ``runner: local`` writes, byte for
byte.

Every other augmenter runs in the driver over the whole input, under both runners; of the builtin
ones only ``synonym`` declares it, the others read something of the whole corpus (see
docs/scale.md).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from kinject.records import Record

if TYPE_CHECKING:
    from kinject.components import Augmenter
    from kinject.config import RunConfig


def per_document(augmenter: Augmenter) -> bool:
    """True when the augmenter declares that it may be given one group of documents at a time."""
    return bool(getattr(augmenter, "per_document", False))


def document_groups(records: Sequence[Record], size: int) -> list[list[Record]] | None:
    """Consecutive groups of about ``size`` Records, cut only where ``source.uri`` changes.

    None when a document's Records are not consecutive (a group would split it); a Record
    without a uri is a document of its own.
    """
    groups: list[list[Record]] = []
    group: list[Record] = []
    seen: set[str] = set()
    previous: str | None = None
    for record in records:
        uri = record.source.get("uri") or None
        if uri is not None and uri != previous and uri in seen:
            return None
        if len(group) >= size and (uri is None or uri != previous):
            groups.append(group)
            group = []
        group.append(record)
        if uri is not None:
            seen.add(uri)
        previous = uri
    if group:
        groups.append(group)
    return groups


def augment_records(
    augmenter: Augmenter, records: Sequence[Record], config: RunConfig
) -> tuple[Iterator[Record], str]:
    """The augmenter's new Records and where they were made (``""``: here, under ``local``)."""
    if config.runner != "ray":
        return augmenter.augment(records), ""
    groups = document_groups(records, config.shard_records) if per_document(augmenter) else None
    if groups is None or len(groups) < 2:
        return augmenter.augment(records), "driver"
    new, stats = _on_ray(augmenter, groups, config)
    augmenter.stats = stats
    return iter(new), f"ray, {len(groups)} groups of documents"


def _on_ray(
    augmenter: Augmenter, groups: list[list[Record]], config: RunConfig
) -> tuple[list[Record], dict[str, Any]]:
    import ray.data

    from kinject.runners.ray_runner import start_ray

    started = start_ray(config)
    try:
        starts = [sum(len(g) for g in groups[:i]) for i in range(len(groups))]
        items = [
            {"index": i, "offset": starts[i], "records": pickle.dumps(g)}
            for i, g in enumerate(groups)
        ]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        mapped = ds.map(
            partial(_augment_group, augmenter=augmenter),
            compute=ray.data.TaskPoolStrategy(size=config.ray.concurrency),
        )
        rows = sorted(mapped.take_all(), key=lambda row: int(row["index"]))
    finally:
        if started:
            import ray

            ray.shutdown()
    parts = [pickle.loads(row["out"]) for row in rows]
    new = [record for records, _ in parts for record in records]
    return new, add_stats([stats for _, stats in parts])


def _augment_group(row: dict[str, Any], augmenter: Augmenter) -> dict[str, Any]:
    """One group of documents through the augmenter, in a Ray task."""
    records: list[Record] = pickle.loads(row["records"])
    augmenter.input_offset = int(row["offset"])  # this task's copy: the group's place in the input
    new = list(augmenter.augment(records))
    return {"index": row["index"], "out": pickle.dumps((new, augmenter.stats))}


def add_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts added key by key (dicts of counts too); any other value is kept from the first
    group that has it.
    """
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key not in total:
                total[key] = dict(value) if isinstance(value, dict) else value
            elif isinstance(value, dict) and isinstance(total[key], dict):
                total[key] = add_stats([total[key], value])
            elif _number(value) and _number(total[key]):
                total[key] += value
    return total


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
