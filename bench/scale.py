"""The cleaning stage at scale: ``runner: local`` against ``runner: ray`` on generated corpora.

    python bench/scale.py                                  # 10k and 100k documents
    python bench/scale.py --size 1000000 --json runs/bench-scale-1m.json
    python bench/scale.py --size 10000 --near              # with near-dedup (embeddings) and
    MinHash
    python bench/scale.py --size 1000000 --near --runners ray --no-minhash  # near-dedup only

The corpus is bench/clean.py's (templated documents with planted exact and near copies, PII,
junk and eval leaks), written to JSONL once per size. Each (size, runner) cell runs in a fresh
process that streams the corpus from that file through the stage's cleaners and counts what
comes out, so its peak memory is the runner's own: the RSS of the whole process tree (Ray's
workers are separate processes), sampled every 50 ms. Prints one table; ``--json`` keeps it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clean import make_cleaners, minhash_dedup, score_dedup  # noqa: E402
from clean_corpus import build_corpus  # noqa: E402

from kinject.records import Record, Rejected, read_jsonl, write_jsonl  # noqa: E402


def tree_rss() -> int:
    """Resident bytes of this process and all its descendants."""
    import psutil

    me = psutil.Process()
    total = 0
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a worker that exited between the two calls
            total += proc.memory_info().rss
    return total


def tree_pss() -> int:
    """Proportional set size of this process and its descendants: pages shared between them
    (a forked worker's copy of its parent) are counted once, split among the sharers.
    """
    import psutil

    me = psutil.Process()
    total = 0
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_full_info().pss
    return total


class TreePeak:
    """Samples ``measure`` (default :func:`tree_rss`) in a thread while the block runs."""

    def __init__(self, measure: Callable[[], int] = tree_rss) -> None:
        self.measure = measure

    def __enter__(self) -> TreePeak:
        self.start = self.peak = self.measure()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.measure())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- one cell, in its own process -----------------------------------------------------------------


def cell(args: argparse.Namespace) -> dict[str, Any]:
    """Stream the corpus through the cleaners with one runner; timings, memory, what was dropped."""
    from kinject.config import RunConfig
    from kinject.evaluation import EvalItem
    from kinject.plugins import build_plugins
    from kinject.runners import make_runner

    # the long steps' progress (near-dedup's candidates and embedding) on stderr
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("kinject.runners").setLevel(logging.INFO)
    folder = Path(args.corpus).parent
    eval_items = [EvalItem(**e) for e in json.loads((folder / "eval.json").read_text())]
    plugins = build_plugins(load_entry_points=False)
    cleaners = make_cleaners(plugins, eval_items, 256, near=args.near)
    if args.near and args.runner == "local":
        from kinject.embeddings import load_embedder

        # model load is not part of the local cleaner's rate (Ray's actors load inside)
        load_embedder()
    config = RunConfig(
        runner=args.runner, ray={"num_cpus": args.num_cpus}, shard_records=args.shard_records
    )
    drops: dict[str, dict[str, str]] = {}
    survivors = folder / f"kept-{args.runner}-{os.getpid()}.txt"
    with TreePeak() as mem, survivors.open("w") as kept_ids:
        t0 = time.perf_counter()
        runner = make_runner(config)
        started = time.perf_counter() - t0
        kept = 0
        for item in runner.clean(
            read_jsonl(Path(args.corpus)), cleaners, folder / f"shards-{args.runner}", "bench"
        ):
            if isinstance(item, Rejected):
                detail = item.detail.split()
                drops.setdefault(item.reason, {})[item.record.id] = (
                    detail[2] if len(detail) > 2 else ""
                )
            else:
                kept += 1
                kept_ids.write(item.id + "\n")
        seconds = time.perf_counter() - t0
        runner.close()
    return {
        "runner": args.runner,
        "seconds": seconds,
        "start_seconds": started,
        "kept": kept,
        "peak_tree_rss_mib": mem.peak / 2**20,
        "start_tree_rss_mib": mem.start / 2**20,
        "steps": runner.stats,
        "drops": drops,
        "kept_file": str(survivors),
    }


# -- the parent: corpora, cells, scores, the table ------------------------------------------------


def write_corpus(size: int, seed: int, folder: Path) -> tuple[dict[str, int], dict[str, int]]:
    records, cluster, eval_items, planted = build_corpus(size, random.Random(seed))
    write_jsonl(folder / "corpus.jsonl", records)
    (folder / "eval.json").write_text(json.dumps([vars(e) for e in eval_items], default=str))
    return cluster, planted


def run_script_cell(
    script: str, corpus: Path, runner: str, args: argparse.Namespace, *extra: str
) -> dict[str, Any]:
    """``script --cell`` for one runner over ``corpus`` in a fresh process (its peak memory is
    its own); the cell's JSON result."""
    out = corpus.parent / f"cell-{runner}.json"
    cmd = [sys.executable, script, "--cell", "--corpus", str(corpus), "--runner", runner]
    cmd += ["--num-cpus", str(args.num_cpus), "--shard-records", str(args.shard_records)]
    cmd += ["--json", str(out), *extra]
    subprocess.run(cmd, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def run_cell(folder: Path, runner: str, args: argparse.Namespace) -> dict[str, Any]:
    extra = ("--near",) if args.near else ()
    return run_script_cell(__file__, folder / "corpus.jsonl", runner, args, *extra)


def score(result: dict[str, Any], corpus: Path, cluster: dict[str, int]) -> None:
    """Precision/recall of the exact and near drops against the planted clusters."""
    records = list(read_jsonl(corpus))
    drops = result["drops"]
    # what reached the dedups: what survived the stage plus what they and the cleaners after them
    # dropped
    after_exact = set(Path(result["kept_file"]).read_text().split())
    for reason in ("near_duplicate", "contaminated"):
        after_exact |= set(drops.get(reason, {}))
    exact = drops.get("exact_duplicate", {})
    reached = [r for r in records if r.id in after_exact or r.id in exact]
    # exact-dedup is expected to find the copies equal after lower-casing and collapsing whitespace
    copies = len(reached) - len({" ".join(r.text.lower().split()) for r in reached})
    result["exact"] = score_dedup(reached, exact, cluster, expected=copies)
    if "near_duplicate" in drops:
        result["near"] = score_dedup(
            [r for r in records if r.id in after_exact], drops["near_duplicate"], cluster
        )
    result["dropped"] = {reason: len(d) for reason, d in result.pop("drops").items()}


def minhash_row(corpus: Path, cluster: dict[str, int], plugins: Any) -> dict[str, Any]:
    """datasketch MinHash-LSH (Jaccard 0.5, 128 permutations, word 3-grams) after exact dedup."""
    exact = plugins.create("cleaner", "exact-dedup", {})
    deduped = [r for r in exact.apply(read_jsonl(corpus)) if isinstance(r, Record)]
    t0 = time.perf_counter()
    drops = minhash_dedup(deduped, 0.5, 128, 3)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "docs_per_s": len(deduped) / seconds,
        **score_dedup(deduped, drops, cluster),
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| docs | runner | seconds (Ray start) | docs/s | peak tree RSS MiB | kept | exact P / R "
        "| near P / R |",
        "|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        near = f"{r['near']['precision']:.3f} / {r['near']['recall']:.3f}" if "near" in r else ""
        exact = (
            f"{r['exact']['precision']:.3f} / {r['exact']['recall']:.3f}" if "exact" in r else ""
        )
        start = f" ({r['start_seconds']:.1f})" if r["runner"] == "ray" else ""
        lines.append(
            f"| {r['size']:,} | {r['runner']} | {r['seconds']:.1f}{start} | "
            f"{r['docs_per_s']:,.0f} | "
            f"{r['peak_tree_rss_mib']:,.0f} | {r['kept']:,} | {exact} | {near} |"
        )
    return "\n".join(lines)


def main_parent(args: argparse.Namespace) -> dict[str, Any]:
    from kinject.plugins import build_plugins

    rows: list[dict[str, Any]] = []
    baselines: dict[int, dict[str, Any]] = {}
    result = {
        "rows": rows,
        "minhash": baselines,
        "num_cpus": args.num_cpus,
        "near": args.near,
        "shard_records": args.shard_records,
        "cpu_count": os.cpu_count(),
    }
    for size in args.size:
        with tempfile.TemporaryDirectory(prefix=f"scale-{size}-") as tmp:
            folder = Path(tmp)
            cluster, planted = write_corpus(size, args.seed, folder)
            if args.near and args.minhash:
                # the baseline first: minutes where a near-dedup cell at 1M takes hours, so a cell
                # that is stopped or fails still leaves it
                baselines[size] = minhash_row(
                    folder / "corpus.jsonl", cluster, build_plugins(load_entry_points=False)
                )
                print(f"minhash-lsh {size}: {json.dumps(baselines[size])}", flush=True)
                write_result(args.json, result)
            for runner in args.runners:
                row = run_cell(folder, runner, args)
                score(row, folder / "corpus.jsonl", cluster)
                row.update(size=size, docs_per_s=size / row["seconds"], planted=planted)
                rows.append(row)
                print(table(rows[-1:]).splitlines()[-1], flush=True)
                write_result(args.json, result)  # each finished row is kept as it comes
    print(table(rows))
    return result


def write_result(path: Path | None, result: dict[str, Any]) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, nargs="+", default=[10_000, 100_000], help="documents per corpus"
    )
    parser.add_argument("--runners", nargs="+", default=["local", "ray"], choices=["local", "ray"])
    parser.add_argument(
        "--near", action="store_true", help="add near-dedup (embeddings) and the MinHash baseline"
    )
    parser.add_argument(
        "--no-minhash",
        dest="minhash",
        action="store_false",
        help="with --near, leave out the MinHash baseline (already measured at this size)",
    )
    parser.add_argument(
        "--num-cpus", type=int, default=os.cpu_count() or 1, help="CPUs of the local Ray"
    )
    parser.add_argument("--shard-records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--cell", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--runner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    write_result(args.json, cell(args) if args.cell else main_parent(args))


if __name__ == "__main__":
    main()
