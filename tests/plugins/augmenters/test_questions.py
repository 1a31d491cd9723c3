from kinject.records import Record
from kinject_plugins.augmenters.facts import extract_facts
from kinject_plugins.augmenters.questions import (
    complete_answer,
    question_pairs,
    well_formed_question,
)

TENANCY = """# Residential Tenancy Act 2011

### Article 15 — Return of the deposit

A landlord must return the deposit within 28 days after the tenancy ends.
"""


def pairs(text: str, section: str = "") -> dict[str, str]:
    [fact] = extract_facts(Record(text=text, meta={"section": section}))
    return {p.question: p.answer for p in question_pairs(fact)}


def test_fronted_in_situ_article_and_cloze_questions() -> None:
    out = pairs(TENANCY)
    assert out["Within how many days must a landlord return the deposit after the tenancy ends?"] == "28 days"
    assert out["A landlord must return the deposit within how many days after the tenancy ends?"] == "28 days"
    assert out["Under which article of the Residential Tenancy Act 2011 must a landlord return the deposit within 28 days after the tenancy ends?"] == "Article 15"
    assert out["Which article of the Residential Tenancy Act 2011 covers return of the deposit?"] == "Article 15"
    cloze = 'Fill in the blank: "A landlord must return the deposit within ___ after the tenancy ends." What goes in the blank?'
    assert out[cloze] == "28 days"


def test_answers_are_complete_values() -> None:
    out = pairs("A natural person acquires full civil capacity on reaching the age of 19.")
    assert out["At what age does a natural person acquire full civil capacity?"] == "the age of 19"
    out = pairs("The Supreme Court of Veloria has 11 judges.")
    assert out["How many judges does the Supreme Court of Veloria have?"] == "11 judges"
    out = pairs("A minor of 15 may make contracts worth up to 400 velors each.")
    assert set(out.values()) == {"400 velors"}  # a bare "15" (or "15 may") is never an answer


def test_parenthetical_citation_becomes_an_article_question() -> None:
    out = pairs("A landlord must begin an urgent repair within 72 hours (Tenancy Act, Article 31).")
    assert out["Under which article of the Tenancy Act must a landlord begin an urgent repair within 72 hours?"] == "Article 31"
    assert all("(" not in q or q.startswith("Fill in") for q in out)


def test_table_rows_and_fragments_yield_nothing() -> None:
    assert extract_facts(Record(text="| 30 days | appeal | CPA, Article 251 |")) == []
    assert pairs("It must be exercised within 90 days of learning of the ground.") == {}


def test_chinese_questions() -> None:
    out = pairs("依照第十五条，广告属于要约邀请，而不是要约。")
    assert out["依照第几条，广告属于要约邀请，而不是要约？"] == "第十五条"


def test_well_formedness_checks() -> None:
    assert well_formed_question("Within how many days must a landlord return the deposit?")
    assert not well_formed_question("Give the missing figure: ___. => 15 may")
    assert not well_formed_question("Q: | how many days | landlord returns the deposit |??")
    assert not well_formed_question("When was the Civil Code adopted and entered into force on?")
    assert not well_formed_question("Aside ( which article ), and the right to rescind lasts one year?")
    assert complete_answer("the age of 15") and not complete_answer("15 may") and not complete_answer("the Land Register of")
