"""Generator benchmark: what each augmentation backend makes of a real corpus, and what it costs.

    python bench/generate.py SUITE_DIR [SUITE_DIR ...] [--backends rules model] [--model
    smollm2-135m]
                             [--half held_out] [--documents N] [--json PATH]

A suite is a folder written by ``bench/knowledge/tatqa.py`` or ``medquad.py`` (``corpus/*.md`` plus
``split.json``). Its documents are cut into passages by the engine's chunk stage, then
``qa-generate`` and ``paraphrase`` run with each backend (``rules``, ``model``: a local causal LM,
``endpoint``: with ``--base-url``). Per suite and backend the table gives passages, wall seconds
and seconds per 1,000 passages, QA pairs kept per passage, the share of generated pairs each filter
dropped, the share of questions that name their subject, the share of facts with k phrasings, and
how many model calls were made (a warm cache makes none: pass ``--no-cache`` to time generation).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from kinject.chunk_stage import chunk_stage, make_budget
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.plugins import build_plugins
from kinject.records import Record


def load_documents(suite: Path, half: str | None, limit: int | None) -> list[Record]:
    split = (
        json.loads((suite / "split.json").read_text(encoding="utf-8"))
        if (suite / "split.json").exists()
        else {}
    )
    wanted = set(split.get(half, [])) if half else None
    docs = []
    for path in sorted((suite / "corpus").glob("*.md")):
        if wanted is not None and path.stem not in wanted:
            continue
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip() if text.startswith("#") else path.stem
        docs.append(Record(text=text, source={"uri": str(path)}, meta={"title": title}))
    return docs[:limit] if limit else docs


def measure(
    passages: list[Record], context: RunContext, backend: str, options: dict[str, Any]
) -> dict[str, Any]:
    row: dict[str, Any] = {"backend": backend, "passages": len(passages)}
    started = time.perf_counter()
    stats = {}
    for name in ("qa-generate", "paraphrase"):
        augmenter = context.plugins.create("augmenter", name, {"backend": backend, **options})
        augmenter.setup(context)
        out = list(augmenter.augment(passages))
        stats[name] = {**augmenter.stats, "records": len(out)}
    seconds = time.perf_counter() - started
    qa, para = stats["qa-generate"], stats["paraphrase"]
    checked = qa.get("checked") or 0
    row.update(
        {
            "seconds": round(seconds, 1),
            "s_per_1k_passages": round(1000 * seconds / len(passages), 1) if passages else None,
            "qa_pairs": qa["records"],
            "qa_per_passage": round(qa["records"] / len(passages), 2) if passages else None,
            "qa_generated": checked,
            "qa_dropped_share": {
                k: round(v / checked, 3) for k, v in sorted(qa.get("dropped", {}).items())
            }
            if checked
            else {},
            "named_subject_share": qa.get("named_subject_share"),
            "rewrites": para["records"],
            "structural_rewrites": para.get("structural"),
            "facts": para.get("facts_total"),
            "facts_at_k_share": para.get("facts_at_k_share"),
            "k": para.get("k"),
            "rewrites_rejected": para.get("rejected", {}),
            "model_calls": qa.get("calls", 0) + para.get("calls", 0),
            "cache_hits": qa.get("cache_hits", 0) + para.get("cache_hits", 0),
        }
    )
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| suite | backend | passages | seconds | s / 1k passages | QA kept / passage | QA "
        "dropped (share of generated) "
        "| names subject | facts at k | rewrites (structural) | model calls |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        drops = ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["qa_dropped_share"].items()) or "-"
        named = (
            "n/a" if r["named_subject_share"] is None else f"{100 * r['named_subject_share']:.0f}%"
        )
        at_k = (
            "n/a"
            if r["facts_at_k_share"] is None
            else f"{100 * r['facts_at_k_share']:.0f}% (k={r['k']})"
        )
        lines.append(
            f"| {r['suite']} | {r['backend']} | {r['passages']} | {r['seconds']} | "
            f"{r['s_per_1k_passages']} "
            f"| {r['qa_per_passage']} | {drops} | {named} | {at_k} | {r['rewrites']} "
            f"({r['structural_rewrites']}) "
            f"| {r['model_calls']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "suites", nargs="+", type=Path, help="suite folders (corpus/*.md, split.json)"
    )
    parser.add_argument(
        "--backends", nargs="+", default=["rules", "model"], choices=["rules", "model", "endpoint"]
    )
    parser.add_argument(
        "--model",
        default="smollm2-135m",
        help="base model: the chunk budget, and the model backend's model",
    )
    parser.add_argument("--base-url", default="", help="endpoint backend: the server's /v1 URL")
    parser.add_argument(
        "--endpoint-model", default="", help="endpoint backend: the served model's name"
    )
    parser.add_argument(
        "--half", choices=["tune", "held_out"], default=None, help="only this half's documents"
    )
    parser.add_argument(
        "--documents", type=int, default=None, help="at most this many documents per suite"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="generate afresh (time the model, not the cache)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)

    config = RunConfig(base_model=args.model)
    plugins = build_plugins()
    context = RunContext(
        run_dir=Path(tempfile.mkdtemp(prefix="kinject-generate-")),
        config=config,
        plugins=plugins,
        show_progress=False,
    )
    budget = make_budget(config, plugins)
    rows = []
    for suite in args.suites:
        passages, _ = chunk_stage(load_documents(suite, args.half, args.documents), config, budget)
        for backend in args.backends:
            options: dict[str, Any] = {"cache": not args.no_cache}
            if backend == "model":
                options["model"] = args.model
            if backend == "endpoint":
                options.update(base_url=args.base_url, model=args.endpoint_model)
            row = {"suite": suite.name, **measure(passages, context, backend, options)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(
            json.dumps({"rows": rows, "model": args.model, "half": args.half}, indent=2),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
