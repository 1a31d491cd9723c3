"""Training checkpoints: which one a resumed run may trust.

A checkpoint directory (``checkpoint-<step>``) is complete only when it holds the weights, the
optimizer, scheduler and RNG states, a readable ``trainer_state.json`` for its step, and the
marker ``.complete`` (JSON ``{"step": <step>}``). The marker is written last, atomically, by
:func:`mark_complete`: the Hugging Face trainers call it from a callback's ``on_save`` (the
Trainer writes ``checkpoint-<step>`` in place, file by file, and calls ``on_save`` once it is
done); the PPO loop calls it in its staging directory before renaming it into place. The file
checks alone are not enough: a ``trainer_state.json`` can exist, half written, before the rest.

A run killed while writing a checkpoint leaves it incomplete; it is never resumed from, and it is
removed before training continues so it cannot be mistaken for a good one later. Checkpoints
written before the marker existed count as incomplete too.
"""

from __future__ import annotations

import json
import logging
import os
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
#: written last into a checkpoint directory; its presence (with the right step) means "complete"
COMPLETE_MARKER = ".complete"


def checkpoint_step(path: Path) -> int | None:
    """The step number in a ``checkpoint-<step>`` directory name, else None."""
    match = CHECKPOINT_PATTERN.match(path.name)
    return int(match.group(1)) if match else None


def mark_complete(path: Path, step: int) -> Path:
    """Write the marker that declares the checkpoint in ``path`` (for ``step``) fully written."""
    marker = path / COMPLETE_MARKER
    staging = path / (COMPLETE_MARKER + ".tmp")
    staging.write_text(json.dumps({"step": step}), encoding="utf-8")
    # A rename is atomic: a reader sees either no marker or a whole one, never half of it.
    os.replace(staging, marker)
    return marker


def marked_step(path: Path) -> int | None:
    """The step recorded in the marker of the checkpoint in ``path``, else None."""
    try:
        marker = json.loads((path / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    step = marker.get("step") if isinstance(marker, dict) else None
    return step if isinstance(step, int) else None


def is_complete_checkpoint(path: Path) -> bool:
    """True when ``path`` holds everything needed to resume training exactly."""
    if not path.is_dir():
        return False
    step = checkpoint_step(path)
    if step is None or marked_step(path) != step:
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
    return isinstance(state, dict) and state.get("global_step") == step


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
