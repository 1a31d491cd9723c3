"""latency: time to first token and decoding speed on the tiny model."""

from __future__ import annotations

import pytest

from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.latency import LatencyEvaluator


def test_times_fixed_length_generations(
    tiny_eval_model: EvalModel, run_context: RunContext
) -> None:
    items = [EvalItem(str(i), f"Question number {i}?") for i in range(4)]
    result = LatencyEvaluator(max_items=2, max_new_tokens=5, warmup=0).evaluate(
        tiny_eval_model, items, run_context
    )
    assert result["n"] == 2
    assert result["new_tokens"] == 5
    assert 0 < result["ttft_ms_p50"] <= result["ttft_ms_max"]
    assert result["tokens_per_s"] > 0


def test_no_items(tiny_eval_model: EvalModel, run_context: RunContext) -> None:
    with pytest.raises(ConfigError, match="no eval items"):
        LatencyEvaluator().evaluate(tiny_eval_model, [], run_context)
