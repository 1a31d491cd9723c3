"""Elastic weight consolidation: the diagonal Fisher information and the penalty built on it.

``F_i`` is the mean, over reference examples, of the squared gradient of the LM loss with
respect to parameter ``i`` (the empirical Fisher, one example at a time). The penalty
``λ · Σ F_i (θ_i − θ*_i)²`` pulls the parameters that matter for the reference data back to
their starting values ``θ*`` and leaves the others free to learn the new domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

IGNORE_INDEX = -100


@dataclass
class EWCState:
    """Fisher diagonal and anchor weights, keyed by parameter name."""

    fisher: dict[str, torch.Tensor]
    anchors: dict[str, torch.Tensor]
    samples: int

    def save(self, path: Path) -> None:
        """Write both maps to one safetensors file (resumed runs reuse them)."""
        from safetensors.torch import save_file

        tensors = {f"fisher/{k}": v.contiguous() for k, v in self.fisher.items()}
        tensors |= {f"anchor/{k}": v.contiguous() for k, v in self.anchors.items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        save_file(tensors, str(tmp), metadata={"samples": str(self.samples)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> EWCState:
        from safetensors import safe_open

        fisher: dict[str, torch.Tensor] = {}
        anchors: dict[str, torch.Tensor] = {}
        with safe_open(str(path), framework="pt") as f:
            samples = int((f.metadata() or {}).get("samples", "0"))
            for key in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                kind, name = key.split("/", 1)
                (fisher if kind == "fisher" else anchors)[name] = f.get_tensor(key)
        return cls(fisher, anchors, samples)

    def summary(self) -> dict[str, float]:
        """Size and spread of the Fisher diagonal, for the run's metrics."""
        values = (
            torch.cat([v.flatten() for v in self.fisher.values()])
            if self.fisher
            else torch.zeros(1)
        )
        return {
            "fisher_samples": self.samples,
            "fisher_mean": float(values.mean()),
            "fisher_max": float(values.max()),
        }


def trainable_parameters(model: Any) -> dict[str, torch.Tensor]:
    """The parameters the optimizer will update, by name."""
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def estimate_fisher(model: Any, examples: list[dict[str, list[int]]], max_samples: int) -> EWCState:
    """Fisher diagonal over the trainable parameters, from up to ``max_samples`` examples.

    ``examples`` hold ``input_ids`` and ``completion_mask`` (tokenized rows). Dropout is off
    while estimating, so the estimate does not depend on the random state.
    """
    params = trainable_parameters(model)
    anchors = {name: p.detach().clone().cpu() for name, p in params.items()}
    fisher = {name: torch.zeros_like(p, device="cpu") for name, p in params.items()}
    used = examples[:max_samples]
    was_training = model.training
    model.eval()
    device = next(iter(params.values())).device if params else torch.device("cpu")
    names, tensors = list(params), list(params.values())
    for example in used:
        ids = torch.tensor([example["input_ids"]], device=device)
        labels = ids.masked_fill(
            torch.tensor([example["completion_mask"]], device=device) == 0, IGNORE_INDEX
        )
        loss = model(input_ids=ids, labels=labels).loss
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
        for name, grad in zip(names, grads, strict=True):
            if grad is not None:
                fisher[name] += grad.detach().cpu().pow(2)
    model.train(was_training)
    for name in fisher:
        fisher[name] /= max(len(used), 1)
    return EWCState(fisher, anchors, len(used))


def ewc_penalty_fn(model: Any, state: EWCState) -> Callable[[], torch.Tensor]:
    """A function computing ``Σ F_i (θ_i − θ*_i)²`` on the model's live parameters."""
    params = trainable_parameters(model)
    missing = sorted(set(params) - set(state.fisher))
    if missing:
        raise ValueError(
            f"no Fisher estimate for {len(missing)} trainable parameters, e.g. {missing[0]}"
        )
    pairs = []
    for name, param in params.items():
        pairs.append(
            (param, state.fisher[name].to(param.device), state.anchors[name].to(param.device))
        )

    def penalty() -> torch.Tensor:
        total = torch.zeros((), device=pairs[0][0].device) if pairs else torch.zeros(())
        for param, fisher, anchor in pairs:
            total = total + (fisher * (param - anchor).pow(2)).sum()
        return total

    return penalty


def weighted_drift(params: dict[str, torch.Tensor], state: EWCState) -> float:
    """``Σ F_i (θ_i − θ*_i)²`` for given weights: how far the important parameters moved."""
    total = 0.0
    for name, fisher in state.fisher.items():
        total += float((fisher * (params[name].detach().cpu() - state.anchors[name]).pow(2)).sum())
    return total
