"""Training checkpoints: which one a resumed run may trust.

A checkpoint directory (``checkpoint-<step>``) is complete only when it holds the weights, the
optimizer, scheduler and RNG states, and a readable ``trainer_state.json`` (written last by the
Hugging Face Trainer). A run killed while writing one leaves it incomplete; it is never resumed
from, and it is removed before training continues so it cannot be mistaken for a good one later.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
WEIGHT_FILES = (
    "adapter_model.safetensors",
    "model.safetensors",
    "model.safetensors.index.json",
)
STATE_FILES = ("optimizer.pt", "scheduler.pt")


def checkpoint_step(path: Path) -> int | None:
    """The step number in a ``checkpoint-<step>`` directory name, else None."""
    match = CHECKPOINT_PATTERN.match(path.name)
    return int(match.group(1)) if match else None


def is_complete_checkpoint(path: Path) -> bool:
    """True when ``path`` holds everything needed to resume training exactly."""
    if not path.is_dir():
        return False
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        return False
    if not all((path / name).is_file() for name in STATE_FILES):
        return False
    if not any(path.glob("rng_state*.pth")):
        return False
    try:
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(state, dict) and state.get("global_step") == checkpoint_step(path)


def list_checkpoints(folder: Path) -> list[Path]:
    """``checkpoint-<step>`` directories under ``folder``, oldest step first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def last_complete_checkpoint(folder: Path) -> Path | None:
    """The complete checkpoint with the highest step under ``folder``, or None."""
    for path in reversed(list_checkpoints(folder)):
        if is_complete_checkpoint(path):
            return path
        log.warning("skipping incomplete checkpoint %s", path)
    return None


def remove_incomplete_checkpoints(folder: Path) -> list[Path]:
    """Delete every incomplete ``checkpoint-<step>`` directory under ``folder``; return them."""
    removed = [p for p in list_checkpoints(folder) if not is_complete_checkpoint(p)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
