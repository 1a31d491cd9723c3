from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kinject import embeddings
from kinject.errors import InputError


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_default_alias_resolves_to_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINJECT_EMBEDDER", raising=False)
    where = Path(embeddings.resolve_model())
    assert where.name == "model" and (where / "modules.json").exists()
    assert embeddings.resolve_model("all-MiniLM-L6-v2") == str(where)


def test_environment_and_explicit_choices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KINJECT_EMBEDDER", "some-org/some-model")
    assert embeddings.resolve_model() == "some-org/some-model"
    (tmp_path / "config.json").write_text("{}")
    assert embeddings.resolve_model(tmp_path) == str(tmp_path)


def test_a_directory_that_is_not_a_model_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=str(tmp_path)):
        embeddings.resolve_model(tmp_path)


def test_index_kind_by_size() -> None:
    assert embeddings.choose_index_kind(10) == "flat"
    assert embeddings.choose_index_kind(embeddings.FLAT_INDEX_LIMIT + 1) == "ivf"


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_every_index_kind_finds_each_vector_itself(kind: str) -> None:
    vectors = unit_rows(2000)
    index = embeddings.build_index(vectors, kind, ids=[f"d{i}" for i in range(2000)])
    assert index.kind == kind and len(index) == 2000
    scores, found = index.search(vectors[:50], k=3)
    hits = sum(row[0] == f"d{i}" for i, row in enumerate(found))
    assert hits >= 48  # approximate indexes may miss a few; flat never does
    assert np.all(scores[:, 0] <= 1.0001)


def test_search_on_an_empty_index() -> None:
    index = embeddings.new_index(8)
    scores, found = index.search(unit_rows(2, 8), k=5)
    assert scores.shape == (2, 0) and found == [[], []]


def test_growing_index_switches_to_hnsw_and_keeps_its_ids() -> None:
    vectors = unit_rows(300)
    index = embeddings.GrowingIndex(32, limit=100)
    for start in range(0, 300, 50):
        index.add(vectors[start : start + 50], list(range(start, start + 50)))
    assert index.kind == "hnsw" and index.kinds_used == ["flat", "hnsw"] and len(index) == 300
    _, found = index.search(vectors[[0, 150, 299]], k=1)
    assert [row[0] for row in found] == [0, 150, 299]


@pytest.mark.slow
def test_embed_with_the_embedded_model() -> None:
    vectors = embeddings.embed(
        [
            "The deposit is 20% of the price.",
            "The deposit equals 20% of the price.",
            "Take with food.",
        ]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.8 > sims[0, 2]
    assert embeddings.load_embedder() is embeddings.load_embedder()
    assert embeddings.embed([]).shape == (0, 384)


def test_bf16_embeddings_are_unit_float32_and_close_to_fp32() -> None:
    texts = [
        "The deposit is 20% of the price.",
        "Take with food.",
        "LaTeX News, issue 12: the new release.",
    ]
    exact = embeddings.embed(texts, precision="fp32")
    fast = embeddings.embed(texts, precision="bf16")
    assert fast.dtype == np.float32 and np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert np.sum(exact * fast, axis=1).min() > 0.99
    assert (fast @ fast.T).argsort(axis=1).tolist() == (exact @ exact.T).argsort(axis=1).tolist()


def test_precision_auto_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from kinject import hardware

    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: True)
    assert embeddings.resolve_precision("auto", "cpu") == "bf16"
    assert embeddings.resolve_precision("auto", "cuda:0") == "fp32"
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: False)
    assert embeddings.resolve_precision("auto", "cpu") == "fp32"
    assert embeddings.resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="unknown embedding precision"):
        embeddings.resolve_precision("int8", "cpu")
