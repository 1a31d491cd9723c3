"""Real legal text (LegalBench hearsay and personal jurisdiction) through the legal cleaners."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kinject.plugins import build_plugins
from kinject.records import Record, Rejected

#: ../shared/data/legal next to the repository root (absent in a user's clone)
LEGAL_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "legal"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not LEGAL_DATA.is_dir(),
        reason="../shared/data/legal is absent (only in the project's workspace)",
    ),
]


def _records(path: Path) -> list[Record]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [
        Record(
            text=row["text"],
            source={"uri": str(path), "row": i},
            meta={"label": row["label"], "slice": row["slice"]},
        )
        for i, row in enumerate(rows)
    ]


@pytest.mark.parametrize("name", ["hearsay.test.tsv", "personal_jurisdiction.test.tsv"])
def test_legal_cleaners_keep_every_real_record(name: str) -> None:
    records = _records(LEGAL_DATA / name)
    assert len(records) > 40
    plugins = build_plugins(load_entry_points=False)
    import kinject_legal

    plugins.pm.register(kinject_legal, name="legal")
    steps = ["legal-citations", "statute-splitter"]
    if "normalize" in plugins.registry("cleaner"):
        steps.insert(0, "normalize")
    stream: list[Record | Rejected] = list(records)
    for name_ in steps:
        cleaner = plugins.create("cleaner", name_)
        stream = list(cleaner.apply([r for r in stream if isinstance(r, Record)]))
    out = [r for r in stream if isinstance(r, Record)]
    # fact patterns cite nothing and have no article headings: nothing dropped, split or rewritten
    assert len(out) == len(records)
    assert [r.meta["label"] for r in out] == [r.meta["label"] for r in records]
    assert all("legal_citations" not in r.meta for r in out)
    assert all(r.text.strip() for r in out)
