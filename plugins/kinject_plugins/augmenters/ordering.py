"""Where generated Records go in the training stream: ``meta["order"]``.

Training sorts Records by :func:`training_order`: a Record's ``meta["order"]`` when set, otherwise
its position in the list. Augmenters set ``order`` from the position of the Record they came from:

- ``interleave``: right after their source document (``position + 0.5``), so documents and their
  QA pairs and rewrites alternate through training;
- ``before``: ahead of every document (negative keys, source order kept), i.e.
  pre-instruction-tuning (Jiang et al. 2024): the model learns to answer questions before it reads
  the documents. The trainer must then keep this order (no shuffling across the boundary).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from kinject.records import Record

QAPosition = Literal["interleave", "before"]


def positions(records: Sequence[Record]) -> dict[str, int]:
    """Record id -> position in the input list (first occurrence)."""
    out: dict[str, int] = {}
    for index, record in enumerate(records):
        out.setdefault(record.id, index)
    return out


def order_key(source_position: int, total: int, mode: QAPosition, step: float = 0.5) -> float:
    """The ``meta["order"]`` of a Record generated from the input at ``source_position``."""
    if mode == "before":
        return -1.0 + source_position / (total + 1)
    return source_position + step


def training_order(records: Sequence[Record]) -> list[Record]:
    """Records sorted by ``meta["order"]`` (falling back to position); ties keep list order."""
    keyed = [(float(r.meta.get("order", i)), i, r) for i, r in enumerate(records)]
    return [r for _, _, r in sorted(keyed, key=lambda t: (t[0], t[1]))]


#: lineage entries that mark a Record as made by an augmenter rather than read from a source
GENERATED_BY = frozenset(
    {"paraphrase", "qa-generate", "term-qa", "synonym", "back-translate", "negatives"}
)


def is_generated(record: Record) -> bool:
    """True for a Record an augmenter made (a rewrite, a QA pair), False for a source document."""
    return any(step in GENERATED_BY for step in record.lineage)
