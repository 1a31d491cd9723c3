"""Training under ``accelerate launch`` (DDP, FSDP, DeepSpeed): the engine prepares data in the
launching process, then runs only the training stage in N worker processes.

``python -m kinject.launch RUN_DIR [--resume]`` is what each worker runs; it rebuilds the run from
``manifest.json`` and ``data/train.jsonl``, trains, and rank 0 writes ``model/launch_result.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from kinject.components import TrainJob, TrainResult
from kinject.config import RunConfig
from kinject.errors import ConfigError, KinjectError

RESULT_NAME = "launch_result.json"


def accelerate_command(config: RunConfig, run_dir: Path, resume: bool) -> list[str]:
    """The ``accelerate launch`` command line for the training stage of ``run_dir``."""
    exe = shutil.which("accelerate")
    if exe is None:
        raise ConfigError("--launcher accelerate needs the accelerate package: pip install accelerate")
    cmd = [exe, "launch", "--num_processes", str(config.num_processes)]
    if config.accelerate_config:
        cmd += ["--config_file", config.accelerate_config]
    elif not _has_cuda():
        if config.num_processes > 1:
            raise ConfigError("--num-processes > 1 needs CUDA GPUs (or an accelerate config file for another "
                              "backend); on a CPU accelerate runs one process")
        cmd += ["--cpu"]
    elif config.num_processes > 1:
        cmd += ["--multi_gpu"]
    cmd += ["-m", "kinject.launch", str(run_dir)]
    return cmd + (["--resume"] if resume else [])


def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def train_with_launcher(config: RunConfig, run_dir: Path, resume: bool) -> TrainResult:
    """Run the training stage under accelerate and read back rank 0's result."""
    result_file = run_dir / "model" / RESULT_NAME
    result_file.unlink(missing_ok=True)
    proc = subprocess.run(accelerate_command(config, run_dir, resume), check=False)
    if proc.returncode != 0 or not result_file.exists():
        raise KinjectError(f"training under accelerate failed (exit code {proc.returncode}); see the output above")
    data = json.loads(result_file.read_text(encoding="utf-8"))
    data["model_dir"], data["base_model"] = Path(data["model_dir"]), Path(data["base_model"])
    return TrainResult(**data)


def worker(run_dir: Path, resume: bool) -> None:
    """One training process: rebuild the run, train, and (rank 0) write the result."""
    from kinject.eval_set import EVAL_SET_FILE
    from kinject.evaluation import load_eval_items
    from kinject.models import resolve_model
    from kinject.pipeline import load_reference, open_run
    from kinject.plugins import get_plugins, require_domain
    from kinject.records import read_jsonl

    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    config = RunConfig(**{**manifest["config"], "run_dir": str(run_dir)})
    plugins = get_plugins()
    pack = require_domain(plugins, config.domain) if config.domain else None
    context = open_run(config, plugins, pack, show_progress=False)
    questions = run_dir / EVAL_SET_FILE
    context.eval_items = load_eval_items(questions) if questions.exists() else []
    trainer = plugins.create("trainer", config.strategy, config.trainer)
    trainer.setup(context)
    train = list(read_jsonl(run_dir / "data" / "train.jsonl"))
    held = run_dir / "data" / "eval.jsonl"
    job = TrainJob(resolve_model(config.base_model), train, run_dir / "model", context,
                   eval=list(read_jsonl(held)) if held.exists() else [], reference=load_reference(config), resume=resume)
    result = trainer.train(job)
    result.metrics["world_size"] = int(os.environ.get("WORLD_SIZE", "1"))
    if int(os.environ.get("RANK", "0")) == 0:
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}
        (run_dir / "model" / RESULT_NAME).write_text(json.dumps(data, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m kinject.launch RUN_DIR [--resume]")
    worker(Path(args[0]), "--resume" in args[1:])


if __name__ == "__main__":
    main()
