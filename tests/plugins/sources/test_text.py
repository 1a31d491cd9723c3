"""The text source: sections with exact offsets, and refusals of non-text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from source_files import read_outcome

from kinject_plugins.sources.sections import chunk_text
from kinject_plugins.sources.text import TextSource

DOC = (
    "# Lease\n\nThe tenant pays rent monthly.\n\n## Notice\n\nTenants give 45 days "
    "notice.\n\nLandlords give 60."
)


def test_markdown_splits_into_sections_with_offsets(files):
    path = files("lease.md", DOC)
    outcome = read_outcome(TextSource(), path)
    assert not outcome.reason
    texts = [r["text"] for r in outcome.records]
    assert texts == [
        "# Lease\n\nThe tenant pays rent monthly.",
        "## Notice\n\nTenants give 45 days notice.\n\nLandlords give 60.",
    ]
    notice = outcome.records[1]
    assert notice["meta"]["section"] == "Lease > Notice"
    start, length = notice["source"]["offset"], notice["source"]["length"]
    assert DOC[start : start + length] == notice["text"]
    assert notice["source"]["uri"] == str(path)


def test_paragraph_split_and_long_text_cut(files):
    path = files("long.txt", ("A sentence that goes on. " * 40).strip())
    records = read_outcome(TextSource(max_chars=200), path).records
    assert len(records) > 3
    assert all(len(r["text"]) <= 200 for r in records)
    paragraphs = read_outcome(
        TextSource(split="paragraph"), files("p.txt", "one\n\ntwo\n\nthree")
    ).records
    assert [r["text"] for r in paragraphs] == ["one", "two", "three"]


def test_rst_headings_make_sections(files):
    text = "Title\n=====\n\nIntro.\n\nPart\n----\n\nBody."
    records = read_outcome(TextSource(), files("doc.rst", text)).records
    assert [r["meta"]["section"] for r in records] == ["Title", "Title > Part"]


def test_binary_and_bad_encoding_and_blank_are_refused(files):
    assert (
        read_outcome(TextSource(), files("bin.txt", b"\x00\x01\x02abc")).reason == "binary_content"
    )
    assert (
        read_outcome(TextSource(), files("latin.txt", "caf\xe9".encode("latin-1"))).reason
        == "bad_encoding"
    )
    assert (
        read_outcome(
            TextSource(encodings=["utf-8", "latin-1"]),
            files("latin2.txt", "caf\xe9".encode("latin-1")),
        ).records[0]["text"]
        == "café"
    )
    assert read_outcome(TextSource(), files("blank.md", "  \n\n ")).reason == "empty_document"


def test_record_ids_are_stable(files):
    path = files("lease.md", DOC)
    first = [r["id"] for r in read_outcome(TextSource(), path).records]
    assert first == [r["id"] for r in read_outcome(TextSource(), path).records]
    assert len(set(first)) == len(first)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .#\n=-!"), max_size=600), st.integers(100, 300))
def test_chunks_are_exact_slices_within_bounds(text, max_chars):
    for chunk in chunk_text(text, max_chars=max_chars):
        piece = text[chunk.start : chunk.end]
        assert piece == piece.strip() and piece
        assert chunk.end - chunk.start <= max_chars
