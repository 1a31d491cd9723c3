"""The ``phi-scrub`` cleaner: the builtin ``pii-scrub`` plus protected health information.

Clinical notes carry identifiers a model must never learn. ``pii-scrub`` already masks e-mails,
phone numbers, national IDs, card numbers and street addresses; this subclass adds, before those,
the identifiers of health records: medical record numbers, dates of birth, names after a
``Patient:`` / ``患者：`` label, admission, discharge and death dates, labelled phone numbers, and
ages over 89 (which HIPAA Safe Harbor groups as ``90+``). Only the identifying value is replaced,
by a tag such as ``[MRN]``; the label stays so the sentence still reads. Dates and numbers without
an identifying label (a guideline's publication year, a dose, a trial size) are left alone,
because a medical corpus is full of them.

Options and behaviour are those of ``pii-scrub``: ``action: replace|drop`` (drop rejects with
reason ``pii``), ``types`` to restrict the labels, counts per label in ``meta["pii"]``; the
removed values are never stored.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import ClassVar

from kinject_plugins.cleaners.pii_scrub import PiiPattern, PiiScrub

_DAY_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"  # 12/03/1958, 12.3.58
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}"  # 1958-03-12
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_DAY_MONTH}\.?,?\s+\d{{4}}"  # 12 March 1958
    rf"|{_DAY_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # March 12, 1958
    r"|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)"  # 1958年3月12日
)
_SEP = r"\s*(?:[:：#=]|\bis\b|-)?\s*"
_NAME_EN = r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Mx)\.?\s+)?[A-Z][a-zA-Z'’-]+(?:[ \t]+[A-Z][a-zA-Z'’-]+){0,3}"
_NAME_ZH = r"[\u4e00-\u9fff]{2,4}"
_I = re.IGNORECASE

#: labelled health-record identifiers; each replaces only its ``pii`` group
PHI_PATTERNS: tuple[PiiPattern, ...] = (
    PiiPattern(
        "MRN",
        r"\b(?:MRN|medical record (?:number|no\.?)|hospital (?:number|no\.?)|patient ID|"
        rf"NHS (?:number|no\.?)){_SEP}(?P<pii>(?:[A-Z]{{1,4}}-?)?(?:\d{{3}} \d{{3}} "
        rf"\d{{4}}|\d[\d-]{{3,14}}\d))",
        flags=_I,
    ),
    PiiPattern("MRN", rf"(?:病历号|住院号|门诊号){_SEP}(?P<pii>[A-Z0-9-]{{4,}})", flags=_I),
    PiiPattern(
        "DOB", rf"\b(?:DOB|D\.O\.B\.?|date of birth|born(?: on)?){_SEP}(?P<pii>{DATE})", flags=_I
    ),
    PiiPattern("DOB", rf"出生日期{_SEP}(?P<pii>{DATE})", flags=_I),
    PiiPattern(
        "DATE",
        r"\b(?:admitted(?: on)?|admission date|date of admission|discharged(?: on)?|"
        rf"discharge date|date of discharge|date of death|died(?: on)?){_SEP}(?P<pii>{DATE})",
        flags=_I,
    ),
    PiiPattern("DATE", rf"(?:入院日期|出院日期|死亡日期){_SEP}(?P<pii>{DATE})", flags=_I),
    # the label may be any case, the name must be capitalised
    PiiPattern(
        "NAME", rf"\b(?i:patient(?: name)?|pt|name|next of kin)\s*[:：]\s*(?P<pii>{_NAME_EN})"
    ),
    PiiPattern("NAME", rf"(?:患者|病人|姓名)\s*[:：]\s*(?P<pii>{_NAME_ZH})"),
    PiiPattern(
        "PHONE",
        r"\b(?:tel(?:ephone)?|phone|mobile|cell|fax|contact number)\.?"
        rf"{_SEP}(?P<pii>\+?\d[\d\s().-]{{6,16}}\d)",
        flags=_I,
    ),
    PiiPattern("PHONE", rf"(?:电话|手机|联系电话){_SEP}(?P<pii>\+?\d[\d\s-]{{6,16}}\d)"),
    PiiPattern(
        "AGE_OVER_89",
        r"\b(?:aged?|age:)\s*(?P<pii>(?:9\d|1[0-2]\d))(?=\s*(?:years?|yrs?|y/o|-year|\b))",
        flags=_I,
    ),
)


class PhiScrubber(PiiScrub):
    """``pii-scrub`` with medical record numbers, birth dates, patient names and ages over 89."""

    name = "phi-scrub"
    description = "pii-scrub plus medical record numbers, birth dates, patient names, ages over 89"
    # labelled identifiers first, so an MRN is not half-taken for a phone number
    patterns: ClassVar[tuple[PiiPattern, ...]] = (*PHI_PATTERNS, *PiiScrub.patterns)

    def _replace(self, match: re.Match[str], pattern: PiiPattern, counts: Counter[str]) -> str:
        if pattern.label != "AGE_OVER_89":
            return super()._replace(match, pattern, counts)
        counts[pattern.label] += 1
        start, end = match.start("pii") - match.start(), match.end("pii") - match.start()
        whole = match.group(0)
        return whole[:start] + "90+" + whole[end:]
