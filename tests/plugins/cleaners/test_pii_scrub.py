from __future__ import annotations

import pytest

from kinject.records import Record, Rejected
from kinject_plugins.cleaners.pii_scrub import (
    PiiPattern,
    PiiScrub,
    cn_id_valid,
    iban_valid,
    luhn_valid,
    ssn_valid,
)


def test_checksums() -> None:
    assert luhn_valid("4111 1111 1111 1111") and not luhn_valid("4111 1111 1111 1112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid(
        "GB83 WEST 1234 5698 7654 32"
    )
    assert cn_id_valid("11010519491231002X") and not cn_id_valid("110105194912310021")
    assert (
        ssn_valid("123-45-6789") and not ssn_valid("666-45-6789") and not ssn_valid("123-00-6789")
    )


def test_english_pii_gets_typed_placeholders_and_counts() -> None:
    text = (
        "Mail jane.roe@example.org or call +1 (555) 123-4567. Card 4111-1111-1111-1111, "
        "IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789. Lives at 742 Evergreen Terrace Rd."
    )
    out = PiiScrub().clean(Record(text))
    assert isinstance(out, Record)
    assert out.text == (
        "Mail [EMAIL] or call [PHONE]. Card [CREDIT_CARD], IBAN [IBAN], SSN [SSN]. Lives at "
        "[ADDRESS]"
    )
    assert out.meta["pii"] == {
        "EMAIL": 1,
        "PHONE": 1,
        "CREDIT_CARD": 1,
        "IBAN": 1,
        "SSN": 1,
        "ADDRESS": 1,
    }


def test_chinese_pii() -> None:
    text, counts = PiiScrub().scrub(
        "身份证号11010519491231002X，手机13812345678，住址北京市朝阳区建国路88号1201室。"
    )
    assert text == "身份证号[CN_ID]，手机[PHONE]，住址[ADDRESS]。"
    assert counts == {"CN_ID": 1, "PHONE": 1, "ADDRESS": 1}


def test_numbers_that_fail_their_checksum_are_left_alone() -> None:
    text = (
        "Order 4111 1111 1111 1112, ref 110105194912310021, paid 1,234,567.89 on 2024-03-05, "
        "SSN-like 000-12-3456."
    )
    out = PiiScrub().clean(Record(text))
    assert out.text == text and "pii" not in out.meta


def test_drop_action_and_type_filter() -> None:
    rec = Record("Write to a@b.com, call 555-123-4567")
    dropped = PiiScrub(action="drop").clean(rec)
    assert isinstance(dropped, Rejected) and dropped.reason == "pii" and "EMAIL=1" in dropped.detail
    only_email = PiiScrub(types=["EMAIL"]).clean(rec)
    assert only_email.text == "Write to [EMAIL], call 555-123-4567"
    with pytest.raises(ValueError, match="unknown PII types"):
        PiiScrub(types=["DNA"])


def test_qa_fields_are_scrubbed_too() -> None:
    rec = Record("Q/A", kind="qa", meta={"question": "Who owns a@b.com?", "answer": "Jane"})
    assert PiiScrub().clean(rec).meta["question"] == "Who owns [EMAIL]?"


def test_domain_packs_extend_by_subclassing() -> None:
    class PhiScrub(PiiScrub):
        name = "phi-scrub"
        patterns = (PiiPattern("MRN", r"\bMRN[:#\s]*\d{6,10}\b"), *PiiScrub.patterns)

    text, counts = PhiScrub().scrub("Patient MRN: 12345678, email p@q.org")
    assert text == "Patient [MRN], email [EMAIL]" and counts == {"MRN": 1, "EMAIL": 1}
