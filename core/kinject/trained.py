"""Loading a trained model back: the base with its LoRA adapter, or the full model a trainer saved.

Every place that needs a trained model (evaluation, export, a teacher, a starting policy, the
next stage of a continued training) goes through :func:`load_trained`; :func:`attach_adapter`
is the one place an adapter is put onto a loaded model; :func:`weights_key` is what identifies
the trained weights to the caches that are keyed on them.
"""

from __future__ import annotations

import hashlib
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


#: files up to this size are hashed by content; larger ones (a full model's weights) by name,
#: size and modification time, so a key costs milliseconds, not a read of gigabytes
HASHED_FILE_BYTES = 64 << 20


def weights_key(result: TrainResult) -> str:
    """A digest of what the trained model is: the files of ``result.model_dir`` (an adapter, a
    rag index, a full model), the model it sits on and how it is loaded.

    Timings and other measures of the training are not part of it: the same weights trained
    again give the same key, and a retrained adapter saved in the same folder a new one.
    """
    digest = hashlib.sha256()
    header = [str(result.base_model), result.adapter, str(result.started_from), result.extra]
    digest.update(repr(header).encode("utf-8"))
    folder = Path(result.model_dir)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8"))
        stat = path.stat()
        if stat.st_size <= HASHED_FILE_BYTES:
            digest.update(path.read_bytes())
        else:
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]
