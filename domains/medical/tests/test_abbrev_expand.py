"""abbrev-expand: hand-written prescriptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinject.domains import DomainPack, Term
from kinject.records import Record
from kinject_medical.abbreviations import AbbreviationExpander


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("400 mg bid", "400 mg twice daily (bid)"),
        ("400 mg b.i.d. for 7 days", "400 mg twice daily (b.i.d.) for 7 days"),
        ("give BID", "give twice daily (BID)"),
        ("60 mg PRN.", "60 mg as needed (PRN)."),
        ("25 mg qd.", "25 mg once daily (qd)."),
        ("q8h and q12h", "every 8 hours (q8h) and every 12 hours (q12h)"),
        ("check eGFR first", "check estimated glomerular filtration rate (eGFR) first"),
    ],
)
def test_expands(text: str, expected: str) -> None:
    assert AbbreviationExpander().expand(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "25 mg once daily and 150 mcg per puff, 40 mg/mL",  # units stay
        "twice daily (bid) already",  # already expanded
        "a bidder and a pride of lions",  # inside words
        "Prn is not Pr",  # upper-case abbreviations match their own case only
    ],
)
def test_leaves_alone(text: str) -> None:
    assert AbbreviationExpander().expand(text) == (text, [])


def test_expansion_is_idempotent() -> None:
    expander = AbbreviationExpander()
    once, _ = expander.expand("400 mg PO bid")
    assert expander.expand(once) == (once, [])


def test_original_kept_in_meta() -> None:
    record = Record(text="60 mg PRN", meta={"k": 1})
    out = AbbreviationExpander().clean(record)
    assert isinstance(out, Record)
    assert out.meta["k"] == 1
    assert out.meta["abbrev_expand"] == {
        "original": "60 mg PRN",
        "expanded": [{"abbr": "PRN", "expansion": "as needed", "offset": 6}],
    }
    assert out.lineage == ["abbrev-expand"]


def test_exclude_option() -> None:
    assert AbbreviationExpander(exclude=["PE"]).expand("rule out PE") == ("rule out PE", [])


def test_terms_option_reads_another_list(tmp_path: Path) -> None:
    path = tmp_path / "terms.yaml"
    path.write_text(
        "terms:\n- {term: OD, definition: x, meta: {category: abbreviation, expansion: right "
        "eye}}\n",
        encoding="utf-8",
    )
    expander = AbbreviationExpander(terms=str(path))
    assert expander.expand("drops OD, bid") == (
        "drops right eye (OD), bid",
        [{"abbr": "OD", "expansion": "right eye", "offset": 6}],
    )


def test_setup_prefers_the_run_domain_terms(run_context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "terms.yaml"
    path.write_text(
        "terms:\n- {term: npo, definition: x, meta: {category: abbreviation, expansion: "
        "fasting}}\n",
        encoding="utf-8",
    )
    run_context.domain = DomainPack("x", "0", "", tmp_path, tmp_path / "e.jsonl", terms=path)
    expander = AbbreviationExpander()
    expander.setup(run_context)
    assert expander.expand("npo, bid")[0] == "fasting (npo), bid"


def test_use_terms_replaces_the_table() -> None:
    expander = AbbreviationExpander()
    expander.use_terms(
        [Term("tds", meta={"category": "abbreviation", "expansion": "three times a day"})]
    )
    assert expander.expand("tds bid")[0] == "three times a day (tds) bid"


def test_text_that_defines_an_abbreviation_otherwise_is_left_alone() -> None:
    text = "Ask about pulmonary rehabilitation (PR). PR lasts eight weeks."
    assert AbbreviationExpander().expand(text) == (text, [])


def test_text_that_defines_it_the_same_way_is_expanded() -> None:
    text = "Pulmonary embolism (PE) is serious. PE needs treatment."
    assert AbbreviationExpander().expand(text)[0] == (
        "Pulmonary embolism (PE) is serious. pulmonary embolism (PE) needs treatment."
    )


def test_two_letter_lower_case_abbreviations_ignore_upper_case() -> None:
    assert AbbreviationExpander().expand("Pepcid AC ac")[0] == "Pepcid AC before meals (ac)"
