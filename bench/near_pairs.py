"""Ray near-dedup's candidate check on one partition: every bucket pair by pair, against large
buckets checked as arrays (the default), on bench/clean.py's generated corpus.

    python bench/near_pairs.py --size 10000 100000 --json runs/near-pairs.json

One process, no Ray: the corpus's band rows (what ``ray.near_bands`` x ``ray.near_rows`` MinHash
bands each Record gives, with its facts and bigram signature) as a single batch, then
``_candidate_pairs`` twice on it. Prints one table: bucket pairs, the largest bucket, pairs that
pass, seconds for each way and their ratio, and whether both ways found the same pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clean_corpus import build_corpus  # noqa: E402

from kinject.config import RayConfig  # noqa: E402
from kinject.runners import ray_dedup  # noqa: E402
from kinject.runners.shards import write_shard  # noqa: E402


def band_batch(size: int, seed: int, bands: int, rows: int) -> dict[str, np.ndarray]:
    records, _, _, _ = build_corpus(size, random.Random(seed))
    with tempfile.TemporaryDirectory(prefix="near-pairs-") as tmp:
        shard = Path(tmp) / "shard.jsonl"
        write_shard(shard, "bench", records)
        band_rows = list(ray_dedup._band_rows({"index": 0, "src": str(shard)}, bands, rows))
    return {k: np.array([r[k] for r in band_rows], dtype=object) for k in band_rows[0]}


def timed(batch: dict[str, np.ndarray], large_bucket: int) -> tuple[float, set[tuple[int, int]]]:
    saved = ray_dedup._LARGE_BUCKET
    ray_dedup._LARGE_BUCKET = large_bucket
    try:
        t0 = time.perf_counter()
        out = ray_dedup._candidate_pairs(batch, check_facts=True, min_overlap=0.3)
        seconds = time.perf_counter() - t0
    finally:
        ray_dedup._LARGE_BUCKET = saved
    return seconds, set(zip(out["a"].tolist(), out["b"].tolist(), strict=True))


def measure(size: int, seed: int) -> dict[str, Any]:
    defaults = RayConfig()  # the bands and rows a run uses unless its recipe says otherwise
    batch = band_batch(size, seed, bands=defaults.near_bands, rows=defaults.near_rows)
    buckets = Counter(batch["band"].tolist())
    by_pair, pairs_a = timed(batch, large_bucket=sys.maxsize)
    arrays, pairs_b = timed(batch, large_bucket=ray_dedup._LARGE_BUCKET)
    return {
        "size": size,
        "band_rows": len(batch["band"]),
        "bucket_pairs": sum(n * (n - 1) // 2 for n in buckets.values()),
        "largest_bucket": max(buckets.values()),
        "passed": len(pairs_b),
        "pair_by_pair_s": by_pair,
        "arrays_s": arrays,
        "same_pairs": pairs_a == pairs_b,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| docs | band rows | bucket pairs | largest bucket | pairs passed | pair by pair s "
        "| arrays s | ratio | same pairs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['band_rows']:,} | {r['bucket_pairs']:,} | "
            f"{r['largest_bucket']:,} | {r['passed']:,} | {r['pair_by_pair_s']:.1f} | "
            f"{r['arrays_s']:.1f} | {r['pair_by_pair_s'] / r['arrays_s']:.1f}x | "
            f"{'yes' if r['same_pairs'] else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    rows = [measure(size, args.seed) for size in args.size]
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
