"""near-dedup's recall by index and neighbour count, on the same embeddings.

    python bench/near_dedup_settings.py --size 100000 --vectors /tmp/nd-100k.npy --json OUT.json

The corpus is bench/clean.py's (templated documents with planted exact and near copies). It is
exact-deduplicated, embedded once (``--vectors`` keeps the embeddings for the next run), and then
the real ``near-dedup`` cleaner runs once per setting (``--index`` × ``--neighbours``) with those
embeddings handed to it, so the settings differ in nothing but the index and the candidates it
looks at. Each row gives precision and recall against the planted clusters, the seconds of the
cleaner without embedding, and, for the planted near copies a setting kept, whether a member of
their cluster was among the Records kept before them (``missed``) at all.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clean import score_dedup, survivors  # noqa: E402
from clean_corpus import build_corpus  # noqa: E402

from kinject.records import Record  # noqa: E402


def embedded(records: list[Record], path: Path | None) -> np.ndarray:
    """The records' embeddings, read from ``path`` when it holds as many rows."""
    if path is not None and path.exists():
        vectors = np.load(path)
        if len(vectors) == len(records):
            print(f"embeddings read from {path}", flush=True)
            return vectors
    from kinject.embeddings import embed

    t0 = time.perf_counter()
    vectors = embed([r.text for r in records], batch_size=128)
    print(f"embedded {len(records)} records in {time.perf_counter() - t0:.1f} s", flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def run_setting(
    plugins: Any,
    records: list[Record],
    vectors: np.ndarray,
    cluster: dict[str, int],
    index: str,
    neighbours: int,
) -> dict[str, Any]:
    row_of = {r.text: i for i, r in enumerate(records)}
    cleaner = plugins.create(
        "cleaner", "near-dedup", {"index": index, "neighbours": neighbours, "batch_size": 256}
    )
    # the same vectors for every setting: the cleaner's embedding call becomes a lookup
    cleaner._embed = lambda texts: vectors[[row_of[t] for t in texts]]
    t0 = time.perf_counter()
    out = list(cleaner.apply(records))
    seconds = time.perf_counter() - t0
    kept, drops = survivors(out)
    scores = score_dedup(records, drops, cluster)
    # a planted copy kept although a member of its cluster was kept before it is a miss
    seen: set[int] = set()
    missed = 0
    kept_ids = {r.id for r in kept}
    for r in records:
        c = cluster[r.id]
        if r.id in kept_ids:
            missed += c in seen
            seen.add(c)
    return {
        "index": index,
        "neighbours": neighbours,
        "index_kinds": cleaner.index_kinds,
        "seconds": seconds,
        "missed": missed,
        **scores,
        **cleaner.stats,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| index (used) | neighbours | seconds | dropped | precision | recall | copies kept |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['index']} ({'→'.join(r['index_kinds'])}) | {r['neighbours']} | "
            f"{r['seconds']:.1f} | {r['dropped']:,} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['missed']:,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="generated documents")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--index", nargs="+", default=["auto", "flat", "hnsw"])
    parser.add_argument("--neighbours", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--vectors", type=Path, help="keep the embeddings here (.npy)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from kinject.plugins import build_plugins

    plugins = build_plugins(load_entry_points=False)
    corpus, cluster, _, planted = build_corpus(args.size, random.Random(args.seed))
    exact = plugins.create("cleaner", "exact-dedup", {})
    records = [r for r in exact.apply(corpus) if isinstance(r, Record)]
    print(f"{len(corpus)} documents, {len(records)} after exact-dedup, planted {planted}")
    vectors = embedded(records, args.vectors)
    rows = []
    for index in args.index:
        for k in args.neighbours:
            row = run_setting(plugins, records, vectors, cluster, index, k)
            print(
                f"{index:5s} k={k:<3d} {row['seconds']:7.1f} s  P {row['precision']:.3f} "
                f"R {row['recall']:.3f}  copies kept {row['missed']}",
                flush=True,
            )
            rows.append(row)
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {"size": args.size, "seed": args.seed, "records": len(records), "rows": rows}
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
