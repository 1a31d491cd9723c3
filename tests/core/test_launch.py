"""--launcher accelerate: the command line it builds, and one real launch on the tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kinject import launch
from kinject.components import TrainResult
from kinject.config import RunConfig
from kinject.domains import DomainPack
from kinject.errors import ConfigError, KinjectError


def test_multi_gpu_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(launch, "_has_cuda", lambda: True)
    cmd = launch.accelerate_command(
        RunConfig(launcher="accelerate", num_processes=4), tmp_path, resume=True
    )
    assert cmd[1:] == [
        "launch",
        "--num_processes",
        "4",
        "--multi_gpu",
        "-m",
        "kinject.launch",
        str(tmp_path),
        "--resume",
    ]


def test_config_file_is_passed_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(launch, "_has_cuda", lambda: False)
    config = RunConfig(launcher="accelerate", num_processes=8, accelerate_config="fsdp.yaml")
    cmd = launch.accelerate_command(config, tmp_path, resume=False)
    assert cmd[4:6] == ["--config_file", "fsdp.yaml"] and "--cpu" not in cmd


def test_several_cpu_processes_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(launch, "_has_cuda", lambda: False)
    with pytest.raises(ConfigError, match="needs CUDA"):
        launch.accelerate_command(
            RunConfig(launcher="accelerate", num_processes=2), tmp_path, resume=False
        )


def test_the_workers_get_the_prior_results_and_rank_0_result_comes_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    sft = TrainResult(
        tmp_path / "cmp" / "sft" / "model" / "final", tmp_path / "base", metrics={"steps": 2}
    )
    TrainResult(run / "model" / "old", sft.base_model).save(run)  # an earlier training's result

    def workers(cmd: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        assert (
            launch.handed_prior(run) == {"sft": sft}
            and not (run / "model" / "result.json").exists()
        )
        TrainResult(run / "model" / "final", sft.base_model, metrics={"world_size": 2}).save(run)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(launch, "accelerate_command", lambda *args: ["accelerate"])
    monkeypatch.setattr(launch.subprocess, "run", workers)
    result = launch.train_with_launcher(RunConfig(launcher="accelerate"), run, False, {"sft": sft})
    assert result.model_dir == run / "model" / "final" and result.metrics == {"world_size": 2}
    monkeypatch.setattr(
        launch.subprocess, "run", lambda cmd, check: subprocess.CompletedProcess(cmd, 0)
    )
    # exit 0, nothing saved
    with pytest.raises(KinjectError, match="training under accelerate failed"):
        launch.train_with_launcher(RunConfig(launcher="accelerate"), run, False)
    assert launch.handed_prior(run) == {}


@pytest.mark.slow
def test_training_runs_under_accelerate_launch(
    tmp_path: Path, sample_pack: DomainPack, tiny_model: Path
) -> None:
    recipe = {
        "corpus": [str(sample_pack.corpus)],
        "eval_set": str(sample_pack.eval),
        "base_model": str(tiny_model),
        "cleaners": ["normalize"],
        "augmenters": [],
        "evaluators": ["knowledge-qa"],
        "exporters": [],
        "forgetting": False,
        "run_dir": str(tmp_path / "run"),
        "launcher": "accelerate",
        "trainer": {"max_steps": 3, "batch_size": 1, "report_to": []},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KINJECT_LOAD_PLUGINS": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "kinject", "--config", str(path), "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads((tmp_path / "run" / "model" / "result.json").read_text())["result"]
    assert result["metrics"]["steps"] == 3 and "world_size" in result["metrics"]
    assert (tmp_path / "run" / "report.md").exists()
