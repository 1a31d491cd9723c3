"""The training bar: step/total, loss, tokens per second and time left, for every HF-based trainer.

transformers prints its own tqdm bar and each log dict (``{'loss': '3.352', ...}``) through its
``ProgressCallback`` / ``PrinterCallback``. :func:`attach_progress` takes those off a trainer and
puts :class:`ProgressCallback` on: a bar in kinject's live display (on a terminal only) and each
log step as one JSON line on the ``kinject.training`` logger (``<run_dir>/logs/training.log``
under ``kinject.console.library_output``). With ``inject -v`` transformers' own output stays.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from typing import Any

from transformers import TrainerCallback

from kinject.console import TRAINING, verbose

log = logging.getLogger(TRAINING)


class TrainingRate:
    """Tokens per second and seconds left of a training, from where it started and where it is.

    A resumed training starts at a later step: only the steps and tokens of this session count.
    """

    def __init__(
        self, total_steps: int, start_step: int = 0, start_tokens: int = 0, started: float = 0.0
    ) -> None:
        self.total_steps, self.start_step, self.start_tokens = total_steps, start_step, start_tokens
        self.started = started
        self.step, self.tokens, self.now = start_step, start_tokens, started

    def update(self, step: int, tokens: int, now: float) -> None:
        self.step, self.tokens, self.now = step, tokens, now

    @property
    def elapsed(self) -> float:
        return self.now - self.started

    @property
    def tokens_per_s(self) -> float | None:
        done = self.tokens - self.start_tokens
        return done / self.elapsed if self.elapsed > 0 and done > 0 else None

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace of the steps so far (None before the first step)."""
        done = self.step - self.start_step
        if done <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed / done * max(0, self.total_steps - self.step)


def describe(loss: float | None, rate: TrainingRate) -> str:
    """The text after the bar: ``loss 2.314 · 1,530 tok/s``."""
    parts = []
    if loss is not None:
        parts.append(f"loss {loss:.3f}")
    if rate.tokens_per_s is not None:
        parts.append(f"{rate.tokens_per_s:,.0f} tok/s")
    return " · ".join(parts)


class ProgressCallback(TrainerCallback):  # type: ignore[misc]
    """A live bar for one training, and its log steps as JSON lines on ``kinject.training``."""

    def __init__(self, label: str = "training", enabled: bool = True) -> None:
        self.label, self.enabled = label, enabled
        self.trainer: Any = None
        self.rate = TrainingRate(0)
        self.loss: float | None = None
        self._display = contextlib.ExitStack()
        self._bar: Any = None

    def tokens_seen(self, state: Any) -> int:
        """Tokens trained on so far: the Trainer's count where it keeps one, else TRL's."""
        return int(
            state.num_input_tokens_seen or getattr(self.trainer, "_total_train_tokens", 0) or 0
        )

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        from kinject.progress import live_bar

        self.rate = TrainingRate(
            state.max_steps, state.global_step, self.tokens_seen(state), time.perf_counter()
        )
        if state.is_local_process_zero:
            self._bar = self._display.enter_context(
                live_bar(self.label, total=state.max_steps, enabled=self.enabled)
            )
            self._bar.update(completed=state.global_step)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.rate.update(state.global_step, self.tokens_seen(state), time.perf_counter())
        if self._bar is not None:
            self._bar.update(
                completed=state.global_step,
                eta_s=self.rate.eta_s,
                info=describe(self.loss, self.rate),
            )

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not logs or not state.is_local_process_zero:
            return
        if "loss" in logs:
            self.loss = float(logs["loss"])
        entry = {"trainer": self.label, "step": state.global_step, **logs}
        log.info(json.dumps(entry, default=str))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.update(
                completed=state.global_step, eta_s=None, info=describe(self.loss, self.rate)
            )
        self._bar = None
        self._display.close()


def attach_progress(
    trainer: Any, label: str = "training", enabled: bool = True
) -> ProgressCallback:
    """Replace transformers' printed bar and log dicts on ``trainer`` by kinject's bar and log.

    Under ``inject -v`` transformers' own callbacks stay and no bar is drawn.
    """
    from transformers.trainer_callback import PrinterCallback
    from transformers.trainer_callback import ProgressCallback as HFProgressCallback

    callback = ProgressCallback(label, enabled=enabled and not verbose())
    callback.trainer = trainer
    if not verbose():
        for printer in (PrinterCallback, HFProgressCallback):
            trainer.remove_callback(printer)
        with contextlib.suppress(ImportError):
            from transformers.utils.notebook import NotebookProgressCallback

            trainer.remove_callback(NotebookProgressCallback)
    trainer.add_callback(callback)
    return callback


def hf_tqdm_disabled(show_progress: bool) -> bool:
    """``disable_tqdm`` for ``TrainingArguments``: transformers' bar only under ``inject -v``,
    on a terminal (elsewhere it prints each log dict instead, as it always has)."""
    return not (verbose() and show_progress and sys.stderr.isatty())
