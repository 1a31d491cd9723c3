"""Data runners: where the components of a data stage run.

``runner: local`` (the default) runs every component in this process; ``runner: ray`` runs them
on Ray Data, on a local Ray the engine starts or on an existing cluster (``ray: {address: ...}``).
Components keep their one-method shape (``Cleaner.apply``): the runner, not the plugin, decides
how to parallelise. Both runners read and write the stage in shards (``shards.py``), so memory
stays flat as the corpus grows and a re-run after a kill redoes only the unfinished shards; both
give the same Records in the same order.

The cleaner list is cut into steps:

- a run of per-record cleaners (``RecordCleaner`` subclasses, ``normalize``, ``decontaminate``, or
  a third-party cleaner with ``per_record = True``) is one *parallel* step, applied shard by shard
  (each shard on its own task under Ray); its shards are resumed one by one;
- any other cleaner (exact and near dedup, ``low-information``'s IDF fitted on the stream's head,
  a cleaner the runner does not know) is a *global* step over all shards in order; Ray runs the
  dedups as a hash groupby (exact) and MinHash-LSH band buckets (near), see ``ray_dedup.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kinject.runners.local import DataRunner, Step, apply_chain, per_record, plan_steps

if TYPE_CHECKING:
    from kinject.config import RunConfig

__all__ = ["DataRunner", "Step", "apply_chain", "make_runner", "per_record", "plan_steps"]


def make_runner(config: RunConfig) -> DataRunner:
    """The runner the recipe names (``runner: local`` or ``runner: ray``)."""
    if config.runner == "ray":
        from kinject.runners.ray_runner import RayRunner

        return RayRunner(config)
    return DataRunner(config)
