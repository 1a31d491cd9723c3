"""Whether a suite's training data states the answers its questions ask, without training.

    python bench/knowledge/answer_coverage.py --suite /tmp/suites/tatqa [--json OUT.json]

The rules backend's training set is built as ``run.py`` builds it (the suite's passages, then
``paraphrase`` and ``qa-generate``), and each eval question is looked up in it: ``qa answer``, its
reference answer is the answer of a generated QA pair; ``in a rewrite``, it is in a rewrite or a
QA pair's text but no pair answers it; ``in a passage`` only in the passages; ``nowhere``, not in
the training text as written (whitespace and case aside). A last column, not exclusive of the
others, counts the answers that a QA pair's answer nearly writes: it holds at least 80% of the
answer's words and is at most three times as long (a clause answer "primarily due to lower
prices" for the people's "due to lower prices, partially offset by ..."). Counts are by half
and by where the answer came from in the source (``meta['answer_from']``: text, table,
table-text). A question whose answer the data never writes as the choices write it can only be
learned from a different spelling of it, which a small model may not match.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ablation import build_training_set, training_text  # noqa: E402
from suite_bench import fitted, load_passages, suite_conditions, suite_context  # noqa: E402
from suite_format import read_suite  # noqa: E402

from kinject.context import RunContext  # noqa: E402
from kinject.evaluation import EvalItem, load_eval_items  # noqa: E402
from kinject.records import Record  # noqa: E402
from kinject_plugins.augmenters.filters import normalise  # noqa: E402

_WORDS = re.compile(r"\w+")

PLACES = ("qa answer", "in a rewrite", "in a passage", "nowhere")
#: counted beside PLACES: a QA pair's answer holds most of the answer's words
NEAR = "qa answer, 80% of its words"


def nearly(answer: str, qa_answers: list[set[str]]) -> bool:
    """Whether one of ``qa_answers`` (word sets) holds 80% of ``answer``'s words and has at most
    three times as many plus three."""
    words = set(_WORDS.findall(answer.lower()))
    return bool(words) and any(
        len(words & other) >= 0.8 * len(words) and len(other) <= 3 * len(words) + 3
        for other in qa_answers
    )


def place(answer: str, qa_answers: set[str], rewrites: str, passages: str) -> str:
    """Where ``answer`` first shows in the training data (see the module's doc)."""
    key = normalise(answer)
    if key in qa_answers:
        return "qa answer"
    if key in rewrites:
        return "in a rewrite"
    return "in a passage" if key in passages else "nowhere"


def coverage(
    records: list[Record], items: list[EvalItem], passages: list[Record]
) -> dict[str, dict[str, Counter[str]]]:
    """``{half: {answer_from: Counter(place)}}`` for the eval ``items`` against the training set
    ``records``, of which ``passages`` are the corpus's own text (the rest was generated)."""
    own = {r.id for r in passages}
    qa_answers = {normalise(str(r.meta["answer"])) for r in records if r.kind == "qa"}
    qa_words = [set(_WORDS.findall(a)) for a in qa_answers]
    generated = "\n".join(normalise(training_text(r)) for r in records if r.id not in own)
    corpus = "\n".join(normalise(training_text(r)) for r in records if r.id in own)
    out: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for item in items:
        answer = item.answer_text or (item.choices[item.answer] if item.answer is not None else "")
        where = place(answer, qa_answers, generated, corpus)
        half = str(item.meta.get("half", "all"))
        out[half][str(item.meta.get("answer_from", "-"))][where] += 1
        if nearly(answer, qa_words):
            out[half][str(item.meta.get("answer_from", "-"))][NEAR] += 1
    return out


def table(found: dict[str, dict[str, Counter[str]]]) -> str:
    lines = [
        "| half | answer from | questions | " + " | ".join((*PLACES, NEAR)) + " |",
        "|---|---|---:|" + "---:|" * (len(PLACES) + 1),
    ]
    for half in sorted(found):
        rows = found[half]
        total: Counter[str] = sum(rows.values(), Counter())
        for name, counts in [*sorted(rows.items()), ("all", total)]:
            n = sum(counts[p] for p in PLACES)
            cells = " | ".join(str(counts[p]) for p in (*PLACES, NEAR))
            lines.append(f"| {half} | {name} | {n} | {cells} |")
    return "\n".join(lines)


def rules_set(
    path: Path, model: str, condition: str = "rules backend", seed: int = 42
) -> tuple[list[Record], list[Record], RunContext]:
    """A suite's training set for ``condition`` as ``run.py`` builds it: the fitted records, the
    passages among them, and the run context."""
    from transformers import AutoTokenizer

    from kinject.chunk_stage import TokenBudget, trainer_max_length
    from kinject.models import resolve_model

    model_dir = resolve_model(model)
    context = suite_context(model_dir, Path(tempfile.mkdtemp(prefix="kinject-coverage-")), seed)
    lengths = TokenBudget(
        AutoTokenizer.from_pretrained(model_dir),
        trainer_max_length(context.config, context.plugins),
    )
    docs, _ = load_passages(read_suite(path), context, lengths)
    chosen = next(c for c in suite_conditions() if c.name == condition)
    records, _ = fitted(build_training_set(chosen, docs, context), context, lengths)
    return records, docs, context


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, required=True, help="a folder tatqa.py wrote")
    parser.add_argument("--model", default="smollm2-135m", help="whose tokenizer cuts passages")
    parser.add_argument("--condition", default="rules backend")
    parser.add_argument("--seed", type=int, default=42, help="as run.py's --seed")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    records, docs, _ = rules_set(args.suite, args.model, args.condition, args.seed)
    suite = read_suite(args.suite)
    found = coverage(records, load_eval_items(suite.eval_path), docs)
    print(f"{suite.name}, {args.condition}: {len(records)} records")
    print(table(found))
    if args.json:
        plain = {h: {k: dict(v) for k, v in rows.items()} for h, rows in found.items()}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"suite": suite.name, "coverage": plain}, indent=1))


if __name__ == "__main__":
    main()
