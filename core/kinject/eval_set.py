"""Which questions a run is measured on, and where they came from.

- ``eval_set: FILE`` in the recipe: the user's own questions.
- the pack's sample corpus: the pack's sample questions (written about that corpus).
- any other corpus: questions built from it before training by the ``eval_questions.builder``
  augmenter (``eval-questions``), held-out phrasings of facts the passages state. The facts are
  trained on; only the phrasing is held out, and training QA that shares a 13-gram with one of
  these questions is dropped by decontamination.

Every run writes the questions it used to ``<run_dir>/eval_set.jsonl`` in the format ``eval_set:``
reads, so they can be reviewed, corrected and reused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kinject.context import RunContext
from kinject.evaluation import EvalItem, load_eval_items
from kinject.records import Record

EVAL_SET_FILE = "eval_set.jsonl"
PACK_WARNING = (
    "warning: the knowledge questions are the {pack} pack's sample questions, written about its "
    "sample "
    "corpus, not about your documents; the domain-knowledge figures do not measure your corpus"
)


@dataclass
class EvalSetChoice:
    """The questions of a run plus a line saying where they came from."""

    items: list[EvalItem]
    origin: str  # file | pack | corpus | none
    label: str
    warning: str = ""

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "origin": self.origin,
            "label": self.label,
            "questions": len(self.items),
        }
        if self.warning:
            out["warning"] = self.warning
        return out


def uses_pack_corpus(context: RunContext) -> bool:
    """True when the run reads the domain pack's own sample corpus (no ``--corpus`` of the
    user's).
    """
    pack = context.domain
    if pack is None:
        return False
    corpus = [Path(c).resolve() for c in context.config.corpus if "://" not in c]
    return not context.config.corpus or corpus == [Path(pack.corpus).resolve()]


def fixed_eval_set(context: RunContext) -> EvalSetChoice | None:
    """The user's file, or the pack's questions for the pack's corpus; None: build from the
    corpus.
    """
    config = context.config
    if config.eval_set:
        items = load_eval_items(Path(config.eval_set))
        return EvalSetChoice(
            items, "file", f"your eval set {config.eval_set}: {len(items)} questions"
        )
    if uses_pack_corpus(context) or config.eval_questions.max_questions == 0:
        return pack_eval_set(context)
    return None


def pack_eval_set(context: RunContext, why: str = "") -> EvalSetChoice:
    pack = context.domain
    if pack is None or not Path(pack.eval).exists():
        return EvalSetChoice([], "none", "no knowledge questions (no eval_set and no domain pack)")
    items = load_eval_items(pack.eval)
    label = f"the {pack.name} pack's sample questions: {len(items)} questions"
    warning = "" if uses_pack_corpus(context) else PACK_WARNING.format(pack=pack.name) + why
    return EvalSetChoice(items, "pack", label, warning)


def build_questions(
    context: RunContext, passages: list[Record]
) -> tuple[list[Record], dict[str, Any]]:
    """Run the builder augmenter over the passages; its records hold the questions."""
    settings = context.config.eval_questions
    builder = context.plugins.create(
        "augmenter", settings.builder, {"max_questions": settings.max_questions, **settings.options}
    )
    builder.setup(context)
    made = list(
        context.progress(builder.augment(passages), "building eval questions from your corpus")
    )
    return made, {"builder": settings.builder, **builder.stats}


def corpus_eval_set(context: RunContext, records: list[Record]) -> EvalSetChoice:
    """Eval items from the builder's records (or the pack's questions, with a warning, if none)."""
    items = [item for r in records if (item := record_to_item(r)) is not None]
    if not items:
        return pack_eval_set(context, why=" (no question could be built from your corpus)")
    documents = len({str(i.meta.get("uri", "")) for i in items})
    label = (
        f"built from your corpus: {len(items)} questions from {documents} "
        f"document{'s' * (documents != 1)}"
    )
    return EvalSetChoice(items, "corpus", label)


def record_to_item(record: Record) -> EvalItem | None:
    """A builder record (``kind="qa"`` with ``choices`` and ``answer_index``) as an eval item."""
    meta = record.meta
    choices = [str(c) for c in meta.get("choices") or []]
    index = meta.get("answer_index")
    question = str(meta.get("question") or "").strip()
    if not question or not choices or not isinstance(index, int) or not 0 <= index < len(choices):
        return None
    where: dict[str, Any] = {
        k: record.source[k] for k in ("uri", "page", "offset") if k in record.source
    }
    extra = {k: meta[k] for k in ("fact", "title", "section") if meta.get(k)}
    return EvalItem(
        id=f"corpus-{record.id}",
        question=question,
        choices=choices,
        answer=index,
        answer_text=choices[index],
        category=str(meta.get("category") or ""),
        meta={**where, **extra, "origin": "corpus"},
    )


def write_eval_set(path: Path, items: list[EvalItem]) -> Path:
    """The questions as JSONL that ``eval_set:`` reads back."""
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(asdict(item), ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)
    return path
