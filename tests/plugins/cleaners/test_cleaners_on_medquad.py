"""The model-free cleaners on real consumer-health text (MedQuAD subset, CC BY 4.0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.evaluation import EvalItem
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.decontaminate import Decontaminate
from kinject_plugins.cleaners.normalize import normalize_text

DATA = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "medical"
    / "medquad_subset.json"
)

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.slow,
    pytest.mark.skipif(
        not DATA.exists(), reason="../shared/data (MedQuAD subset) is not present in this checkout"
    ),
]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return json.loads(DATA.read_text(encoding="utf-8"))[:400]


def test_model_free_cleaners_keep_count_and_normalise_stably(kinject_plugins, rows) -> None:
    records = [Record(r["answer"], source={"uri": r["url"], "row": i}) for i, r in enumerate(rows)]
    for name in (
        "normalize",
        "standardize",
        "pii-scrub",
        "language",
        "length",
        "low-information",
        "exact-dedup",
    ):
        out = list(kinject_plugins.create("cleaner", name, {}).apply(records))
        assert len(out) == len(records), name
        kept = [r for r in out if isinstance(r, Record)]
        assert len(kept) >= 0.8 * len(records), name  # real prose: most of it stays
    for record in records[:100]:
        once = normalize_text(record.text)
        assert normalize_text(once) == once


def test_decontaminate_drops_exactly_the_answers_of_protected_items(rows) -> None:
    protected = rows[:20]
    items = [
        EvalItem(id=f"m{i}", question=r["question"], answer_text=r["answer"])
        for i, r in enumerate(protected)
    ]
    cleaner = Decontaminate(embed=False)
    cleaner.protect(items)
    leaked_answers = {r["answer"] for r in protected}
    records = [Record(r["answer"], source={"row": i}) for i, r in enumerate(rows)]
    out = list(cleaner.apply(records))
    dropped = {o.record.text for o in out if isinstance(o, Rejected)}
    assert leaked_answers <= dropped
    # Other answers about other topics stay (a few share long boilerplate passages).
    assert len(dropped) <= len(leaked_answers) + 0.1 * len(rows)
