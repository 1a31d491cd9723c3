"""The medical pack's cleaners and the eval loader on real consumer-health QA (MedQuAD subset)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from kinject.evaluation import load_eval_items
from kinject.records import Record
from kinject_medical.abbreviations import AbbreviationExpander
from kinject_medical.phi_scrub import PhiScrubber

MEDQUAD = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "medical"
    / "medquad_subset.json"
)

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not MEDQUAD.exists(), reason=f"shared data not found: {MEDQUAD}"),
]


@pytest.fixture(scope="module")
def sample() -> list[dict[str, str]]:
    rows = json.loads(MEDQUAD.read_text(encoding="utf-8"))
    return random.Random(0).sample(rows, 300)


def _records(rows: list[dict[str, str]]) -> list[Record]:
    return [
        Record(text=r["answer"], source={"uri": r["url"]}, meta={"focus": r["focus"]}) for r in rows
    ]


def test_phi_scrub_keeps_public_health_text(sample: list[dict[str, str]]) -> None:
    records = _records(sample)
    out = list(PhiScrubber().apply(records))
    assert len(out) == len(records) and all(isinstance(r, Record) for r in out)
    changed = [r for r in out if isinstance(r, Record) and "pii" in r.meta]
    # fact sheets name no patients: only stray phone numbers or e-mails may be masked
    assert len(changed) <= 0.05 * len(records)
    numbers_before = sum(len(re.findall(r"\d+", r.text)) for r in records)
    numbers_after = sum(len(re.findall(r"\d+", r.text)) for r in out if isinstance(r, Record))
    assert numbers_after >= 0.97 * numbers_before


def test_abbrev_expand_runs_and_keeps_originals(sample: list[dict[str, str]]) -> None:
    records = _records(sample)
    out = [r for r in AbbreviationExpander().apply(records) if isinstance(r, Record)]
    assert len(out) == len(records)
    expanded = [r for r in out if "abbrev_expand" in r.meta]
    assert expanded, "real consumer-health text uses some clinical abbreviations"
    for record in expanded:
        meta = record.meta["abbrev_expand"]
        original = meta["original"]
        for hit in meta["expanded"]:
            assert original[hit["offset"] :].startswith(hit["abbr"])
            assert f"{hit['expansion']} ({hit['abbr']})" in record.text


def test_eval_loader_reads_medquad_as_short_answer_items(
    sample: list[dict[str, str]], tmp_path: Path
) -> None:
    path = tmp_path / "medquad_eval.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for k, row in enumerate(sample):
            item = {
                "id": f"medquad-{k}",
                "question": row["question"],
                "answer_text": row["answer"].strip()[:400],
                "category": row["focus"],
                "meta": {"source": row["url"]},
            }
            f.write(json.dumps(item) + "\n")
    items = load_eval_items(path)
    assert len(items) == len(sample)
    assert all(i.reference and not i.choices for i in items)
