"""Which checkpoints a resumed run trusts: every file, a matching trainer state, and the marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.checkpoints import (
    COMPLETE_MARKER,
    is_complete_checkpoint,
    last_complete_checkpoint,
    mark_complete,
    marked_step,
    remove_incomplete_checkpoints,
)


def write_checkpoint(folder: Path, step: int, marked: bool = True) -> Path:
    """A checkpoint directory with every file the Trainer writes (contents do not matter here)."""
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"):
        (path / name).write_bytes(b"x")
    (path / "trainer_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
    if marked:
        mark_complete(path, step)
    return path


def test_checkpoint_with_marker_is_complete(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path, 20)
    assert is_complete_checkpoint(path)
    marker = json.loads((path / COMPLETE_MARKER).read_text())
    assert marker["step"] == 20 and marker["files"]["optimizer.pt"] == 1
    assert not (path / (COMPLETE_MARKER + ".tmp")).exists()


def test_checkpoint_without_marker_is_incomplete(tmp_path: Path) -> None:
    # every file in place, but the save never finished (or predates the marker)
    assert not is_complete_checkpoint(write_checkpoint(tmp_path, 20, marked=False))


@pytest.mark.parametrize("marker", ['{"step": 10}', '{"step": "20"}', '{"step":', "[20]", ""])
def test_marker_for_another_step_or_unreadable_is_incomplete(tmp_path: Path, marker: str) -> None:
    path = write_checkpoint(tmp_path, 20, marked=False)
    (path / COMPLETE_MARKER).write_text(marker, encoding="utf-8")
    assert marked_step(path) in (None, 10)
    assert not is_complete_checkpoint(path)


@pytest.mark.parametrize(
    "missing", ["adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"]
)
def test_marker_does_not_replace_the_file_checks(tmp_path: Path, missing: str) -> None:
    path = write_checkpoint(tmp_path, 20)
    (path / missing).unlink()
    assert not is_complete_checkpoint(path)


def test_trainer_state_for_another_step_is_incomplete(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path, 20)
    (path / "trainer_state.json").write_text('{"global_step": 1', encoding="utf-8")  # half written
    assert not is_complete_checkpoint(path)


def test_last_complete_skips_and_removal_deletes_unmarked(tmp_path: Path) -> None:
    older = write_checkpoint(tmp_path, 10)
    newer = write_checkpoint(tmp_path, 20, marked=False)
    assert last_complete_checkpoint(tmp_path) == older
    assert remove_incomplete_checkpoints(tmp_path) == [newer]
    assert older.is_dir() and not newer.exists()
