"""``load_trained``: the base with its adapter (as trained, merged, trainable) or a full model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kinject.components import TrainResult
from kinject.trained import load_trained


def _logits(model: Any, tokenizer: Any) -> Any:
    import torch

    with torch.no_grad():
        return model(**tokenizer("The contract is void.", return_tensors="pt")).logits


def test_adapter_as_trained_and_merged_give_the_same_logits(
    adapter_result: TrainResult, tiny_model: Path
) -> None:
    import torch
    from peft import PeftModel

    unmerged, tokenizer = load_trained(adapter_result)
    merged, _ = load_trained(adapter_result, merge=True)
    base, _ = load_trained(TrainResult(model_dir=tiny_model, base_model=tiny_model, adapter=False))
    assert isinstance(unmerged, PeftModel) and not isinstance(merged, PeftModel)
    assert not unmerged.training and not merged.training
    assert torch.allclose(_logits(unmerged, tokenizer), _logits(merged, tokenizer), atol=1e-5)
    assert not torch.allclose(_logits(base, tokenizer), _logits(merged, tokenizer), atol=1e-3)
    assert tokenizer.pad_token is not None


def test_a_trainable_adapter_keeps_only_its_own_weights_trainable(
    adapter_result: TrainResult,
) -> None:
    model, _ = load_trained(adapter_result, trainable=True)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
