"""The PDF source: text per page, tables as markdown, encrypted and broken PDFs, scanned pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_files import make_pdf, make_scanned_pdf, needs_tesseract, read_outcome

from kinject.config import RunConfig
from kinject.context import RunContext
from kinject_plugins.sources.pdf import PdfSource

SHARED_PDFS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "pdfs"


def setup_source(run_context: RunContext, **options) -> PdfSource:
    source = PdfSource(**options)
    source.setup(run_context)
    return source


def test_pages_become_records_with_page_numbers(tmp_path, run_context):
    path = make_pdf(
        tmp_path / "two.pdf", ["Tenants give 45 days notice.", "Appeals within 21 days."]
    )
    outcome = read_outcome(setup_source(run_context), path)
    assert [(r["source"]["page"], r["text"]) for r in outcome.records] == [
        (1, "Tenants give 45 days notice."),
        (2, "Appeals within 21 days."),
    ]
    assert outcome.records[0]["meta"]["pages"] == 2


def test_tables_become_markdown_in_reading_order(tmp_path, run_context):
    table = [["Term", "Days"], ["Notice", "45"], ["Appeal", "21"]]
    path = make_pdf(tmp_path / "table.pdf", ["Deadlines of the court:"], table=table)
    (record,) = read_outcome(setup_source(run_context), path).records
    text = record["text"]
    assert "| Term | Days |\n| --- | --- |\n| Notice | 45 |\n| Appeal | 21 |" in text
    assert text.index("Deadlines") < text.index("| Term") < text.index("Text after the table.")
    assert record["meta"]["tables"] == 1
    assert "Notice 45" not in text  # table text is not repeated as loose text


def test_encrypted_pdf(tmp_path, run_context):
    path = make_pdf(tmp_path / "secret.pdf", ["Confidential terms."], password="pw")
    outcome = read_outcome(setup_source(run_context), path)
    assert outcome.reason == "encrypted" and "password" in outcome.detail
    assert read_outcome(setup_source(run_context, password="nope"), path).reason == "wrong_password"
    opened = read_outcome(setup_source(run_context, password="pw"), path)
    assert opened.records[0]["text"] == "Confidential terms."


def test_broken_pdfs_are_refused_with_reasons(tmp_path, run_context, files):
    good = make_pdf(tmp_path / "good.pdf", ["Hello there, reader."]).read_bytes()
    source = setup_source(run_context)
    assert (
        read_outcome(source, files("trunc.pdf", good[: len(good) // 2])).reason == "malformed_pdf"
    )
    assert (
        read_outcome(source, files("junk.pdf", b"this is not a pdf at all")).reason
        == "malformed_pdf"
    )
    assert read_outcome(source, files("header.pdf", b"%PDF-1.7\n%%EOF")).reason == "malformed_pdf"


def test_page_limit(tmp_path, run_context):
    path = make_pdf(tmp_path / "long.pdf", ["page text here"] * 3)
    outcome = read_outcome(setup_source(run_context, max_pages=2), path)
    assert outcome.reason == "too_many_pages" and "3 pages" in outcome.detail


def test_blank_page_is_reported_not_kept(tmp_path, run_context):
    path = make_pdf(tmp_path / "blank.pdf", ["Real text on page one.", ""])
    outcome = read_outcome(setup_source(run_context), path)
    assert len(outcome.records) == 1
    assert [(i.reason, i.uri.endswith("#page=2")) for i in outcome.issues] == [("blank_page", True)]


@needs_tesseract
def test_scanned_page_goes_through_ocr(tmp_path, run_context):
    path = make_scanned_pdf(tmp_path / "scan.pdf", "Tenants give notice\nwithin 45 days")
    (record,) = read_outcome(setup_source(run_context), path).records
    assert record["meta"]["ocr"] is True and record["meta"]["ocr_confidence"] > 50
    assert "45 days" in record["text"] and "Tenants" in record["text"]


def test_scanned_page_without_ocr_is_reported(tmp_path, run_context):
    path = make_scanned_pdf(tmp_path / "scan.pdf", "Some scanned words")
    outcome = read_outcome(setup_source(run_context, ocr=False), path)
    assert not outcome.records
    assert outcome.issues[0].reason == "no_text_layer" and "OCR is off" in outcome.issues[0].detail


def test_ocr_options_come_from_the_ocr_source(tmp_path, run_context, kinject_plugins):
    context = RunContext(
        run_dir=tmp_path,
        config=RunConfig(sources={"ocr": {"lang": "xx_missing"}}),
        plugins=kinject_plugins,
    )
    source = PdfSource()
    source.setup(context)
    assert source.ocr_options is None and "tesseract-ocr-xx-missing" in source.ocr_missing


@pytest.mark.shared_data
@pytest.mark.skipif(
    not SHARED_PDFS.is_dir(), reason="../shared/data/pdfs is absent (real-world PDFs for this tier)"
)
def test_real_world_pdfs(run_context):
    source = setup_source(run_context, ocr=False)
    outcomes = {p.name: read_outcome(source, p) for p in sorted(SHARED_PDFS.glob("*.pdf"))}
    assert outcomes, "no PDFs in the shared folder"
    for name, outcome in outcomes.items():
        # every file ends either with Records or with a reason code: never an unhandled error
        assert outcome.records or outcome.reason, name
        assert outcome.reason != "parse_error", (name, outcome.detail)
        for record in outcome.records:
            assert record["text"].strip() and record["source"]["page"] >= 1
    readable = [n for n, o in outcomes.items() if o.records]
    assert len(readable) >= len(outcomes) - 2
    tables = [r for o in outcomes.values() for r in o.records if r["meta"].get("tables")]
    assert tables and all("| --- |" in r["text"] for r in tables)
