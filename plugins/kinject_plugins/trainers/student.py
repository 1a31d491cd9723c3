"""Students for ``distill``: a model with layers dropped, and how big and fast a model is."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from kinject.errors import ConfigError

SPEED_PROMPT = "Question: What does the contract say about late payment?\nAnswer:"


def decoder_layers(model: Any) -> Any:
    """The ``nn.ModuleList`` of decoder layers (Llama, Mistral, Qwen, SmolLM and alike)."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if layers is None:
        raise ConfigError(
            f"cannot drop layers of {type(model).__name__}: no model.layers list; name a student "
            "model instead",
            source="trainer distill",
        )
    return layers


def every_other_layer(n_layers: int) -> list[int]:
    """Layers 0, 2, 4, ...: half the depth, spread evenly over the network."""
    return list(range(0, n_layers, 2))


def check_keep_layers(keep: list[int], n_layers: int) -> list[int]:
    """``keep`` sorted and checked against the model's depth."""
    bad = [i for i in keep if not 0 <= i < n_layers]
    if not keep or bad or len(set(keep)) != len(keep):
        raise ConfigError(
            f"keep_layers {keep} must name distinct layers between 0 and {n_layers - 1}",
            source="trainer distill",
        )
    return sorted(keep)


def drop_layers(model: Any, keep: list[int]) -> Any:
    """A copy of ``model`` with only the decoder layers in ``keep``, weights copied from it."""
    import torch

    student = copy.deepcopy(model)
    layers = decoder_layers(student)
    keep = check_keep_layers(keep, len(layers))
    student.model.layers = torch.nn.ModuleList([layers[i] for i in keep])
    for new_index, layer in enumerate(student.model.layers):
        # The KV cache is indexed by layer position, so the kept layers are renumbered.
        attention = getattr(layer, "self_attn", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = new_index
    config = student.config
    layer_types = getattr(config, "layer_types", None)
    if isinstance(layer_types, list) and len(layer_types) == len(layers):
        config.layer_types = [layer_types[i] for i in keep]
    config.num_hidden_layers = len(keep)
    for param in student.parameters():
        param.requires_grad_(True)
    return student


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def safetensors_mb(*folders: Path) -> float:
    """Size on disk of the weights (safetensors) in ``folders``, in MiB."""
    total = sum(p.stat().st_size for folder in folders for p in Path(folder).glob("*.safetensors"))
    return round(total / 2**20, 2)


def generation_speed(model: Any, tokenizer: Any, new_tokens: int, repeats: int = 2) -> float:
    """Greedy decoding speed in new tokens per second (best of ``repeats`` after a warm-up)."""
    import torch

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    inputs = tokenizer(SPEED_PROMPT, return_tensors="pt").to(device)
    settings = {
        "max_new_tokens": new_tokens,
        "min_new_tokens": new_tokens,
        "do_sample": False,
        "pad_token_id": tokenizer.pad_token_id,
    }
    best = float("inf")
    with torch.no_grad():
        model.generate(**inputs, **{**settings, "max_new_tokens": 2, "min_new_tokens": 2})
        for _ in range(repeats):
            start = time.perf_counter()
            model.generate(**inputs, **settings)
            best = min(best, time.perf_counter() - start)
    model.train(was_training)
    return round(new_tokens / best, 1)
