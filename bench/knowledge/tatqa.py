"""Convert a TAT-QA file (financial-report contexts: a table and paragraphs) into a knowledge suite.

    python bench/knowledge/tatqa.py ../shared/data/finance/tatqa_dataset_dev.json --out
    bench/results/suites/tatqa
    python bench/knowledge/tatqa.py FILE --out DIR --documents 40 --questions 80 --seed 0   # the
    defaults
    python bench/knowledge/tatqa.py FILE --out DIR --full                                  # every
    context

One context = one document ``corpus/tatqa-NNN.md`` (NNN: its position in the file, from 1): a
title line, the paragraphs in their order, then the table as a Markdown table (cells with their
whitespace collapsed). TAT-QA names no company, so the title is built from the context's own
text: ``Annual report extract N: <label>``, the label being the first paragraph when it reads as a
heading (at most 8 words, no full stop, mostly capitalised: "Stock Awards", "7. INCOME TAXES"),
else a leading ``Label:`` of the first paragraph ("Sales by Contract Type: Substantially ..."),
else the first row label of the table.

Questions: only ``answer_type == "span"`` (one span copied from the text or the table; not
arithmetic, count or multi-span), not ``req_comparison`` (``In which year was X the largest?``
needs a comparison, not a fact), and whose answer occurs in the document. Each becomes a closed-book
question that names its document::

    According to <title>, <the TAT-QA question, first letter lower-cased unless the first word is an
    acronym>

with 3 distractors of the answer's type from the same document (see :mod:`span_distractors`); a
question with fewer than 3 is skipped and counted. The split (``split.json``) is by a hash of the
table uid; see :mod:`suite_format`. Source: TAT-QA (NExTplusplus/TAT-QA, MIT licence).
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path
from typing import Any

# the sibling modules, when imported by path
sys.path.insert(0, str(Path(__file__).resolve().parent))

from span_distractors import distractors  # noqa: E402
from suite_format import (  # noqa: E402
    Conversion,
    SuiteDocument,
    converter_args,
    make_item,
    seeded,
    select,
    summary,
    write_suite,
)

_SMALL_WORDS = {
    "of",
    "and",
    "the",
    "for",
    "in",
    "on",
    "to",
    "a",
    "an",
    "by",
    "with",
    "or",
    "at",
    "from",
    "&",
    "-",
    "—",
}
MAX_LABEL_WORDS = 10


def squash(text: str) -> str:
    """Whitespace collapsed and HTML entities decoded, twice (the source has ``&amp;amp;``)."""
    return " ".join(html.unescape(html.unescape(str(text))).split())


def reads_as_heading(text: str, max_words: int = 8) -> bool:
    """Short, no full stop, and at least half of its content words capitalised (or numbers)."""
    words = text.split()
    if not words or len(words) > max_words or text.endswith("."):
        return False
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    capital = [w for w in content if w[:1].isupper() or w[:1].isdigit() or w[:1] == "("]
    return bool(content) and len(capital) * 2 >= len(content)


def label_of(paragraphs: list[str], table: list[list[str]]) -> str:
    """The descriptive part of a title (see the module docstring); empty when nothing fits."""
    first = paragraphs[0] if paragraphs else ""
    label = ""
    if reads_as_heading(first):
        label = first
    elif ":" in first[:60] and reads_as_heading(first.split(":", 1)[0], 6):
        label = first.split(":", 1)[0]
    else:
        label = next((squash(row[0]) for row in table if row and _is_label(squash(row[0]))), "")
    words = label.rstrip(":").split()
    return " ".join(words[:MAX_LABEL_WORDS])


def _is_label(cell: str) -> bool:
    return any(len(w) >= 3 and w.isalpha() for w in cell.split()) and not cell.startswith("(")


def markdown_table(table: list[list[str]]) -> str:
    rows = [
        [squash(cell).replace("|", "/") for cell in row]
        for row in table
        if any(squash(c) for c in row)
    ]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def standalone(title: str, question: str) -> str:
    """``According to <title>, <question>`` with the question's first letter lower-cased when its
    first word is an ordinary capitalised word (``What`` -> ``what``; ``IMFT's`` stays)."""
    question = squash(question)
    first = question.split()[0] if question else ""
    if first[:1].isupper() and first[1:] == first[1:].lower():
        question = question[0].lower() + question[1:]
    return f"According to {title}, {question}"


def convert_context(
    position: int, context: dict[str, Any], conversion: Conversion, seed: int
) -> None:
    """One context: its document, and its usable questions as eval items (or skip counts)."""
    paragraphs = [
        squash(p["text"])
        for p in sorted(context.get("paragraphs", []), key=lambda p: p.get("order", 0))
    ]
    table = context.get("table", {}).get("table", [])
    label = label_of(paragraphs, table)
    title = f"Annual report extract {position}" + (f": {label}" if label else "")
    body = "\n\n".join([*paragraphs, markdown_table(table)])
    doc = SuiteDocument(f"tatqa-{position:03d}", context["table"]["uid"], title, body)
    conversion.documents.append(doc)
    cells = [squash(cell) for row in table for cell in row if squash(cell)]
    labels = sorted({squash(row[0]) for row in table if row and _is_label(squash(row[0]))})
    items = conversion.items.setdefault(doc.id, [])
    for question in context.get("questions", []):
        reason = skip_reason(question, body)
        if reason:
            conversion.skipped[reason] += 1
            continue
        answer = squash(question["answer"][0])
        kind, others = distractors(
            answer, paragraphs + cells, labels, seeded(seed, question["uid"])
        )
        if len(others) < 3:
            conversion.skipped[f"fewer than 3 distractors ({kind})"] += 1
            continue
        items.append(
            make_item(
                f"{doc.id}-q{question.get('order', len(items) + 1):02d}",
                standalone(title, question["question"]),
                answer,
                others,
                doc,
                kind,
                seed,
                answer_from=question.get("answer_from", ""),
                answer_kind=kind,
                scale=question.get("scale", ""),
                source_question=squash(question["question"]),
                source_uid=question["uid"],
                source="TAT-QA",
            )
        )


def skip_reason(question: dict[str, Any], body: str) -> str:
    """Why a question is not used (empty when it is)."""
    if question.get("answer_type") != "span":
        return f"not a span ({question.get('answer_type')})"
    answer = question.get("answer")
    if not isinstance(answer, list) or len(answer) != 1:
        return "not one span"
    if question.get("req_comparison"):
        return "needs a comparison"
    if squash(answer[0]) not in body:
        return "answer not in the document"
    return ""


def convert(path: Path, seed: int) -> Conversion:
    contexts = json.loads(path.read_text(encoding="utf-8"))
    conversion = Conversion()
    for position, context in enumerate(contexts, 1):
        convert_context(position, context, conversion, seed)
    return conversion


def main(argv: list[str] | None = None) -> int:
    args = converter_args(__doc__.splitlines()[0], argv)
    conversion = convert(args.file, args.seed)
    documents, items = select(conversion, args.documents, args.questions, args.seed, args.full)
    write_suite(args.out, documents, items)
    print(summary("tatqa", conversion, documents, items))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
