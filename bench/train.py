"""Training throughput: kinject's ``sft`` against a plain transformers Trainer + peft baseline.

Both train the same LoRA (r=16, all linear layers) on the same model, records, batch size,
learning rate and number of steps. The baseline uses transformers' defaults with padded batches
(``DataCollatorForLanguageModeling``); ``sft`` uses its own defaults (padding-free batches, TRL's
fused loss). Each runs in its own process so peak memory is its own. Besides the training loss
(each side's own batches), both report ``heldout_loss``: the loss of the trained model on the
trained-on tokens of the next 48 records, the same rows for both.

    python bench/train.py --model smollm2-135m [--json PATH]
    python bench/train.py --model smollm2-135m --variant fp32=precision=fp32 --variant
    trl-head=loss_head=trl

``--variant NAME=KEY=VALUE[,KEY=VALUE]`` adds an ``sft`` row with those options changed (one
lever at a time against the defaults), in the same run as the baseline.

Data: MedQuAD QA pairs from ../shared/data (short-answer QA plus long answers as documents),
or generated records when that folder is absent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MEDQUAD = ROOT.parent / "shared" / "data" / "medical" / "medquad_subset.json"


#: records after the trained ones on which both models' loss is measured
HELDOUT = 48


def bench_records(count: int) -> list[Any]:
    """Half short-answer QA, half documents, of mixed lengths (as after augmentation)."""
    from kinject.records import Record

    records: list[Record] = []
    if MEDQUAD.is_file():
        pairs = json.loads(MEDQUAD.read_text(encoding="utf-8"))[:count]
        for i, pair in enumerate(pairs):
            answer = " ".join(pair["answer"].split())
            if i % 2:
                records.append(Record(text=answer, source={"uri": pair["url"]}))
            else:
                short = answer.split(". ")[0].rstrip(".") + "."
                meta = {"question": pair["question"], "answer": short}
                records.append(Record(text=short, kind="qa", meta=meta))
        return records
    for i in range(count):
        fact = f"Compound K-{i} melts at {200 + i} kelvin and dissolves in " + "warm water, " * (
            i % 17
        )
        if i % 2:
            records.append(Record(text=fact))
        else:
            meta = {
                "question": f"At what temperature does K-{i} melt?",
                "answer": f"{200 + i} kelvin",
            }
            records.append(Record(text=fact, kind="qa", meta=meta))
    return records


def model_dir(spec: str, work: Path) -> Path:
    from kinject.models import build_tiny_model, resolve_model

    return build_tiny_model(work / "tiny") if spec == "tiny" else resolve_model(spec)


def run_sft(args: argparse.Namespace, base: Path, work: Path) -> dict[str, Any]:
    from kinject.components import TrainJob
    from kinject.config import RunConfig
    from kinject.context import RunContext
    from kinject.plugins import build_plugins
    from kinject_plugins.trainers.sft import SFTTrainer, peak_memory_mb

    context = RunContext(
        work, RunConfig(), build_plugins(load_entry_points=False), show_progress=False
    )
    trainer = SFTTrainer(
        **json.loads(args.sft_options),
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
        learning_rate=args.learning_rate,
        save_steps=args.steps * 10,
        logging_steps=args.steps,
        report_to=[],
    )
    job = TrainJob(
        base_model=base, train=bench_records(args.records), output_dir=work / "sft", context=context
    )
    result = trainer.train(job)
    m = result.metrics
    peak = peak_memory_mb()  # before the held-out pass loads a second copy
    from kinject.trained import load_trained

    model, tokenizer = load_trained(result)
    # TRL counts real (unpadded) tokens; the padded count is not exposed
    return {
        "time_s": m["train_time_s"],
        "tokens": m["train_tokens"],
        "padded_tokens": None,
        "peak_mb": peak,
        "steps": m["steps"],
        "loss": m["final_train_loss"],
        "heldout_loss": heldout_loss(model, tokenizer, args),
    }


def run_baseline(args: argparse.Namespace, base: Path, work: Path) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    from kinject.models import load_causal_lm
    from kinject_plugins.trainers.sft import peak_memory_mb
    from kinject_plugins.trainers.training_rows import records_to_rows

    model, tokenizer = load_causal_lm(base)
    model = get_peft_model(
        model,
        LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=0.05,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    texts = [
        r["prompt"] + r["completion"] + tokenizer.eos_token
        for r in records_to_rows(bench_records(args.records)).rows
    ]
    data = Dataset.from_dict(dict(tokenizer(texts, truncation=True, max_length=args.max_length)))
    collate = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    seen = {"tokens": 0, "padded": 0}

    def counting_collator(features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = collate(features)
        seen["tokens"] += int(batch["attention_mask"].sum())
        seen["padded"] += int(batch["attention_mask"].numel())
        return batch

    targs = TrainingArguments(
        output_dir=str(work / "baseline"),
        per_device_train_batch_size=args.batch_size,
        max_steps=args.steps,
        learning_rate=args.learning_rate,
        report_to="none",
        save_strategy="no",
        logging_steps=args.steps,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=targs, train_dataset=data, data_collator=counting_collator)
    out = trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    peak = peak_memory_mb()
    return {
        "time_s": out.metrics["train_runtime"],
        "tokens": seen["tokens"],
        "padded_tokens": seen["padded"],
        "peak_mb": peak,
        "steps": trainer.state.global_step,
        "loss": losses[-1],
        "heldout_loss": heldout_loss(trainer.model, tokenizer, args),
    }


def heldout_loss(model: Any, tokenizer: Any, args: argparse.Namespace) -> float:
    """Mean cross-entropy on the trained-on tokens of the next ``HELDOUT`` records, never trained
    on.

    The same rows, masks and float32 forward for both sides, one row at a time (no padding).
    """
    import torch

    from kinject_plugins.trainers.training_rows import records_to_rows, tokenize_rows

    rows = records_to_rows(bench_records(args.records + HELDOUT)[args.records :]).rows
    columns = tokenize_rows(rows, tokenizer, args.max_length)
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for ids, mask in zip(columns["input_ids"], columns["completion_mask"], strict=True):
            input_ids = torch.tensor([ids])
            labels = torch.where(torch.tensor([mask]).bool(), input_ids, -100)
            n = int(labels[:, 1:].ne(-100).sum())
            total += float(model(input_ids=input_ids, labels=labels).loss) * n
            count += n
    return total / max(count, 1)


def one_variant(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = model_dir(args.model, work)
        runner = run_baseline if args.only == "baseline" else run_sft
        print("BENCH " + json.dumps(runner(args, base, work)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="tiny", help="tiny, smollm2-135m, or any model spec")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=KEY=VALUE[,KEY=VALUE]",
        help="an extra sft row with these options (repeatable)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--only", choices=["sft", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--sft-options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        one_variant(args)
        return
    variants = {"baseline": {}, "sft": {}, **dict(parse_variant(v) for v in args.variant)}
    common = [a for a in sys.argv[1:] if not a.startswith("--variant") and a not in args.variant]
    results: dict[str, dict[str, Any]] = {}
    for variant, options in variants.items():
        started = time.perf_counter()
        only = "baseline" if variant == "baseline" else "sft"
        cmd = [
            sys.executable,
            __file__,
            *common,
            "--only",
            only,
            "--sft-options",
            json.dumps(options),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH ")]
        if proc.returncode != 0 or not lines:
            sys.exit(f"{variant} failed:\n{proc.stderr[-3000:]}")
        results[variant] = json.loads(lines[-1][6:])
        results[variant]["wall_s"] = time.perf_counter() - started
        results[variant]["options"] = options
        print(
            f"{variant}: {json.dumps(results[variant])}", flush=True
        )  # kept if a later run is cut off
    print_table(args, results)
    if args.json:
        write_json(args, results)


def parse_variant(spec: str) -> tuple[str, dict[str, Any]]:
    """``fp32=precision=fp32,loss_head=trl`` -> ("fp32", {"precision": "fp32", "loss_head":
    "trl"}).
    """
    name, _, settings = spec.partition("=")
    options = {}
    for item in filter(None, settings.split(",")):
        key, _, value = item.partition("=")
        options[key] = yaml.safe_load(value)
    return name, options


def tokens_per_s(r: dict[str, Any]) -> float:
    return float(r["tokens"] / r["time_s"])


def write_json(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    base, ours = results["baseline"], results["sft"]
    out = {
        "model": args.model,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "kinject_tokens_per_s": round(tokens_per_s(ours), 1),
        "baseline_tokens_per_s": round(tokens_per_s(base), 1),
        "ratio": round(tokens_per_s(ours) / tokens_per_s(base), 3),
        "kinject_peak_mb": ours["peak_mb"],
        "baseline_peak_mb": base["peak_mb"],
        "kinject_final_loss": ours["loss"],
        "baseline_final_loss": base["loss"],
        "kinject_heldout_loss": ours["heldout_loss"],
        "baseline_heldout_loss": base["heldout_loss"],
        "variants": {
            name: {
                **r,
                "tokens_per_s": round(tokens_per_s(r), 1),
                "ratio": round(tokens_per_s(r) / tokens_per_s(base), 3),
            }
            for name, r in results.items()
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


def print_table(args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    data = "MedQuAD subset" if MEDQUAD.is_file() else "generated records"
    print(
        f"model={args.model} steps={args.steps} batch={args.batch_size} "
        f"max_length={args.max_length} data={data}"
    )
    header = (
        f"{'variant':14} {'s/step':>8} {'tokens':>8} {'padded':>8} {'tokens/s':>9} "
        f"{'peak MB':>8} {'loss':>7} {'held-out':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    base = results["baseline"]
    for name, r in results.items():
        rate = r["tokens"] / r["time_s"]
        padded = "n/a" if r["padded_tokens"] is None else str(r["padded_tokens"])
        print(
            f"{name:14} {r['time_s'] / r['steps']:8.3f} {r['tokens']:8d} {padded:>8} "
            f"{rate:9.1f} {r['peak_mb']:8.0f} {r['loss']:7.3f} {r['heldout_loss']:8.3f} "
            f"{tokens_per_s(r) / tokens_per_s(base):6.2f}"
        )


if __name__ == "__main__":
    main()
