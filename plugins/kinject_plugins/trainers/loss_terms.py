"""Extra terms on the training loss of a TRL trainer that is already built.

``sft`` builds TRL's ``SFTTrainer``; strategies built on it change the loss on that object
rather than re-implementing its construction (callbacks, TensorBoard, early stopping), so
both stay in step when ``sft`` changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def add_penalty(
    trainer: Any, penalty: Callable[[], Any], weight: float, on_value: Callable[[float], None]
) -> None:
    """Add ``weight * penalty()`` to every training loss of ``trainer`` (not to eval losses).

    ``on_value`` receives the unweighted penalty of each step (for the run's metrics).
    """
    original = trainer.compute_loss

    def compute_loss(
        model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        out = original(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )
        if not model.training or weight == 0:
            return out
        value = penalty()
        on_value(float(value.detach()))
        # With num_items_in_batch the Trainer leaves accumulation to the loss (as TRL does for its
        # aux loss).
        steps = trainer.current_gradient_accumulation_steps if num_items_in_batch is not None else 1
        extra = weight * value / steps
        if return_outputs:
            loss, outputs = out
            return loss + extra, outputs
        return out + extra

    trainer.compute_loss = compute_loss


def replace_loss(
    trainer: Any, loss_fn: Callable[[Any, dict[str, Any], Any], tuple[Any, Any]]
) -> None:
    """Use ``loss_fn(model, inputs, num_items_in_batch) -> (loss, outputs)`` as the loss (train and
    eval).
    """

    def compute_loss(
        model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        loss, outputs = loss_fn(model, inputs, num_items_in_batch)
        return (loss, outputs) if return_outputs else loss

    trainer.compute_loss = compute_loss


def causal_parts(model: Any) -> tuple[Any, Any]:
    """The backbone (hidden states) and the output head of a causal LM, through a peft wrapper."""
    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(causal, causal.base_model_prefix), causal.get_output_embeddings()


def labelled_positions_loss(
    model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None
) -> tuple[Any, Any]:
    """Next-token cross-entropy with the output head run only where a label is set.

    The backbone runs on the whole batch; the head (the widest matmul of a small model) and the
    cross-entropy run only on positions whose next token is trained on, in the compute dtype,
    with the log-softmax in float32. Padding-free batches (``position_ids``, no attention mask)
    work as padded ones do, and so do packed rows (``row_tokens``, left out of the forward). Returns
    ``(loss, number of labelled positions)``.
    """
    import torch.nn.functional as F

    backbone, head = causal_parts(model)
    features = {
        k: v for k, v in inputs.items() if k not in ("labels", "completion_mask", "row_tokens")
    }
    hidden = backbone(**features, use_cache=False).last_hidden_state[:, :-1]
    labels = inputs["labels"][:, 1:]
    mask = labels != -100
    logits = head(hidden[mask])
    total = F.cross_entropy(logits.float(), labels[mask], reduction="sum")
    count = mask.sum()
    divisor = num_items_in_batch if num_items_in_batch is not None else count.clamp(min=1)
    return total / divisor, count


def use_labelled_positions_loss(trainer: Any) -> None:
    """Train ``trainer`` (TRL's SFTTrainer) with :func:`labelled_positions_loss`.

    TRL's fused head scores every position in float32 tiles when Triton is absent (a CPU); this
    keeps its token count (``_total_train_tokens``, the ``num_tokens`` log) and drops only its
    per-step entropy and token-accuracy logs.
    """

    def compute_loss(
        model: Any, inputs: Any, return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        with trainer.accelerator.autocast():
            loss, _ = labelled_positions_loss(model, inputs, num_items_in_batch)
        if model.training:
            if "row_tokens" in inputs:  # packed rows (packed_rows.py)
                trainer._total_train_tokens += int(inputs["row_tokens"].sum())
            elif "attention_mask" in inputs:
                trainer._total_train_tokens += int(inputs["attention_mask"].sum())
            else:
                trainer._total_train_tokens += int(inputs["position_ids"].size(1))
            trainer._metrics["train"]["num_tokens"] = [trainer._total_train_tokens]
        if trainer.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * trainer.accelerator.num_processes
        return (loss, None) if return_outputs else loss

    trainer.compute_loss = compute_loss
