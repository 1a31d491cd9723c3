"""Extra terms on the training loss of a TRL trainer that is already built.

``sft`` builds TRL's ``SFTTrainer``; strategies built on it change the loss on that object
rather than re-implementing its construction (callbacks, TensorBoard, early stopping), so
both stay in step when ``sft`` changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def add_penalty(trainer: Any, penalty: Callable[[], Any], weight: float, on_value: Callable[[float], None]) -> None:
    """Add ``weight * penalty()`` to every training loss of ``trainer`` (not to eval losses).

    ``on_value`` receives the unweighted penalty of each step (for the run's metrics).
    """
    original = trainer.compute_loss

    def compute_loss(model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None) -> Any:
        out = original(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        if not model.training or weight == 0:
            return out
        value = penalty()
        on_value(float(value.detach()))
        # With num_items_in_batch the Trainer leaves accumulation to the loss (as TRL does for its aux loss).
        steps = trainer.current_gradient_accumulation_steps if num_items_in_batch is not None else 1
        extra = weight * value / steps
        if return_outputs:
            loss, outputs = out
            return loss + extra, outputs
        return out + extra

    trainer.compute_loss = compute_loss


def replace_loss(trainer: Any, loss_fn: Callable[[Any, dict[str, Any], Any], tuple[Any, Any]]) -> None:
    """Use ``loss_fn(model, inputs, num_items_in_batch) -> (loss, outputs)`` as the loss (train and eval)."""

    def compute_loss(model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None) -> Any:
        loss, outputs = loss_fn(model, inputs, num_items_in_batch)
        return (loss, outputs) if return_outputs else loss

    trainer.compute_loss = compute_loss
