"""The training bar's arithmetic, and what it does to a real trainer's callbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinject.components import TrainJob
from kinject.context import RunContext
from kinject_plugins.trainers.progress_callback import TrainingRate, describe


def test_rate_and_time_left_count_this_session_only() -> None:
    # resumed at step 10 with 1,000 tokens seen; 20 s later at step 30 with 5,000
    rate = TrainingRate(total_steps=110, start_step=10, start_tokens=1000, started=100.0)
    rate.update(step=30, tokens=5000, now=120.0)
    assert rate.tokens_per_s == pytest.approx(200.0)
    assert rate.eta_s == pytest.approx(80.0)  # 1 s per step, 80 steps to go
    assert describe(2.31449, rate) == "loss 2.314 · 200 tok/s"


def test_nothing_is_estimated_before_the_first_step() -> None:
    rate = TrainingRate(total_steps=50, started=10.0)
    rate.update(step=0, tokens=0, now=12.0)
    assert rate.tokens_per_s is None and rate.eta_s is None
    assert describe(None, rate) == ""


def test_finished_training_has_no_time_left() -> None:
    rate = TrainingRate(total_steps=5, started=0.0)
    rate.update(step=5, tokens=640, now=4.0)
    assert rate.eta_s == 0.0 and rate.tokens_per_s == pytest.approx(160.0)


def test_sft_trainer_prints_no_log_dicts(tiny_model: Path, run_context: RunContext) -> None:
    from transformers.trainer_callback import PrinterCallback
    from transformers.trainer_callback import ProgressCallback as HFProgress

    from kinject.models import load_causal_lm
    from kinject.records import Record
    from kinject_plugins.trainers.progress_callback import ProgressCallback
    from kinject_plugins.trainers.sft import SFTTrainer

    trainer = SFTTrainer(max_steps=1, batch_size=2, report_to=[])
    model, tokenizer = load_causal_lm(tiny_model)
    data = trainer.build_dataset(
        [Record(text="The Harbor Court hears appeals within 21 days.")], tokenizer, "train"
    )
    job = TrainJob(
        base_model=tiny_model, train=[], output_dir=run_context.run_dir / "t", context=run_context
    )
    hf_trainer = trainer.build_trainer(job, model, tokenizer, data, None)
    kinds = [type(c) for c in hf_trainer.callback_handler.callbacks]
    assert ProgressCallback in kinds
    assert PrinterCallback not in kinds and HFProgress not in kinds
    assert hf_trainer.args.disable_tqdm
