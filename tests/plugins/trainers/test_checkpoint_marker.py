"""``MarkCompleteCallback``: the Hugging Face trainers mark each checkpoint once it is saved."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from kinject.checkpoints import COMPLETE_MARKER, marked_step
from kinject.components import TrainJob
from kinject.context import RunContext
from kinject.records import Record
from kinject_plugins.trainers.checkpoint_marker import MarkCompleteCallback
from kinject_plugins.trainers.sft import SFTTrainer


def save(tmp_path: Path, step: int, should_save: bool = True) -> Path:
    """Call ``on_save`` as the Trainer does after writing ``checkpoint-<step>``."""
    folder = tmp_path / f"checkpoint-{step}"
    folder.mkdir(exist_ok=True)
    args = SimpleNamespace(output_dir=str(tmp_path), should_save=should_save)
    MarkCompleteCallback().on_save(args, SimpleNamespace(global_step=step), SimpleNamespace())  # type: ignore[arg-type]
    return folder


def test_on_save_marks_the_checkpoint_of_the_step(tmp_path: Path) -> None:
    assert marked_step(save(tmp_path, 30)) == 30


def test_only_the_saving_process_marks(tmp_path: Path) -> None:
    assert not (save(tmp_path, 30, should_save=False) / COMPLETE_MARKER).exists()


def test_sft_registers_it(tiny_model: Path, run_context: RunContext) -> None:
    from kinject.models import load_causal_lm

    trainer = SFTTrainer(max_steps=1, report_to=[])
    model, tokenizer = load_causal_lm(tiny_model)
    data = trainer.build_dataset(
        [Record(text="The Harbor Court hears appeals.")], tokenizer, "train"
    )
    job = TrainJob(
        base_model=tiny_model, train=[], output_dir=run_context.run_dir / "t", context=run_context
    )
    callbacks = trainer.build_trainer(job, model, tokenizer, data, None).callback_handler.callbacks
    assert any(isinstance(callback, MarkCompleteCallback) for callback in callbacks)
