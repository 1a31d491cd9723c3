"""phi-scrub: hand-written clinical snippets."""

from __future__ import annotations

import pytest

from kinject.records import Record, Rejected
from kinject_medical.phi_scrub import PhiScrubber


@pytest.mark.parametrize(
    ("text", "expected", "category"),
    [
        ("MRN: 00482913 seen today", "MRN: [MRN] seen today", "MRN"),
        ("NHS number 943 476 5919.", "NHS number [MRN].", "MRN"),
        ("DOB 12/03/1958, female", "DOB [DOB], female", "DOB"),
        ("Date of birth: 4 July 1961.", "Date of birth: [DOB].", "DOB"),
        ("born on March 12, 1958 in Leeds", "born on [DOB] in Leeds", "DOB"),
        (
            "Patient: Alice Wong presented with cough",
            "Patient: [NAME] presented with cough",
            "NAME",
        ),
        ("Patient: Mr. O'Neil, 54", "Patient: [NAME], 54", "NAME"),
        ("Admitted on 3 March 2031 with pneumonia", "Admitted on [DATE] with pneumonia", "DATE"),
        ("Tel: 020 7946 0958", "Tel: [PHONE]", "PHONE"),
        ("call +44 20 7946 0958 now", "call [PHONE] now", "PHONE"),
        ("write to a.wong@example.org", "write to [EMAIL]", "EMAIL"),
        ("a woman aged 93 years", "a woman aged 90+ years", "AGE_OVER_89"),
        ("患者：张伟，男", "患者：[NAME]，男", "NAME"),
        ("病历号：ZY20310045", "病历号：[MRN]", "MRN"),
        ("出生日期：1958年3月12日", "出生日期：[DOB]", "DOB"),
    ],
)
def test_masks_each_identifier(text: str, expected: str, category: str) -> None:
    masked, found = PhiScrubber().scrub(text)
    assert masked == expected
    assert found[category] == 1


@pytest.mark.parametrize(
    "text",
    [
        "Velorantin was licensed in September 2027 at 25 mg once daily.",
        "VELOCITY-2 randomised 1,284 adults; systolic pressure fell by 13.6 mmHg.",
        "Offer peltravir to adults aged 65 or over.",
        "The patient should take 400 mg twice daily.",
        "Review at 72 hours; QTc above 470 ms is a contraindication.",
    ],
)
def test_leaves_clinical_facts_alone(text: str) -> None:
    masked, found = PhiScrubber().scrub(text)
    assert masked == text and not found


def test_clean_records_counts_and_lineage() -> None:
    record = Record(text="Patient: Alice Wong, MRN 4471-2205.", meta={"k": 1})
    out = PhiScrubber().clean(record)
    assert isinstance(out, Record)
    assert out.text == "Patient: [NAME], MRN [MRN]."
    assert out.meta == {"k": 1, "pii": {"MRN": 1, "NAME": 1}}
    assert out.lineage == ["phi-scrub"] and out.id == record.id
    assert "Alice" not in str(out.meta)


def test_extends_the_builtin_pii_scrub() -> None:
    from kinject_plugins.cleaners.pii_scrub import PiiScrub

    assert issubclass(PhiScrubber, PiiScrub)
    # a builtin pattern the subclass inherits: a Luhn-valid card number
    masked, found = PhiScrubber().scrub("card 4111 1111 1111 1111 on file")
    assert masked == "card [CREDIT_CARD] on file" and found["CREDIT_CARD"] == 1


def test_untouched_record_is_returned_as_is() -> None:
    record = Record(text="Nerofaxin 400 mg twice daily.")
    assert PhiScrubber().clean(record) is record


def test_drop_action_rejects_with_reason() -> None:
    out = PhiScrubber(action="drop").clean(Record(text="DOB: 1958-03-12"))
    assert isinstance(out, Rejected)
    assert out.reason == "pii" and out.detail == "DOB=1"


def test_types_option_limits_the_scrub() -> None:
    masked, found = PhiScrubber(types=["EMAIL"]).scrub("MRN: 00482913 a@b.org")
    assert masked == "MRN: 00482913 [EMAIL]" and set(found) == {"EMAIL"}


def test_unknown_type_or_option_is_refused() -> None:
    with pytest.raises(ValueError):
        PhiScrubber(types=["BLOOD_TYPE"])
    with pytest.raises(ValueError):
        PhiScrubber(strength="high")
