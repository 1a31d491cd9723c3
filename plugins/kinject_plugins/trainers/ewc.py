"""``ewc``: continual injection. SFT plus an elastic-weight-consolidation penalty and replay.

One run, top to bottom: the training records plus ``replay_ratio`` × as many reference
records (general text, or a previous domain's data) -> ``sft``'s dataset and TRL trainer ->
the diagonal Fisher of the LM loss on the reference data, over the trainable parameters,
at the starting weights ``θ*`` -> training with ``loss + ewc_lambda · Σ F_i (θ_i − θ*_i)²``.

Sequential injection: run domain A, then domain B with ``init_adapter: <run A>`` and
``reference: <run A>``; the adapter keeps training from A's weights and the Fisher comes from
A's data, so the parameters A relies on are the ones held in place.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field

from kinject.components import TrainJob, TrainResult
from kinject.errors import ConfigError
from kinject.records import Record
from kinject_plugins.trainers.continued_sft import ContinuedSFTOptions, ContinuedSFTTrainer
from kinject_plugins.trainers.previous_run import reference_records

if TYPE_CHECKING:
    from kinject_plugins.trainers.fisher import EWCState

STATE_FILE = "ewc_state.safetensors"


class EWCOptions(ContinuedSFTOptions):
    """``sft``'s options (and ``init_adapter``) plus the EWC penalty and replay."""

    #: weight of the penalty; the Fisher is unnormalised (mean squared gradients)
    ewc_lambda: float = Field(1000.0, ge=0.0)
    #: reference examples used to estimate the Fisher diagonal
    fisher_samples: int = Field(64, ge=1)
    #: reference records mixed into training, as a fraction of the training records
    replay_ratio: float = Field(0.1, ge=0.0, le=10.0)
    #: a JSONL file or a previous run directory; default: the engine's general text
    reference: Path | None = None


class EWCTrainer(ContinuedSFTTrainer):
    """SFT with a Fisher-weighted pull towards the starting weights, plus replay."""

    name = "ewc"
    description = "continual SFT: EWC penalty (Fisher on reference data) plus replay mixing"
    Options: ClassVar[type[BaseModel]] = EWCOptions
    opts: EWCOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._reference: list[Record] = []
        self._state: EWCState | None = None
        self._penalty = 0.0
        self._replayed = 0

    def train(self, job: TrainJob) -> TrainResult:
        self._reference = self.reference_records(job)
        replay = pick_replay(
            self._reference, len(job.train), self.opts.replay_ratio, self.seed_for(self.context)
        )
        self._replayed = len(replay)
        return super().train(replace(job, train=[*job.train, *replay]))

    def reference_records(self, job: TrainJob) -> list[Record]:
        """The ``reference`` option's data, else the engine's reference set."""
        source = f"trainer {self.name}"
        records = (
            reference_records(self.opts.reference, source) if self.opts.reference else job.reference
        )
        if not records:
            raise ConfigError(
                "ewc needs reference data for its Fisher estimate: set reference_set in the "
                "recipe, "
                "or the trainer option reference (a JSONL file or a previous run directory)",
                source=source,
            )
        return records

    def build_trainer(
        self, job: TrainJob, model: Any, tokenizer: Any, train_data: Any, eval_data: Any
    ) -> Any:
        from kinject_plugins.trainers.fisher import ewc_penalty_fn
        from kinject_plugins.trainers.loss_terms import add_penalty

        trainer = super().build_trainer(job, model, tokenizer, train_data, eval_data)
        # Fisher and anchors at the starting weights: a resumed run must reuse the first run's.
        self._state = self.ewc_state(job, trainer.model, tokenizer)
        penalty = ewc_penalty_fn(trainer.model, self._state)
        add_penalty(trainer, penalty, self.opts.ewc_lambda, self._record_penalty)
        return trainer

    def ewc_state(self, job: TrainJob, model: Any, tokenizer: Any) -> EWCState:
        """Estimate (or, on resume, reload) the Fisher diagonal and anchor weights."""
        from kinject_plugins.trainers.fisher import EWCState, estimate_fisher

        path = job.output_dir / STATE_FILE
        if job.resume and path.is_file():
            return EWCState.load(path)
        rows = self.build_dataset(self._reference, tokenizer, "reference")
        order = list(range(len(rows)))
        random.Random(self.seed_for(self.context)).shuffle(order)
        examples = [rows[i] for i in order[: self.opts.fisher_samples]]
        state = estimate_fisher(model, examples, self.opts.fisher_samples)
        state.save(path)
        return state

    def _record_penalty(self, value: float) -> None:
        self._penalty = value

    def collect_metrics(self, trainer: Any, output: Any, started: float) -> dict[str, Any]:
        metrics = super().collect_metrics(trainer, output, started)
        metrics.update(
            ewc_lambda=self.opts.ewc_lambda,
            ewc_penalty_last=self._penalty,
            replayed_records=self._replayed,
            reference_records=len(self._reference),
        )
        if self._state is not None:
            from kinject_plugins.trainers.fisher import trainable_parameters, weighted_drift

            metrics.update(self._state.summary())
            metrics["fisher_weighted_drift"] = weighted_drift(
                trainable_parameters(trainer.model), self._state
            )
        return metrics


def pick_replay(reference: list[Record], n_train: int, ratio: float, seed: int) -> list[Record]:
    """``round(ratio * n_train)`` reference records, shuffled, cycling when there are too few."""
    wanted = round(ratio * n_train)
    if wanted == 0 or not reference:
        return []
    order = list(range(len(reference)))
    random.Random(seed).shuffle(order)
    return [reference[order[i % len(order)]] for i in range(wanted)]
