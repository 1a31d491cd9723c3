"""What DP-SGD costs on a domain pack: knowledge, retention, train time and a canary's exposure.

    python bench/dp.py --domain medical --steps 20 --epsilons none,8,3 --out /tmp/dp-bench

The pack's data stages run once (``inject prepare``). Each row copies that prepared run into a
folder of its own, plants a random canary ("the access code is NNNN-NNNN-NNNN") ``--copies``
times among the training records, trains ``sft`` with the recipe's options plus
``max_steps`` (and ``trainer.dp.target_epsilon`` for a private row), measures the canary's
exposure against ``--candidates`` random secrets of the same format, then runs ``inject eval``
on the trained run (the run's questions; knowledge and retention). The base model is measured
the same way once. Prints one markdown table and writes every figure to ``<out>/dp.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

KNOWLEDGE, RETENTION = "knowledge-qa.accuracy", "retention.accuracy"


def inject(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "kinject", *args], check=True)


def prepare(domain: str, folder: Path) -> Path:
    if not (folder / "data" / "train.jsonl").is_file():
        inject("prepare", "--domain", domain, "--run-dir", str(folder), "--samples", "0")
    return folder


def train_row(
    prepared: Path, folder: Path, steps: int, epsilon: float | None, args: Any
) -> dict[str, Any]:
    """One training with the canary planted; its metrics and the canary's exposure."""
    from kinject.components import TrainJob
    from kinject.models import resolve_model
    from kinject.plugins import get_plugins
    from kinject.records import read_jsonl
    from kinject.runs import reopen_run
    from kinject_plugins.trainers.canary import train_with_canary

    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(
        prepared, folder, ignore=shutil.ignore_patterns("evaluation", "model", "export")
    )
    plugins = get_plugins()
    context = reopen_run(folder, plugins)
    options = {**context.config.trainer, "max_steps": steps}
    if epsilon is not None:
        options["dp"] = {"target_epsilon": epsilon}
    trainer = plugins.create("trainer", "sft", options)
    base = Path(args.base_model) if args.base_model else resolve_model(context.config.base_model)
    job = TrainJob(
        base_model=base,
        train=list(read_jsonl(folder / "data" / "train.jsonl"))[: args.train_rows],
        output_dir=folder / "model",
        context=context,
    )
    result, canary = train_with_canary(trainer, job, args.copies, args.candidates, args.seed)
    result.save(folder)
    return {"train": result.metrics, "canary": canary}


def evaluate(model: str, out: Path, eval_set: Path, domain: str, evaluators: str) -> dict[str, Any]:
    """``inject eval`` of one model on the prepared run's questions: metrics with 95% intervals."""
    from kinject.stats import intervals

    if evaluators == "none":
        return {"metrics": {}, "intervals": {}}
    inject(
        "eval",
        "--model",
        model,
        "--eval-set",
        str(eval_set),
        "--domain",
        domain,
        "--evaluators",
        evaluators,
        "--run-dir",
        str(out),
        "-q",
    )
    saved = json.loads(next((out / "evaluation").glob("*.json")).read_text(encoding="utf-8"))
    metrics = saved.get("result", saved)["metrics"]
    return {"metrics": metrics, "intervals": intervals(metrics)}


def cell(row: dict[str, Any], key: str) -> str:
    found = row["eval"]["intervals"].get(key)
    if found is None:
        return "–"
    low, high = found["interval95"]
    return f"{found['hits'] / found['n']:.1%} ({found['hits']}/{found['n']}; {low:.1%}–{high:.1%})"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| row | ε (δ) | noise σ | knowledge (n; 95% CI) | retention (n; 95% CI) | train time (s) "
        "| canary rank / exposure (bits) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        train, canary = row.get("train", {}), row.get("canary", {})
        eps = (
            f"{train['dp_epsilon']:.2f} ({train['dp_delta']:.0e})" if "dp_epsilon" in train else "∞"
        )
        noise = f"{train['dp_noise_multiplier']:.3g}" if "dp_noise_multiplier" in train else "–"
        timing = f"{train['train_time_s']:.0f}" if train else "–"
        found = (
            f"{canary['canary_rank']} of {canary['canary_candidates'] + 1} / "
            f"{canary['canary_exposure']:.2f}"
            if canary
            else "–"
        )
        lines.append(
            f"| {row['name']} | {eps if train else '–'} | {noise} | {cell(row, KNOWLEDGE)} | "
            f"{cell(row, RETENTION)} | {timing} | {found} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domain", default="medical")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--epsilons", default="none,8,3", help="none = non-private sft")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evaluators", default="knowledge-qa,retention", help="none: canary only")
    parser.add_argument("--train-rows", type=int, default=None, help="the first N training rows")
    parser.add_argument("--base-model", default=None, help="a local model dir instead of the run's")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-dp"))
    args = parser.parse_args()
    prepared = prepare(args.domain, args.out / "prepared")
    eval_set = prepared / "eval_set.jsonl"
    base = args.base_model or "smollm2-135m"
    rows = [
        {
            "name": "base (no training)",
            "eval": evaluate(base, args.out / "eval-base", eval_set, args.domain, args.evaluators),
        }
    ]
    for spec in args.epsilons.split(","):
        epsilon = None if spec == "none" else float(spec)
        name = "sft" if epsilon is None else f"sft + DP-SGD, target ε={spec}"
        folder = args.out / ("sft" if epsilon is None else f"dp-eps{spec}")
        row: dict[str, Any] = {
            "name": name,
            **train_row(prepared, folder, args.steps, epsilon, args),
        }
        row["eval"] = evaluate(
            str(folder), args.out / f"eval-{folder.name}", eval_set, args.domain, args.evaluators
        )
        rows.append(row)
        (args.out / "dp.json").write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")
    print(table(rows))


if __name__ == "__main__":
    main()
