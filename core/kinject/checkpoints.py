"""Training checkpoints: which one a resumed run may trust.

A checkpoint directory (``checkpoint-<step>``) is complete only when it holds the weights, the
optimizer, scheduler and RNG states, a readable ``trainer_state.json`` for its step, and the
marker ``.complete`` (JSON ``{"step": <step>}``). The marker is written last, atomically, by
:func:`mark_complete`: the Hugging Face trainers call it from a callback's ``on_save`` (the
Trainer writes ``checkpoint-<step>`` in place, file by file, and calls ``on_save`` once it is
done); the PPO loop calls it in its staging directory before renaming it into place. The file
checks alone are not enough: a ``trainer_state.json`` can exist, half written, before the rest.

The marker also records the size of every file in the checkpoint, so a file cut short (or
replaced) after the save, by a full disk or a copy that stopped, makes the checkpoint incomplete
too. A run killed while writing a checkpoint leaves it incomplete; it is never resumed from, and
it is removed before training continues so it cannot be mistaken for a good one later (one
warning line names what was skipped and why). Checkpoints written before the marker existed
count as incomplete too.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

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


def _file_sizes(path: Path) -> dict[str, int]:
    skip = {COMPLETE_MARKER, COMPLETE_MARKER + ".tmp"}
    return {
        p.relative_to(path).as_posix(): p.stat().st_size
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def mark_complete(path: Path, step: int) -> Path:
    """Write the marker that declares the checkpoint in ``path`` (for ``step``) fully written."""
    marker = path / COMPLETE_MARKER
    staging = path / (COMPLETE_MARKER + ".tmp")
    staging.write_text(json.dumps({"step": step, "files": _file_sizes(path)}), encoding="utf-8")
    # A rename is atomic: a reader sees either no marker or a whole one, never half of it.
    os.replace(staging, marker)
    return marker


def _read_marker(path: Path) -> dict[str, Any]:
    try:
        marker = json.loads((path / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return marker if isinstance(marker, dict) else {}


def marked_step(path: Path) -> int | None:
    """The step recorded in the marker of the checkpoint in ``path``, else None."""
    step = _read_marker(path).get("step")
    return step if isinstance(step, int) else None


def incomplete_reason(path: Path) -> str | None:
    """Why the checkpoint in ``path`` cannot be resumed from (``"optimizer.pt missing"``), or
    None when it holds everything needed to resume training exactly."""
    if not path.is_dir():
        return "not a directory"
    step = checkpoint_step(path)
    marker = _read_marker(path)
    if step is None or marker.get("step") != step:
        return f"no {COMPLETE_MARKER} marker for its step (the save did not finish)"
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        return "no weights file"
    missing = [name for name in STATE_FILES if not (path / name).is_file()]
    if not any(path.glob("rng_state*.pth")):
        missing.append("rng_state.pth")
    if missing:
        return f"{', '.join(missing)} missing"
    sizes = marker.get("files")
    for name, size in sizes.items() if isinstance(sizes, dict) else ():
        file = path / name
        if not file.is_file():
            return f"{name} missing"
        if file.stat().st_size != size:
            return f"{name} is {file.stat().st_size} bytes, {size} when saved"
    try:
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return "trainer_state.json unreadable"
    if not (isinstance(state, dict) and state.get("global_step") == step):
        return "trainer_state.json is for another step"
    return None


def is_complete_checkpoint(path: Path) -> bool:
    """True when ``path`` holds everything needed to resume training exactly."""
    return incomplete_reason(path) is None


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
    return None


def remove_incomplete_checkpoints(folder: Path) -> list[Path]:
    """Delete every incomplete ``checkpoint-<step>`` directory under ``folder``; return them."""
    removed = [p for p in list_checkpoints(folder) if not is_complete_checkpoint(p)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def checkpoint_to_resume(folder: Path) -> Path | None:
    """The last complete checkpoint under ``folder`` (None: none), the incomplete ones removed.

    Logs one warning line when any was skipped (naming each with its reason, and the checkpoint
    training continues from) or when there is none to continue from.
    """
    skipped = [(p, incomplete_reason(p)) for p in list_checkpoints(folder)]
    skipped = [(p, reason) for p, reason in skipped if reason is not None]
    chosen = last_complete_checkpoint(folder)
    for path, _ in skipped:
        shutil.rmtree(path, ignore_errors=True)
    if skipped:
        names = "; ".join(f"{p.name} ({reason})" for p, reason in skipped)
        target = (
            f"continuing from {chosen.name}" if chosen is not None else "training from the start"
        )
        log.warning("resume: skipped incomplete checkpoint %s; %s", names, target)
    elif chosen is None:
        log.warning("resume: no complete checkpoint under %s; training from the start", folder)
    return chosen
