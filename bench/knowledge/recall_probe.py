"""How much of its own training QA a trained row learned: the pairs asked back as 4-choice items.

    python bench/knowledge/recall_probe.py --suite /tmp/suites/tatqa                 # base model
    python bench/knowledge/recall_probe.py --suite /tmp/suites/tatqa --adapter DIR   # a trained row

``DIR`` is the folder ``run.py`` trained a row into (``<its work folder>/rules_backend``, printed
in the row's report as ``model_dir``). The rules backend's training set is built again as
``run.py`` builds it (same seed, same records); ``--sample`` of its QA pairs become four-choice
items whose distractors are answers of other QA pairs of the same document and the same shape (a
number, or words), and the model answers them as it answers the suite's questions (the
``knowledge-qa`` evaluator, by log-likelihood). A row that trained on every pair and still misses
many of them did not memorise its data: more exposures or a larger model are the lever, not more
kinds of data. Where a suite's questions are answered well but the pairs are not, the reverse.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from answer_coverage import rules_set  # noqa: E402

from kinject.evaluation import EvalItem  # noqa: E402
from kinject.records import Record  # noqa: E402
from kinject_plugins.augmenters.filters import normalise  # noqa: E402


def shape(answer: str) -> str:
    return "number" if re.search(r"\d", answer) else "words"


def probe_items(records: list[Record], sample: int, seed: int) -> list[EvalItem]:
    """Up to ``sample`` QA pairs of ``records`` as four-choice items (pairs whose document has
    fewer than three other answers of their shape are left out)."""
    pairs = [r for r in records if r.kind == "qa" and r.meta.get("answer")]
    answers: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for r in pairs:
        answer = str(r.meta["answer"])
        answers[(str(r.source.get("uri", "")), shape(answer))].setdefault(normalise(answer), answer)
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    items: list[EvalItem] = []
    seen: set[str] = set()
    for i in order:
        r = pairs[i]
        answer, question = str(r.meta["answer"]), str(r.meta.get("question", ""))
        if question in seen:
            continue
        pool = answers[(str(r.source.get("uri", "")), shape(answer))]
        others = sorted(v for k, v in pool.items() if k != normalise(answer))
        if len(others) < 3:
            continue
        choices = [answer, *rng.sample(others, 3)]
        rng.shuffle(choices)
        seen.add(question)
        items.append(
            EvalItem(
                id=f"pair-{len(items):04d}",
                question=question,
                choices=choices,
                answer=choices.index(answer),
                answer_text=answer,
                meta={"shape": shape(answer)},
            )
        )
        if len(items) == sample:
            break
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, required=True, help="a folder tatqa.py wrote")
    parser.add_argument("--model", default="smollm2-135m", help="the base model")
    parser.add_argument("--adapter", type=Path, default=None, help="a trained row's folder")
    parser.add_argument("--sample", type=int, default=200, help="QA pairs asked")
    parser.add_argument("--seed", type=int, default=0, help="which pairs and distractors")
    parser.add_argument("--run-seed", type=int, default=42, help="run.py's --seed of the row")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from ablation import evaluator, load_base

    from kinject.models import resolve_model

    records, _, context = rules_set(args.suite, args.model, seed=args.run_seed)
    items = probe_items(records, args.sample, args.seed)
    if args.adapter:
        from kinject.components import TrainResult
        from kinject.evaluation import load_eval_model

        model_dir = resolve_model(args.model)
        model = load_eval_model(TrainResult(args.adapter, Path(model_dir)), label="trained")
    else:
        model = load_base(resolve_model(args.model))
    knowledge = evaluator(context.plugins, "knowledge-qa", {"include_items": True})
    metrics = knowledge.evaluate(model, items, context)
    right: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, item in zip(metrics["items"], items, strict=True):
        right[item.meta["shape"]][0] += bool(row.get("correct"))
        right[item.meta["shape"]][1] += 1
    total = sum(r for r, _ in right.values()), sum(n for _, n in right.values())
    who = args.adapter or "base"
    print(
        f"{who}: {total[0]}/{total[1]} training pairs answered ({100 * total[0] / total[1]:.1f}%)"
    )
    for name, (r, n) in sorted(right.items()):
        print(f"  {name}: {r}/{n}")
    if args.json:
        out: dict[str, Any] = {"model": str(who), "right": total[0], "asked": total[1]}
        out["by_shape"] = {k: {"right": r, "asked": n} for k, (r, n) in right.items()}
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
