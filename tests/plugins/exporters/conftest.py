"""A trained result for exporter tests: the tiny model plus a random (non-zero) LoRA adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinject.components import TrainResult


@pytest.fixture(scope="session")
def lora_adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter on q/v projections with random B (so merging changes the outputs)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(str(out))
    return out


@pytest.fixture
def adapter_result(lora_adapter: Path, tiny_model: Path) -> TrainResult:
    return TrainResult(model_dir=lora_adapter, base_model=tiny_model, adapter=True)


@pytest.fixture
def full_result(tiny_model: Path) -> TrainResult:
    """A trainer that saved a full model (no adapter)."""
    return TrainResult(model_dir=tiny_model, base_model=tiny_model, adapter=False)
