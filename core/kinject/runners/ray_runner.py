"""``runner: ray``: the data stages on Ray Data, on a local Ray or an existing cluster.

Sources: the inputs are parsed by Ray tasks, a batch of inputs each, through the same worker
pool as ``runner: local`` (so each input keeps its time and memory limit), in input order.
Parallel steps send each unfinished shard to a Ray task (``map`` over the shard list; the task
reads its input shard and writes its output shard, so on a cluster the run directory must be on
storage every node sees). Exact and near dedup run as Ray Data groupbys (``ray_dedup.py``); any
other global cleaner runs here, in the driver, over the stream in order, as the local runner does.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Generator, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.components import Cleaner
from kinject.config import RunConfig
from kinject.errors import ConfigError, MissingDependencyError
from kinject.runners.local import DataRunner, Step, apply_chain
from kinject.runners.shards import Shard, finished, shard_path, write_shard
from kinject.stages import fingerprint

if TYPE_CHECKING:
    from kinject.ingest import IngestOptions
    from kinject.ingest_worker import Outcome, Task


def start_ray(config: RunConfig) -> bool:
    """Connect to ``ray.address`` or start a quiet local Ray; True when this call started it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise MissingDependencyError("ray", extra="ray", what="runner: ray") from exc
    if ray.is_initialized():
        return False
    settings = config.ray
    if settings.address and settings.num_cpus:
        raise ConfigError(
            "ray.num_cpus applies to a local Ray only; a cluster sets its own", source="ray"
        )
    # quiet: no progress bars (the engine shows its own), no notice that they are off, and the
    # local-cluster token notice only where the user connects to a cluster of their own
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    if not settings.address:
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
            logging.ERROR
        )
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
        "logging_level": logging.WARNING,
    }
    if settings.address:
        kwargs["address"] = settings.address
    else:
        kwargs["num_cpus"] = settings.num_cpus or os.cpu_count() or 1
    ray.init(**kwargs)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True  # rows come back in input order
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return True


class RayRunner(DataRunner):
    """Shards on Ray tasks; dedup by Ray Data groupbys."""

    name = "ray"

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self.started = start_ray(config)

    def close(self) -> None:
        if self.started:
            import ray

            ray.shutdown()
            self.started = False

    def run_parallel(self, step: Step, shards: list[Shard], folder: Path, fp: str) -> list[Shard]:
        import ray.data

        out: list[Shard | None] = []
        todo = []
        for i, shard in enumerate(shards):
            path, shard_fp = shard_path(folder, step.name, i), fingerprint(fp, shard.digest)
            done = finished(path, shard_fp)
            out.append(done)
            self._count(step, "resumed" if done else "computed")
            if done is None:
                todo.append({"index": i, "src": str(shard.path), "dst": str(path), "fp": shard_fp})
        if todo:
            ds = ray.data.from_items(todo, override_num_blocks=len(todo))
            size = self.config.ray.concurrency
            mapped = ds.map(
                partial(_map_shard, cleaners=step.cleaners),
                compute=ray.data.TaskPoolStrategy(size=size),
            )
            for row in mapped.take_all():
                out[row["index"]] = Shard(Path(row["dst"]), row["digest"])
        return [s for s in out if s is not None]

    def compute_global(
        self, step: Step, shards: list[Shard], paths: list[Path], fp: str
    ) -> list[Shard]:
        from kinject.runners import ray_dedup

        cleaner = step.cleaners[0]
        if cleaner.name == "exact-dedup":
            return ray_dedup.exact(cleaner, shards, paths, fp, self.config.ray)
        if cleaner.name == "near-dedup" and getattr(cleaner.opts, "keep", "first") == "first":
            return ray_dedup.near(cleaner, shards, paths, fp, self.config.ray)
        return super().compute_global(step, shards, paths, fp)


def _map_shard(row: dict[str, Any], cleaners: list[Cleaner]) -> dict[str, Any]:
    """One shard through the cleaners, in a Ray task: read, clean, write, report the digest."""
    src = Shard(Path(row["src"]), "").records()
    shard = write_shard(Path(row["dst"]), row["fp"], apply_chain(cleaners, src))
    return {"index": row["index"], "dst": row["dst"], "digest": shard.digest}


# -- sources ------------------------------------------------------------------------------------

#: inputs one Ray task parses (through its own one-worker pool, which keeps the time and memory
#: limits of ``sources.ingest``)
PARSE_BATCH = 8


def parse_on_ray(
    tasks: Iterator[Task], config: RunConfig, settings: IngestOptions
) -> Generator[Outcome, None, None]:
    """The Outcomes of ``tasks`` (``sources.ingest`` tasks), parsed by Ray tasks, in task order."""
    import ray.data

    started = start_ray(config)
    try:
        todo = list(tasks)
        batches = [
            {"tasks": pickle.dumps(todo[i : i + PARSE_BATCH])}
            for i in range(0, len(todo), PARSE_BATCH)
        ]
        if not batches:
            return
        ds = ray.data.from_items(batches, override_num_blocks=len(batches))
        parse = partial(
            _parse_batch,
            workers=min(1, settings.workers),
            timeout_s=settings.timeout_s,
            memory_mb=settings.max_memory_mb,
        )
        for row in ds.map(
            parse, compute=ray.data.TaskPoolStrategy(size=config.ray.concurrency)
        ).iter_rows():
            yield from pickle.loads(row["outcomes"])
    finally:
        if started:
            import ray

            ray.shutdown()


def _parse_batch(
    row: dict[str, Any], workers: int, timeout_s: float, memory_mb: int
) -> dict[str, Any]:
    from kinject.ingest_worker import WorkerPool, parse

    batch: list[Task] = pickle.loads(row["tasks"])
    if workers == 0:
        outcomes = [parse(*task) for task in batch]
    else:
        outcomes = list(
            WorkerPool(workers, timeout_s, memory_mb).run(iter(batch), can_submit=lambda _: True)
        )
    return {"outcomes": pickle.dumps(sorted(outcomes, key=lambda o: o.index))}
