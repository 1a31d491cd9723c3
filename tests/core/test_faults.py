"""Faults injected into whole runs (``bench/fault_runs.py``): kill -9, broken checkpoints, a full
disk.

The fast tests run one trial of each kind that matters most on a tiny model; the ``long`` tier
(``pytest -m long``, left out by default) runs every kill point, every checkpoint damage, every
stage's disk-full and the determinism checks.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinject.checkpoints import (
    checkpoint_to_resume,
    incomplete_reason,
    is_complete_checkpoint,
    mark_complete,
)
from kinject.context import Quarantine
from kinject.records import Record, write_jsonl

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fault_runs.py"


@pytest.fixture(scope="module")
def faults() -> Iterator[Any]:
    """``bench/fault_runs.py`` as a module."""
    spec = importlib.util.spec_from_file_location("fault_runs", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_runs"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("fault_runs", None)


@pytest.fixture(scope="module")
def reference(faults: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    """The tiny model, the corpus and one uninterrupted run of them (``python -m kinject``)."""
    setup = faults.build_setup(tmp_path_factory.mktemp("faults"))
    return setup, faults.reference_run(setup)


def assert_passed(trial: Any) -> None:
    assert not trial.problems, f"{trial.point} ({trial.killed_in}): {trial.problems}"


# -- checkpoints: what a resumed run trusts ------------------------------------------------------


def saved_checkpoint(folder: Path, step: int) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"):
        (path / name).write_bytes(b"x" * 64)
    (path / "trainer_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
    mark_complete(path, step)
    return path


def test_a_file_cut_short_after_the_save_makes_the_checkpoint_incomplete(tmp_path: Path) -> None:
    path = saved_checkpoint(tmp_path, 8)
    assert is_complete_checkpoint(path)
    (path / "adapter_model.safetensors").write_bytes(b"x" * 10)
    assert incomplete_reason(path) == "adapter_model.safetensors is 10 bytes, 64 when saved"


def test_a_checkpoint_marked_before_sizes_were_recorded_is_still_trusted(tmp_path: Path) -> None:
    path = saved_checkpoint(tmp_path, 8)
    (path / ".complete").write_text('{"step": 8}', encoding="utf-8")
    assert is_complete_checkpoint(path)


def test_resume_skips_a_broken_last_checkpoint_with_one_notice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    older, newer = saved_checkpoint(tmp_path, 4), saved_checkpoint(tmp_path, 8)
    (newer / "optimizer.pt").unlink()
    with caplog.at_level(logging.WARNING, logger="kinject.checkpoints"):
        assert checkpoint_to_resume(tmp_path) == older
    assert [r.getMessage() for r in caplog.records] == [
        "resume: skipped incomplete checkpoint checkpoint-8 (optimizer.pt missing); continuing "
        "from checkpoint-4"
    ]
    assert not newer.exists() and older.is_dir()


def test_a_full_disk_leaves_no_half_written_stage_file(tmp_path: Path) -> None:
    def records() -> Iterator[Record]:
        yield Record(text="one")
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.jsonl.partial"))

    with pytest.raises(OSError, match="No space left"):
        write_jsonl(tmp_path / "x.jsonl", records())
    assert list(tmp_path.iterdir()) == []


def test_a_stage_computed_again_is_not_quarantined_twice(tmp_path: Path) -> None:
    quarantine = Quarantine(tmp_path / "quarantine.jsonl")
    for stage in ("sources", "cleaners"):
        quarantine.restart(stage)
        quarantine.add("text", "empty_document", f"found by {stage}")
    with quarantine.path.open("a", encoding="utf-8") as f:
        f.write('{"plugin": "text", "reason": "empty_doc')  # the line a kill cut short
    quarantine.restart("sources")  # ingest again after a kill: its entries are written anew
    quarantine.add("text", "empty_document", "found by sources")
    lines = [json.loads(line) for line in quarantine.path.read_text(encoding="utf-8").splitlines()]
    assert sorted((e["stage"], e["detail"]) for e in lines) == [
        ("cleaners", "found by cleaners"),
        ("sources", "found by sources"),
    ]


# -- whole runs ------------------------------------------------------------------------------


def test_kill_9_while_a_checkpoint_is_written_then_resume(
    faults: Any, reference: tuple[Any, Any]
) -> None:
    setup, ref = reference
    trial = faults.kill_trial(setup, ref, 0, "checkpoint write")
    assert trial.killed_in.startswith("train"), trial.killed_in
    assert_passed(trial)


def test_disk_full_while_a_stage_writes(faults: Any, reference: tuple[Any, Any]) -> None:
    setup, ref = reference
    trial = faults.disk_full_trial(setup, ref, 0, "augmenters")
    assert "No space left on device" in trial.killed_in
    assert_passed(trial)


@pytest.mark.long
@pytest.mark.parametrize(
    "n, point", enumerate(["ingest", "augment", "train", "evaluate", "export", 2.0, 6.0], start=10)
)
def test_kill_9_anywhere_then_resume(
    faults: Any, reference: tuple[Any, Any], n: int, point: str | float
) -> None:
    setup, ref = reference
    assert_passed(faults.kill_trial(setup, ref, n, point))


@pytest.mark.long
@pytest.mark.parametrize(
    "n, damage",
    enumerate(
        [
            "adapter weights cut to half",
            "optimizer.pt deleted",
            "trainer_state.json cut to half",
            "rng state emptied",
        ]
    ),
)
def test_broken_last_checkpoint_then_resume(
    faults: Any, reference: tuple[Any, Any], n: int, damage: str
) -> None:
    setup, ref = reference
    assert_passed(faults.checkpoint_trial(setup, ref, n, damage))


@pytest.mark.long
@pytest.mark.parametrize("n, stage", enumerate(["sources", "cleaners", "chunk", "train"], start=10))
def test_disk_full_in_each_stage(
    faults: Any, reference: tuple[Any, Any], n: int, stage: str
) -> None:
    setup, ref = reference
    assert_passed(faults.disk_full_trial(setup, ref, n, stage))


@pytest.mark.long
def test_same_seed_same_bytes_and_losses(faults: Any, reference: tuple[Any, Any]) -> None:
    setup, ref = reference
    for trial in faults.determinism_trials(setup, ref):
        assert_passed(trial)
