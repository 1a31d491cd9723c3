"""``runner: local``: every step of the stage in this process, shard by shard.

:class:`DataRunner` is also the base of the Ray runner, which overrides where a step's work
happens (``run_parallel``, ``compute_global``) and keeps the rest: steps, shards, resume.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from kinject.components import Cleaner, RecordCleaner
from kinject.records import Record, Rejected
from kinject.runners.shards import Item, Shard, finished, shard_path, split_records, write_shard
from kinject.stages import fingerprint

if TYPE_CHECKING:
    from kinject.config import RunConfig

#: builtin cleaners whose ``apply`` judges each Record (or one document's pages) on its own
PER_RECORD = frozenset({"normalize", "decontaminate"})
INPUT = "00-input"


def per_record(cleaner: Cleaner) -> bool:
    """True when the cleaner gives the same output for any split of its input into shards."""
    explicit = getattr(cleaner, "per_record", None)
    if explicit is not None:
        return bool(explicit)
    return isinstance(cleaner, RecordCleaner) or cleaner.name in PER_RECORD


@dataclass
class Step:
    """Consecutive cleaners run together: shard by shard (``parallel``) or over the whole stream."""

    index: int
    cleaners: list[Cleaner]
    parallel: bool

    @property
    def name(self) -> str:
        return f"{self.index:02d}-" + "+".join(c.name for c in self.cleaners)


def plan_steps(cleaners: list[Cleaner]) -> list[Step]:
    """Group the cleaners into steps, in order."""
    steps: list[Step] = []
    for cleaner in cleaners:
        parallel = per_record(cleaner)
        if steps and parallel and steps[-1].parallel:
            steps[-1].cleaners.append(cleaner)
        else:
            steps.append(Step(len(steps) + 1, [cleaner], parallel))
    return steps


def apply_chain(cleaners: list[Cleaner], records: Iterable[Record]) -> Iterator[Item]:
    """The cleaners in order as one stream; every Rejected names the cleaner that dropped it."""
    rejected: list[Rejected] = []

    def kept(stream: Iterable[Item], name: str) -> Iterator[Record]:
        for item in stream:
            if isinstance(item, Rejected):
                item.plugin = item.plugin or name
                rejected.append(item)
            else:
                yield item

    stream: Iterable[Record] = iter(records)
    for cleaner in cleaners:
        stream = kept(cleaner.apply(stream), cleaner.name)
    for record in stream:
        yield from rejected
        rejected.clear()
        yield record
    yield from rejected


class DataRunner:
    """Runs the cleaners over shards; subclasses choose where each step's work happens."""

    name: ClassVar[str] = "local"

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        #: what the last stage did per step (shards computed, shards resumed)
        self.stats: dict[str, dict[str, int]] = {}

    def close(self) -> None:
        """Release what the runner started (a local Ray)."""

    def __enter__(self) -> DataRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def clean(
        self, records: Iterable[Record], cleaners: list[Cleaner], folder: Path, fp: str
    ) -> Iterator[Item]:
        """Every Rejected of every step, then the Records that survive all steps, in order."""
        steps = plan_steps(cleaners)
        _prune_steps(folder, {INPUT, *(s.name for s in steps)})
        shards = self._write_input(records, folder)
        for step in steps:
            step_fp = fingerprint(fp, step.name, self.config.shard_records)
            shards = (self.run_parallel if step.parallel else self.run_global)(
                step, shards, folder, step_fp
            )
            _prune_shards(folder / step.name, len(shards))
            for shard in shards:
                yield from (i for i in shard.items() if isinstance(i, Rejected))
        for shard in shards:
            yield from shard.records()
        shutil.rmtree(folder, ignore_errors=True)  # the stage's own file holds the result now

    def _write_input(self, records: Iterable[Record], folder: Path) -> list[Shard]:
        shards = [
            write_shard(shard_path(folder, INPUT, i), "input", group)
            for i, group in enumerate(split_records(records, self.config.shard_records))
        ]
        _prune_shards(folder / INPUT, len(shards))
        return shards

    def run_parallel(self, step: Step, shards: list[Shard], folder: Path, fp: str) -> list[Shard]:
        """Each shard through the step's cleaners, here, skipping shards already finished."""
        out = []
        for i, shard in enumerate(shards):
            path, shard_fp = shard_path(folder, step.name, i), fingerprint(fp, shard.digest)
            done = finished(path, shard_fp)
            self._count(step, "resumed" if done else "computed")
            out.append(
                done or write_shard(path, shard_fp, apply_chain(step.cleaners, shard.records()))
            )
        return out

    def run_global(self, step: Step, shards: list[Shard], folder: Path, fp: str) -> list[Shard]:
        """The step over all shards in order (one stream), unless every output shard is finished."""
        fp = fingerprint(fp, [s.digest for s in shards])
        paths = [shard_path(folder, step.name, i) for i in range(len(shards))]
        done = [finished(p, fp) for p in paths]
        if all(done):
            self._count(step, "resumed", len(shards))
            return [d for d in done if d is not None]
        self._count(step, "computed", len(shards))
        return self.compute_global(step, shards, paths, fp)

    def compute_global(
        self, step: Step, shards: list[Shard], paths: list[Path], fp: str
    ) -> list[Shard]:
        stream = apply_chain(step.cleaners, (r for s in shards for r in s.records()))
        return split_like(stream, shards, paths, fp)

    def _count(self, step: Step, what: str, n: int = 1) -> None:
        counts = self.stats.setdefault(step.name, {"computed": 0, "resumed": 0})
        counts[what] += n


def split_like(
    stream: Iterator[Item], shards: list[Shard], paths: list[Path], fp: str
) -> list[Shard]:
    """Write ``stream`` into shards holding as many items as each input shard had Records."""
    out = []
    for i, (shard, path) in enumerate(zip(shards, paths, strict=True)):
        n = sum(1 for _ in shard.records())
        items: Iterable[Item] = stream if i == len(shards) - 1 else islice(stream, n)
        out.append(write_shard(path, fp, items))
    return out


def _prune_steps(folder: Path, keep: set[str]) -> None:
    if folder.is_dir():
        for child in folder.iterdir():
            if child.is_dir() and child.name not in keep:
                shutil.rmtree(child)


def _prune_shards(folder: Path, count: int) -> None:
    if folder.is_dir():
        for path in folder.glob("*.jsonl"):
            if path.stem.isdigit() and int(path.stem) >= count:
                path.unlink()
                path.with_name(path.stem + ".done.json").unlink(missing_ok=True)
