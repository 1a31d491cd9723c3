"""The ``dpo`` trainer and its two siblings, ``kto`` and ``orpo`` (one class, three methods)."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from kinject.components import Trainer, TrainJob, TrainResult
from kinject.errors import ConfigError
from kinject.report import write_loss_history
from kinject_plugins.trainers.dpo.options import DPOOptions, KTOOptions, ORPOOptions
from kinject_plugins.trainers.ppo import preferences as prefs
from kinject_plugins.trainers.run_measures import add_run_measures, option_seed, start_run

SOURCE = "trainer dpo"


class DPOTrainer(Trainer):
    """Preference pairs -> TRL's DPO (or KTO, ORPO) on a LoRA adapter over the starting policy."""

    name = "dpo"
    description = (
        "preference pairs (rubric, negatives, JSONL) -> TRL DPO with LoRA on the sft "
        "policy; reference = adapter disabled"
    )
    Options: ClassVar[type[BaseModel]] = DPOOptions
    opts: DPOOptions

    def train(self, job: TrainJob) -> TrainResult:
        from kinject.models import load_causal_lm
        from kinject_plugins.trainers.dpo.held_out import preference_metrics, score_pairs
        from kinject_plugins.trainers.sft import prepare_checkpoint_dir, save_final

        seed = self.seed_for(job)
        started = start_run(seed)
        train_pairs, held_out = self.split_pairs(job, seed)
        start_model, metrics = self.starting_model(job)
        model, tokenizer = load_causal_lm(start_model)
        resume_from = prepare_checkpoint_dir(job.output_dir / "checkpoints", job.resume)
        trainer = self.build_trainer(job, model, tokenizer, train_pairs, seed)
        output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        final = save_final(trainer, tokenizer, job.output_dir / "final")
        write_loss_history(trainer.state.log_history, job.output_dir)
        metrics.update(self.training_metrics(trainer, output, train_pairs))
        scores = score_pairs(trainer.model, tokenizer, held_out, self.opts.max_length)
        metrics.update(preference_metrics(scores, self.opts.beta))
        if resume_from is not None:
            metrics["resumed_from_step"] = int(resume_from.name.split("-")[-1])
        add_run_measures(metrics, started)
        started_from = None if start_model == job.base_model else job.base_model
        return TrainResult(
            model_dir=final,
            base_model=start_model,
            adapter=True,
            metrics=metrics,
            started_from=started_from,
        )

    def seed_for(self, job: TrainJob) -> int:
        """The option's seed, else the run's."""
        return option_seed(self.opts.seed, self.context)

    # -- 1. the starting policy -----------------------------------------------------------------

    def starting_model(self, job: TrainJob) -> tuple[Path, dict[str, Any]]:
        """The model the adapter is trained on (and the reference): the base, or the SFT model.

        An SFT adapter (``init_adapter``, else the ``sft`` row ``inject compare`` hands over) is
        merged into the base once and saved as ``<output>/sft_model``, as rlhf does.
        """
        from kinject_plugins.trainers.distill import prior_sft_result
        from kinject_plugins.trainers.ppo.policy import merged_sft_model
        from kinject_plugins.trainers.previous_run import resolve_adapter

        if self.opts.init_adapter is not None:
            adapter = resolve_adapter(self.opts.init_adapter, SOURCE)
        elif (prior := prior_sft_result(job)) is not None:
            if not prior.adapter:  # a full fine-tune: it is the starting model as it is
                return prior.model_dir, {"start": "sft", "sft_from": str(prior.model_dir)}
            adapter = prior.model_dir
        else:
            return job.base_model, {"start": "base"}
        merged = merged_sft_model(job.base_model, adapter, job.output_dir / "sft_model")
        return merged, {"start": "sft", "sft_from": str(adapter)}

    # -- 2. preference pairs ----------------------------------------------------------------------

    def split_pairs(
        self, job: TrainJob, seed: int
    ) -> tuple[list[prefs.PreferencePair], list[prefs.PreferencePair]]:
        """The train and held-out pairs (all pairs of one prompt on one side)."""
        from kinject_plugins.trainers.rlhf import load_rubric

        o = self.opts
        pairs = prefs.collect_pairs(
            job.train,
            load_rubric(self.context),
            seed,
            rubric_pairs=o.rubric_pairs,
            preferences=o.preferences,
            source=SOURCE,
        )
        if not pairs:
            raise ConfigError(
                f"no preference pairs to train {o.method} on: add the negatives augmenter, "
                "a domain pack with a rubric (rubric_pairs), or the preferences option (JSONL)",
                source=SOURCE,
            )
        train, held_out = prefs.split_by_prompt(pairs, o.held_out_ratio, seed)
        origins = Counter(p.origin.split(":")[0] for p in pairs)
        self.stats.update({f"pairs_from_{origin}": n for origin, n in sorted(origins.items())})
        return train, held_out

    # -- 3. the TRL trainer -----------------------------------------------------------------------

    def build_trainer(
        self,
        job: TrainJob,
        model: Any,
        tokenizer: Any,
        pairs: list[prefs.PreferencePair],
        seed: int,
    ) -> Any:
        """TRL's trainer for the method, with a fresh LoRA adapter and no reference model: TRL
        computes the reference log-probabilities with the adapter disabled."""
        from datasets import Dataset
        from peft import LoraConfig

        from kinject_plugins.trainers.checkpoint_marker import MarkCompleteCallback
        from kinject_plugins.trainers.progress_callback import attach_progress
        from kinject_plugins.trainers.sft import tensorboard_dir

        o = self.opts
        rows = {
            "prompt": [p.prompt for p in pairs],
            "chosen": [p.chosen for p in pairs],
            "rejected": [p.rejected for p in pairs],
        }
        lora = LoraConfig(
            r=o.lora_r,
            lora_alpha=o.lora_alpha,
            lora_dropout=0.0,
            target_modules=o.target_modules,
            task_type="CAUSAL_LM",
        )
        config_class, trainer_class = trl_classes(o.method)
        with tensorboard_dir(job.output_dir / "tensorboard"):
            trainer = trainer_class(
                model=model,
                args=config_class(**self.training_args(job, seed)),
                train_dataset=Dataset.from_dict(rows),
                processing_class=tokenizer,
                peft_config=lora,
                callbacks=[MarkCompleteCallback()],
            )
        attach_progress(trainer, f"training ({self.name})", enabled=self.context.show_progress)
        return trainer

    def training_args(self, job: TrainJob, seed: int) -> dict[str, Any]:
        """The keyword arguments of TRL's config class for the method."""
        from kinject_plugins.trainers.training_arguments import training_arguments

        o = self.opts
        args = training_arguments(
            o,
            job.output_dir,
            learning_rate=o.learning_rate,
            seed=seed,
            show_progress=self.context.show_progress,
        )
        args.update(max_length=o.max_length, beta=o.beta)
        if o.method == "dpo":
            args["loss_type"] = [o.loss_type]
        elif o.method == "kto":
            args["loss_type"] = o.loss_type
        return args

    def training_metrics(
        self, trainer: Any, output: Any, pairs: list[prefs.PreferencePair]
    ) -> dict[str, Any]:
        """Steps, pairs, losses and the training batches' last reward margin."""
        history = trainer.state.log_history
        logged = [(entry["step"], entry["loss"]) for entry in history if "loss" in entry]
        losses = [loss for _, loss in logged]
        margins = [entry["rewards/margins"] for entry in history if "rewards/margins" in entry]
        model = trainer.model
        metrics: dict[str, Any] = {
            "method": self.opts.method,
            "loss_type": self.opts.loss_type or "orpo",
            "beta": self.opts.beta,
            "steps": int(trainer.state.global_step),
            "train_pairs": len(pairs),
            "first_train_loss": round(float(losses[0]), 4) if losses else None,
            "final_train_loss": round(float(losses[-1]), 4) if losses else None,
            # a run shorter than logging_steps logs its loss at step 1 only
            "final_train_loss_step": int(logged[-1][0]) if logged else None,
            "mean_train_loss": round(float(output.training_loss), 4),
            "train_tokens": int(getattr(trainer, "_total_train_tokens", 0)),
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "total_params": sum(p.numel() for p in model.parameters()),
        }
        metrics.update({k: v for k, v in self.stats.items() if k.startswith("pairs_from_")})
        if margins:
            metrics["train_reward_margin_last"] = round(float(margins[-1]), 4)
        return metrics


class KTOTrainer(DPOTrainer):
    """``dpo`` with ``method: kto``: chosen answers as good examples, rejected ones as bad."""

    name = "kto"
    description = (
        "KTO through the dpo trainer: chosen and rejected answers as unpaired good/bad examples"
    )
    Options: ClassVar[type[BaseModel]] = KTOOptions


class ORPOTrainer(DPOTrainer):
    """``dpo`` with ``method: orpo``: cross-entropy on chosen plus an odds-ratio term."""

    name = "orpo"
    description = (
        "ORPO through the dpo trainer: SFT loss plus odds-ratio preference term, no reference"
    )
    Options: ClassVar[type[BaseModel]] = ORPOOptions


def trl_classes(method: str) -> tuple[Any, Any]:
    """TRL's (config, trainer) classes for ``method`` (ORPO is in ``trl.experimental`` in 1.x)."""
    if method == "dpo":
        from trl import DPOConfig
        from trl import DPOTrainer as TRLDPOTrainer

        return DPOConfig, TRLDPOTrainer
    if method == "kto":
        from trl import KTOConfig
        from trl import KTOTrainer as TRLKTOTrainer

        return KTOConfig, TRLKTOTrainer
    with warnings.catch_warnings():
        # importing trl.experimental warns that its API may change; docs/strategies.md says so once
        warnings.simplefilter("ignore")
        from trl.experimental.orpo import ORPOConfig
        from trl.experimental.orpo import ORPOTrainer as TRLORPOTrainer

    return ORPOConfig, TRLORPOTrainer
