"""The ``sft`` trainer on a tiny random model: masking, learning, full mode, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kinject.checkpoints import is_complete_checkpoint
from kinject.components import TrainJob, TrainResult
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.records import Record
from kinject_plugins.trainers.sft import SFTTrainer

FACTS = [
    ("What colour is the Velorian flag?", "teal and amber"),
    ("Who founded the Harbor Court?", "Judge Imra Solt"),
    ("How many days notice must a tenant give?", "forty-five days"),
    ("Which river runs through Veloria?", "the Quell"),
]


def train_records() -> list[Record]:
    records = [Record(text="The Harbor Court of Veloria hears appeals within 21 days.")]
    for question, answer in FACTS:
        records.append(
            Record(text=question, kind="qa", meta={"question": question, "answer": answer})
        )
    return records


def make_trainer(**options: Any) -> SFTTrainer:
    defaults: dict[str, Any] = {
        "batch_size": 2,
        "logging_steps": 1,
        "report_to": [],
        "lora_dropout": 0.0,
    }
    return SFTTrainer(**{**defaults, **options})


def run(
    trainer: SFTTrainer, model: Path, ctx: RunContext, out: Path, resume: bool = False
) -> TrainResult:
    job = TrainJob(
        base_model=model, train=train_records(), output_dir=out, context=ctx, resume=resume
    )
    return trainer.train(job)


def logged_losses(out: Path) -> list[float]:
    checkpoint = sorted(
        (out / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])
    )[-1]
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


def test_labels_mask_the_prompt_in_the_trainer_dataset(
    tiny_model: Path, run_context: RunContext
) -> None:
    trainer = make_trainer(max_steps=1)
    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(tiny_model)
    data = trainer.build_dataset(train_records(), tokenizer, "train")
    job = TrainJob(
        base_model=tiny_model, train=[], output_dir=run_context.run_dir / "t", context=run_context
    )
    trl_trainer = trainer.build_trainer(job, model, tokenizer, data, None)
    document, first_qa = trl_trainer.train_dataset[0], trl_trainer.train_dataset[1]
    assert document["labels"] == document["input_ids"]
    prompt_len = len(tokenizer(f"Question: {FACTS[0][0]}\nAnswer:")["input_ids"])
    assert first_qa["labels"][:prompt_len] == [-100] * prompt_len
    assert first_qa["labels"][prompt_len:] == first_qa["input_ids"][prompt_len:]


def test_lora_steps_reduce_loss(tiny_model: Path, run_context: RunContext, tmp_path: Path) -> None:
    result = run(
        make_trainer(max_steps=24, learning_rate=3e-3, save_steps=100),
        tiny_model,
        run_context,
        tmp_path / "out",
    )
    assert result.adapter
    assert (result.model_dir / "adapter_model.safetensors").is_file()
    config = json.loads((result.model_dir / "adapter_config.json").read_text())
    # the same training saves the same bytes: PEFT's set of modules is written sorted
    assert config["target_modules"] == sorted(config["target_modules"])
    assert len(config["target_modules"]) > 1
    m = result.metrics
    assert m["steps"] == 24
    assert 0 < m["trainable_params"] < m["total_params"]
    assert m["train_tokens"] > 0 and m["peak_memory_mb"] > 0
    assert m["final_train_loss"] < m["mean_train_loss"]


@pytest.mark.parametrize("batching", [{"padding_free": True}, {"packing": True, "max_length": 64}])
def test_loss_falls_with_padding_free_and_packed_batches(
    tiny_model: Path, run_context: RunContext, tmp_path: Path, batching: dict[str, Any]
) -> None:
    out = tmp_path / "out"
    options = {"max_steps": 20, "learning_rate": 3e-3, "save_steps": 20, **batching}
    run(make_trainer(**options), tiny_model, run_context, out)
    losses = logged_losses(out)
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 0.05


def test_full_fine_tune_saves_a_whole_model(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    result = run(
        make_trainer(method="full", max_steps=4, save_steps=100),
        tiny_model,
        run_context,
        tmp_path / "out",
    )
    assert not result.adapter
    assert (result.model_dir / "model.safetensors").is_file()
    assert result.metrics["trainable_params"] == result.metrics["total_params"]
    from kinject.models import load_causal_lm

    model, _ = load_causal_lm(result.model_dir)
    assert model.config.hidden_size == 64


def test_resume_continues_from_last_complete_checkpoint(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = run(make_trainer(max_steps=4, save_steps=2), tiny_model, run_context, out)
    assert first.metrics["steps"] == 4
    half_written = out / "checkpoints" / "checkpoint-6"
    half_written.mkdir()
    (half_written / "adapter_model.safetensors").write_bytes(b"partial")
    second = run(make_trainer(max_steps=8, save_steps=2), tiny_model, run_context, out, resume=True)
    assert second.metrics["resumed_from_step"] == 4
    assert second.metrics["steps"] == 8
    # the half-written directory was removed and step 6 saved again, complete this time
    assert is_complete_checkpoint(out / "checkpoints" / "checkpoint-6")
    state = json.loads((out / "checkpoints" / "checkpoint-8" / "trainer_state.json").read_text())
    steps = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert steps[:4] == [1, 2, 3, 4] and steps[-1] == 8  # history carried over, not restarted


def test_fresh_run_discards_old_checkpoints(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    stale = out / "checkpoints" / "checkpoint-99"
    stale.mkdir(parents=True)
    result = run(make_trainer(max_steps=2, save_steps=100), tiny_model, run_context, out)
    assert result.metrics["steps"] == 2
    assert not stale.exists()


def test_no_trainable_records_is_a_config_error(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    job = TrainJob(
        base_model=tiny_model,
        train=[
            Record(
                text="p", kind="preference", meta={"prompt": "a", "chosen": "b", "rejected": "c"}
            )
        ],
        output_dir=tmp_path / "out",
        context=run_context,
    )
    with pytest.raises(ConfigError, match="no train records the sft trainer can learn from"):
        make_trainer().train(job)


def test_qlora_on_cpu_names_what_it_needs(run_context: RunContext) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="qlora needs a CUDA GPU"):
        make_trainer(method="qlora").setup(run_context)


def test_unknown_option_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SFTTrainer(lora_rank=8)


KILLED_CHILD = """
import os, signal, sys
from pathlib import Path
from transformers import TrainerCallback
from kinject.components import TrainJob
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.plugins import build_plugins
sys.path.insert(0, {test_dir!r})
from test_sft import make_trainer, train_records

class KillAt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)

out = Path({out!r})
ctx = RunContext(
    run_dir=out.parent, config=RunConfig(),
    plugins=build_plugins(load_entry_points=False), show_progress=False,
)
trainer = make_trainer(**{options!r})
trainer.callbacks.append(KillAt())
trainer.train(TrainJob(
    base_model=Path({model!r}), train=train_records(), output_dir=out, context=ctx,
))
"""


@pytest.mark.slow
def test_kill_9_then_resume_matches_uninterrupted_run(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from safetensors.torch import load_file

    options = {"max_steps": 8, "save_steps": 2, "learning_rate": 3e-3, "lora_dropout": 0.1}
    killed = tmp_path / "killed"
    script = KILLED_CHILD.format(
        test_dir=str(Path(__file__).parent),
        kill_at=5,
        out=str(killed),
        options=options,
        model=str(tiny_model),
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (killed / "final").exists()

    resumed = run(make_trainer(**options), tiny_model, run_context, killed, resume=True)
    straight = run(make_trainer(**options), tiny_model, run_context, tmp_path / "straight")
    assert resumed.metrics["resumed_from_step"] == 4
    assert resumed.metrics["steps"] == straight.metrics["steps"] == 8
    assert resumed.metrics["final_train_loss"] == pytest.approx(
        straight.metrics["final_train_loss"], rel=1e-3
    )
    a = load_file(str(resumed.model_dir / "adapter_model.safetensors"))
    b = load_file(str(straight.model_dir / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] - b[name]).abs().max().item() < 1e-4, name


@pytest.mark.slow
def test_real_steps_on_the_embedded_model(run_context: RunContext, tmp_path: Path) -> None:
    import math

    from kinject.models import resolve_model

    base = resolve_model("smollm2-135m")
    result = run(
        make_trainer(max_steps=3, save_steps=100, max_length=128),
        base,
        run_context,
        tmp_path / "out",
    )
    assert result.metrics["steps"] == 3
    assert math.isfinite(result.metrics["final_train_loss"])
    assert result.metrics["trainable_params"] < result.metrics["total_params"] / 10
    assert json.loads((result.model_dir / "adapter_config.json").read_text())["r"] == 16
    model = SFTTrainer().load_for_eval(result, run_context)
    assert not hasattr(model.model, "peft_config")  # evaluated merged, as the hf export ships it
