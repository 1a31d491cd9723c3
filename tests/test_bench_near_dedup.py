"""bench/near_dedup_settings.py: the real near-dedup cleaner, run on vectors handed to it."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from bench_modules import BENCH, load_bench


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_bench(BENCH / "near_dedup_settings.py", "bench_nd", monkeypatch)


def test_each_setting_scores_the_same_vectors_against_the_planted_clusters(settings: Any) -> None:
    from clean_corpus import build_corpus

    from kinject.embeddings import embedding_dim
    from kinject.plugins import build_plugins
    from kinject.records import Record

    plugins = build_plugins(load_entry_points=False)
    corpus, cluster, _, _ = build_corpus(300, random.Random(0))
    records = [r for r in plugins.create("cleaner", "exact-dedup", {}).apply(corpus)]
    records = [r for r in records if isinstance(r, Record)]
    # one direction per cluster plus a little noise: copies are close, other documents far apart
    rng, dim = np.random.default_rng(0), embedding_dim()  # the cleaner's index has its size
    centre = {c: rng.normal(size=dim) for c in set(cluster.values())}
    vectors = np.stack([centre[cluster[r.id]] + 0.01 * rng.normal(size=dim) for r in records])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    rows = [
        settings.run_setting(plugins, records, vectors, cluster, i, 8) for i in ("flat", "hnsw")
    ]
    for row in rows:
        assert row["expected"] > 0
        assert row["recall"] == 1.0 and row["precision"] == 1.0 and row["missed"] == 0
    assert [r["index_kinds"] for r in rows] == [["flat"], ["hnsw"]]

    # one neighbour and vectors that put every document near every other: copies are missed
    same = np.tile(vectors[:1], (len(records), 1))
    row = settings.run_setting(plugins, records, same, cluster, "flat", 1)
    assert row["recall"] < 1.0 and row["missed"] > 0
    assert "| flat (flat) | 1 |" in settings.table([row])
