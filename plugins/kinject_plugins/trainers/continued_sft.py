"""SFT that can continue from an earlier run's LoRA adapter (``init_adapter:``).

The base of ``ewc`` and of the stages of ``multistage``: domain A, then domain B on top of
it, so what B does to A can be measured. With LoRA the same adapter keeps training (its
weights after A are the starting point); with full fine-tuning the adapter is merged first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from kinject_plugins.trainers.previous_run import resolve_adapter
from kinject_plugins.trainers.sft import SFTOptions, SFTTrainer


class ContinuedSFTOptions(SFTOptions):
    """``sft``'s options plus where to continue from."""

    #: an adapter folder, or a previous run directory whose model is a LoRA adapter
    init_adapter: Path | None = None


class ContinuedSFTTrainer(SFTTrainer):
    """``sft`` starting from a previous adapter when ``init_adapter`` is set."""

    Options: ClassVar[type[BaseModel]] = ContinuedSFTOptions
    opts: ContinuedSFTOptions

    def load_model(self, base_model: Path) -> tuple[Any, Any]:
        model, tokenizer = super().load_model(base_model)
        if self.opts.init_adapter is None:
            return model, tokenizer
        from kinject.trained import attach_adapter

        adapter = resolve_adapter(self.opts.init_adapter, source=f"trainer {self.name}")
        if self.opts.method == "full":
            return attach_adapter(model, adapter, merge=True), tokenizer
        # The previous adapter keeps training, so no new LoRA config is handed to TRL.
        return attach_adapter(model, adapter, trainable=True), tokenizer

    def peft_config(self) -> Any:
        if self.opts.init_adapter is not None and self.opts.method != "full":
            return None
        return super().peft_config()
