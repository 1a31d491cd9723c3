"""The statute-splitter cleaner: one Record per article, article numbers kept in meta."""

from __future__ import annotations

from kinject.domains import DomainPack
from kinject.records import Record, Rejected
from kinject_legal.statutes import StatuteSplitter, find_articles

CODE = """# Tenancy Act

Enacted by the Assembly.

## Chapter 1 — Deposits

### Article 12 — Maximum deposit

A deposit may not exceed two months' rent. Article 13 applies to its protection.

### Article 13 — Protection

The landlord lodges the deposit within 21 days.

## Chapter 2 — Rent

Art. 22. Rent may rise once a year.
"""


def _split(text: str, **options: object) -> list[Record]:
    out = list(StatuteSplitter(**options).apply([Record(text=text, source={"uri": "act.md"})]))
    assert not any(isinstance(r, Rejected) for r in out)
    return [r for r in out if isinstance(r, Record)]


def test_one_record_per_article_with_meta() -> None:
    records = _split(CODE)
    preamble, *articles = records
    assert preamble.meta["article"] is None and "Enacted" in preamble.text
    assert "Chapter 1" not in preamble.text
    assert [r.meta["article"] for r in articles] == ["12", "13", "22"]
    assert [r.meta["article_label"] for r in articles] == ["Article 12", "Article 13", "Article 22"]
    assert articles[0].meta["heading"] == "Article 12 — Maximum deposit"
    assert articles[0].meta["chapter"] == "Chapter 1 — Deposits"
    assert articles[2].meta["chapter"] == "Chapter 2 — Rent"
    assert all(r.meta["statute"] == "Tenancy Act" for r in records)


def test_cross_references_and_chapter_headings_do_not_split() -> None:
    articles = _split(CODE)[1:]
    # "Article 13 applies ..." stays inside Article 12; the Chapter 2 heading is not in Article 13
    assert "Article 13 applies to its protection." in articles[0].text
    assert "Chapter 2" not in articles[1].text


def test_articles_carry_the_title_and_trace_back() -> None:
    source = Record(text=CODE, source={"uri": "act.md"})
    records = [r for r in StatuteSplitter().apply([source]) if isinstance(r, Record)]
    assert records[1].text.startswith("Tenancy Act\n\n### Article 12")
    assert all(
        r.meta["split_from"] == source.id and r.lineage == ["statute-splitter"] for r in records
    )
    assert len({r.id for r in records}) == len(records)
    assert records[1].source["uri"] == "act.md"


def test_options_title_and_preamble() -> None:
    records = _split(CODE, prefix_title=False, keep_preamble=False)
    assert len(records) == 3
    assert records[0].text.startswith("### Article 12")


def test_chinese_articles() -> None:
    text = (
        "# 合同法\n\n第八十六条 定金不得超过百分之二十。\n\n第八十七条 "
        "收受定金的一方不履行的，应当双倍返还定金。\n"
    )
    records = _split(text)
    assert [r.meta["article"] for r in records] == ["86", "87"]
    assert [r.meta["article_label"] for r in records] == ["第八十六条", "第八十七条"]


def test_documents_without_enough_articles_pass_through() -> None:
    plain = Record(text="A note that mentions Article 12 once.")
    assert list(StatuteSplitter().apply([plain])) == [plain]
    qa = Record(text=CODE, kind="qa")
    assert list(StatuteSplitter().apply([qa])) == [qa]


def test_prose_that_starts_like_a_heading_stays_in_the_article() -> None:
    _, articles = find_articles(
        "Article 1 — Scope\nTitle civil matters are excluded.\n\nArticle 2 — Terms\nText.\n"
    )
    assert "Title civil matters" in articles[0].text
    assert articles[1].chapter == ""


def test_find_articles_section_forms() -> None:
    _, articles = find_articles("§ 1: Scope.\nText.\n\nSection 2 — Definitions\nMore text.\n")
    assert [(a.number, a.label) for a in articles] == [("1", "§ 1"), ("2", "Section 2")]


def test_the_sample_contract_act_splits_into_its_articles(pack: DomainPack) -> None:
    text = (pack.corpus / "02_contract_act.md").read_text(encoding="utf-8")
    articles = _split(text)[1:]
    numbers = [r.meta["article"] for r in articles]
    assert numbers[:2] == ["14", "15"] and numbers[-1] == "161"
    assert len(numbers) == 20
    earnest = next(r for r in articles if r.meta["article"] == "86")
    assert "20 per cent" in earnest.text
    assert earnest.meta["chapter"].startswith("Chapter 2")
