"""Page-parallel PDFs: one PDF read by several workers gives the Records one worker gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_files import make_pdf

from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.ingest import IngestStats, ingest
from kinject.ingest_worker import parse
from kinject_plugins.sources.pdf import PdfSource

LONG_PDF = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "pdfs"
    / "long"
    / "usrguide.pdf"
)
#: split every PDF, however small, so the generated ones are read in parts
ALWAYS_SPLIT = {"page_parallel_min_kb": 0, "ocr": False}


@pytest.fixture
def many_pages(tmp_path: Path) -> Path:
    """Nine pages: text, a table on page 1, a blank page 5 (quarantined as a part-issue)."""
    pages = [
        f"Clause {n}: notice is due within {10 + n} days of the hearing." for n in range(1, 10)
    ]
    pages[4] = ""
    return make_pdf(tmp_path / "many.pdf", pages, table=[["Term", "Days"], ["Notice", "45"]])


def ingested(
    tmp_path: Path, plugins, path: Path, workers: int, **pdf
) -> tuple[list[dict], RunContext, IngestStats]:
    config = RunConfig(sources={"pdf": pdf, "ingest": {"workers": workers}})
    context = RunContext(
        run_dir=tmp_path / f"run-{workers}", config=config, plugins=plugins, show_progress=False
    )
    stats = IngestStats()
    records = [r.to_dict() for r in ingest([str(path)], context, stats)]
    return records, context, stats


def quarantined(context: RunContext) -> list[str]:
    path = context.run_dir / "quarantine.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def test_parts_together_are_the_whole_document(many_pages):
    source = PdfSource(**ALWAYS_SPLIT)
    assert source.parts(str(many_pages), 3) == 3
    whole = parse(0, source, str(many_pages)).records
    parts = [parse(0, source, str(many_pages), (k, 3)).records for k in range(3)]
    assert [r["source"]["page"] for r in parts[1]] == [2, 8]  # every third page from page 2
    assert sorted(r["id"] for p in parts for r in p) == sorted(r["id"] for r in whole)


def test_small_pdfs_are_read_whole(many_pages):
    assert PdfSource().parts(str(many_pages), 2) == 1  # a few KiB: not worth a second open
    assert PdfSource(page_parallel_min_kb=None).parts(str(many_pages), 2) == 1


def test_one_and_two_workers_give_the_same_records_ids_and_issues(
    tmp_path, kinject_plugins, many_pages
):
    one, context_one, stats_one = ingested(tmp_path, kinject_plugins, many_pages, 1, **ALWAYS_SPLIT)
    two, context_two, stats_two = ingested(tmp_path, kinject_plugins, many_pages, 2, **ALWAYS_SPLIT)
    assert [r["source"]["page"] for r in one] == [1, 2, 3, 4, 6, 7, 8, 9]
    assert two == one
    assert (
        quarantined(context_two) == quarantined(context_one) and len(quarantined(context_one)) == 1
    )
    assert stats_two.sources["pdf"].files == 1 and stats_two.sources["pdf"].pages == 8


def test_a_failing_part_fails_the_file_once(tmp_path, kinject_plugins):
    path = make_pdf(tmp_path / "secret.pdf", ["Confidential terms.", "More terms."], password="pw")
    records, context, stats = ingested(tmp_path, kinject_plugins, path, 2, **ALWAYS_SPLIT)
    assert records == []
    assert stats.quarantined == {"encrypted": 1} and stats.sources["pdf"].failed == 1


@pytest.mark.skipif(
    not LONG_PDF.exists(), reason="../shared/data is absent (the project's real-data folder)"
)
def test_a_real_long_pdf_read_by_two_workers(tmp_path, kinject_plugins):
    one, _, _ = ingested(tmp_path, kinject_plugins, LONG_PDF, 1, ocr=False)
    two, _, _ = ingested(tmp_path, kinject_plugins, LONG_PDF, 2, ocr=False)
    assert LONG_PDF.stat().st_size >= 256 * 1024  # over the default: read page-parallel
    assert len(one) == 21 and [r["id"] for r in two] == [r["id"] for r in one]
