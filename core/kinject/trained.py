"""Loading a trained model back: the base with its LoRA adapter, or the full model a trainer saved.

Every place that needs a trained model (evaluation, export, a teacher, a starting policy, the
next stage of a continued training) goes through :func:`load_trained`; :func:`attach_adapter`
is the one place an adapter is put onto a loaded model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kinject.components import TrainResult


def load_trained(
    result: TrainResult, *, merge: bool = False, trainable: bool = False, dtype: Any = None
) -> tuple[Any, Any]:
    """The trained model and the base's tokenizer (float32 on CPU unless ``dtype``), in eval mode.

    ``merge`` folds the adapter into the base weights (one plain transformers model);
    ``trainable`` keeps the adapter's weights trainable (and the model in train mode).
    """
    from kinject.models import load_causal_lm

    if not result.adapter:
        model, tokenizer = load_causal_lm(result.model_dir, dtype)
    else:
        model, tokenizer = load_causal_lm(result.base_model, dtype)
        model = attach_adapter(model, result.model_dir, merge=merge, trainable=trainable)
    if not trainable:
        model.eval()
    return model, tokenizer


def attach_adapter(
    model: Any, adapter_dir: Path, *, merge: bool = False, trainable: bool = False
) -> Any:
    """``model`` with the PEFT adapter saved in ``adapter_dir``; merged into its weights when
    ``merge``.
    """
    from peft import PeftModel

    wrapped = PeftModel.from_pretrained(
        model, str(adapter_dir), is_trainable=trainable and not merge
    )
    return wrapped.merge_and_unload() if merge else wrapped
