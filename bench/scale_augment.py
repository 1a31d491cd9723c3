"""The augmenters stage at scale: ``runner: local`` against ``runner: ray`` on real report text.

    python bench/scale_augment.py                              # 2,000 documents
    python bench/scale_augment.py --size 10000 --json runs/bench-scale-augment.json

The corpus is the contexts of TAT-QA dev (``../shared/data/finance/tatqa_dataset_dev.json``,
annual-report paragraphs and a table, one document each) repeated until ``--size`` documents,
each copy under its own uri and title, one Record per paragraph or table (as a chunked report
has). The stage is the pack recipes' first two augmenters, ``paraphrase`` then ``qa-generate``
with the rules backend, run as ``inject prepare`` runs them (``kinject.prepare``'s loop over
``augment_records``). Each runner runs in a fresh process; its peak memory is that of the whole
process tree (Ray's workers are separate processes). The table gives seconds, documents per
second, the ratio to ``local`` in the same run, peak memory, what each augmenter wrote, where it
ran, and a hash of the written Records: equal hashes are byte-identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import TreePeak, run_script_cell  # noqa: E402

from kinject.records import Record, read_jsonl, write_jsonl  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TATQA = DATA / "finance" / "tatqa_dataset_dev.json"
STEPS = ("paraphrase", "qa-generate")


def build_corpus(size: int, path: Path = TATQA) -> list[Record]:
    """``size`` documents: TAT-QA contexts in file order, cycled; one Record per paragraph and
    one for the table (Markdown)."""
    contexts = json.loads(path.read_text(encoding="utf-8"))
    records = []
    for n in range(size):
        context = contexts[n % len(contexts)]
        uri, title = f"tatqa/{n:07d}.md", f"Annual report extract {n}"
        paragraphs = [
            " ".join(p["text"].split())
            for p in sorted(context["paragraphs"], key=lambda p: p["order"])
        ]
        table = context["table"]["table"]
        rows = ["| " + " | ".join(" ".join(c.split()) for c in row) + " |" for row in table]
        rows.insert(1, "|" + "---|" * len(table[0]))
        for part, text in enumerate([*paragraphs, "\n".join(rows)]):
            meta = {"title": title, "part": part}
            records.append(Record(text=text, source={"uri": uri}, meta=meta))
    return records


def cell(args: argparse.Namespace) -> dict[str, Any]:
    """The augmenters over the corpus with one runner: seconds, memory, what was written."""
    from kinject.config import RunConfig
    from kinject.context import RunContext
    from kinject.plugins import build_plugins
    from kinject.runners.augment import augment_records

    records = list(read_jsonl(Path(args.corpus)))
    config = RunConfig(
        runner=args.runner, ray={"num_cpus": args.num_cpus}, shard_records=args.shard_records
    )
    work = Path(args.corpus).parent / f"run-{args.runner}"
    context = RunContext(run_dir=work, config=config, plugins=build_plugins(), show_progress=False)
    produced: dict[str, Any] = {}
    with TreePeak() as mem:
        t0 = time.perf_counter()
        current = list(records)
        for name in STEPS:
            augmenter = context.plugins.create("augmenter", name, {})
            augmenter.setup(context)
            t1 = time.perf_counter()
            stream, where = augment_records(augmenter, current, config)
            new = list(stream)
            produced[name] = {
                "records": len(new),
                "seconds": round(time.perf_counter() - t1, 1),
                "runs_on": where or "local",
            }
            current.extend(new)
        seconds = time.perf_counter() - t0
    out = work / "augmenters.jsonl"
    write_jsonl(out, current[len(records) :])
    return {
        "runner": args.runner,
        "seconds": seconds,
        "peak_tree_rss_mib": mem.peak / 2**20,
        "start_tree_rss_mib": mem.start / 2**20,
        "produced": produced,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }


def table(size: int, records: int, rows: list[dict[str, Any]]) -> str:
    base = next((r["seconds"] for r in rows if r["runner"] == "local"), None)
    lines = [
        f"{size:,} documents ({records:,} Records), augmenters {' then '.join(STEPS)} (rules)",
        "| runner | s | docs/s | × local | peak MiB | "
        + " | ".join(f"{s} records (where)" for s in STEPS)
        + " | output sha256 |",
        "|---|---:|---:|---:|---:|" + "---|" * len(STEPS) + "---|",
    ]
    for r in rows:
        ratio = f"{r['seconds'] / base:.2f}" if base else "-"
        cells = " | ".join(
            f"{r['produced'][s]['records']:,} ({r['produced'][s]['runs_on']})" for s in STEPS
        )
        lines.append(
            f"| {r['runner']} | {r['seconds']:.1f} | {size / r['seconds']:.1f} | {ratio} | "
            f"{r['peak_tree_rss_mib']:.0f} | {cells} | {r['sha256'][:12]} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000, help="documents (default 2,000)")
    parser.add_argument("--runners", nargs="+", default=["local", "ray"], choices=["local", "ray"])
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--shard-records", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=TATQA, help="a TAT-QA-format file")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--cell", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--runner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        args.json.write_text(json.dumps(cell(args)))
        return
    if not args.data.exists():
        raise SystemExit(f"{args.data}: not found (the TAT-QA dev file of ../shared/data)")
    folder = Path(tempfile.mkdtemp(prefix="kinject-scale-augment-"))
    records = build_corpus(args.size, args.data)
    write_jsonl(folder / "corpus.jsonl", records)
    rows = [
        run_script_cell(__file__, folder / "corpus.jsonl", runner, args) for runner in args.runners
    ]
    print(table(args.size, len(records), rows))
    hashes = {r["sha256"] for r in rows}
    print("output: byte-identical across runners" if len(hashes) == 1 else "output: DIFFERS")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"size": args.size, "records": len(records), "rows": rows}
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
