"""Fixtures for cleaner tests: a fast stand-in embedder so logic tests need no model."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pytest

from kinject_plugins.cleaners.tokens import tokenize

DIM = 512


def bag_of_words(texts: Sequence[str], *args: Any, **kwargs: Any) -> np.ndarray:
    """Unit vectors of hashed word counts: shared words -> high cosine, like a real embedder."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for tok in tokenize(text):
            out[i, zlib.crc32(tok.encode()) % DIM] += 1.0
        norm = np.linalg.norm(out[i])
        if norm:
            out[i] /= norm
    return out


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the MiniLM embedder by :func:`bag_of_words` for one test."""
    import kinject.embeddings as embeddings

    monkeypatch.setattr(embeddings, "embed", bag_of_words)
    monkeypatch.setattr(embeddings, "embedding_dim", lambda *a, **k: DIM)
    monkeypatch.setattr(embeddings, "load_embedder", lambda *a, **k: None)


def split_results(results: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """(kept Records, Rejected) from a cleaner's output."""
    from kinject.records import Rejected

    results = list(results)
    kept = [r for r in results if not isinstance(r, Rejected)]
    rejected = [r for r in results if isinstance(r, Rejected)]
    return kept, rejected


@pytest.fixture
def split() -> Callable[[Iterable[Any]], tuple[list[Any], list[Any]]]:
    """``split(cleaner.apply(records))`` -> (kept Records, Rejected)."""
    return split_results
