"""Exact and near dedup with a global view, as Ray Data shuffles instead of one in-memory list.

**exact**: each task hashes its shard's Records (``exact-dedup``'s own key); the rows are
hash-partitioned by key (``repartition(keys=...)``, a distributed shuffle), and each partition
names, for every key seen more than once, the first Record in corpus order: the local survivor.

**near** (``keep: first``): the same decision rule as the ``near-dedup`` cleaner -- a Record is
dropped when a *kept* earlier Record of its kind has cosine >= ``threshold``, facts that agree and
bigram overlap >= ``min_lexical_overlap``, and it names the one with the highest cosine -- but the
candidates come from MinHash-LSH band buckets instead of a faiss index of everything kept:

1. each task computes, per Record, a MinHash of its token bigrams in ``ray.near_bands`` bands of
   ``ray.near_rows`` values (20 of 6 by default: a pair with bigram Jaccard 0.7 shares a band
   with probability 1 - (1 - 0.7^6)^20 = 0.92, at 0.8 0.9994, at 0.3 0.015);
2. the band rows are hash-partitioned by band; each partition checks the pairs in its buckets
   against the cheap parts of the rule (facts, overlap);
3. only the Records in a pair that passed are embedded, by a pool of actors holding the embedder;
4. the driver keeps pairs at cosine >= ``threshold`` and applies the first-seen survivor rule in
   corpus order (a union of candidate pairs, walked in order, so chains resolve as the local
   cleaner resolves them).

The local cleaner looks at the ``neighbours`` (8) nearest kept Records; this looks at every pair
LSH proposes. They agree where the LSH finds the pair and the nearest eight hold the survivor.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import lru_cache, partial
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from kinject.components import Cleaner
from kinject.config import RayConfig
from kinject.records import Record, Rejected
from kinject.runners.shards import Item, Shard, write_shard

logger = logging.getLogger(__name__)

_SHIFT = 32  # order = shard index << 32 | position in the shard


def _source(shards: list[Shard]) -> Any:
    import ray.data

    items = [{"index": i, "src": str(s.path)} for i, s in enumerate(shards)]
    return ray.data.from_items(items, override_num_blocks=max(1, len(items)))


def _records(row: dict[str, Any]) -> Iterator[tuple[int, Record]]:
    base = int(row["index"]) << _SHIFT
    for pos, record in enumerate(Shard(Path(row["src"]), "").records()):
        yield base | pos, record


def _partitions(rows: int) -> int:
    return max(2, rows // 200_000)


def _write(
    shards: list[Shard], paths: list[Path], fp: str, verdict: Callable[[int, Record], Item]
) -> list[Shard]:
    out = []
    for i, (shard, path) in enumerate(zip(shards, paths, strict=True)):
        base = i << _SHIFT
        items = (verdict(base | pos, r) for pos, r in enumerate(shard.records()))
        out.append(write_shard(path, fp, items))
    return out


def _count(shards: list[Shard]) -> int:
    return sum(1 for s in shards for _ in s.records())


# -- exact ----------------------------------------------------------------------------------------


def exact(
    cleaner: Cleaner, shards: list[Shard], paths: list[Path], fp: str, settings: RayConfig
) -> list[Shard]:
    """``exact-dedup`` over all shards: first in corpus order survives, later copies name it."""
    opts: Any = cleaner.opts
    keyed = _source(shards).flat_map(
        partial(_key_rows, casefold=opts.casefold, collapse=opts.collapse_whitespace)
    )
    grouped = keyed.repartition(_partitions(_count(shards)), shuffle=True, keys=["key"])
    later = grouped.map_batches(_later_copies, batch_size=None, batch_format="numpy")
    survivor = {int(r["order"]): str(r["survivor"]) for r in later.take_all()}

    def verdict(order: int, record: Record) -> Item:
        if order not in survivor:
            return record
        return Rejected(
            record, "exact_duplicate", plugin=cleaner.name, detail=f"duplicate of {survivor[order]}"
        )

    return _write(shards, paths, fp, verdict)


def _key_rows(row: dict[str, Any], casefold: bool, collapse: bool) -> Iterator[dict[str, Any]]:
    from kinject_plugins.cleaners.exact_dedup import content_key

    for order, record in _records(row):
        yield {
            "key": f"{content_key(record, casefold, collapse):016x}",
            "order": order,
            "id": record.id,
        }


def _later_copies(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    first: dict[str, tuple[int, str]] = {}
    for key, order, rid in zip(batch["key"], batch["order"], batch["id"], strict=True):
        if key not in first or int(order) < first[key][0]:
            first[key] = (int(order), str(rid))
    later = [
        (int(o), first[k][1])
        for k, o in zip(batch["key"], batch["order"], strict=True)
        if first[k][0] != int(o)
    ]
    return {
        "order": np.array([o for o, _ in later], dtype=np.int64),
        "survivor": np.array([s for _, s in later], dtype=object),
    }


# -- near -----------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _hash_family(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` permutations of 64-bit hashes (odd multiplier, xor mask), the same in every process."""
    rng = np.random.default_rng(20261201)
    return rng.integers(1, 2**63, n, dtype=np.uint64) | np.uint64(1), rng.integers(
        0, 2**63, n, dtype=np.uint64
    )


def band_signature(text: str, n: int) -> np.ndarray:
    """``n`` MinHash values of the text's token bigrams."""
    from kinject_plugins.cleaners.tokens import _stable_hash, tokenize

    toks = tokenize(text)
    grams = {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)} or set(toks) or {""}
    hashes = np.fromiter((_stable_hash(g) for g in grams), dtype=np.uint64, count=len(grams))
    multipliers, masks = _hash_family(n)
    with np.errstate(over="ignore"):
        return ((hashes[None, :] * multipliers[:, None]) ^ masks[:, None]).min(axis=1)


def _band_rows(row: dict[str, Any], bands: int, rows: int) -> Iterator[dict[str, Any]]:
    from kinject_plugins.cleaners.tokens import facts, lexical_signature

    for order, record in _records(row):
        sig = band_signature(record.text, bands * rows)
        known = json.dumps(sorted(facts(record.text)), ensure_ascii=False)
        lex = lexical_signature(record.text).tobytes()
        for b in range(bands):
            band = f"{record.kind}\x00{b}\x00{sig[b * rows : (b + 1) * rows].tobytes().hex()}"
            yield {"band": band, "order": order, "facts": known, "lex": lex}


_BLOCK_CELLS = 2_000_000  # pairs compared at once when a large bucket is checked
_LARGE_BUCKET = 32  # members from which a bucket is checked as arrays


def _candidate_pairs(
    batch: dict[str, np.ndarray], check_facts: bool, min_overlap: float
) -> dict[str, np.ndarray]:
    """The pairs of Records sharing a band bucket whose bigram overlap and facts pass the rule.

    Buckets of templated text grow with the corpus and their pairs with its square (most such
    pairs pass the overlap and fail the facts), so a large bucket is checked as arrays, a block
    of its rows against all of them at a time (:func:`_large_bucket_pairs`); small ones pair by
    pair, each row's facts parsed once.
    """
    from kinject_plugins.cleaners.tokens import estimated_overlap, facts_agree

    n = len(batch["band"])
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, band in enumerate(batch["band"]):
        buckets[band].append(i)
    order = np.asarray(batch["order"], dtype=np.int64)
    lex = np.frombuffer(b"".join(bytes(x) for x in batch["lex"]), dtype=np.uint64).reshape(n, -1)
    parsed: dict[int, frozenset[str]] = {}

    def facts_of(i: int) -> frozenset[str]:
        if i not in parsed:
            parsed[i] = frozenset(json.loads(batch["facts"][i]))
        return parsed[i]

    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) >= _LARGE_BUCKET:
            rows = np.asarray(members, dtype=np.int64)
            facts = [facts_of(i) for i in members] if check_facts else None
            for i, j in _large_bucket_pairs(lex[rows], facts, min_overlap):
                a, b = sorted((int(order[rows[i]]), int(order[rows[j]])))
                if a != b:
                    pairs.add((a, b))
            continue
        for i, j in combinations(members, 2):
            a, b = sorted((int(order[i]), int(order[j])))
            if a == b or (a, b) in pairs:
                continue
            if check_facts and not facts_agree(facts_of(i), facts_of(j)):
                continue
            if estimated_overlap(lex[i], lex[j]) >= min_overlap:
                pairs.add((a, b))
    ordered = sorted(pairs)
    return {
        "a": np.array([p[0] for p in ordered], dtype=np.int64),
        "b": np.array([p[1] for p in ordered], dtype=np.int64),
    }


def _large_bucket_pairs(
    sig: np.ndarray, facts: list[frozenset[str]] | None, min_overlap: float
) -> Iterator[tuple[int, int]]:
    """Positions ``i < j`` in one bucket that pass the overlap and (``facts`` given) facts checks.

    The overlap is the share of equal signature values; the facts agree when the count of facts
    two rows share (a sparse product of the rows' fact indicators) is all of one side's.
    """
    from scipy import sparse

    m = len(sig)
    if facts is not None:
        columns: dict[str, int] = {}
        flat = [columns.setdefault(f, len(columns)) for row in facts for f in sorted(row)]
        sizes = np.array([len(row) for row in facts], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(sizes)])
        shape = (m, max(1, len(columns)))
        indicators = sparse.csr_matrix(
            (np.ones(len(flat), np.int32), np.asarray(flat, dtype=np.int64), indptr), shape=shape
        )
        transposed = indicators.T.tocsr()
    step = max(1, _BLOCK_CELLS // m)
    for lo in range(0, m - 1, step):
        hi = min(lo + step, m)
        ok = (sig[lo:hi, None, :] == sig[None, :, :]).mean(axis=2) >= min_overlap
        ok &= np.arange(m)[None, :] > np.arange(lo, hi)[:, None]
        if facts is not None:
            shared = (indicators[lo:hi] @ transposed).toarray()
            ok &= (shared == sizes[lo:hi, None]) | (shared == sizes[None, :])
        first, second = np.nonzero(ok)
        yield from zip((first + lo).tolist(), second.tolist(), strict=True)


class _Embedder:
    """A Ray actor holding the embedder; embeds batches of texts.

    Its settings are class attributes of a subclass made per run (:func:`embedder_class`), so the
    actor needs no constructor arguments (Ray cannot restart an actor whose arguments are gone).
    """

    model: str | None = None
    device: str | None = None
    batch_size: int = 128
    #: torch's CPU threads in the actor; 0 leaves Ray's setting (one thread for a 1-CPU actor)
    threads: int = 0

    def __init__(self) -> None:
        from kinject.embeddings import load_embedder

        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        load_embedder(self.model, self.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from kinject.embeddings import embed

        vectors = embed(
            [str(t) for t in batch["text"]],
            batch_size=self.batch_size,
            model=self.model,
            device=self.device,
        )
        return {"order": batch["order"], "id": batch["id"], "vector": vectors}


def embedder_class(
    model: str | None, device: str | None, batch_size: int, threads: int = 0
) -> type[_Embedder]:
    settings = {"model": model, "device": device, "batch_size": batch_size, "threads": threads}
    return type("Embedder", (_Embedder,), settings)


def actor_threads(cpus: int, actors: int, gpus: int) -> int:
    """CPU threads for each embedder actor: its share of the CPUs (none set on a GPU).

    An actor asks Ray for one CPU, which gives torch one thread, so actors at CPUs / 2 would
    leave half the cores idle while the embedder, the long step, runs; the tasks that read the
    texts beside them are light.
    """
    return 0 if gpus else max(1, cpus // max(1, actors))


def _texts(row: dict[str, Any], wanted: frozenset[int]) -> Iterator[dict[str, Any]]:
    for order, record in _records(row):
        if order in wanted:
            yield {"order": order, "id": record.id, "text": record.text}


def near(
    cleaner: Cleaner, shards: list[Shard], paths: list[Path], fp: str, settings: RayConfig
) -> list[Shard]:
    """``near-dedup`` (``keep: first``) over all shards; see the module docstring."""
    import ray
    import ray.data

    opts: Any = cleaner.opts
    source = _source(shards)
    rows = partial(_band_rows, bands=settings.near_bands, rows=settings.near_rows)
    n_rows = _count(shards) * settings.near_bands
    bands = source.flat_map(rows).repartition(_partitions(n_rows), shuffle=True, keys=["band"])
    check = partial(
        _candidate_pairs, check_facts=opts.check_facts, min_overlap=opts.min_lexical_overlap
    )
    pairs = {
        (int(r["a"]), int(r["b"]))
        for r in bands.map_batches(check, batch_size=None, batch_format="numpy").take_all()
    }
    wanted = frozenset(o for p in pairs for o in p)
    logger.info(
        "near-dedup: %d candidate pairs over %d Records; embedding them", len(pairs), len(wanted)
    )
    vectors: dict[int, np.ndarray] = {}
    ids: dict[int, str] = {}
    if wanted:
        gpus = 1 if ray.cluster_resources().get("GPU") and opts.device != "cpu" else 0
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = settings.concurrency or max(1, cpus // 2)
        embedder = embedder_class(
            opts.model, opts.device, min(opts.batch_size, 128), actor_threads(cpus, actors, gpus)
        )
        texts = _source(shards).flat_map(partial(_texts, wanted=wanted))
        with warnings.catch_warnings():
            # max_restarts=0 has no named parameter yet: without it Ray warns that an actor it
            # restarts may lose its arguments; a lost actor fails the step, resumed on a re-run
            warnings.simplefilter("ignore", DeprecationWarning)
            embedded = texts.map_batches(
                embedder,
                batch_size=opts.batch_size,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=actors),
                num_gpus=gpus,
                max_restarts=0,
            )
        started = time.perf_counter()
        for row in embedded.iter_rows():
            vectors[int(row["order"])] = np.asarray(row["vector"], dtype=np.float32)
            ids[int(row["order"])] = str(row["id"])
            if len(vectors) % 20_000 == 0:
                rate = len(vectors) / (time.perf_counter() - started)
                logger.info(
                    "near-dedup: embedded %d of %d (%.0f/s)", len(vectors), len(wanted), rate
                )
    dropped = first_seen(pairs, vectors, opts.threshold)
    cleaner.stats.update(
        {"candidate_pairs": len(pairs), "embedded": len(wanted), "merged": len(dropped)}
    )

    def verdict(order: int, record: Record) -> Item:
        if order not in dropped:
            return record
        survivor, score = dropped[order]
        return Rejected(
            record,
            "near_duplicate",
            cleaner.name,
            f"duplicate of {ids[survivor]} (cosine {score:.3f})",
        )

    return _write(shards, paths, fp, verdict)


def first_seen(
    pairs: set[tuple[int, int]], vectors: dict[int, np.ndarray], threshold: float
) -> dict[int, tuple[int, float]]:
    """Walk the Records of matching pairs in order: each is dropped for its best kept earlier
    match.
    """
    earlier: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for a, b in pairs:
        score = float(vectors[a] @ vectors[b])
        if score >= threshold:
            earlier[b].append((score, a))
    dropped: dict[int, tuple[int, float]] = {}
    for order in sorted(earlier):
        kept = [(s, a) for s, a in earlier[order] if a not in dropped]
        if kept:
            score, survivor = max(kept, key=lambda c: (c[0], -c[1]))
            dropped[order] = (survivor, score)
    return dropped
