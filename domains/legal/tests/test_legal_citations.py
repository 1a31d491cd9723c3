"""The legal-citations cleaner on hand-written cases."""

from __future__ import annotations

import pytest

from kinject.records import Record
from kinject_legal.citations import LegalCitationNormalizer, normalise_citations
from kinject_legal.numerals import int_to_zh, words_to_int, zh_to_int


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("see art 12", "see Article 12"),
        ("Art.12(2) applies", "Article 12(2) applies"),
        ("under article 12 para 3", "under Article 12(3)"),
        ("Article 12 (3)", "Article 12(3)"),
        ("arts. 12, 13 and 14", "Articles 12, 13 and 14"),
        ("Arts 12 to 14", "Articles 12-14"),
        ("article twelve", "Article 12"),
        ("Section twenty-one", "Section 21"),
        ("s. 5 and sec. 7", "Section 5 and Section 7"),
        ("ss 7-9", "Sections 7-9"),
        ("§12", "§ 12"),
        ("§§ 3 - 5", "§§ 3-5"),
        ("第 86 条", "第八十六条"),
        ("第12条第2款", "第十二条第二款"),
        ("Marren vs. Oskel Holdings (2011)", "Marren v Oskel Holdings (2011)"),
        ("Dravik V. Lunstrom", "Dravik v Lunstrom"),
    ],
)
def test_variants_become_canonical(raw: str, canonical: str) -> None:
    assert normalise_citations(raw)[0] == canonical


@pytest.mark.parametrize(
    "text",
    [
        "Article 12 and 30 days later the tenant left.",  # one article, then an unrelated number
        "the art of negotiation in 2019",
        "Marren v Oskel Holdings (2011)",
        "Article 86(1)",
        "第八十六条",
        "the rules. 5 people objected",
    ],
)
def test_canonical_and_unrelated_text_is_left_alone(text: str) -> None:
    assert normalise_citations(text) == (text, [])


def test_section_sign_can_be_spelled_out() -> None:
    assert (
        normalise_citations("§ 12 and §§ 3-5", section_sign="section")[0]
        == "Section 12 and Sections 3-5"
    )


def test_chinese_numerals_can_be_left_as_digits() -> None:
    assert normalise_citations("第86条", chinese_numerals=False)[0] == "第86条"


def test_cleaner_keeps_originals_in_meta_and_id() -> None:
    record = Record(text="Under art 86 and s. 5 ...", source={"uri": "a.md"}, meta={"lang": "en"})
    cleaned = LegalCitationNormalizer().clean(record)
    assert isinstance(cleaned, Record)
    assert cleaned.text == "Under Article 86 and Section 5 ..."
    assert cleaned.id == record.id
    assert cleaned.lineage == ["legal-citations"]
    assert cleaned.meta["lang"] == "en"
    assert cleaned.meta["legal_citations"] == [
        {"original": "art 86", "canonical": "Article 86"},
        {"original": "s. 5", "canonical": "Section 5"},
    ]
    assert "legal_citations" not in record.meta


def test_cleaner_returns_unchanged_records_as_they_are() -> None:
    record = Record(text="Article 86 is clear.")
    assert LegalCitationNormalizer().clean(record) is record


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError):
        LegalCitationNormalizer(style="bluebook")


@pytest.mark.parametrize(
    ("number", "zh"),
    [
        (1, "一"),
        (10, "十"),
        (12, "十二"),
        (86, "八十六"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1010, "一千零一十"),
    ],
)
def test_chinese_numerals_round_trip(number: int, zh: str) -> None:
    assert int_to_zh(number) == zh
    assert zh_to_int(zh) == number


def test_number_words() -> None:
    assert words_to_int("twelve") == 12
    assert words_to_int("ninety-nine") == 99
    with pytest.raises(ValueError):
        words_to_int("hundred")
