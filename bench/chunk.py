"""Chunking benchmark: how much of a real corpus the trainer would see, with and without the chunk
stage.

    python bench/chunk.py CORPUS [CORPUS ...] [--domain finance] [--max-length 128] [--set
    KEY=VALUE] [--json PATH]

Reads the corpus with the engine's sources and the pack's cleaners (or the defaults), then counts,
in tokens of the base model's tokenizer, what the training rows hold before truncation and what
``max_length`` cuts away: once for the records as the sources made them (no chunk stage), once
after the chunk stage. Prints a table; ``--json`` writes the same figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kinject.chunk_stage import chunk_stage, make_budget
from kinject.chunking import TEXT_KINDS, passage_text
from kinject.cli.run_cmd import parse_settings
from kinject.manifest import Manifest
from kinject.pipeline import open_run, resolve_config
from kinject.plugins import build_plugins
from kinject.prepare import _clean, _ingest, corpus_entries
from kinject_plugins.trainers.training_rows import records_to_rows, tokenize_rows


def truncation(records: list[Any], tokenizer: Any, max_length: int) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    rows = records_to_rows(records).rows
    tokenize_rows(rows, tokenizer, max_length, counts)
    sizes = [len(tokenizer(r["completion"], add_special_tokens=False)["input_ids"]) for r in rows]
    return {
        "records": len(rows),
        "tokens": counts["tokens"],
        "tokens_truncated": counts["tokens_truncated"],
        "truncated_share": counts["tokens_truncated"] / counts["tokens"]
        if counts["tokens"]
        else 0.0,
        "records_over_limit": counts["rows_truncated"],
        "tokens_per_record": {
            "min": min(sizes),
            "median": statistics.median(sizes),
            "max": max(sizes),
        }
        if sizes
        else {},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="+")
    parser.add_argument("--domain", default=None)
    parser.add_argument(
        "--max-length", type=int, default=None, help="default: the recipe's trainer.max_length"
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a recipe override, as for inject (sources.structured.kind=document)",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    plugins = build_plugins()
    overrides: dict[str, Any] = {**parse_settings(tuple(args.settings)), "corpus": args.corpus}
    if args.max_length:
        overrides["trainer"] = {"max_length": args.max_length}
    config, pack = resolve_config(plugins, args.domain, None, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        config = config.model_copy(update={"run_dir": tmp})
        context = open_run(config, plugins, pack, show_progress=False)
        Manifest(Path(tmp) / "manifest.json")
        records, _ = _ingest(corpus_entries(context), context)
        cleaned, _ = _clean(records, context)
        budget = make_budget(config, plugins)
        started = time.perf_counter()
        chunked, stats = chunk_stage(cleaned, config, budget)
        seconds = time.perf_counter() - started
    texts = [r for r in cleaned if r.kind in TEXT_KINDS]
    result = {
        "corpus": args.corpus,
        "domain": args.domain,
        "base_model": config.base_model,
        "max_length": budget.max_length,
        "without_chunking": truncation(texts, budget.tokenizer, budget.max_length),
        "with_chunking": truncation(
            [r for r in chunked if r.kind in TEXT_KINDS], budget.tokenizer, budget.max_length
        ),
        "chunk_stage": {**stats, "seconds": round(seconds, 2)},
        "longest_passage_tokens": max(
            (budget.count(passage_text(r)) + budget.specials for r in chunked), default=0
        ),
    }
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def print_table(result: dict[str, Any]) -> None:
    print(
        f"corpus: {' '.join(result['corpus'])}  base model: {result['base_model']}  max_length: "
        f"{result['max_length']}"
    )
    print(
        f"{'':18} {'records':>8} {'tokens':>9} {'truncated':>10} {'share':>7} {'over limit':>10} "
        f"{'min/median/max tokens':>22}"
    )
    for key in ("without_chunking", "with_chunking"):
        r = result[key]
        t = r["tokens_per_record"]
        sizes = f"{t['min']}/{t['median']:g}/{t['max']}" if t else "-"
        print(
            f"{key:18} {r['records']:>8} {r['tokens']:>9} {r['tokens_truncated']:>10} "
            f"{r['truncated_share']:>7.2%} "
            f"{r['records_over_limit']:>10} {sizes:>22}"
        )
    print(
        f"chunk stage: {result['chunk_stage']['seconds']} s; longest passage with its title line "
        "and special tokens: "
        f"{result['longest_passage_tokens']} tokens"
    )


if __name__ == "__main__":
    main()
