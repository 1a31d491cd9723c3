"""The run's eval set as an lm-evaluation-harness task, so ``lm_eval`` can check the figures.

Every run writes ``<run_dir>/lm_eval/``: a task YAML, its JSONL and a README with the
``lm_eval`` command. The task asks what ``knowledge-qa`` asks: the prompt is
:func:`kinject.evaluation.format_prompt` of the question (stored per document, so the two can
never drift apart), each choice is scored as the continuation ``" " + choice``
(``target_delimiter: " "``) and the answer is the choice with the highest summed log-probability.
lm-eval's ``acc`` is therefore knowledge-qa's ``accuracy_sum``. Its ``acc_norm`` divides by the
choice's length in characters, knowledge-qa's ``accuracy_norm`` by that length plus one (the
leading space), so the two normalised figures can differ on close calls.

Only multiple-choice questions fit lm-eval's ``multiple_choice`` output type; free-text questions
are left out and counted in the YAML and the README. The task is closed-book: a ``rag`` run's
retrieved passages are not in it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kinject.evaluation import EvalItem, format_prompt
from kinject.paths import run_relative

if TYPE_CHECKING:
    from kinject.components import TrainResult
    from kinject.context import RunContext

LM_EVAL_DIR = "lm_eval"


def task_name(run_dir: Path) -> str:
    """``kinject_<run id>``, with what lm-eval cannot take in a task name made ``_``."""
    return "kinject_" + re.sub(r"[^A-Za-z0-9_]", "_", run_dir.name)


def task_docs(items: Sequence[EvalItem]) -> tuple[list[dict[str, Any]], list[EvalItem]]:
    """The lm-eval documents of the multiple-choice items, and the items left out."""
    docs: list[dict[str, Any]] = []
    left_out: list[EvalItem] = []
    for item in items:
        if not item.choices or item.answer is None:
            left_out.append(item)
            continue
        docs.append(
            {
                "id": item.id,
                "question": item.question,
                "prompt": format_prompt(item.question),
                "choices": list(item.choices),
                "answer": item.answer,
                "category": item.category or "uncategorized",
            }
        )
    return docs, left_out


def task_config(name: str, data_file: str) -> dict[str, Any]:
    """The task YAML: a local JSON dataset, the stored prompt, choices after one space."""
    return {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": data_file}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": "prompt",
        "doc_to_choice": "choices",
        "doc_to_target": "answer",
        "target_delimiter": " ",
        "num_fewshot": 0,
        "metric_list": [
            {"metric": "acc", "aggregation": "mean", "higher_is_better": True},
            {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True},
        ],
        "metadata": {"version": 1.0},
    }


def lm_eval_command(model_args: str, name: str, include_path: str = LM_EVAL_DIR) -> str:
    """The shell command that runs the task on a Hugging Face model, from the run directory.

    On the CPU in float32, where and how kinject's evaluate stage runs the model.
    """
    parts = [
        "lm_eval",
        "--model",
        "hf",
        "--model_args",
        model_args,
        "--tasks",
        name,
        "--include_path",
        include_path,
        "--device",
        "cpu",
        "--batch_size",
        "8",
    ]
    return " ".join(shlex.quote(p) for p in parts)


def model_args_for(result: TrainResult | None, run_dir: Path) -> dict[str, str]:
    """``--model_args`` for the models a run measured, the base and the trained one; paths
    inside the run directory are relative to it, as the command runs from there."""
    if result is None:
        return {}

    def path(p: Path) -> str:
        return run_relative(p, run_dir)

    base = path(result.started_from or result.base_model)
    trained = (
        f"pretrained={path(result.base_model)},peft={path(result.model_dir)}"
        if result.adapter
        else f"pretrained={path(result.model_dir)}"
    )
    return {"base": f"pretrained={base},dtype=float32", "trained": f"{trained},dtype=float32"}


def write_lm_eval_task(
    context: RunContext, result: TrainResult | None = None, metrics: dict[str, Any] | None = None
) -> Path:
    """Write ``<run_dir>/lm_eval/`` (task YAML, JSONL, README); returns the folder."""
    out = context.run_dir / LM_EVAL_DIR
    out.mkdir(parents=True, exist_ok=True)
    name = task_name(context.run_dir)
    docs, left_out = task_docs(context.eval_items)
    if not docs:  # lm-eval refuses an empty dataset: say so instead of writing a task
        (out / "README.md").write_text(
            f"# {name}\n\nNo multiple-choice questions in this run's eval set "
            f"({len(left_out)} free-text): nothing for lm-eval's multiple_choice.\n",
            encoding="utf-8",
        )
        return out
    data_file = out / f"{name}.jsonl"
    data_file.write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8"
    )
    header = (
        f"# kinject knowledge-qa as an lm-evaluation-harness task: {len(docs)} multiple-choice "
        f"questions; {len(left_out)} free-text questions left out (multiple_choice needs "
        "choices).\n"
        "# acc equals knowledge-qa.accuracy_sum; acc_norm divides by len(choice), "
        "knowledge-qa.accuracy_norm by len(choice) + 1.\n"
        "# data_files is relative to the run directory: run lm_eval from there (see README.md).\n"
    )
    body = yaml.safe_dump(
        task_config(name, f"{LM_EVAL_DIR}/{data_file.name}"), sort_keys=False, allow_unicode=True
    )
    (out / f"{name}.yaml").write_text(header + body, encoding="utf-8")
    readme = _readme(
        name, context.run_dir, len(docs), left_out, result, metrics, context.config.strategy
    )
    (out / "README.md").write_text(readme, encoding="utf-8")
    return out


def _readme(
    name: str,
    run_dir: Path,
    n: int,
    left_out: list[EvalItem],
    result: TrainResult | None,
    metrics: dict[str, Any] | None,
    strategy: str,
) -> str:
    lines = [
        f"# {name}: this run's questions for lm-evaluation-harness",
        "",
        f"{n} multiple-choice questions, asked as knowledge-qa asks them (zero-shot, "
        "`Question: ...\\nAnswer:`, each choice scored after one space). lm-eval's `acc` is "
        "knowledge-qa's `accuracy_sum`.",
        "",
    ]
    if left_out:
        shown = ", ".join(item.id for item in left_out[:10]) + (
            " ..." if len(left_out) > 10 else ""
        )
        lines += [
            f"Left out: {len(left_out)} free-text questions without choices ({shown}); "
            "they are scored by knowledge-qa's `em`/`contains` only.",
            "",
        ]
    if strategy == "rag":
        lines += [
            "This is the closed-book task: the passages the `rag` strategy puts before each "
            "question "
            "are not in it, so lm-eval measures the model without retrieval.",
            "",
        ]
    lines += [
        "Run the commands from the run directory (paths in them and in the YAML are relative to "
        "it):",
        "",
        "```",
        f"cd {shlex.quote(str(run_dir.resolve()))}",
        "```",
        "",
    ]
    for label, args in model_args_for(result, run_dir).items():
        measured = ((metrics or {}).get(label) or {}).get("knowledge-qa.accuracy_sum")
        figure = (
            f" (kinject measured knowledge-qa.accuracy_sum = {measured:.4f})"
            if measured is not None
            else ""
        )
        lines += [f"The {label} model{figure}:", "", "```", lm_eval_command(args, name), "```", ""]
    lines += [
        "For the merged export use `--model_args pretrained=export/hf,dtype=float32`; "
        "on a GPU, `--device cuda:0`. Offline: set `HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1`.",
        "",
    ]
    return "\n".join(lines)
