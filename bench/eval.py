"""Multiple-choice scoring speed: a long context shared by its choices against full sequences.

``knowledge-qa`` scores every choice of a question as a continuation of the same prompt. When the
prompt is long (a question asked with retrieved passages, as the ``rag`` strategy does), running
it once and reusing its key/value cache for each choice saves most of the work. This bench scores
the same questions both ways, in the same process and alternating, and checks that the choices
picked are the same.

    python bench/eval.py --model tiny
    python bench/eval.py --model smollm2-135m --questions 40

Prompts: the knowledge benchmark's held-out questions (bench/knowledge/corpora), closed-book and
with the top passages of their own corpus in front (as ``rag`` builds them).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
CORPORA = HERE / "knowledge" / "corpora"


def prompts(limit: int, passages: int) -> tuple[list[Any], dict[str, str]]:
    """The held-out items, and for each item a prompt with ``passages`` paragraphs of its corpus."""
    from kinject.evaluation import format_prompt, load_eval_items

    items: list[Any] = []
    with_context: dict[str, str] = {}
    for domain in sorted(p.name for p in CORPORA.iterdir() if p.is_dir()):
        paragraphs = [
            p.strip()
            for p in (CORPORA / domain / "corpus.md").read_text(encoding="utf-8").split("\n\n")
            if p.strip()
        ]
        for item in load_eval_items(CORPORA / domain / "eval.jsonl"):
            items.append(item)
            context = "\n\n".join(paragraphs[:passages])
            with_context[item.id] = f"Context:\n{context}\n\n{format_prompt(item.question)}"
    return items[:limit], with_context


def timed(
    model: Any, tokenizer: Any, pairs: list[tuple[str, str]], share: bool, batch_size: int
) -> tuple[float, list[float]]:
    from kinject_plugins.evaluators.loglik import score_continuations

    started = time.perf_counter()
    scores = score_continuations(model, tokenizer, pairs, batch_size=batch_size, share_prefix=share)
    return time.perf_counter() - started, [s.logprob for s in scores]


def picks(items: list[Any], logprobs: list[float]) -> list[int]:
    out, it = [], iter(logprobs)
    for item in items:
        row = [next(it) for _ in item.choices]
        out.append(max(range(len(row)), key=lambda i: (row[i], -i)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="tiny (random) or a model alias/path")
    parser.add_argument("--questions", type=int, default=57)
    parser.add_argument(
        "--passages", type=int, default=3, help="corpus paragraphs in front of each question"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    import tempfile

    import torch

    from kinject.evaluation import format_prompt
    from kinject.models import build_tiny_model, load_causal_lm, resolve_model

    path = (
        build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
        if args.model == "tiny"
        else resolve_model(args.model)
    )
    model, tokenizer = load_causal_lm(path)
    model.eval()
    items, with_context = prompts(args.questions, args.passages)
    settings = {
        "closed-book": [
            (format_prompt(item.question), " " + c) for item in items for c in item.choices
        ],
        f"with {args.passages} passages": [
            (with_context[item.id], " " + c) for item in items for c in item.choices
        ],
    }
    rows = []
    for name, pairs in settings.items():
        context_tokens = sum(len(tokenizer(ctx)["input_ids"]) for ctx, _ in pairs[::4]) / max(
            1, len(pairs[::4])
        )
        times: dict[bool, list[float]] = {True: [], False: []}
        results: dict[bool, list[float]] = {}
        with torch.inference_mode():
            for _ in range(args.repeats):
                for share in (False, True):
                    elapsed, results[share] = timed(model, tokenizer, pairs, share, args.batch_size)
                    times[share].append(elapsed)
        same = picks(items, results[True]) == picks(items, results[False])
        diff = max(abs(a - b) for a, b in zip(results[True], results[False], strict=True))
        full, shared = min(times[False]), min(times[True])
        rows.append(
            {
                "setting": name,
                "questions": len(items),
                "choices": len(pairs),
                "context_tokens": round(context_tokens),
                "full_s": round(full, 2),
                "shared_s": round(shared, 2),
                "speedup": round(full / shared, 2),
                "same_picks": same,
                "max_logprob_diff": float(f"{diff:.2g}"),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(
        f"\nmodel={args.model} batch={args.batch_size} best of {args.repeats}, "
        f"threads={torch.get_num_threads()}"
    )
    header = (
        f"{'setting':16} {'choices':>7} {'ctx tok':>7} {'full s':>7} {'shared s':>8} "
        f"{'speedup':>7} {'same picks':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['setting']:16} {r['choices']:7d} {r['context_tokens']:7d} {r['full_s']:7.2f} "
            f"{r['shared_s']:8.2f} "
            f"{'x' + str(r['speedup']):>7} {str(r['same_picks']):>10}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
