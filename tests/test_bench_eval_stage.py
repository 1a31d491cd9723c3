"""bench/eval_stage.py's comparison of two evaluations: outcomes and metrics, not float noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench_modules import load_bench

BENCH = Path(__file__).resolve().parents[1] / "bench" / "eval_stage.py"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_bench(BENCH, "eval_stage_bench", monkeypatch)


def _details(correct: bool, logprob: float, answer: str, seconds: float) -> dict[str, Any]:
    row = {"id": "q1", "correct": correct, "logprobs": [logprob, -2.0], "generation": answer}
    return {
        "knowledge-qa": {
            "accuracy": float(correct),
            "items": [row, {"id": "q2", "correct": True, "logprobs": [-1.0]}],
            "seconds": seconds,
        }
    }


def test_only_outcomes_and_metrics_count_as_changes(bench: Any) -> None:
    same = bench.differences(_details(True, -1.0, "18", 3.0), _details(True, -1.00004, "18", 9.0))
    assert same["knowledge-qa"]["changed"] == []
    assert same["knowledge-qa"]["metrics_changed"] == []
    assert same["knowledge-qa"]["max_logprob_diff"] == pytest.approx(4e-5)
    other = bench.differences(_details(False, -1.0, "18", 3.0), _details(True, -1.0, "19", 3.0))
    assert other["knowledge-qa"]["changed"] == ["q1"]
    assert other["knowledge-qa"]["metrics_changed"] == ["accuracy"]
    assert other["knowledge-qa"]["questions"] == 2
