"""The knowledge benchmark runs every condition end to end (tiny model: plumbing, not numbers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench_modules import load_bench

BENCH = Path(__file__).resolve().parents[1] / "bench" / "knowledge" / "run.py"


def load_run(monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_bench(BENCH, "knowledge_bench", monkeypatch)


def test_only_and_qa_options_are_checked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_run(monkeypatch)
    args = bench.parse_args(["--only", "paraphrase x5 + QA*", "--qa", '{"values_per_fact": 5}'])
    assert args.only == ["paraphrase x5 + QA*"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "nothing like it"])
    assert "matches no condition" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args(["--qa", "[1, 2]"])
    assert "--qa must be a JSON object" in capsys.readouterr().err


@pytest.mark.slow
def test_every_condition_runs_and_the_table_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_run(monkeypatch)
    out = tmp_path / "out"
    assert (
        bench.main(
            [
                "--model",
                "tiny",
                "--quick",
                "--ks",
                "1",
                "--epochs",
                "1",
                "--retention-limit",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "knowledge.json").read_text(encoding="utf-8"))
    rows = {row["condition"]: row for row in report["rows"]}
    assert list(rows) == [
        "no augmentation",
        "paraphrase x1",
        "paraphrase x1 + QA",
        "paraphrase x1 + QA, ewc + replay",
        "rag (no training)",
    ]
    trained = [row for name, row in rows.items() if not name.startswith("rag")]
    # equal-token comparison: every trained condition repeats its data to the same budget
    budget = report["token_budget_per_epoch"]
    assert all(row["train_tokens"] >= 0.5 * budget for row in trained)
    assert (
        rows["paraphrase x1 + QA, ewc + replay"]["train_records"]
        == rows["paraphrase x1 + QA"]["train_records"]
    )
    assert rows["rag (no training)"]["train_tokens"] in (None, 0)
    # every row names the questions it missed, and they are real question ids
    ids = {
        line.split('"id": "')[1].split('"')[0]
        for line in (BENCH.parent / "corpora" / "drugs" / "eval.jsonl").read_text().splitlines()
    }
    assert all(set(row["missed"]) <= ids for row in rows.values())
    table = (out / "knowledge.md").read_text(encoding="utf-8")
    assert "| rag (no training) |" in table and "| base model (no training) |" in table
