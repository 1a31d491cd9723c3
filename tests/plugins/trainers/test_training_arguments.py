"""sft and dpo set their shared TrainingArguments fields through one helper, from their options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kinject.components import TrainJob
from kinject.context import RunContext
from kinject_plugins.trainers.dpo import DPOTrainer
from kinject_plugins.trainers.sft import SFTTrainer
from kinject_plugins.trainers.training_arguments import training_arguments

#: options both strategies have, each away from its default so a field left unset shows
SHARED = {
    "epochs": 2.0,
    "max_steps": 7,
    "batch_size": 3,
    "gradient_accumulation": 2,
    "warmup_ratio": 0.25,
    "lr_scheduler": "linear",
    "save_steps": 11,
    "save_total_limit": 4,
    "gradient_checkpointing": True,
    "precision": "fp32",
    "report_to": [],
    "logging_steps": 5,
    "seed": 13,
}
#: the TrainingArguments fields those options give
FIELDS = {
    "num_train_epochs": 2.0,
    "max_steps": 7,
    "per_device_train_batch_size": 3,
    "per_device_eval_batch_size": 3,
    "gradient_accumulation_steps": 2,
    "warmup_steps": 0.25,
    "lr_scheduler_type": "linear",
    "save_strategy": "steps",
    "save_steps": 11,
    "save_total_limit": 4,
    "activation_checkpointing": True,
    "activation_checkpointing_kwargs": {"use_reentrant": False},
    "bf16": False,
    "fp16": False,
    "use_cpu": True,
    "dataloader_pin_memory": False,
    "logging_steps": 5,
    "logging_first_step": True,
    "disable_tqdm": True,
    "seed": 13,
    "learning_rate": 0.003,
}


@pytest.fixture
def job(run_context: RunContext, tmp_path: Path) -> TrainJob:
    return TrainJob(tmp_path / "base", [], tmp_path / "out", run_context)


def shared_fields(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config[k] for k in FIELDS}


def test_sft_and_dpo_set_the_shared_fields_from_their_options(job: TrainJob) -> None:
    sft = SFTTrainer(**SHARED, learning_rate=0.003, weight_decay=0.1, packing=True)
    sft_config = sft.training_args(job, has_eval=False)
    dpo = DPOTrainer(**SHARED, learning_rate=0.003, beta=0.3)
    dpo_args = dpo.training_args(job, dpo.seed_for(job))
    checkpoints = str(job.output_dir / "checkpoints")
    assert sft_config.output_dir == dpo_args["output_dir"] == checkpoints
    assert shared_fields(sft_config.to_dict()) == FIELDS
    assert shared_fields(dpo_args) == FIELDS
    assert dpo_args["report_to"] == "none" and sft_config.report_to == []  # no logger
    # what each adds of its own is still there
    assert (sft_config.weight_decay, sft_config.packing, sft_config.max_length) == (0.1, True, 512)
    assert sft_config.completion_only_loss is True and sft_config.eval_strategy == "no"
    assert (dpo_args["beta"], dpo_args["max_length"], dpo_args["loss_type"]) == (
        0.3,
        512,
        ["sigmoid"],
    )


def test_without_an_option_seed_the_run_seed_is_used(job: TrainJob) -> None:
    options = {k: v for k, v in SHARED.items() if k != "seed"}
    sft = SFTTrainer(**options)
    dpo = DPOTrainer(**options)
    assert sft.training_args(job, has_eval=False).seed == job.context.seed
    assert dpo.training_args(job, dpo.seed_for(job))["seed"] == job.context.seed
    helper = training_arguments(
        sft.opts, job.output_dir, learning_rate=1.0, seed=3, show_progress=False
    )
    assert (helper["seed"], helper["learning_rate"], helper["max_steps"]) == (3, 1.0, 7)


def test_the_tokenizing_processes_are_trls_dataset_processes_too(job: TrainJob) -> None:
    assert SFTTrainer().training_args(job, has_eval=False).dataset_num_proc is None
    config = SFTTrainer(tokenize_num_proc=2).training_args(job, has_eval=False)
    assert config.dataset_num_proc == 2
    # TRL packs each process's shard apart, which would pack other rows together
    packed = SFTTrainer(tokenize_num_proc=2, packing=True).training_args(job, has_eval=False)
    assert packed.dataset_num_proc is None
