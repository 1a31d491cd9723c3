"""Builtin observers: stage timings to TensorBoard when it is installed."""

from __future__ import annotations

from typing import Any

from kinject import hookimpl
from kinject.context import RunContext


@hookimpl
def stage_finished(stage: str, context: RunContext, stats: dict[str, Any]) -> None:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return
    numbers = {
        k: v for k, v in stats.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    if not numbers:
        return
    writer = SummaryWriter(log_dir=str(context.run_dir / "tensorboard"))
    for key, value in numbers.items():
        writer.add_scalar(f"{stage}/{key}", value)
    writer.close()
