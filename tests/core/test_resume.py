"""kill -9 during training, then ``inject --resume`` continues from the last complete checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from kinject.domains import DomainPack

pytestmark = pytest.mark.slow


def _recipe(tmp_path: Path, pack: DomainPack, tiny_model: Path) -> Path:
    recipe = {
        "corpus": [str(pack.corpus)], "eval_set": str(pack.eval), "base_model": str(tiny_model),
        "cleaners": ["normalize"], "augmenters": [], "evaluators": [], "exporters": [], "forgetting": False,
        "holdout_fraction": 0.0, "run_dir": str(tmp_path / "run"),
        "trainer": {"max_steps": 400, "save_steps": 10, "batch_size": 1, "logging_steps": 50, "report_to": []},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def _inject(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KINJECT_LOAD_PLUGINS": ""}
    return subprocess.Popen([sys.executable, "-m", "kinject", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_kill_9_then_resume_continues(tmp_path: Path, sample_pack: DomainPack, tiny_model: Path) -> None:
    recipe = _recipe(tmp_path, sample_pack, tiny_model)
    checkpoints = tmp_path / "run" / "model" / "checkpoints"
    proc = _inject("--config", str(recipe), "-q")
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        done = [p for p in checkpoints.glob("checkpoint-*") if (p / "trainer_state.json").exists()] if checkpoints.exists() else []
        if any(int(p.name.split("-")[1]) >= 20 for p in done):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed:\n" + (proc.stdout.read() if proc.stdout else "")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "run" / "model" / "result.json").exists()

    resumed = _inject("--config", str(recipe), "-q", "--resume")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    stage = json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]["train"]
    assert stage["resumed_from_step"] >= 20
    assert stage["steps"] == 400
