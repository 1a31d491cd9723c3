"""The Ray near-dedup's candidate check: large buckets as arrays give what pair by pair gives."""

from __future__ import annotations

import json
import random
from itertools import combinations

import numpy as np
import pytest

from kinject.runners import ray_dedup
from kinject_plugins.cleaners.tokens import estimated_overlap, facts_agree


def bucket_batch(rng: random.Random, sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Band rows: per bucket, Records whose signatures share a random part of one base and whose
    facts are random subsets of a few values (so both checks pass for some pairs, not all)."""
    bands, orders, facts, lex = [], [], [], []
    order = 0
    for band, size in sizes.items():
        base = np.array([rng.getrandbits(63) for _ in range(32)], dtype=np.uint64)
        for _ in range(size):
            sig = base.copy()
            for k in rng.sample(range(32), rng.randint(0, 32)):
                sig[k] = rng.getrandbits(63)
            bands.append(band)
            orders.append(order if rng.random() > 0.05 else max(0, order - 1))  # a repeated order
            facts.append(
                json.dumps(sorted(rng.sample(["2019", "acme", "5", "oslo"], rng.randint(0, 3))))
            )
            lex.append(sig.tobytes())
            order += 1
    return {
        "band": np.array(bands, dtype=object),
        "order": np.array(orders, dtype=np.int64),
        "facts": np.array(facts, dtype=object),
        "lex": np.array(lex, dtype=object),
    }


def pair_by_pair(
    batch: dict[str, np.ndarray], check_facts: bool, overlap: float
) -> set[tuple[int, int]]:
    pairs = set()
    for i, j in combinations(range(len(batch["band"])), 2):
        a, b = sorted((int(batch["order"][i]), int(batch["order"][j])))
        if batch["band"][i] != batch["band"][j] or a == b:
            continue
        fi, fj = (frozenset(json.loads(batch["facts"][k])) for k in (i, j))
        if check_facts and not facts_agree(fi, fj):
            continue
        li, lj = (np.frombuffer(batch["lex"][k], dtype=np.uint64) for k in (i, j))
        if estimated_overlap(li, lj) >= overlap:
            pairs.add((a, b))
    return pairs


@pytest.mark.parametrize("check_facts", [True, False])
def test_large_buckets_checked_as_arrays_give_the_pairs_checked_one_by_one(
    check_facts: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("scipy")
    monkeypatch.setattr(ray_dedup, "_BLOCK_CELLS", 500)  # several blocks per large bucket
    batch = bucket_batch(random.Random(7), {"big": 90, "mid": 40, "small": 6, "alone": 1})
    got = ray_dedup._candidate_pairs(batch, check_facts=check_facts, min_overlap=0.3)
    found = set(zip(got["a"].tolist(), got["b"].tolist(), strict=True))
    expected = pair_by_pair(batch, check_facts, 0.3)
    assert found == expected
    assert 50 < len(expected) < 90 * 89 // 2  # some pairs pass, not all
    assert list(got["a"]) == sorted(got["a"].tolist())


@pytest.mark.parametrize(
    ("cpus", "actors", "gpus", "threads"),
    [(2, 1, 0, 2), (16, 8, 0, 2), (16, 3, 0, 5), (4, 8, 0, 1), (8, 4, 1, 0)],
)
def test_each_embedder_actor_gets_its_share_of_the_cpus(
    cpus: int, actors: int, gpus: int, threads: int
) -> None:
    assert ray_dedup.actor_threads(cpus, actors, gpus) == threads


def test_the_embedder_actor_sets_torch_threads_before_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch = pytest.importorskip("torch")
    from kinject import embeddings

    calls: list[object] = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(("threads", n)))
    monkeypatch.setattr(embeddings, "load_embedder", lambda m, d: calls.append(("load", m, d)))
    ray_dedup.embedder_class("m", "cpu", 32, threads=3)()
    assert calls == [("threads", 3), ("load", "m", "cpu")]
    calls.clear()
    ray_dedup.embedder_class("m", "cpu", 32)()  # 0: Ray's own setting stays
    assert calls == [("load", "m", "cpu")]
