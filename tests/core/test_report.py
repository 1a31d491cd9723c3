"""The run report: intervals, paired tests, the loss curve, examples both ways, portable run
directories.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kinject.cli.app import build_cli
from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.pipeline import open_run, resolve_config, run_pipeline
from kinject.plugins import Plugins
from kinject.report import category_lines, example_rows, headline_text, training_lines, write_report
from kinject.scoring import add_statistics, combine

CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def _sft_run(plugins: Plugins, run_dir: Path, tiny_model: Path) -> RunContext:
    """A real sft run on the tiny model: knowledge-qa on the pack's questions, retention on 20
    general ones.
    """
    overrides = {
        "strategy": "sft",
        "base_model": str(tiny_model),
        "augmenters": [],
        "cleaners": ["normalize"],
        "evaluators": [{"knowledge-qa": {"generate": False}}, {"retention": {"limit": 20}}],
        "exporters": ["adapter"],
        "run_dir": str(run_dir),
        "trainer": {
            "max_steps": 4,
            "batch_size": 1,
            "logging_steps": 1,
            "report_to": [],
            "save_steps": 100,
        },
    }
    config, pack = resolve_config(plugins, "sample", None, overrides)
    return open_run(config, plugins, pack, show_progress=False)


def _items(outcomes: list[bool], category: str = "law") -> list[dict[str, Any]]:
    return [
        {
            "id": f"q{i}",
            "question": f"question {i}?",
            "category": category,
            "correct": ok,
            "chosen_text": f"answer {i}{ok}",
        }
        for i, ok in enumerate(outcomes)
    ]


def _metrics(before: list[bool], after: list[bool]) -> dict[str, Any]:
    """metrics.json content for knowledge-qa outcomes of the base and the trained model, question by
    question.
    """
    flat = [
        {"knowledge-qa.accuracy": sum(o) / len(o), "knowledge-qa.n": float(len(o))}
        for o in (before, after)
    ]
    metrics = combine(*flat)
    add_statistics(
        metrics,
        {"knowledge-qa": {"items": _items(before)}},
        {"knowledge-qa": {"items": _items(after)}},
    )
    return metrics


def test_headline_names_the_measure_and_carries_count_interval_and_test() -> None:
    # 12 questions fixed, none broken: p = 2 / 2**12
    strong = headline_text(
        _metrics([False] * 20 + [True] * 10, [True] * 12 + [False] * 8 + [True] * 10)
    )
    assert strong == [
        "Domain knowledge, held-out questions: 33.3% → 73.3% (+40.0 pts, p < 0.001); "
        "30 questions, 95% interval 19–51% → 56–86%"
    ]
    # two fixed and one broken: indistinguishable from chance
    weak = headline_text(
        _metrics([True, False, False] + [True] * 7, [False, True, True] + [True] * 7)
    )[0]
    assert "(+10.0 pts, within noise (p = 1.00))" in weak and "10 questions" in weak
    # a rubric score averages weighted checks: it has a count but no interval of a proportion
    scored = _metrics([True], [True])
    for side, value in (("base", 0.5), ("trained", 0.7)):
        scored[side].update({"rubric.score": value, "rubric.n": 10.0})
    scored["delta"]["rubric.score"] = 0.2
    assert (
        headline_text(scored)[-1] == "Domain rubric score: 50.0% → 70.0% (+20.0 pts); 10 questions"
    )


def test_paired_test_is_stored_per_evaluator_with_outcome_counts() -> None:
    metrics = _metrics([True, True, False, False, True], [True, False, True, True, True])
    assert metrics["paired"]["knowledge-qa"] == {
        "n": 5,
        "both": 2,
        "base_only": 1,
        "trained_only": 2,
        "neither": 0,
        "p_value": 1.0,
    }
    assert metrics["intervals"]["trained"]["knowledge-qa.accuracy"]["n"] == 5


def test_examples_show_what_training_fixed_and_what_it_broke(tmp_path: Path) -> None:
    before, after = [True, False, False, True], [False, True, True, True]
    for name, outcomes in (("base", before), ("trained", after)):
        path = tmp_path / "evaluation" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"details": {"knowledge-qa": {"items": _items(outcomes)}}}))
    learned = example_rows(tmp_path)
    broken = example_rows(tmp_path, learned=False)
    assert [r["question"] for r in learned] == ["question 1?", "question 2?"]
    assert [r["question"] for r in broken] == ["question 0?"]
    assert broken[0] == {
        "question": "question 0?",
        "base": "answer 0True",
        "trained": "answer 0False",
    }


def test_a_run_evaluated_before_the_tests_were_stored_gets_them_in_its_report(
    tmp_path: Path,
) -> None:
    before, after = [False] * 12 + [True] * 8, [True] * 20
    for name, outcomes in (("base", before), ("trained", after)):
        path = tmp_path / "evaluation" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"details": {"knowledge-qa": {"items": _items(outcomes)}}}))
    old = _metrics(before, after)
    del old["paired"], old["intervals"]
    (tmp_path / "metrics.json").write_text(json.dumps(old))
    text = write_report(tmp_path).read_text()
    assert "| Domain knowledge, held-out questions | 20 | 8 | 0 | 12 | p < 0.001 |" in text


def test_small_categories_are_counts_not_percentages() -> None:
    metrics = combine(
        {},
        {
            "knowledge-qa.per_category.tax.accuracy": 0.75,
            "knowledge-qa.per_category.tax.n": 4.0,
            "knowledge-qa.per_category.law.accuracy": 0.5,
            "knowledge-qa.per_category.law.n": 8.0,
        },
    )
    table = "\n".join(category_lines(metrics))
    assert "| tax | 4 | – | 3/4 |" in table
    assert "| law | 8 | – | 50.0% (4/8) |" in table


def test_training_measures_have_human_names_and_keep_their_raw_ones() -> None:
    table = "\n".join(
        training_lines(
            {"train_time_s": 122.9, "trainable_params": 4884480, "plugin_measure": 2.0}, {}
        )
    )
    assert "| Training time (s) | 122.9 | `train_time_s` |" in table
    assert "| Trainable parameters | 4,884,480 | `trainable_params` |" in table
    assert "| Plugin measure | 2 | `plugin_measure` |" in table


def test_a_real_run_reports_intervals_paired_tests_and_its_loss(
    registered_pack: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    context = _sft_run(kinject_plugins, tmp_path / "run", tiny_model)
    run_pipeline(context)
    run = context.run_dir
    metrics = json.loads((run / "metrics.json").read_text())
    for evaluator in ("knowledge-qa", "retention"):
        test = metrics["paired"][evaluator]
        assert test["n"] == metrics["trained"][f"{evaluator}.n"]
        assert (
            test["both"] + test["base_only"] + test["trained_only"] + test["neither"] == test["n"]
        )
        # the flat accuracies and the per-question outcomes tell the same story
        change = (test["trained_only"] - test["base_only"]) / test["n"]
        assert change == pytest.approx(metrics["delta"][f"{evaluator}.accuracy"], abs=1e-6)
        assert 0.0 <= test["p_value"] <= 1.0
    history = json.loads((run / "model" / "loss_history.json").read_text())
    assert [e["step"] for e in history if "loss" in e] == [1, 2, 3, 4]
    text = (run / "report.md").read_text()
    assert "Domain knowledge, held-out questions" in text and "General knowledge retained" in text
    assert "2 questions" in text and "20 questions" in text and "95% interval" in text
    assert "p = " in text and "## All metrics" in text and "| knowledge-qa.accuracy |" in text
    assert "Training loss" in text and "at step 4" in text


def test_a_moved_run_directory_still_loads(
    registered_pack: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    context = _sft_run(kinject_plugins, tmp_path / "runs" / "first", tiny_model)
    run_pipeline(context)
    saved = json.loads((context.run_dir / "model" / "result.json").read_text())["result"]
    assert saved["model_dir"] == "model/final" and Path(saved["base_model"]).is_absolute()
    moved = tmp_path / "elsewhere" / "first"
    moved.parent.mkdir()
    shutil.move(str(tmp_path / "runs" / "first"), str(moved))
    result = TrainResult.load(moved / "model" / "result.json")
    exported = json.loads((moved / "manifest.json").read_text())["stages"]["export"]["adapter"][
        "paths"
    ]
    assert exported and all(not Path(p).is_absolute() and (moved / p).is_file() for p in exported)
    assert (
        result.model_dir == moved / "model" / "final"
        and (result.model_dir / "adapter_config.json").is_file()
    )
    listing = CliRunner().invoke(build_cli(), ["runs", "--root", str(moved.parent)])
    assert listing.exit_code == 0 and "first" in listing.output and "finished" in listing.output
    (moved / "report.md").unlink()
    write_report(moved)
    assert "Domain knowledge, held-out questions" in (moved / "report.md").read_text()
    # the same recipe in the new place reuses the training instead of repeating it
    again = run_pipeline(_sft_run(kinject_plugins, moved, tiny_model))
    manifest = json.loads((again.run_dir / "manifest.json").read_text())
    assert manifest["stages"]["train"]["skipped"] is True


@pytest.mark.skipif(_chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_report_html_renders_intervals_test_and_loss_curve_in_chromium(
    registered_pack: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    context = _sft_run(kinject_plugins, tmp_path / "run", tiny_model)
    run_pipeline(context)
    chrome = _chromium()
    assert chrome is not None
    page = (context.run_dir / "report.html").resolve().as_uri()
    profile = "--user-data-dir=" + str(tmp_path / "profile")
    dom = subprocess.run(
        [chrome, *CHROME_FLAGS, profile, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Domain knowledge, held-out questions" in dom and "95% interval" in dom
    assert "p = " in dom and "only trained right" in dom
    assert 'class="chart loss-curve"' in dom and "<polyline" in dom
    assert 'class="interval"' in dom, "interval whiskers on the before/after bars"
    assert "<details>" in dom and "<summary>" in dom and "knowledge-qa.accuracy" in dom
