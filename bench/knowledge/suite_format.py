"""The files of a knowledge suite made from real text, written by the converters and read by
``run.py``.

A suite is a folder::

    corpus/<doc-id>.md   one document: "# <title>", a blank line, then its text
    eval.jsonl           EvalItem lines (kinject.evaluation): 4 choices, meta.document, meta.half
    split.json           {"tune": [doc ids], "held_out": [doc ids]}

The split is by document, from a hash of the source's own document id (the same document is in
the same half whatever the caps or the seed), so a question never shares its document with a
question of the other half. Tune rules and prompts on the ``tune`` half; report ``held_out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HALVES = ("tune", "held_out")


def half_of(uid: str) -> str:
    """``tune`` or ``held_out`` for a document, from a hash of its source id (about half each)."""
    return HALVES[int(hashlib.sha256(uid.encode("utf-8")).hexdigest(), 16) % 2]


def seeded(seed: int, key: str) -> random.Random:
    """A generator that depends only on the seed and the key (string seeds are hashed stably)."""
    return random.Random(f"{seed}:{key}")


@dataclass
class SuiteDocument:
    """One corpus file: ``id`` names the file, ``uid`` is the source's id (hashed for the split)."""

    id: str
    uid: str
    title: str
    body: str

    @property
    def text(self) -> str:
        return f"# {self.title}\n\n{self.body.strip()}\n"

    @property
    def half(self) -> str:
        return half_of(self.uid)


@dataclass
class Conversion:
    """What a converter made: documents, candidate eval items per document, skipped counts."""

    documents: list[SuiteDocument] = field(default_factory=list)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


def make_item(
    item_id: str,
    question: str,
    answer: str,
    distractors: list[str],
    doc: SuiteDocument,
    category: str,
    seed: int,
    **meta: Any,
) -> dict[str, Any]:
    """An EvalItem dict with the correct choice at a seeded position among the distractors."""
    position = seeded(seed, item_id).randrange(len(distractors) + 1)
    choices = [*distractors[:position], answer, *distractors[position:]]
    return {
        "id": item_id,
        "question": question,
        "choices": choices,
        "answer": position,
        "answer_text": answer,
        "category": category,
        "meta": {"document": doc.id, "half": doc.half, **meta},
    }


def select(
    conversion: Conversion, documents: int, questions: int, seed: int, full: bool = False
) -> tuple[list[SuiteDocument], list[dict[str, Any]]]:
    """The subset to write: ``documents`` documents (alternating halves; in seeded order, those that
    have their share of ``questions`` first, then those with fewer, never one without), then
    ``questions`` questions taken round-robin across them."""
    if full:
        return conversion.documents, [
            item for d in conversion.documents for item in conversion.items.get(d.id, [])
        ]
    share = -(-questions // max(1, documents))
    with_items = [d for d in conversion.documents if conversion.items.get(d.id)]

    def order(d: SuiteDocument) -> tuple[bool, str]:
        return len(conversion.items[d.id]) < share, hashlib.sha256(
            f"{seed}:{d.uid}".encode()
        ).hexdigest()

    by_half = {h: sorted((d for d in with_items if d.half == h), key=order) for h in HALVES}
    picked: list[SuiteDocument] = []
    while len(picked) < documents and any(by_half.values()):
        for half in HALVES:
            if by_half[half] and len(picked) < documents:
                picked.append(by_half[half].pop(0))
    queues = {d.id: _shuffled(conversion.items[d.id], seed, d.id) for d in picked}
    chosen: list[dict[str, Any]] = []
    while len(chosen) < questions and any(queues.values()):
        for doc in picked:
            if queues[doc.id] and len(chosen) < questions:
                chosen.append(queues[doc.id].pop(0))
    position = {d.id: i for i, d in enumerate(conversion.documents)}
    picked.sort(key=lambda d: position[d.id])
    return picked, sorted(chosen, key=lambda item: (position[item["meta"]["document"]], item["id"]))


def _shuffled(items: list[dict[str, Any]], seed: int, key: str) -> list[dict[str, Any]]:
    out = list(items)
    seeded(seed, key).shuffle(out)
    return out


def write_suite(out: Path, documents: list[SuiteDocument], items: list[dict[str, Any]]) -> None:
    """Write corpus/, eval.jsonl and split.json under ``out`` (an old corpus/ is replaced)."""
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.glob("*.md"):
        old.unlink()
    for doc in documents:
        (corpus / f"{doc.id}.md").write_text(doc.text, encoding="utf-8")
    with (out / "eval.jsonl").open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    split = {h: [d.id for d in documents if d.half == h] for h in HALVES}
    (out / "split.json").write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")


def summary(
    name: str, conversion: Conversion, documents: list[SuiteDocument], items: list[dict[str, Any]]
) -> str:
    """One line: documents and questions per half, skipped questions per reason."""
    docs = Counter(d.half for d in documents)
    questions = Counter(item["meta"]["half"] for item in items)
    usable = sum(len(v) for v in conversion.items.values())
    skipped = {
        **conversion.skipped,
        **({"over the caps": usable - len(items)} if usable > len(items) else {}),
    }
    reasons = (
        ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]))
        or "none"
    )
    return (
        f"{name}: {len(documents)} documents ({docs['tune']} tune / {docs['held_out']} held_out), "
        f"{len(items)} questions ({questions['tune']} tune / {questions['held_out']} held_out); "
        f"skipped: {reasons}"
    )


def converter_args(
    description: str, argv: list[str] | None = None, max_chars: int | None = None
) -> argparse.Namespace:
    """The arguments every converter takes (and ``--max-chars`` where a default is given)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("file", type=Path, help="the source JSON file")
    parser.add_argument("--out", type=Path, required=True, help="the suite folder to write")
    parser.add_argument(
        "--documents", type=int, default=40, help="documents in the suite (default 40)"
    )
    parser.add_argument(
        "--questions",
        type=int,
        default=80,
        help="questions, spread across the documents (default 80)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="picks documents, questions, distractors and answer positions",
    )
    parser.add_argument(
        "--full", action="store_true", help="every document and every usable question (no caps)"
    )
    if max_chars is not None:
        parser.add_argument(
            "--max-chars",
            type=int,
            default=max_chars,
            help="keep a document's first whole answers up to this many characters (default "
            f"{max_chars}; "
            "0 or --full: whole documents)",
        )
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(
            f"{args.file} not found (the real data lives in ../shared/data; see its README)"
        )
    return args


# -- reading (run.py) ------------------------------------------------------------------------


@dataclass
class Suite:
    """A suite read back: its name, corpus files, eval file and document halves."""

    path: Path
    name: str
    documents: list[Path]
    eval_path: Path
    halves: dict[str, str]  # doc id -> tune | held_out


def read_suite(path: Path) -> Suite:
    """The suite in ``path``; a missing part is a ValueError that says what is missing."""
    corpus, eval_path, split_path = path / "corpus", path / "eval.jsonl", path / "split.json"
    missing = [str(p) for p in (corpus, eval_path, split_path) if not p.exists()]
    if missing:
        raise ValueError(
            f"{path} is not a suite (missing {', '.join(missing)}); write one with "
            "bench/knowledge/tatqa.py or bench/knowledge/medquad.py"
        )
    split = json.loads(split_path.read_text(encoding="utf-8"))
    halves = {doc: half for half in HALVES for doc in split.get(half, [])}
    return Suite(path, path.resolve().name, sorted(corpus.glob("*.md")), eval_path, halves)
