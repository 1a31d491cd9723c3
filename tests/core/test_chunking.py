"""The chunker: every passage fits, passages put together give the text back, nothing is cut
inside a number or a table row, and a long table repeats its header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinject.chunking import (
    Chunker,
    chunk_records,
    document_title,
    heading_line,
    passage_text,
    set_overlaps,
)
from kinject.records import Record

_TOKEN = re.compile(r"\w+|[^\w\s]")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def count(text: str) -> int:
    """A stand-in tokenizer: words and punctuation marks."""
    return len(_TOKEN.findall(text))


words = st.sampled_from(["alpha", "beta", "gamma", "delta", "revenue", "notice", "term", "page"])
numbers = st.builds(lambda a, b: f"{a:,}.{b:02d}", st.integers(0, 10**7), st.integers(0, 99))
tokens = st.one_of(words, words, numbers)
sentences = st.lists(tokens, min_size=1, max_size=40).map(
    lambda ws: " ".join(ws).capitalize() + "."
)
paragraphs = st.lists(sentences, min_size=1, max_size=8).map(" ".join)
headings = words.map(lambda w: f"## Section {w}")
rows = st.lists(st.one_of(words, numbers), min_size=3, max_size=3).map(
    lambda cells: "| " + " | ".join(cells) + " |"
)
tables = st.lists(rows, min_size=1, max_size=30).map(
    lambda rs: "\n".join(["| name | value | note |", "|---|---|---|", *rs])
)
documents = st.lists(
    st.one_of(paragraphs, paragraphs, headings, tables), min_size=1, max_size=12
).map("\n\n".join)


def chunk(text: str, limit: int, overlap: int = 0, **meta: str) -> list[Record]:
    record = Record(
        text=text, source={"uri": "/docs/annual-report_2018.pdf", "page": 3}, meta=dict(meta)
    )
    passages = list(chunk_records([record], Chunker(count, limit, overlap=overlap)))
    set_overlaps(passages)
    return passages


def body(passage: Record) -> str:
    """The slice of the record a passage holds (without a repeated table header)."""
    info = passage.meta.get("chunk")
    return passage.text[info["header"] :] if info else passage.text


@settings(max_examples=150, deadline=None)
@given(documents, st.integers(24, 160), st.integers(0, 12))
def test_every_passage_fits_and_together_they_give_the_text_back(
    text: str, limit: int, overlap: int
) -> None:
    passages = chunk(text, limit, overlap)
    assert all(count(passage_text(p)) <= limit for p in passages)
    if len(passages) == 1 and "chunk" not in passages[0].meta:
        assert passages[0].text == text
        return
    spans = [(p.meta["chunk"]["start"], p.meta["chunk"]["end"]) for p in passages]
    assert all(text[a:b] == body(p) for (a, b), p in zip(spans, passages, strict=True))
    rebuilt, end = "", 0
    for a, b in spans:
        assert a <= end or not text[end:a].strip(), "text between two passages was lost"
        rebuilt += text[end:a] if a > end else ""
        rebuilt += text[max(a, end) : b]
        end = max(end, b)
    assert rebuilt + text[end:] == text and not text[end:].strip()


@settings(max_examples=100, deadline=None)
@given(documents, st.integers(24, 120))
def test_no_number_and_no_table_row_is_cut(text: str, limit: int) -> None:
    passages = chunk(text, limit, overlap=8)
    spans = [
        (p.meta["chunk"]["start"], p.meta["chunk"]["end"]) for p in passages if "chunk" in p.meta
    ] or [(0, len(text))]
    for match in _NUMBER.finditer(text):
        assert any(a <= match.start() and match.end() <= b for a, b in spans), match.group()
    for row in re.finditer(r"^\|.*\|$", text, flags=re.M):
        if count(row.group()) + count("| name | value | note |\n|---|---|---|") < limit - 16:
            assert any(a <= row.start() and row.end() <= b for a, b in spans), row.group()


def test_a_long_table_is_split_by_rows_with_its_header_repeated() -> None:
    header = "| item | 2018 | 2017 |\n|---|---|---|"
    rows = [f"| line {i} | {i * 1000:,} | {i * 900:,} |" for i in range(60)]
    passages = chunk("Selected figures follow.\n\n" + "\n".join([header, *rows]), limit=80)
    assert len(passages) > 2
    continued = [p for p in passages if p.meta["chunk"]["header"]]
    assert continued and all(p.text.startswith(header + "\n") for p in continued)
    seen = [line for p in passages for line in body(p).splitlines() if line.startswith("| line")]
    assert sorted(set(seen), key=seen.index) == rows


def test_title_and_section_ride_along_and_count_against_the_limit() -> None:
    text = "## Risk factors\n\n" + " ".join(["Prices may fall sharply in any year."] * 40)
    passages = chunk(text, limit=60)
    assert len(passages) > 1
    assert all(
        p.meta["title"] == "annual report 2018" and p.meta["section"] == "Risk factors"
        for p in passages
    )
    assert passage_text(passages[1]).startswith("annual report 2018 — Risk factors\n")
    assert all(count(passage_text(p)) <= 60 for p in passages)
    assert all(p.source["page"] == 3 and p.lineage[-1] == "chunk" for p in passages)
    assert [p.source["offset"] for p in passages] == [p.meta["chunk"]["start"] for p in passages]


def test_neighbouring_passages_share_whole_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    passages = chunk(text, limit=40, overlap=8)
    shared = [p.meta["chunk"]["overlap"] for p in passages[1:]]
    assert any(shared)
    for prev, cur in zip(passages, passages[1:], strict=False):
        repeated = cur.text[: cur.meta["chunk"]["overlap"]]
        assert prev.text.endswith(repeated.rstrip())
        assert not repeated or repeated.startswith("Sentence")


def test_a_record_that_fits_is_kept_with_its_id_and_gains_a_title() -> None:
    record = Record(text="A short note.", source={"uri": "notes/minutes.txt"})
    [kept] = chunk_records([record], Chunker(count, 100))
    assert kept.id == record.id and kept.text == record.text and kept.meta["title"] == "minutes"


def test_other_kinds_pass_through_untouched() -> None:
    qa = Record(text="Question: x?\nAnswer: y", kind="qa", meta={"question": "x?", "answer": "y"})
    assert list(chunk_records([qa], Chunker(count, 16))) == [qa]


def test_titles_come_from_meta_or_the_file_name() -> None:
    assert document_title(Record(text="x", meta={"title": "Form 10-K"})) == "Form 10-K"
    assert document_title(Record(text="x", source={"uri": "sql:///a.db?table=rulings"})) == "a"
    assert heading_line({"title": "Guide", "section": "Guide > Install"}) == "Guide > Install"


def test_real_tokenizer_on_a_long_real_document(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    pdf = (
        Path(__file__).resolve().parents[2].parent
        / "shared"
        / "data"
        / "pdfs"
        / "long"
        / "usrguide.pdf"
    )
    if not pdf.exists():
        pytest.skip("../shared/data is absent: the real long PDF is not here")
    import pdfplumber

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)

    def real(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    with pdfplumber.open(pdf) as doc:
        records = [
            Record(text=t, source={"uri": str(pdf), "page": i})
            for i, page in enumerate(doc.pages[:4], 1)
            if (t := (page.extract_text() or "").strip())
        ]
    passages = list(chunk_records(records, Chunker(real, 126, overlap=16)))
    assert len(passages) > len(records)
    assert all(real(passage_text(p)) <= 126 for p in passages)


@settings(max_examples=60, deadline=None)
@given(documents, st.integers(40, 120), st.lists(words, min_size=1, max_size=30).map(" ".join))
def test_a_long_section_from_the_source_still_fits(text: str, limit: int, section: str) -> None:
    passages = chunk(text, limit, overlap=8, section=section)
    assert all(count(passage_text(p)) <= limit for p in passages)


def test_a_table_whose_header_alone_is_too_long_is_cut_at_cells() -> None:
    header = "| " + " | ".join(f"column {i} long heading" for i in range(30)) + " |"
    text = "\n".join([header, "|---|", *[f"| {i} | {i * 7} |" for i in range(10)]])
    passages = chunk(text, limit=40)
    assert all(count(passage_text(p)) <= 40 for p in passages)
    assert all(f"| {i} | {i * 7} |" in "".join(body(p) for p in passages) for i in range(10))
