"""Before/after evaluation: which model is judged as "before"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.evaluation import EvalModel
from kinject.manifest import Manifest


class _Trainer:
    def load_for_eval(self, result: TrainResult, context: RunContext) -> EvalModel:
        return EvalModel(model=None, tokenizer=None, label="trained")


@pytest.mark.parametrize("started_from", [None, "original"])
def test_before_is_the_model_the_run_started_from(
    run_context: RunContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    started_from: str | None,
) -> None:
    import kinject.models
    from kinject.scoring import evaluate_models

    loaded: list[Path] = []

    def fake_load(path: Path, **_: Any) -> tuple[Any, Any]:
        loaded.append(Path(path))

        class _Model:
            def eval(self) -> None:
                pass

        return _Model(), None

    monkeypatch.setattr(kinject.models, "load_causal_lm", fake_load)
    run_context.config = run_context.config.model_copy(
        update={"evaluators": [], "forgetting": False}
    )
    # rlhf-style result: the adapter sits on an intermediate (merged SFT) model
    result = TrainResult(
        model_dir=tmp_path / "final",
        base_model=tmp_path / "sft_model",
        started_from=tmp_path / started_from if started_from else None,
    )
    evaluate_models(run_context, Manifest(tmp_path / "manifest.json"), _Trainer(), result)  # type: ignore[arg-type]
    assert loaded == [tmp_path / (started_from or "sft_model")]


def test_the_trained_evaluation_is_kept_while_the_weights_are_the_same(
    run_context: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kinject.models
    from kinject.scoring import evaluate_models

    class _Model:
        def eval(self) -> None:
            pass

    monkeypatch.setattr(kinject.models, "load_causal_lm", lambda *_, **__: (_Model(), None))
    run_context.config = run_context.config.model_copy(
        update={"evaluators": [], "forgetting": False}
    )
    loads: list[TrainResult] = []

    class _Counting(_Trainer):
        def load_for_eval(self, result: TrainResult, context: RunContext) -> EvalModel:
            loads.append(result)
            return super().load_for_eval(result, context)

    final = tmp_path / "final"
    final.mkdir()
    (final / "adapter_model.safetensors").write_bytes(b"weights")

    def evaluate(**metrics: Any) -> None:
        result = TrainResult(model_dir=final, base_model=tmp_path / "base", metrics=metrics)
        evaluate_models(run_context, Manifest(tmp_path / "manifest.json"), _Counting(), result)  # type: ignore[arg-type]

    evaluate(tokens_per_s=100.0)
    evaluate(tokens_per_s=97.5)  # the same weights, timed again
    assert len(loads) == 1
    (final / "adapter_model.safetensors").write_bytes(b"retrained")
    evaluate(tokens_per_s=97.5)
    assert len(loads) == 2
