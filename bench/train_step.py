"""Where a training step's time goes: one forward and backward of SmolLM2-135M + LoRA, per lever.

    python bench/train_step.py [--model smollm2-135m] [--batch 4] [--length 256] [--repeats 2]

One [batch, length] batch of random tokens through the same LoRA as ``bench/train.py`` (r=16,
all linear layers, dropout 0.05), each variant run ``--repeats`` times interleaved in one
process after a warm-up; prints the best seconds and tokens/s of each.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any

VARIANTS = [
    ("float32, the model's own loss", "fp32w", "hf", False),
    ("bf16 autocast, the model's own loss", "fp32w", "hf", True),
    ("bf16 autocast, TRL's fused head", "fp32w", "trl", True),
    ("bf16 autocast, head on labelled positions", "fp32w", "own", True),
    ("the same, rows packed into one sequence", "fp32w", "packed", True),
    ("the same, frozen base stored in bf16", "bf16w", "own", True),
    ("the same, LoRA dropout 0", "fp32w-nodrop", "own", True),
]


def build(path: Any, dtype: Any, dropout: float) -> Any:
    from peft import LoraConfig, get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    from kinject.models import load_causal_lm

    model, _ = load_causal_lm(path, dtype=dtype)
    # as TRL's SFTTrainer asks
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    model = get_peft_model(
        model,
        LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    return model.train()


def step(model: Any, kind: str, bf16: bool, ids: Any, positions: Any) -> float:
    import torch
    import torch.nn.functional as F

    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with autocast:
        if kind == "hf":
            loss = model(input_ids=ids, labels=ids).loss
        elif kind == "trl":
            loss = model(input_ids=ids, labels=ids, fused_lm_head=True).loss
        else:
            x, p = (ids.view(1, -1), positions) if kind == "packed" else (ids, None)
            hidden = model.base_model.model.model(
                input_ids=x, position_ids=p, use_cache=False
            ).last_hidden_state
            logits = model.base_model.model.lm_head(hidden[:, :-1].reshape(-1, hidden.size(-1)))
            loss = F.cross_entropy(logits.float(), x[:, 1:].reshape(-1))
    loss.backward()
    return float(loss.detach())


def main() -> None:
    import torch

    from kinject.models import resolve_model

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    path = resolve_model(args.model)
    models = {
        "fp32w": build(path, torch.float32, 0.05),
        "bf16w": build(path, torch.bfloat16, 0.05),
        "fp32w-nodrop": build(path, torch.float32, 0.0),
    }
    vocab = models["fp32w"].config.vocab_size
    ids = torch.randint(0, vocab, (args.batch, args.length))
    positions = torch.arange(args.length).repeat(args.batch).view(1, -1)
    for _, model, kind, bf16 in VARIANTS:
        step(models[model], kind, bf16, ids, positions)
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, model, kind, bf16 in VARIANTS:
            started = time.perf_counter()
            step(models[model], kind, bf16, ids, positions)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
    tokens = args.batch * args.length
    for name, seconds in best.items():
        print(f"{name:45} {seconds:6.2f} s {tokens / seconds:7.0f} tokens/s")


if __name__ == "__main__":
    main()
