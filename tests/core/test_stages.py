"""The stage runner and the stores it caches through: fingerprints, hooks, the manifest entry."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kinject import hookimpl
from kinject.context import RunContext
from kinject.manifest import Manifest
from kinject.records import Record
from kinject.stages import JsonCache, StageRunner, StageStore, cached, fingerprint


def test_finished_stage_is_loaded_not_recomputed(tmp_path: Path) -> None:
    store = StageStore(tmp_path)
    calls = []

    def compute() -> tuple[list[Record], dict[str, int]]:
        calls.append(1)
        return [Record(text="a"), Record(text="b")], {"dropped": 0}

    first = store.run("clean", "fp1", compute)
    second = store.run("clean", "fp1", compute)
    assert len(calls) == 1
    assert second.skipped and second.records == first.records
    assert store.run("clean", "fp2", compute).skipped is False
    assert len(calls) == 2


def test_stage_without_done_marker_is_recomputed(tmp_path: Path) -> None:
    store = StageStore(tmp_path)
    store.save("clean", "fp", [Record(text="a")], {})
    (tmp_path / "clean.done.json").unlink()
    assert store.load("clean", "fp") is None


def test_fingerprint_is_order_insensitive_for_mappings() -> None:
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


class _Observer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    @hookimpl
    def stage_started(self, stage: str, context: RunContext) -> None:
        self.calls.append(("started", stage, None))

    @hookimpl
    def stage_finished(self, stage: str, context: RunContext, stats: dict[str, Any]) -> None:
        self.calls.append(("finished", stage, stats))


@pytest.fixture
def observer(register_plugin: Callable[..., Any]) -> _Observer:
    return register_plugin(_Observer(), name="observer")  # type: ignore[no-any-return]


def test_runner_fires_hooks_around_a_stage_and_records_it(
    run_context: RunContext, observer: _Observer
) -> None:
    manifest = Manifest(run_context.run_dir / "manifest.json")
    cache = JsonCache(run_context.run_dir / "evaluation" / "x.json")
    calls: list[int] = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        assert observer.calls == [("started", "score", None)]  # computed between the two hooks
        return {"metrics": {"a": 1.0}}

    def stats(value: dict[str, Any], skipped: bool, seconds: float) -> dict[str, Any]:
        return {"a": value["metrics"]["a"], "skipped": skipped}

    runner = StageRunner(run_context, manifest)
    first = runner.run("score", compute, stats, fp="fp1", cache=cache)
    observer.calls.clear()
    second = runner.run("score", compute, stats, fp="fp1", cache=cache)
    assert len(calls) == 1 and second == first and first["fingerprint"] == "fp1"
    finished = ("finished", "score", {"a": 1.0, "skipped": True})
    assert observer.calls == [("started", "score", None), finished]
    saved = json.loads(manifest.path.read_text(encoding="utf-8"))
    assert saved["stages"]["score"] == {"a": 1.0, "skipped": True}
    assert saved["timings"]["score"] >= 0


def test_runner_without_a_cache_always_computes_and_can_record_elsewhere(
    run_context: RunContext, observer: _Observer
) -> None:
    manifest = Manifest(run_context.run_dir / "manifest.json")
    runner = StageRunner(run_context, manifest)

    def stats(value: dict[str, Any], skipped: bool, seconds: float) -> dict[str, Any]:
        return {**value, "skipped": skipped}

    values = [runner.run("pick", lambda: {"n": 2}, stats, entry="picked") for _ in range(2)]
    assert values == [{"n": 2}, {"n": 2}]
    assert [c[2] for c in observer.calls if c[0] == "finished"] == [{"n": 2, "skipped": False}] * 2
    assert manifest.data["picked"] == {"n": 2, "skipped": False}
    assert "pick" not in manifest.data.get("stages", {})


def test_cached_asks_the_cache_by_fingerprint(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path / "e.json")
    assert cached(cache, "a", lambda: {"v": 1}) == ({"fingerprint": "a", "v": 1}, False)
    assert cached(cache, "a", lambda: {"v": 2}) == ({"fingerprint": "a", "v": 1}, True)
    assert cached(cache, "b", lambda: {"v": 3}) == ({"fingerprint": "b", "v": 3}, False)
    assert cached(None, "b", lambda: {"v": 4}) == ({"v": 4}, False)
