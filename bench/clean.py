"""Benchmark the cleaning stage on a generated corpus with planted duplicates.

    python bench/clean.py                    # 10k documents
    python bench/clean.py --size 100000 --json runs/bench-clean-100k.json

The corpus: short legal/medical/finance/general documents built from sentence templates with
random facts (names, amounts, dates, cities), so many distinct documents share their wording
("templated but distinct"). On top, planted exact copies (with case/whitespace changes), near
copies (reworded: synonyms, fillers, punctuation, sentence order; facts unchanged), boilerplate
junk, and documents that contain an evaluation question verbatim.

Prints, per cleaner and for the whole stage: docs/s and peak memory (RSS sampled every 10 ms,
shown as the rise over the RSS before the step); dedup precision/recall against the planted
truth; near-dedup against a MinHash-LSH baseline (datasketch) on the same input in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clean_corpus import build_corpus  # noqa: E402

from kinject.evaluation import EvalItem  # noqa: E402
from kinject.records import Record, Rejected  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakRss:
    """Samples RSS in a thread while the block runs; ``rise`` is peak minus start, in MiB."""

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def rise(self) -> float:
        return (self.peak - self.start) / 2**20


def measure(fn: Callable[[], Any], n: int) -> tuple[Any, dict[str, Any]]:
    with PeakRss() as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    # CPU seconds (all threads) next to wall time: on a shared machine wall time mostly
    # measures the neighbours; docs per CPU-second is the figure that transfers.
    return out, {
        "seconds": seconds,
        "docs_per_s": n / seconds if seconds else float("inf"),
        "cpu_seconds": cpu,
        "docs_per_cpu_s": n / cpu if cpu else float("inf"),
        "peak_rss_mib": mem.peak / 2**20,
        "rss_rise_mib": mem.rise,
    }


def score_dedup(
    records: list[Record],
    drops: dict[str, str],
    cluster: dict[str, int],
    expected: int | None = None,
) -> dict[str, float]:
    """Precision/recall of drops against planted clusters.

    A drop is correct when the Record and its named survivor were planted in the same cluster;
    the expected drops are ``len(records) - distinct clusters`` unless given.
    """
    if expected is None:
        expected = len(records) - len({cluster[r.id] for r in records})
    correct = sum(1 for rid, sid in drops.items() if cluster[rid] == cluster.get(sid, -1))
    return {
        "dropped": len(drops),
        "expected": expected,
        "correct": correct,
        "precision": correct / len(drops) if drops else 1.0,
        "recall": correct / expected if expected else 1.0,
    }


def survivors(out: Iterable[Record | Rejected]) -> tuple[list[Record], dict[str, str]]:
    kept, drops = [], {}
    for r in out:
        if isinstance(r, Rejected):
            drops[r.record.id] = r.detail.split()[2]  # "duplicate of <id> ..."
        else:
            kept.append(r)
    return kept, drops


def minhash_dedup(
    records: list[Record], threshold: float, num_perm: int, shingle: int
) -> dict[str, str]:
    """First-seen-survives dedup with datasketch MinHash LSH over word ``shingle``-grams."""
    from datasketch import MinHash, MinHashLSH

    from kinject_plugins.cleaners.tokens import tokenize

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sketches: dict[str, Any] = {}
    drops: dict[str, str] = {}
    for rec in records:
        toks = tokenize(rec.text)
        grams = {" ".join(toks[i : i + shingle]) for i in range(max(1, len(toks) - shingle + 1))}
        mh = MinHash(num_perm=num_perm)
        mh.update_batch([g.encode() for g in grams])
        match = next((c for c in lsh.query(mh) if sketches[c].jaccard(mh) >= threshold), None)
        if match is None:
            lsh.insert(rec.id, mh)
            sketches[rec.id] = mh
        else:
            drops[rec.id] = match
    return drops


def timed_chain(
    records: list[Record], cleaners: list[Any]
) -> tuple[list[Record], dict[str, float], dict[str, int]]:
    """Run the cleaners as one streaming chain; exclusive seconds per cleaner, reason counts."""
    inclusive: list[float] = [0.0] * (len(cleaners) + 1)
    reasons: dict[str, int] = {}

    def timed(it: Iterator[Any], k: int) -> Iterator[Any]:
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                inclusive[k] += time.perf_counter() - t0
                return
            inclusive[k] += time.perf_counter() - t0
            yield item

    def kept_only(it: Iterable[Any]) -> Iterator[Record]:
        for r in it:
            if isinstance(r, Rejected):
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
            else:
                yield r

    stream: Iterator[Any] = timed(iter(records), 0)
    for k, cleaner in enumerate(cleaners, 1):
        stream = timed(cleaner.apply(kept_only(stream)), k)
    kept = list(kept_only(stream))
    exclusive = {c.name: inclusive[k + 1] - inclusive[k] for k, c in enumerate(cleaners)}
    return kept, exclusive, reasons


def run_one(cleaner: Any, records: list[Record]) -> list[Record | Rejected]:
    return list(cleaner.apply(records))


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    try:
        import faiss

        faiss.omp_set_num_threads(n)
    except ImportError:
        pass


def make_cleaners(
    plugins: Any, eval_items: list[EvalItem], batch: int, near: bool = True
) -> list[Any]:
    rules = [
        {
            "id": "deposit_cap",
            "extract": {
                "deposit": r"(?i)deposit of \D{0,3}([\d.,]+)",
                "price": r"(?i)contract price of \D{0,3}([\d.,]+)",
            },
            "when": "deposit > 0.2 * price",
        }
    ]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("normalize", {}),
        ("standardize", {}),
        ("pii-scrub", {}),
        ("language", {}),
        ("length", {}),
        ("low-information", {}),
        ("rules", {"rules": rules}),
        ("exact-dedup", {}),
        ("near-dedup", {"batch_size": batch}),
        ("decontaminate", {}),
    ]
    steps = [s for s in steps if near or s[0] != "near-dedup"]
    cleaners = [plugins.create("cleaner", name, opts) for name, opts in steps]
    for c in cleaners:
        if c.name == "decontaminate":
            c.protect(eval_items)
    return cleaners


def run(args: argparse.Namespace) -> dict[str, Any]:
    from kinject.embeddings import embed
    from kinject.plugins import build_plugins

    set_threads(args.threads)
    corpus, cluster, eval_items, planted = build_corpus(args.size, random.Random(args.seed))
    n = len(corpus)
    if not args.no_embed:
        embed(["warm up the embedder"])  # model load is not part of any cleaner's rate
    plugins = build_plugins(load_entry_points=False)
    result: dict[str, Any] = {
        "size": n,
        "planted": planted,
        "threads": args.threads,
        "cleaners": {},
    }
    print(f"{n} documents, planted {planted}, {args.threads} threads", flush=True)

    for cleaner in make_cleaners(plugins, eval_items, args.batch):
        if cleaner.name == "near-dedup":
            continue  # measured below on the exact-deduplicated stream, next to MinHash
        out, stats = measure(partial(run_one, cleaner, corpus), n)
        stats["dropped"] = sum(isinstance(r, Rejected) for r in out)
        extra = f"dropped {stats['dropped']}"
        if cleaner.name == "exact-dedup":
            deduped, drops = survivors(out)
            # exact-dedup is expected to find the exact copies only (near copies are next)
            stats.update(score_dedup(corpus, drops, cluster, expected=planted["exact_drops"]))
            extra += f" P {stats['precision']:.3f} R {stats['recall']:.3f}"
        if cleaner.name == "decontaminate":
            stats["planted_contaminated"] = planted["contaminated"]
            extra += f" of {planted['contaminated']} planted"
        result["cleaners"][cleaner.name] = stats
        report(cleaner.name, stats, extra)

    near, result["minhash"], result["near_vs_minhash"] = compare_near_dedup(
        args, plugins, deduped, cluster
    )
    if near is not None:
        result["cleaners"]["near-dedup"] = near
    if not args.skip_stage:
        cleaners = make_cleaners(plugins, eval_items, args.batch, near=not args.no_embed)
        (kept, exclusive, reasons), stage = measure(partial(timed_chain, corpus, cleaners), n)
        stage.update(kept=len(kept), reasons=reasons, exclusive_seconds=exclusive)
        result["stage"] = stage
        report("whole stage", stage, f"kept {len(kept)} of {n} {reasons}")
        print("  exclusive seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in exclusive.items()))
    return result


def compare_near_dedup(
    args: argparse.Namespace, plugins: Any, deduped: list[Record], cluster: dict[str, int]
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any] | None]:
    """near-dedup and MinHash-LSH on the same exact-deduplicated stream, in the same run."""
    stats = None
    if not args.no_embed:
        near = plugins.create("cleaner", "near-dedup", {"batch_size": args.batch})
        out, stats = measure(lambda: list(near.apply(deduped)), len(deduped))
        stats.update(
            score_dedup(deduped, survivors(out)[1], cluster), index=near.index_kinds, **near.stats
        )
        report(
            "near-dedup",
            stats,
            f"P {stats['precision']:.3f} R {stats['recall']:.3f} index {near.index_kinds}",
        )
    drops, mstats = measure(
        partial(minhash_dedup, deduped, args.minhash_threshold, 128, 3), len(deduped)
    )
    mstats.update(
        score_dedup(deduped, drops, cluster),
        threshold=args.minhash_threshold,
        num_perm=128,
        shingle=3,
    )
    report("minhash-lsh", mstats, f"P {mstats['precision']:.3f} R {mstats['recall']:.3f}")
    ratios = None
    if stats is not None:
        ratios = {
            "time_ratio": stats["seconds"] / mstats["seconds"],
            "cpu_time_ratio": stats["cpu_seconds"] / mstats["cpu_seconds"],
            "precision_ratio": stats["precision"] / mstats["precision"]
            if mstats["precision"]
            else None,
            "recall_ratio": stats["recall"] / mstats["recall"] if mstats["recall"] else None,
        }
        print("near-dedup / minhash: " + json.dumps(ratios))
    return stats, mstats, ratios


def report(name: str, stats: dict[str, Any], extra: str = "") -> None:
    print(
        f"{name:16s} {stats['docs_per_s']:>9.0f} docs/s {stats['docs_per_cpu_s']:>9.0f} "
        "docs/cpu-s  "
        f"peak RSS +{stats['rss_rise_mib']:.0f} MiB  {extra}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="documents (10k, 100k, 1M)")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="torch/faiss threads"
    )
    parser.add_argument(
        "--batch", type=int, default=256, help="near-dedup batch (records per embedding call)"
    )
    parser.add_argument("--minhash-threshold", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-stage", action="store_true", help="skip the whole-stage chain run")
    parser.add_argument(
        "--no-embed", action="store_true", help="leave near-dedup out (MinHash still runs)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = run(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
