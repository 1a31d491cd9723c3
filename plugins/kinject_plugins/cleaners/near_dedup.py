"""``near-dedup``: drop Records that say the same thing as one already kept.

Survivor rule (``keep: first``, the default, streams): Records are taken in input order; a Record
is a near duplicate when its embedding has cosine >= ``threshold`` with a *kept* Record of the
same kind **and** their facts agree (the numbers, dates and names of one are all in the other).
It is dropped with ``detail`` naming that survivor, so every cluster keeps exactly one member:
the first seen. ``keep: longest`` keeps the longest member of each cluster instead (ties: first
seen); it holds all Records in memory until the end, so use it for corpora that fit.

A lexical guard (estimated token-bigram Jaccard >= ``min_lexical_overlap``) backs the
embedding where its vocabulary is thin: MiniLM maps most Chinese characters to [UNK], so two
unrelated Chinese sentences of similar length can embed close together.

The fact check is what keeps templated-but-distinct texts apart: "Rent of $500 due 1 March" and
"Rent of $700 due 1 April" embed at cosine ~0.97 but state different facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Cleaner
from kinject.context import RunContext
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.tokens import estimated_overlap, facts, facts_agree, lexical_signature

Fingerprint = tuple[frozenset[str], np.ndarray]


class NearDedupOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: cosine similarity at or above which two Records are near duplicates
    threshold: float = Field(default=0.9, gt=0, le=1)
    #: which member of a cluster survives
    keep: Literal["first", "longest"] = "first"
    #: require the numbers, dates and names to agree before merging
    check_facts: bool = True
    #: and at least this estimated Jaccard overlap of token bigrams (0 turns it off); guards
    #: scripts the embedder barely knows (MiniLM maps most Chinese characters to [UNK])
    min_lexical_overlap: float = Field(default=0.3, ge=0, le=1)
    #: embedder: alias, local directory or cached hub id (default: the embedded MiniLM)
    model: str | None = None
    device: str | None = None
    #: Records embedded per batch
    batch_size: int = Field(default=256, ge=1)
    #: candidates looked at per Record
    neighbours: int = Field(default=8, ge=1)
    #: faiss index: ``auto`` is exact (flat) up to ``flat_limit`` vectors, then HNSW
    index: Literal["auto", "flat", "hnsw"] = "auto"
    flat_limit: int = Field(default=50_000, ge=1)


class NearDedup(Cleaner):
    """Embedding near-duplicate removal with a faiss inner-product index."""

    name = "near-dedup"
    description = "drop near duplicates (MiniLM embeddings, faiss, cosine >= 0.9, facts must agree)"
    Options = NearDedupOptions
    opts: NearDedupOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.index_kinds: list[str] = []
        self.stats: dict[str, int] = {
            "compared": 0,
            "merged": 0,
            "kept_by_facts": 0,
            "kept_by_overlap": 0,
        }

    def setup(self, context: RunContext) -> None:
        from kinject.embeddings import load_embedder

        load_embedder(self.opts.model, self.opts.device)

    def _embed(self, texts: list[str]) -> np.ndarray:
        from kinject.embeddings import embed

        return embed(
            texts,
            batch_size=min(self.opts.batch_size, 128),
            model=self.opts.model,
            device=self.opts.device,
        )

    def _new_index(self) -> Any:
        from kinject.embeddings import GrowingIndex, embedding_dim

        dim = embedding_dim(self.opts.model, self.opts.device)
        return GrowingIndex(dim, limit=self.opts.flat_limit, kind=self.opts.index)

    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        if self.opts.keep == "longest":
            yield from self._apply_longest(records)
            return
        indexes: dict[str, Any] = {}
        kept: dict[str, Fingerprint] = {}
        stream = iter(records)
        while batch := list(islice(stream, self.opts.batch_size)):
            vectors = self._embed([r.text for r in batch])
            yield from self._dedup_batch(batch, vectors, indexes, kept)
        self.index_kinds = sorted({k for index in indexes.values() for k in index.kinds_used})

    def _dedup_batch(
        self,
        batch: list[Record],
        vectors: np.ndarray,
        indexes: dict[str, Any],
        kept: dict[str, Fingerprint],
    ) -> Iterator[Record | Rejected]:
        # Compare against earlier batches through the index, and within the batch directly:
        # a Record may duplicate one kept a few rows above it.
        for kind in dict.fromkeys(r.kind for r in batch):
            rows = [i for i, r in enumerate(batch) if r.kind == kind]
            index = indexes.get(kind) or indexes.setdefault(kind, self._new_index())
            scores, found = index.search(vectors[rows], self.opts.neighbours)
            local = vectors[rows] @ vectors[rows].T
            kept_rows: list[int] = []
            for j, i in enumerate(rows):
                record = batch[i]
                candidates = [(float(s), fid) for s, fid in zip(scores[j], found[j], strict=False)]
                candidates += [(float(local[j, kj]), batch[rows[kj]].id) for kj in kept_rows]
                survivor = self._match(record, candidates, kept)
                if survivor is None:
                    kept_rows.append(j)
                    kept[record.id] = self._fingerprint(record.text)
                    yield record
                else:
                    sid, score = survivor
                    yield Rejected(
                        record,
                        "near_duplicate",
                        self.name,
                        f"duplicate of {sid} (cosine {score:.3f})",
                    )
            if kept_rows:
                index.add(
                    vectors[[rows[j] for j in kept_rows]], [batch[rows[j]].id for j in kept_rows]
                )

    @staticmethod
    def _fingerprint(text: str) -> Fingerprint:
        return facts(text), lexical_signature(text)

    def _agree(self, a: Fingerprint, b: Fingerprint) -> bool:
        if self.opts.check_facts and not facts_agree(a[0], b[0]):
            self.stats["kept_by_facts"] += 1
            return False
        if estimated_overlap(a[1], b[1]) < self.opts.min_lexical_overlap:
            self.stats["kept_by_overlap"] += 1
            return False
        return True

    def _match(
        self, record: Record, candidates: list[tuple[float, str]], kept: dict[str, Fingerprint]
    ) -> tuple[str, float] | None:
        """The best kept candidate this Record duplicates, or None."""
        mine: Fingerprint | None = None
        for score, sid in sorted(candidates, key=lambda c: c[0], reverse=True):
            if score < self.opts.threshold:
                break
            self.stats["compared"] += 1
            mine = self._fingerprint(record.text) if mine is None else mine
            if self._agree(mine, kept[sid]):
                self.stats["merged"] += 1
                return sid, score
        return None

    def _apply_longest(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        """Cluster everything first (union-find over matching pairs), then keep the longest."""
        from kinject.embeddings import build_index, choose_index_kind

        items = list(records)
        if not items:
            return
        vectors = self._embed([r.text for r in items])
        parent = list(range(len(items)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        index_kind = self.opts.index if self.opts.index != "auto" else choose_index_kind(len(items))
        index = build_index(vectors, index_kind)
        self.index_kinds = [index.kind]
        scores, found = index.search(vectors, self.opts.neighbours + 1)
        prints = [self._fingerprint(r.text) for r in items]
        for i, (row_scores, row_ids) in enumerate(zip(scores, found, strict=True)):
            for score, j in zip(row_scores, row_ids, strict=False):
                same = j != i and items[i].kind == items[j].kind and score >= self.opts.threshold
                if same and self._agree(prints[i], prints[j]):
                    parent[root(j)] = root(i)
        best: dict[int, int] = {}
        for i, record in enumerate(items):
            r = root(i)
            if r not in best or len(record.text) > len(items[best[r]].text):
                best[r] = i
        for i, record in enumerate(items):
            survivor = best[root(i)]
            if survivor == i:
                yield record
            else:
                detail = f"duplicate of {items[survivor].id} (longest of its cluster)"
                yield Rejected(record, "near_duplicate", self.name, detail)
