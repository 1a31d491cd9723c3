"""lm-evaluation-harness, run on the task a run writes, scores what knowledge-qa scores."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, EvalModel, format_prompt
from kinject.lm_eval_task import lm_eval_command, model_args_for, task_name, write_lm_eval_task
from kinject.pipeline import open_run, resolve_config, run_pipeline
from kinject.plugins import Plugins

FREE_TEXT = EvalItem(id="free-1", question="Name the river of Veloria.", answer_text="the Quell")


def readme_commands(folder: Path) -> list[list[str]]:
    """The ``lm_eval`` command lines of the README, split as a shell would."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    return [shlex.split(line) for line in text.splitlines() if line.startswith("lm_eval ")]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def lm_eval_api(argv: list[str]) -> dict[str, Any]:
    """Run an ``lm_eval`` command line through the Python API (same arguments, one process)."""
    lm_eval = pytest.importorskip(
        "lm_eval", reason="lm-eval is in the dev extra: pip install lm-eval"
    )
    from lm_eval.tasks import TaskManager

    task = option(argv, "--tasks")
    out = lm_eval.simple_evaluate(
        model=option(argv, "--model"),
        model_args=option(argv, "--model_args"),
        tasks=[task],
        task_manager=TaskManager(include_path=option(argv, "--include_path")),
        device=option(argv, "--device"),
        batch_size=int(option(argv, "--batch_size")),
        log_samples=True,
    )
    return {"acc": out["results"][task]["acc,none"], "samples": out["samples"][task]}


def requests(sample: dict[str, Any]) -> tuple[list[tuple[str, ...]], list[float]]:
    """(context, continuation) pairs and log-likelihoods of one lm-eval sample, from the Python
    API (tuples) or from a ``samples_*.jsonl`` file (``{"gen_args_0": {"arg_0": ...}}``,
    strings)."""
    args = sample["arguments"]
    pairs = (
        [tuple(a.values()) for a in args.values()]
        if isinstance(args, dict)
        else [tuple(a) for a in args]
    )
    return pairs, [float(resp[0][0]) for resp in sample["resps"]]


def assert_agreement(lm: dict[str, Any], qa: dict[str, Any]) -> None:
    """Same requests, same log-likelihoods (float tolerance), accuracy within one question."""
    by_id = {row["id"]: row for row in qa["items"] if "logprobs" in row}
    assert len(lm["samples"]) == qa["n"] == len(by_id)
    for sample in lm["samples"]:
        doc = sample["doc"]
        pairs, lls = requests(sample)
        assert pairs == [(format_prompt(doc["question"]), " " + c) for c in doc["choices"]]
        assert lls == pytest.approx(by_id[doc["id"]]["logprobs"], abs=2e-3)
    assert abs(lm["acc"] - qa["accuracy_sum"]) * qa["n"] <= 1.0


def test_task_files_hold_the_multiple_choice_items(
    run_context: RunContext, embedded_eval_items: list[EvalItem], tiny_model: Path
) -> None:
    run_context.eval_items = [*embedded_eval_items, FREE_TEXT]
    result = TrainResult(model_dir=tiny_model, base_model=tiny_model, adapter=False)
    folder = write_lm_eval_task(
        run_context, result, {"trained": {"knowledge-qa.accuracy_sum": 0.375}}
    )
    name = task_name(run_context.run_dir)
    config = yaml.safe_load((folder / f"{name}.yaml").read_text(encoding="utf-8"))
    assert config["output_type"] == "multiple_choice" and config["target_delimiter"] == " "
    assert config["doc_to_text"] == "prompt" and config["doc_to_choice"] == "choices"
    # relative to the run
    data_file = run_context.run_dir / config["dataset_kwargs"]["data_files"]["test"]
    docs = [json.loads(line) for line in data_file.read_text().splitlines()]
    assert [d["id"] for d in docs] == [i.id for i in embedded_eval_items]
    assert docs[0]["prompt"] == format_prompt(embedded_eval_items[0].question)
    assert "1 free-text questions left out" in (folder / f"{name}.yaml").read_text(encoding="utf-8")
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "Left out: 1 free-text questions without choices (free-1)" in readme
    assert "knowledge-qa.accuracy_sum = 0.3750" in readme
    expected = lm_eval_command(model_args_for(result, run_context.run_dir)["trained"], name)
    assert shlex.split(expected) in readme_commands(folder)
    assert f"cd {run_context.run_dir.resolve()}" in readme


def test_free_text_only_sets_get_no_task(run_context: RunContext) -> None:
    run_context.eval_items = [FREE_TEXT]
    folder = write_lm_eval_task(run_context)
    assert [p.name for p in folder.iterdir()] == ["README.md"]
    assert "No multiple-choice questions" in (folder / "README.md").read_text(encoding="utf-8")


def test_adapter_runs_name_base_and_adapter(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = TrainResult(
        model_dir=run_dir / "model" / "final", base_model=tmp_path / "base", adapter=True
    )
    args = model_args_for(result, run_dir)
    # the adapter is inside the run (relative, so a moved run still works), the base outside it
    assert (
        args["trained"]
        == f"pretrained={tmp_path.resolve() / 'base'},peft=model/final,dtype=float32"
    )
    assert args["base"] == f"pretrained={tmp_path.resolve() / 'base'},dtype=float32"


def test_pipeline_task_gives_knowledge_qa_accuracy(
    stand_ins: DomainPack,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    embedded_eval_items: list[EvalItem],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eval_set = tmp_path / "eval.jsonl"
    eval_set.write_text(
        "".join(json.dumps(asdict(i)) + "\n" for i in [*embedded_eval_items, FREE_TEXT])
    )
    overrides = {
        "strategy": "copy",
        "base_model": str(tiny_model),
        "exporters": [],
        "augmenters": [],
        "cleaners": ["normalize"],
        "run_dir": str(tmp_path / "run"),
        "forgetting": False,
        "eval_set": str(eval_set),
        "evaluators": [{"name": "knowledge-qa", "options": {"generate": False}}],
    }
    config, pack = resolve_config(kinject_plugins, "sample", None, overrides)
    run_pipeline(open_run(config, kinject_plugins, pack, show_progress=False))
    trained = json.loads((tmp_path / "run" / "evaluation" / "trained.json").read_text())["details"][
        "knowledge-qa"
    ]
    commands = readme_commands(tmp_path / "run" / "lm_eval")
    assert len(commands) == 2  # the base model and the trained one
    monkeypatch.chdir(tmp_path / "run")  # where the README says to run them
    assert_agreement(lm_eval_api(commands[-1]), trained)


@pytest.mark.slow
def test_lm_eval_cli_agrees_on_the_trained_embedded_model(
    embedded_sft_result: TrainResult,
    run_context: RunContext,
    embedded_eval_items: list[EvalItem],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("lm_eval", reason="lm-eval is in the dev extra: pip install lm-eval")
    from kinject.models import load_causal_lm
    from kinject_plugins.evaluators.knowledge_qa import KnowledgeQAOptions, score_knowledge_qa
    from kinject_plugins.exporters.hf import HFExporter

    run_context.eval_items = embedded_eval_items
    merged = tmp_path / "export" / "hf"
    HFExporter(check_tokens=4).export(embedded_sft_result, merged, run_context)
    model, tokenizer = load_causal_lm(merged)
    model.eval()
    qa = score_knowledge_qa(
        EvalModel(model, tokenizer, "merged"),
        embedded_eval_items,
        KnowledgeQAOptions(generate=False),
    )
    write_lm_eval_task(run_context)
    name = task_name(run_context.run_dir)
    argv = shlex.split(lm_eval_command(f"pretrained={merged},dtype=float32", name))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    cli = [
        sys.executable,
        "-m",
        "lm_eval",
        *argv[1:],
        "--output_path",
        str(tmp_path / "out"),
        "--log_samples",
    ]
    done = subprocess.run(
        cli, env=env, cwd=run_context.run_dir, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(next((tmp_path / "out").rglob("results_*.json")).read_text())["results"][
        name
    ]
    samples = [
        json.loads(line)
        for line in next((tmp_path / "out").rglob(f"samples_{name}_*.jsonl"))
        .read_text()
        .splitlines()
    ]
    assert_agreement({"acc": results["acc,none"], "samples": samples}, qa)
    # the README's command for the trained model: the base with the adapter on top (peft=...)
    trained = model_args_for(embedded_sft_result, run_context.run_dir)["trained"]
    assert ",peft=" in trained
    monkeypatch.chdir(run_context.run_dir)
    assert_agreement(lm_eval_api(shlex.split(lm_eval_command(trained, name))), qa)
