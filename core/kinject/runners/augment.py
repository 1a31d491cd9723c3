"""Where an augmenter runs: in this process, or on Ray one group of whole documents per task.

An augmenter that declares ``per_document = True`` promises that what it writes for a document
depends only on the Records of that document it ``reads`` and on what its ``prepare_corpus``
reads of the whole input (called once in the driver before the groups go out: a vocabulary,
document subjects); on where the document sits in the stage's input only through
``input_positions``, ``input_offset`` and ``input_total`` (the input positions of the Records
given, the first of them, and the input's length, which the runner sets on each task's copy);
that it writes in the order of the Records it reads; that its ``merge_stats`` makes the whole
input's ``stats`` from the groups' (by default counts added key by key); and that it writes
nothing through the run context (a Ray task works on a copy of it). Under ``runner: ray`` such
an augmenter is given the Records it reads in groups of about ``shard_records``, cut only where
the document (``source.uri``) changes, one Ray task per group; the new Records come back in
group order and the groups' stats are merged. The output is then the one ``runner: local``
writes, byte for byte.

Every other augmenter runs in the driver over the whole input, under both runners; of the builtin
ones ``synonym`` and the rules backends of ``paraphrase`` and ``qa-generate`` declare it (the
model and endpoint backends run in the driver, where the model or the connection is), the others
read something of the whole corpus (see docs/scale.md).
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
    if not per_document(augmenter):
        return augmenter.augment(records), "driver"
    plan = plan_groups(augmenter, records, config.shard_records)
    if plan is None:
        return augmenter.augment(records), "driver"
    groups, places = plan
    augmenter.prepare_corpus(records)
    try:
        new, parts = _on_ray(augmenter, groups, places, len(records), config)
    finally:
        augmenter.prepare_corpus(None)
    merge = getattr(augmenter, "merge_stats", None)
    augmenter.stats = merge(parts) if callable(merge) else add_stats(parts)
    return iter(new), f"ray, {len(groups)} groups of documents"


def plan_groups(
    augmenter: Augmenter, records: Sequence[Record], size: int
) -> tuple[list[list[Record]], list[list[int]]] | None:
    """The groups of documents a ``per_document`` augmenter is handed, and the input positions of
    their Records: only the Records it ``reads`` (copies earlier augmenters appended to a document
    do not split it), about ``size`` per group. None when those Records of one document are not
    consecutive or there would be fewer than two groups."""
    chosen = [i for i, record in enumerate(records) if augmenter.reads(record)]
    groups = document_groups([records[i] for i in chosen], size)
    if groups is None or len(groups) < 2:
        return None
    places, start = [], 0
    for group in groups:
        places.append(chosen[start : start + len(group)])
        start += len(group)
    return groups, places


def task_rows(
    groups: list[list[Record]], places: list[list[int]], total: int
) -> list[dict[str, Any]]:
    """One row per group, as the Ray tasks receive them."""
    return [
        {"index": i, "places": places[i], "total": total, "records": pickle.dumps(g)}
        for i, g in enumerate(groups)
    ]


def _on_ray(
    augmenter: Augmenter,
    groups: list[list[Record]],
    places: list[list[int]],
    total: int,
    config: RunConfig,
) -> tuple[list[Record], list[dict[str, Any]]]:
    import ray.data

    from kinject.runners.ray_runner import start_ray

    started = start_ray(config)
    try:
        items = task_rows(groups, places, total)
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        mapped = ds.map(
            partial(augment_group, augmenter=augmenter),
            compute=ray.data.TaskPoolStrategy(size=config.ray.concurrency),
        )
        rows = sorted(mapped.take_all(), key=lambda row: int(row["index"]))
    finally:
        if started:
            import ray

            ray.shutdown()
    parts = [pickle.loads(row["out"]) for row in rows]
    new = [record for records, _ in parts for record in records]
    return new, [stats for _, stats in parts]


def augment_group(row: dict[str, Any], augmenter: Augmenter) -> dict[str, Any]:
    """One group of documents through the augmenter, in a Ray task."""
    records: list[Record] = pickle.loads(row["records"])
    # this task's copy: where the group's Records sit in the stage's input
    augmenter.input_positions = [int(p) for p in row["places"]]
    augmenter.input_offset = augmenter.input_positions[0]
    augmenter.input_total = int(row["total"])
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
