"""The trainers' tokenisation at scale: Python lists against memory-mapped Arrow (``datasets``).

    python bench/scale_tokenize.py                          # 10k and 100k rows
    python bench/scale_tokenize.py --rows 100000 --json runs/bench-scale-tokenize.json

The rows are half passages (four of bench/clean.py's generated documents joined, as after
chunking) and half QA pairs (a question about a document, its first sentence as the answer),
tokenized with the embedded model's tokenizer at ``max_length`` 512 the way the sft trainer
does (``arrow_rows.tokenized_dataset``): ``lists`` (``tokenize: lists``) and ``datasets``
with 1 and 2 processes (``tokenize: datasets``, ``tokenize_num_proc``). Each cell runs in a
fresh process that loads the records first, so what it measures is the tokenisation alone:
seconds, CPU seconds (all processes), the peak PSS of the process tree above the records (PSS:
the pages a forked worker shares with its parent count once), the PSS still held once the
dataset is built, and for the datasets path the seconds of a second
run that loads the saved folder (a resume). Prints one table; ``--json`` keeps it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clean_corpus import build_corpus  # noqa: E402
from scale import TreePeak, tree_pss  # noqa: E402

from kinject.records import Record, read_jsonl, write_jsonl  # noqa: E402

#: (label, path, processes)
MODES = [
    ("lists", "lists", 1),
    ("datasets, 1 proc", "datasets", 1),
    ("datasets, 2 proc", "datasets", 2),
]


def make_records(count: int, seed: int) -> list[Record]:
    """Half passages of four generated documents, half QA pairs about one document."""
    docs, *_ = build_corpus(count * 2 + 4, random.Random(seed))
    records = []
    for i in range(count):
        if i % 2:
            text = " ".join(d.text for d in docs[2 * i : 2 * i + 4])
            records.append(Record(text=text, source={"uri": f"gen://passage/{i}"}))
        else:
            answer = docs[2 * i].text.split(". ")[0].rstrip(".") + "."
            meta = {"question": f"What does record {i} of the register state?", "answer": answer}
            records.append(Record(text=answer, kind="qa", meta=meta))
    return records


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cell(args: argparse.Namespace) -> dict[str, Any]:
    """Tokenize the records once (and for the datasets path load them back); time and memory."""
    from collections import Counter

    from transformers import AutoTokenizer

    from kinject.models import resolve_model
    from kinject_plugins.trainers.arrow_rows import tokenized_dataset

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(args.model))
    records = list(read_jsonl(Path(args.records)))
    folder = Path(args.work) / "tokenized" if args.path == "datasets" else None
    # imports and the tokenizer's thread pool are not part of what a path costs
    warm = Path(args.work) / "warm" if folder is not None else None
    tokenized_dataset(records[:64], tokenizer, args.max_length, warm, args.num_proc)
    gc.collect()
    cpu0, counts = cpu_seconds(), Counter[str]()
    with TreePeak(tree_pss) as mem:
        t0 = time.perf_counter()
        data = tokenized_dataset(records, tokenizer, args.max_length, folder, args.num_proc, counts)
        seconds = time.perf_counter() - t0
    gc.collect()
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu0,
        "start_tree_rss_mib": mem.start / 2**20,
        "peak_over_start_mib": (mem.peak - mem.start) / 2**20,
        "held_over_start_mib": (tree_pss() - mem.start) / 2**20,
        "rows": len(data),
        "tokens": counts["tokens"],
        "tokens_truncated": counts["tokens_truncated"],
        "in_memory_mib": data.data.nbytes / 2**20 if not data.cache_files else 0.0,
    }
    if folder is not None:
        del data
        t0 = time.perf_counter()
        again = tokenized_dataset(records, tokenizer, args.max_length, folder, args.num_proc)
        result["reload_seconds"] = time.perf_counter() - t0
        result["on_disk_mib"] = (
            sum(f.stat().st_size for f in (folder / "dataset").rglob("*") if f.is_file()) / 2**20
        )
        assert len(again) == result["rows"]
    return result


def run_cell(
    records: Path, work: Path, path: str, num_proc: int, args: argparse.Namespace
) -> dict[str, Any]:
    out = work / "cell.json"
    cmd = [sys.executable, __file__, "--cell", "--records", str(records), "--work", str(work)]
    cmd += ["--path", path, "--num-proc", str(num_proc), "--json", str(out)]
    cmd += ["--max-length", str(args.max_length), "--model", args.model]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    subprocess.run(cmd, check=True, env=env)
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| rows | path | seconds | CPU s | peak PSS MiB over start | held MiB after | "
        "Arrow in RAM / on disk MiB | reload s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        store = (
            f"{r['on_disk_mib']:,.0f} disk"
            if "on_disk_mib" in r
            else (f"{r['in_memory_mib']:,.0f} RAM")
        )
        reload = f"{r['reload_seconds']:.2f}" if "reload_seconds" in r else ""
        lines.append(
            f"| {r['size']:,} | {r['label']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | "
            f"{r['peak_over_start_mib']:,.0f} | {r['held_over_start_mib']:,.0f} | {store} | "
            f"{reload} |"
        )
    return "\n".join(lines)


def main_parent(args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    for size in args.rows:
        with tempfile.TemporaryDirectory(prefix=f"scale-tokenize-{size}-") as tmp:
            records = Path(tmp) / "records.jsonl"
            write_jsonl(records, make_records(size, args.seed))
            for label, path, num_proc in MODES:
                work = Path(tmp) / f"{path}-{num_proc}"
                work.mkdir()
                result = run_cell(records, work, path, num_proc, args)
                result.update(size=size, label=label, path=path, num_proc=num_proc)
                rows.append(result)
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    return {"rows": rows, "max_length": args.max_length, "cpu_count": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--model", default="smollm2-135m", help="whose tokenizer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--cell", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--records", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--num-proc", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = cell(args) if args.cell else main_parent(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
