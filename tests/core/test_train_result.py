"""``TrainResult.save``/``load``: the one reader and writer of a training's result file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kinject.components import TrainResult, has_result, result_file


def _result(run_dir: Path, folder: str = "model") -> TrainResult:
    model_dir = run_dir / folder / "final"
    model_dir.mkdir(parents=True)
    return TrainResult(
        model_dir=model_dir,
        base_model=Path("/models/base").resolve(),
        metrics={"steps": 3},
        started_from=run_dir / "model" / "sft_model",
    )


def test_paths_inside_the_run_are_stored_relative_and_a_moved_run_still_loads(
    tmp_path: Path,
) -> None:
    run = tmp_path / "runs" / "one"
    path = _result(run).save(run, fingerprint="abc")
    assert (
        path == run / "model" / "result.json" and not path.with_name("result.json.partial").exists()
    )
    saved = json.loads(path.read_text())
    assert saved["fingerprint"] == "abc" and saved["result"]["model_dir"] == "model/final"
    assert (
        saved["result"]["started_from"] == "model/sft_model"
        and saved["result"]["base_model"] == "/models/base"
    )
    moved = tmp_path / "elsewhere"
    shutil.move(str(run), str(moved))
    for where in (moved, moved / "model", moved / "model" / "result.json"):  # run, folder or file
        loaded = TrainResult.load(where)
        assert loaded.model_dir == moved / "model" / "final" and loaded.metrics == {"steps": 3}
        assert (
            loaded.base_model == Path("/models/base").resolve()
            and loaded.started_from == moved / "model" / "sft_model"
        )


def test_a_result_in_a_folder_deeper_in_the_run_resolves_against_the_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    stage = run / "model" / "teacher"
    _result(run, "model/teacher").save(run, stage, fingerprint="t")
    moved = tmp_path / "moved"
    shutil.move(str(run), str(moved))
    assert (
        TrainResult.load(moved / "model" / "teacher").model_dir
        == moved / "model" / "teacher" / "final"
    )
    assert TrainResult.cached(moved / "model" / "teacher", "t", moved) is not None


def test_cached_only_for_the_same_fingerprint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert TrainResult.cached(run / "model", "abc", run) is None and not has_result(run)
    _result(run).save(run, fingerprint="abc")
    assert has_result(run) and has_result(run / "model") and has_result(result_file(run))
    assert TrainResult.cached(run / "model", "abc", run) == TrainResult.load(run)
    assert TrainResult.cached(run / "model", "other", run) is None


def test_a_result_written_by_an_earlier_version_still_loads(tmp_path: Path) -> None:
    # no "run" entry: the file lies in <run>/model/, and paths may be absolute
    run = tmp_path / "run"
    (run / "model" / "final").mkdir(parents=True)
    saved = {
        "fingerprint": "x",
        "result": {"model_dir": str(run / "model" / "final"), "base_model": "/b", "adapter": True},
    }
    (run / "model" / "result.json").write_text(json.dumps(saved))
    assert TrainResult.load(run).model_dir == run / "model" / "final"
    relative = {**saved, "result": {**saved["result"], "model_dir": "model/final"}}
    (run / "model" / "result.json").write_text(json.dumps(relative))
    assert TrainResult.load(run / "model" / "result.json").model_dir == run / "model" / "final"


def test_no_result_is_a_file_not_found_naming_the_place(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model/result.json in"):
        TrainResult.load(tmp_path)
