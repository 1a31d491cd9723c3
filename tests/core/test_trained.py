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


def test_the_weights_key_follows_the_files_not_the_measures(
    adapter_result: TrainResult, tmp_path: Path
) -> None:
    import shutil
    from dataclasses import replace

    from kinject.trained import weights_key

    copy = tmp_path / "adapter"
    shutil.copytree(adapter_result.model_dir, copy)
    same = replace(adapter_result, model_dir=copy, metrics={"tokens_per_s": 123.4})
    # the same weights in another folder, with other timings: the same model
    assert weights_key(same) == weights_key(adapter_result)
    weights = next(copy.glob("adapter_model*"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    # retrained in the same folder: another model
    assert weights_key(same) != weights_key(adapter_result)
    assert weights_key(replace(adapter_result, adapter=False)) != weights_key(adapter_result)


def test_a_large_file_is_keyed_by_its_size_and_time(tmp_path: Path, monkeypatch: Any) -> None:
    import os

    from kinject import trained

    monkeypatch.setattr(trained, "HASHED_FILE_BYTES", 4)
    (tmp_path / "model.safetensors").write_bytes(b"0123456789")
    result = TrainResult(model_dir=tmp_path, base_model=tmp_path, adapter=False)
    before = trained.weights_key(result)
    (tmp_path / "model.safetensors").write_bytes(b"0123456780")
    os.utime(tmp_path / "model.safetensors", ns=(1, 1))
    assert trained.weights_key(result) != before
