"""kill -9 during training, then ``inject --resume`` continues from the last complete checkpoint."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from kinject.checkpoints import checkpoint_step, last_complete_checkpoint
from kinject.domains import DomainPack

pytestmark = pytest.mark.slow


def _recipe(tmp_path: Path, pack: DomainPack, tiny_model: Path) -> Path:
    recipe = {
        "corpus": [str(pack.corpus)],
        "eval_set": str(pack.eval),
        "base_model": str(tiny_model),
        "cleaners": ["normalize"],
        "augmenters": [],
        "evaluators": [],
        "exporters": [],
        "forgetting": False,
        "holdout_fraction": 0.0,
        "run_dir": str(tmp_path / "run"),
        "trainer": {
            "max_steps": 400,
            "save_steps": 10,
            "batch_size": 1,
            "logging_steps": 50,
            "report_to": [],
        },
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def _inject(*args: str, log: Path) -> subprocess.Popen[str]:
    # Output goes to a file: a pipe nobody reads while training runs could fill up and stall it.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KINJECT_LOAD_PLUGINS": ""}
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kinject", *args],
            env=env,
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _complete_step(checkpoints: Path) -> int:
    """The step of the checkpoint ``--resume`` would continue from (the engine's rule), else 0."""
    last = last_complete_checkpoint(checkpoints)
    return (checkpoint_step(last) or 0) if last is not None else 0


def test_kill_9_then_resume_continues(
    tmp_path: Path, sample_pack: DomainPack, tiny_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # "skipping incomplete" at every poll
    caplog.set_level(logging.ERROR, logger="kinject.checkpoints")
    recipe = _recipe(tmp_path, sample_pack, tiny_model)
    checkpoints = tmp_path / "run" / "model" / "checkpoints"
    first_log = tmp_path / "first.log"
    proc = _inject("--config", str(recipe), "-q", log=first_log)
    # Generous: on a loaded machine the imports and ingest alone can take a minute or more.
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and _complete_step(checkpoints) < 20:
        time.sleep(0.05)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)  # kill -9; a no-op if it already exited
    proc.wait()
    first = first_log.read_text(encoding="utf-8")
    assert running, "training finished (or failed) before it could be killed:\n" + first
    # The last complete step never goes down: a save removes old checkpoints only once the
    # previous one is complete, so what the loop saw is still there (or newer) after the kill.
    assert _complete_step(checkpoints) >= 20, "no complete checkpoint at step 20 in time:\n" + first
    assert not (tmp_path / "run" / "model" / "result.json").exists()

    resumed = _inject("--config", str(recipe), "-q", "--resume", log=tmp_path / "resumed.log")
    resumed.wait(timeout=600)
    assert resumed.returncode == 0, (tmp_path / "resumed.log").read_text(encoding="utf-8")
    stage = json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]["train"]
    assert stage["resumed_from_step"] >= 20
    assert stage["steps"] == 400
