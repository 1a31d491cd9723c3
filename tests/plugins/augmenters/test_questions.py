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
    assert (
        out["Within how many days must a landlord return the deposit after the tenancy ends?"]
        == "28 days"
    )
    assert (
        out["A landlord must return the deposit within how many days after the tenancy ends?"]
        == "28 days"
    )
    assert (
        out[
            "Under which article of the Residential Tenancy Act 2011 must a landlord return the "
            "deposit within 28 days after the tenancy ends?"
        ]
        == "Article 15"
    )
    assert (
        out["Which article of the Residential Tenancy Act 2011 covers return of the deposit?"]
        == "Article 15"
    )
    cloze = (
        'Fill in the blank: "A landlord must return the deposit within ___ after the tenancy '
        'ends." What goes in the blank?'
    )
    assert out[cloze] == "28 days"


def test_answers_are_complete_values() -> None:
    out = pairs("A natural person acquires full civil capacity on reaching the age of 19.")
    assert out["At what age does a natural person acquire full civil capacity?"] == "the age of 19"
    out = pairs("The Supreme Court of Veloria has 11 judges.")
    assert out["How many judges does the Supreme Court of Veloria have?"] == "11 judges"
    out = pairs("A minor of 15 may make contracts worth up to 400 velors each.")
    assert set(out.values()) == {"400 velors"}  # a bare "15" (or "15 may") is never an answer


def test_the_agent_of_a_passive_is_asked_as_the_subject() -> None:
    out = pairs("Brightwater Freight Holdings was founded in 2003 by Oskar Lindqvist.")
    assert out["Who founded Brightwater Freight Holdings in 2003?"] == "Oskar Lindqvist"
    assert out["By whom was Brightwater Freight Holdings founded in 2003?"] == "Oskar Lindqvist"
    assert out["When was Brightwater Freight Holdings founded by Oskar Lindqvist?"] == "2003"
    out = pairs("The pivotal trial of Kethrovane was written up by Dr Ilse Marrant.")
    # the particle of "written up" cannot move
    assert not any(q.startswith("Who wrote") for q in out)
    out = pairs("Quorvalin was approved by the Aldmere Medicines Board on 3 June 2019.")
    assert out["Which body approved Quorvalin on 3 June 2019?"] == "the Aldmere Medicines Board"
    out = pairs("The pivotal trial of Kethrovane was led by Dr Ilse Marrant.")
    assert out["Who led the pivotal trial of Kethrovane?"] == "Dr Ilse Marrant"


def test_a_trailing_abbreviation_stays_in_the_answer() -> None:
    out = pairs("Quorvalin was developed by Hestia Biolabs Ltd.")
    assert out["Which company developed Quorvalin?"] == "Hestia Biolabs Ltd."
    out = pairs("Kethrovane was developed by Nyreth Therapeutics plc.")
    assert out["Kethrovane was developed by which company?"] == "Nyreth Therapeutics plc"


def test_roles_places_conditions_and_counts() -> None:
    out = pairs("The chief executive of Quillmere Glassworks Group is Lioba Farrant.")
    assert out["Who is the chief executive of Quillmere Glassworks Group?"] == "Lioba Farrant"
    assert (
        out["The chief executive of which company is Lioba Farrant?"]
        == "Quillmere Glassworks Group"
    )
    out = pairs("The Dune Wardens Office has its headquarters in Port Ellery.")
    assert out["Where does the Dune Wardens Office have its headquarters?"] == "Port Ellery"
    out = pairs("Quorvalin is prescribed for Pell's fever.")
    assert out["For which condition is Quorvalin prescribed?"] == "Pell's fever"
    out = pairs("Brightwater Freight Holdings operates 64 cargo vessels.")
    assert (
        out["How many cargo vessels does Brightwater Freight Holdings operate?"]
        == "64 cargo vessels"
    )
    out = pairs("Under Section 6 of the Grazing Act, the grazing season opens on 15 August.")
    assert "15 August" in out.values()


def test_a_name_in_an_unknown_role_is_not_asked() -> None:
    # nothing says whether Tarnbeck Mirrors is a person, a place or a company
    out = pairs("Quillmere Glassworks Group acquired Tarnbeck Mirrors in September 2019.")
    assert "Tarnbeck Mirrors" not in out.values()


def test_parenthetical_citation_becomes_an_article_question() -> None:
    out = pairs("A landlord must begin an urgent repair within 72 hours (Tenancy Act, Article 31).")
    assert (
        out[
            "Under which article of the Tenancy Act must a landlord begin an urgent repair within "
            "72 hours?"
        ]
        == "Article 31"
    )
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
    assert not well_formed_question(
        "Aside ( which article ), and the right to rescind lasts one year?"
    )
    assert (
        complete_answer("the age of 15")
        and not complete_answer("15 may")
        and not complete_answer("the Land Register of")
    )
