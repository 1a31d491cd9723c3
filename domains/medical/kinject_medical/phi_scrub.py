"""The ``phi-scrub`` cleaner: masks protected health information in clinical text.

Clinical notes carry identifiers a model must never learn: medical record numbers, dates of
birth, names after a ``Patient:`` label, admission and discharge dates, phone numbers, e-mail
addresses and ages over 89 (which HIPAA Safe Harbor groups as ``90+``). Only the identifying
value is replaced, by a tag such as ``[MRN]``; the label stays so the sentence still reads.
Dates and numbers without an identifying label (a guideline's publication year, a dose) are
left alone, because a medical corpus is full of them.

Found categories are counted in ``meta["phi_scrub"]``; the removed values are never stored.
With ``mode: drop`` a record that held PHI is rejected (reason ``phi_found``) instead.

The builtin ``pii-scrub`` cleaner did not exist when this was written, so this is a
:class:`RecordCleaner` of its own; its patterns are a plain table that a subclass of a general
PII scrubber can reuse.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from kinject.components import RecordCleaner
from kinject.records import Record, Rejected

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


@dataclass(frozen=True)
class PhiPattern:
    """One kind of identifier: a regex whose ``value`` group is replaced by ``[TAG]``."""

    category: str
    regex: re.Pattern[str]


def _p(category: str, pattern: str, flags: int = re.IGNORECASE) -> PhiPattern:
    return PhiPattern(category, re.compile(pattern, flags))


PHI_PATTERNS: tuple[PhiPattern, ...] = (
    _p(
        "MRN",
        r"\b(?:MRN|medical record (?:number|no\.?)|hospital (?:number|no\.?)|patient ID|"
        rf"NHS (?:number|no\.?)){_SEP}(?P<value>(?:[A-Z]{{1,4}}-?)?(?:\d{{3}} \d{{3}} \d{{4}}|\d[\d-]{{3,14}}\d))",
    ),
    _p("MRN", rf"(?:病历号|住院号|门诊号){_SEP}(?P<value>[A-Z0-9-]{{4,}})"),
    _p("DOB", rf"\b(?:DOB|D\.O\.B\.?|date of birth|born(?: on)?){_SEP}(?P<value>{DATE})"),
    _p("DOB", rf"出生日期{_SEP}(?P<value>{DATE})"),
    _p(
        "DATE",
        r"\b(?:admitted(?: on)?|admission date|date of admission|discharged(?: on)?|"
        rf"discharge date|date of discharge|date of death|died(?: on)?){_SEP}(?P<value>{DATE})",
    ),
    _p("DATE", rf"(?:入院日期|出院日期|死亡日期){_SEP}(?P<value>{DATE})"),
    # names are case-sensitive: the label may be any case, the name must be capitalised
    _p("NAME", rf"\b(?i:patient(?: name)?|pt|name|next of kin)\s*[:：]\s*(?P<value>{_NAME_EN})", 0),
    _p("NAME", rf"(?:患者|病人|姓名)\s*[:：]\s*(?P<value>{_NAME_ZH})", 0),
    _p(
        "PHONE",
        r"\b(?:tel(?:ephone)?|phone|mobile|cell|fax|contact number)\.?"
        rf"{_SEP}(?P<value>\+?\d[\d\s().-]{{6,16}}\d)",
    ),
    _p("PHONE", rf"(?:电话|手机|联系电话){_SEP}(?P<value>\+?\d[\d\s-]{{6,16}}\d)"),
    _p("PHONE", r"(?P<value>\+\d{1,3}[\s-]\(?\d{1,4}\)?[\s-]\d{3,4}[\s-]\d{3,4})"),
    _p("EMAIL", r"(?P<value>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b)"),
    _p(
        "AGE_OVER_89",
        r"\b(?:aged?|age:)\s*(?P<value>(?:9\d|1[0-2]\d))(?=\s*(?:years?|yrs?|y/o|-year|\b))",
    ),
)


class PhiScrubber(RecordCleaner):
    """Replace identifying values (MRN, DOB, names after a label, ...) with ``[TAG]``."""

    name: ClassVar[str] = "phi-scrub"
    description: ClassVar[str] = (
        "mask medical record numbers, birth dates, patient names, phones, e-mails"
    )

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        #: ``mask`` replaces the value with a tag; ``drop`` rejects records that hold PHI
        mode: Literal["mask", "drop"] = "mask"
        #: categories to scrub; empty means all of them
        categories: list[str] = []

    opts: Options

    patterns: ClassVar[tuple[PhiPattern, ...]] = PHI_PATTERNS

    def active_patterns(self) -> list[PhiPattern]:
        wanted = {c.upper() for c in self.opts.categories}
        return [p for p in self.patterns if not wanted or p.category in wanted]

    def scrub(self, text: str) -> tuple[str, Counter[str]]:
        """The text with PHI values masked, and how many of each category were found."""
        found: Counter[str] = Counter()
        for pattern in self.active_patterns():

            def mask(match: re.Match[str], pattern: PhiPattern = pattern) -> str:
                return self._mask(match, pattern, found)

            text = pattern.regex.sub(mask, text)
        return text, found

    @staticmethod
    def _mask(match: re.Match[str], pattern: PhiPattern, found: Counter[str]) -> str:
        start, end = match.span("value")
        found[pattern.category] += 1
        tag = "90+" if pattern.category == "AGE_OVER_89" else f"[{pattern.category}]"
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + tag + whole[end - offset :]

    def clean(self, record: Record) -> Record | Rejected:
        text, found = self.scrub(record.text)
        if not found:
            return record
        summary = ", ".join(f"{k}={v}" for k, v in sorted(found.items()))
        if self.opts.mode == "drop":
            return Rejected(record, "phi_found", plugin=self.name, detail=summary)
        cleaned = record.with_text(text, self.name)
        cleaned.meta = {**record.meta, "phi_scrub": dict(sorted(found.items()))}
        return cleaned
