"""``MarkCompleteCallback``: marks each Hugging Face checkpoint complete once it is fully written.

The Hugging Face Trainer writes ``checkpoint-<step>`` in place, file by file, and calls its
callbacks' ``on_save`` only after the last one. The marker written there
(:func:`kinject.checkpoints.mark_complete`) is what a resumed run trusts, so a run killed in the
middle of a save leaves a checkpoint that is never resumed from. Every trainer built on the
Hugging Face Trainer registers this callback: ``sft`` (and the strategies built on it) and GRPO.

This module imports transformers; import it inside the function that builds a trainer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from kinject.checkpoints import mark_complete


class MarkCompleteCallback(TrainerCallback):
    """Writes ``checkpoint-<step>/.complete`` after the Trainer has saved ``checkpoint-<step>``."""

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        # should_save: only the process that wrote the checkpoint marks it (one writer per file)
        if not args.should_save or args.output_dir is None:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            mark_complete(folder, state.global_step)
