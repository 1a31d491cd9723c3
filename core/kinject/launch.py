"""Training under ``accelerate launch`` (DDP, FSDP, DeepSpeed): the training stage in N processes.

The engine prepares data in the launching process, then runs only the training stage in N
worker processes.

``python -m kinject.launch RUN_DIR [--resume]`` is what each worker runs; it rebuilds the run from
``manifest.json`` and ``data/train.jsonl`` (with the results it may build on, saved under
``model/prior/``), trains, and rank 0 saves the training result the way every run does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kinject.components import TrainJob, TrainResult, result_file
from kinject.config import RunConfig
from kinject.errors import ConfigError, KinjectError
from kinject.models import resolve_model
from kinject.plugins import get_plugins
from kinject.records import read_jsonl
from kinject.runs import load_reference, reopen_run

#: where the results a training may build on (``TrainJob.prior``) wait for the workers, by strategy
PRIOR_FOLDER = Path("model") / "prior"


def accelerate_command(config: RunConfig, run_dir: Path, resume: bool) -> list[str]:
    """The ``accelerate launch`` command line for the training stage of ``run_dir``."""
    exe = shutil.which("accelerate")
    if exe is None:
        raise ConfigError(
            "--launcher accelerate needs the accelerate package: pip install accelerate"
        )
    cmd = [exe, "launch", "--num_processes", str(config.num_processes)]
    if config.accelerate_config:
        cmd += ["--config_file", config.accelerate_config]
    elif not _has_cuda():
        if config.num_processes > 1:
            raise ConfigError(
                "--num-processes > 1 needs CUDA GPUs (or an accelerate config file for another "
                "backend); on a CPU accelerate runs one process"
            )
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


def train_with_launcher(
    config: RunConfig, run_dir: Path, resume: bool, prior: dict[str, TrainResult] | None = None
) -> TrainResult:
    """Run the training stage under accelerate and read back rank 0's result."""
    done = result_file(run_dir)
    done.unlink(missing_ok=True)  # an earlier training's result would hide a failed one
    shutil.rmtree(run_dir / PRIOR_FOLDER, ignore_errors=True)
    for name, result in (prior or {}).items():
        result.save(run_dir, run_dir / PRIOR_FOLDER / name)
    proc = subprocess.run(accelerate_command(config, run_dir, resume), check=False)
    if proc.returncode != 0 or not done.exists():
        raise KinjectError(
            f"training under accelerate failed (exit code {proc.returncode}); see the output above"
        )
    return TrainResult.load(done, run_dir)


def handed_prior(run_dir: Path) -> dict[str, TrainResult]:
    """The results :func:`train_with_launcher` saved for the workers, by strategy."""
    folder = run_dir / PRIOR_FOLDER
    return (
        {p.name: TrainResult.load(p, run_dir) for p in sorted(folder.iterdir())}
        if folder.is_dir()
        else {}
    )


def worker(run_dir: Path, resume: bool) -> None:
    """One training process: rebuild the run, train, and (rank 0) save the result."""
    context = reopen_run(run_dir, get_plugins())
    config = context.config
    trainer = context.plugins.create("trainer", config.strategy, config.trainer)
    trainer.setup(context)
    train = list(read_jsonl(run_dir / "data" / "train.jsonl"))
    held = run_dir / "data" / "eval.jsonl"
    job = TrainJob(
        resolve_model(config.base_model),
        train,
        run_dir / "model",
        context,
        eval=list(read_jsonl(held)) if held.exists() else [],
        reference=load_reference(config),
        resume=resume,
        prior=handed_prior(run_dir),
    )
    result = trainer.train(job)
    result.metrics["world_size"] = int(os.environ.get("WORLD_SIZE", "1"))
    if int(os.environ.get("RANK", "0")) == 0:
        result.save(run_dir)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m kinject.launch RUN_DIR [--resume]")
    worker(Path(args[0]), "--resume" in args[1:])


if __name__ == "__main__":
    main()
