"""bench/near_pairs.py: the Ray near-dedup's candidate check, pair by pair against arrays."""

from __future__ import annotations

from typing import Any

import pytest
from bench_modules import BENCH, load_bench


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_bench(BENCH / "near_pairs.py", "bench_near_pairs", monkeypatch)


def test_both_ways_find_the_same_pairs_on_the_generated_corpus(
    bench: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("scipy")
    monkeypatch.setattr(bench.ray_dedup, "_LARGE_BUCKET", 2)  # every bucket as arrays
    row = bench.measure(600, seed=0)
    assert row["band_rows"] == 600 * 20 and row["passed"] > 0
    assert row["same_pairs"] is True
    assert "| 600 |" in bench.table([row]) and "| yes |" in bench.table([row])
