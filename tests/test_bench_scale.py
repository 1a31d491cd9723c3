"""bench/scale.py: the cleaning stage at scale, one runner a cell in its own process."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from bench_modules import BENCH, load_bench


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_bench(BENCH / "scale.py", "bench_scale", monkeypatch)


def scale_args(out: Path, **given: Any) -> argparse.Namespace:
    """bench/scale.py's arguments for a 300-document corpus in shards of 100."""
    args = {"size": [300], "minhash": True, "num_cpus": 1, "shard_records": 100, "seed": 0}
    return argparse.Namespace(**{**args, "json": out, **given})


def test_the_parent_scores_the_planted_copies_and_keeps_the_json_row_by_row(
    bench: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "scale.json"
    written: list[int] = []
    keep = bench.write_result

    def spy(path: Path | None, result: dict[str, Any]) -> None:
        written.append(len(result["rows"]))
        keep(path, result)

    monkeypatch.setattr(bench, "write_result", spy)
    result = bench.main_parent(scale_args(out, runners=["local"], near=False))
    (row,) = result["rows"]
    assert row["runner"] == "local" and row["size"] == 300
    assert row["dropped"]["exact_duplicate"] > 0
    assert row["exact"]["precision"] == row["exact"]["recall"] == 1.0
    assert written == [1]  # the file is written as soon as the row is scored
    assert json.loads(out.read_text())["rows"][0]["kept"] == row["kept"]


@pytest.mark.parametrize("minhash", [True, False])
def test_the_minhash_baseline_runs_first_unless_left_out(
    bench: Any, tmp_path: Path, minhash: bool
) -> None:
    pytest.importorskip("datasketch")
    out = tmp_path / "scale.json"
    result = bench.main_parent(scale_args(out, runners=[], near=True, minhash=minhash))
    assert result["rows"] == []
    if minhash:
        assert result["minhash"][300]["dropped"] > 0
        assert json.loads(out.read_text())["minhash"]["300"]["dropped"] > 0
    else:
        assert result["minhash"] == {}
