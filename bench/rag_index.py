"""The rag index build on real PDFs: passages/s of the embedder with each lever, then the trainer.

    python bench/rag_index.py --pdf ../shared/data/pdfs/long/ltnews.pdf [--pdf FILE ...] [--copies
    2] [--json PATH]

Reads the PDFs with the engine's sources, cleaners and chunk stage (the passages the ``rag``
trainer indexes, as in a run: the pack's trainer length, ``--domain``, default finance), then, in
one process on the same passages:

- each lever of :func:`kinject.embeddings.embed` alone: batch size, precision, threads; the
  first row (batch 64, float32) is how the index was built before;
- whether bf16 vectors retrieve what float32 vectors retrieve (top-1 and top-3 of 200 queries,
  each the opening words of a passage);
- the ``rag`` trainer end to end with its defaults (embedder load, embedding, faiss, files).

``--copies N`` indexes the passages N times over (the cleaners drop a PDF given twice as a
duplicate): the work of N reports of the same length, e.g. 170 pages from the 85-page
``ltnews.pdf`` with ``--copies 2``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

LEVERS: list[dict[str, Any]] = [
    {"name": "before: batch 64, float32", "batch_size": 64, "precision": "fp32"},
    {"name": "batch 16, float32", "batch_size": 16, "precision": "fp32"},
    {"name": "batch 256, float32", "batch_size": 256, "precision": "fp32"},
    {"name": "batch 64, bf16", "batch_size": 64, "precision": "bf16"},
    {"name": "batch 16, bf16", "batch_size": 16, "precision": "bf16"},
    {"name": "batch 64, float32, 1 thread", "batch_size": 64, "precision": "fp32", "threads": 1},
]


def chunked_passages(pdfs: list[str], domain: str, work: Path) -> list[Any]:
    """The records the rag trainer gets in a run: sources -> cleaners -> chunk stage."""
    from kinject.chunk_stage import chunk_stage, make_budget
    from kinject.manifest import Manifest
    from kinject.pipeline import open_run, resolve_config
    from kinject.plugins import build_plugins
    from kinject.prepare import _clean, _ingest, corpus_entries

    plugins = build_plugins()
    config, pack = resolve_config(
        plugins, domain, None, {"corpus": [str(Path(p).resolve()) for p in pdfs]}
    )
    config = config.model_copy(update={"run_dir": str(work)})
    context = open_run(config, plugins, pack, show_progress=False)
    Manifest(work / "manifest.json")
    records, _ = _ingest(corpus_entries(context), context)
    cleaned, _ = _clean(records, context, "bench")
    chunked, _ = chunk_stage(cleaned, config, make_budget(config, plugins))
    return chunked


def time_lever(texts: list[str], lever: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    import torch

    from kinject.embeddings import embed

    threads = torch.get_num_threads()
    torch.set_num_threads(lever.get("threads", threads))
    try:
        started = time.perf_counter()
        vectors = embed(texts, batch_size=lever["batch_size"], precision=lever["precision"])
        seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(threads)
    row = {
        **lever,
        "passages": len(texts),
        "seconds": round(seconds, 2),
        "passages_per_s": round(len(texts) / seconds, 1),
    }
    return row, vectors


def agreement(
    reference: np.ndarray, other: np.ndarray, texts: list[str], queries: int = 200
) -> dict[str, Any]:
    """How often ``other`` vectors give the same top-1 / top-3 passages as ``reference``."""
    from kinject.embeddings import build_index, embed

    rng = np.random.default_rng(0)
    picked = rng.choice(len(texts), size=min(queries, len(texts)), replace=False)
    questions = [" ".join(texts[i].split()[:12]) for i in picked]
    ref_q = embed(questions, precision="fp32")
    other_q = embed(questions, precision="bf16")
    _, ref_found = build_index(reference, kind="flat").search(ref_q, 3)
    _, other_found = build_index(other, kind="flat").search(other_q, 3)
    top1 = sum(a[0] == b[0] for a, b in zip(ref_found, other_found, strict=True))
    top3 = sum(len(set(a) & set(b)) for a, b in zip(ref_found, other_found, strict=True))
    cosines = np.sum(reference * other, axis=1)
    return {
        "queries": len(questions),
        "same_top1": int(top1),
        "top3_overlap": round(top3 / (3 * len(questions)), 4),
        "min_cosine_fp32_bf16": round(float(cosines.min()), 5),
    }


def trainer_run(chunked: list[Any], work: Path) -> dict[str, Any]:
    """The rag trainer as a run calls it, with its defaults; its own metrics."""
    from kinject.components import TrainJob
    from kinject.config import RunConfig
    from kinject.context import RunContext
    from kinject.plugins import build_plugins
    from kinject_plugins.trainers.rag import RAGTrainer

    context = RunContext(
        work, RunConfig(), build_plugins(load_entry_points=False), show_progress=False
    )
    job = TrainJob(base_model=work, train=chunked, output_dir=work / "rag", context=context)
    metrics = RAGTrainer().train(job).metrics
    return {
        k: metrics[k]
        for k in (
            "passages",
            "train_time_s",
            "embed_s",
            "passages_per_s",
            "embed_batch_size",
            "embed_precision",
            "index_kind",
        )
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pdf", action="append", required=True, help="a PDF (repeat for more, or the same twice)"
    )
    parser.add_argument(
        "--domain", default="finance", help="the pack whose recipe sets the passage length"
    )
    parser.add_argument(
        "--copies", type=int, default=1, help="index the passages this many times over"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from kinject.embeddings import embed
    from kinject_plugins.trainers.rag import passages_of

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        chunked = chunked_passages(args.pdf, args.domain, Path(tmp) / "run")
        chunked = chunked * args.copies
        texts = [p["text"] for p in passages_of(chunked, ["document"])]
        print(
            f"{len(texts)} passages ({args.copies} x) from {' '.join(args.pdf)} in "
            f"{time.perf_counter() - started:.1f} s "
            f"(sources, cleaners, chunk stage)",
            flush=True,
        )
        embed(texts[:32])  # load the embedder and warm up before any timing
        rows, vectors = [], {}
        for lever in LEVERS:
            row, vectors[lever["name"]] = time_lever(texts, lever)
            rows.append(row)
            print(
                f"{row['name']:30} {row['seconds']:8.2f} s {row['passages_per_s']:9.1f} passages/s",
                flush=True,
            )
        same = agreement(vectors[LEVERS[0]["name"]], vectors["batch 64, bf16"], texts)
        print(
            f"bf16 vs float32 retrieval: same top-1 {same['same_top1']}/{same['queries']}, "
            f"top-3 overlap {same['top3_overlap']:.1%}, lowest cosine "
            f"{same['min_cosine_fp32_bf16']}"
        )
        trained = trainer_run(chunked, Path(tmp))
        print(
            f"rag trainer (defaults): {trained['passages']} passages, {trained['train_time_s']} s "
            "in all, "
            f"{trained['passages_per_s']} passages/s embedding (batch "
            f"{trained['embed_batch_size']}, "
            f"{trained['embed_precision']})"
        )
    result = {
        "pdfs": args.pdf,
        "copies": args.copies,
        "domain": args.domain,
        "passages": len(texts),
        "levers": rows,
        "bf16_retrieval": same,
        "trainer": trained,
        "speedup": round(rows[0]["seconds"] / trained["embed_s"], 2)
        if trained["embed_s"]
        else None,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
