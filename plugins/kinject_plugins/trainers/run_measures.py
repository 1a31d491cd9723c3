"""The seed a strategy's run starts from and the time and memory it reports (dpo, rlhf)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kinject.context import RunContext


def option_seed(option: int | None, context: RunContext) -> int:
    """The strategy option's seed, else the run's."""
    return context.seed if option is None else option


def start_run(seed: int) -> float:
    """Seed python, numpy and torch, and return the start time for :func:`add_run_measures`."""
    from transformers import set_seed

    started = time.perf_counter()
    set_seed(seed)
    return started


def add_run_measures(metrics: dict[str, Any], started: float) -> None:
    """``train_time_s`` since ``started`` and the run's ``peak_memory_mb``, added to ``metrics``."""
    from kinject_plugins.trainers.sft import peak_memory_mb

    metrics["train_time_s"] = round(time.perf_counter() - started, 1)
    metrics["peak_memory_mb"] = round(peak_memory_mb(), 1)
