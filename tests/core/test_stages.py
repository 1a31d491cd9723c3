from pathlib import Path

from kinject.records import Record
from kinject.stages import StageStore, fingerprint


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
