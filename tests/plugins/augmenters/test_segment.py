from kinject_plugins.augmenters.segment import (
    Context,
    context_from_section,
    sentences,
    split_text_sentences,
)

DOC = """# Residential Tenancy Act 2011 of the Republic of Veloria (excerpts)

> Sample text; not legal advice.

## Chapter 1 — Deposits

### Article 15 — Return of the deposit

The deposit must be returned within 28 days after the tenancy ends, less any deductions that the
landlord has listed in writing.

| item | days |
|---|---|
| return | 28 |

- A landlord has 21 days to lodge a deposit
  (Tenancy Act, Article 13).
- **Note.** Mr Brand of Orsa Ltd. paid on 1 May.
"""


def test_wrapped_lines_are_one_sentence_and_structure_is_a_boundary() -> None:
    out = sentences(DOC)
    assert [s.text for s in out] == [
        "The deposit must be returned within 28 days after the tenancy ends, less any deductions "
        "that the "
        "landlord has listed in writing.",
        "A landlord has 21 days to lodge a deposit (Tenancy Act, Article 13).",
        "Mr Brand of Orsa Ltd. paid on 1 May.",
    ]
    assert [s.in_list for s in out] == [False, True, True]


def test_article_heading_is_context_for_the_facts_below_it() -> None:
    first = sentences(DOC)[0]
    assert first.context.citation == "Article 15" and first.context.topic == "Return of the deposit"
    assert first.context.law == "Residential Tenancy Act 2011"
    assert (
        first.context.phrase()
        == "Article 15 (Return of the deposit) of the Residential Tenancy Act 2011"
    )


def test_context_from_a_record_section_path() -> None:
    context = context_from_section(
        "Civil Code of the Republic of Veloria (excerpts) > Chapter 1 — Capacity > Article 7 — "
        "Age of majority"
    )
    assert context == Context(
        "Civil Code of the Republic of Veloria (excerpts)", "Article 7", "Age of majority"
    )
    assert context.phrase() == "Article 7 (Age of majority) of the Civil Code"
    assert context_from_section("Annual report > Outlook").phrase() == ""


def test_abbreviations_and_chinese_punctuation() -> None:
    assert split_text_sentences(
        "See Art. 5 and No. 7, e.g. here. Mr. Smith agreed. Orsa Labs Ltd. Quorvalin is new."
    ) == [
        "See Art. 5 and No. 7, e.g. here.",
        "Mr. Smith agreed.",
        "Orsa Labs Ltd.",
        "Quorvalin is new.",
    ]
    assert split_text_sentences("定金已付；订金未付。押金退还了吗？是的！") == [
        "定金已付；",
        "订金未付。",
        "押金退还了吗？",
        "是的！",
    ]


def test_chinese_wrapped_lines_join_without_a_space() -> None:
    text = "《住宅租赁法》第十二条规定，押金不得超过两个月的租金；\n房东应在收到押金后登记。"
    assert [s.text for s in sentences(text)] == [
        "《住宅租赁法》第十二条规定，押金不得超过两个月的租金；",
        "房东应在收到押金后登记。",
    ]
