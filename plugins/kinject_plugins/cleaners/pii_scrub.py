"""``pii-scrub``: replace personal data with typed placeholders (``[EMAIL]``, ``[PHONE]``, ...).

Each kind of PII is a :class:`PiiPattern`: a regex plus an optional validator (Luhn for cards,
mod-97 for IBANs, the ISO 7064 check digit for Chinese resident IDs) so that order numbers and
amounts are not scrubbed by mistake. Domain packs extend the scrubber by subclassing and adding
patterns::

    class PhiScrub(PiiScrub):
        name = "phi-scrub"
        patterns = (PiiPattern("MRN", r"\\bMRN[:#\\s]*\\d{6,10}\\b"), *PiiScrub.patterns)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import RecordCleaner
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.normalize import TEXT_META_FIELDS


def luhn_valid(number: str) -> bool:
    """The Luhn checksum used by payment cards."""
    digits = [int(d) for d in re.sub(r"\D", "", number)]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 IBAN check: move the first four characters to the end, mod 97 == 1."""
    compact = re.sub(r"\s", "", iban).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_valid(number: str) -> bool:
    """Chinese 18-digit resident ID: ISO 7064 MOD 11-2 check character."""
    if not re.fullmatch(r"\d{17}[\dXx]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _CN_ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def ssn_valid(number: str) -> bool:
    """US SSN: area not 000/666/9xx, group not 00, serial not 0000."""
    area, group, serial = number.split("-")
    return (
        area not in ("000", "666")
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )


@dataclass(frozen=True)
class PiiPattern:
    """One kind of PII: ``label`` becomes the placeholder ``[LABEL]``.

    ``validator`` gets the matched text and returns False to leave it alone. When ``regex`` has
    a group named ``pii``, only that group is replaced (the rest is context).
    """

    label: str
    regex: str
    validator: Callable[[str], bool] | None = None
    flags: int = 0

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex, self.flags)


_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl)\.?"
)

#: order matters: longer, validated numbers first so a card is not half-taken for a phone
BUILTIN_PATTERNS: tuple[PiiPattern, ...] = (
    PiiPattern("EMAIL", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"),
    PiiPattern(
        "IBAN", r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", iban_valid
    ),
    PiiPattern("CN_ID", r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])", cn_id_valid),
    PiiPattern("CREDIT_CARD", r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)", luhn_valid),
    PiiPattern("SSN", r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)", ssn_valid),
    PiiPattern(
        "PHONE",
        r"(?<![\w+])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ "
        r".-]\d{3,4}(?![ .-]?\d)"
        r"|(?<!\d)1[3-9]\d{9}(?!\d)",
    ),
    PiiPattern(
        "ADDRESS", rf"\b\d{{1,5}}(?: [A-Z][a-z]+){{1,4}} {_STREET}(?:,? (?:Apt|Suite|Unit) \w+)?"
    ),
    # A leading label (住址：) is matched so the address span starts after it; only ``pii`` is
    # replaced.
    PiiPattern(
        "ADDRESS",
        r"(?:住址|地址|住在|位于|寄往|送至)?[:：]?(?P<pii>[\u4e00-\u9fff]{2,12}(?:路|街|大道|巷)\d{1,5}号(?:\d{1,4}室)?)",
    ),
)


class PiiScrubOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: ``replace`` with placeholders, or ``drop`` Records that contain any PII (reason ``pii``)
    action: Literal["replace", "drop"] = "replace"
    #: restrict to these labels (default: all the scrubber knows)
    types: list[str] | None = None
    #: placeholder format; ``{label}`` is the PII type
    placeholder: str = Field(default="[{label}]")


class PiiScrub(RecordCleaner):
    """Replaces emails, phones, national IDs, IBANs, card numbers and street addresses with typed
    placeholders; counts per type go to ``meta['pii']``. Subclass and extend ``patterns`` for
    domain-specific identifiers."""

    name = "pii-scrub"
    description = "replace emails, phones, IDs, IBANs, cards, addresses with [TYPE] placeholders"
    Options = PiiScrubOptions
    opts: PiiScrubOptions
    patterns: ClassVar[tuple[PiiPattern, ...]] = BUILTIN_PATTERNS

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        known = {p.label for p in self.patterns}
        unknown = sorted(set(self.opts.types or ()) - known)
        if unknown:
            raise ValueError(f"{self.name}: unknown PII types {unknown}; known: {sorted(known)}")
        chosen = [p for p in self.patterns if self.opts.types is None or p.label in self.opts.types]
        self._compiled = [(p, p.compiled()) for p in chosen]

    def scrub(self, text: str) -> tuple[str, Counter[str]]:
        """``text`` with PII replaced, and how many of each type were found."""
        counts: Counter[str] = Counter()
        for pattern, regex in self._compiled:
            text = regex.sub(partial(self._replace, pattern=pattern, counts=counts), text)
        return text, counts

    def _replace(self, match: re.Match[str], pattern: PiiPattern, counts: Counter[str]) -> str:
        whole = match.group(0)
        # A pattern may name the PII span ``pii`` and match context around it.
        span = "pii" if "pii" in match.re.groupindex else 0
        found = match.group(span)
        if pattern.validator is not None and not pattern.validator(found):
            return whole
        counts[pattern.label] += 1
        start, end = match.start(span) - match.start(), match.end(span) - match.start()
        return whole[:start] + self.opts.placeholder.format(label=pattern.label) + whole[end:]

    def clean(self, record: Record) -> Record | Rejected:
        text, counts = self.scrub(record.text)
        meta_changes = {}
        for key in TEXT_META_FIELDS:
            value = record.meta.get(key)
            if isinstance(value, str):
                meta_changes[key], found = self.scrub(value)
                counts.update(found)
        if not counts:
            return record
        if self.opts.action == "drop":
            summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
            return Rejected(record, "pii", self.name, summary)
        scrubbed = record.with_text(text, self.name)
        previous = Counter(record.meta.get("pii", {}))
        scrubbed.meta = {**record.meta, **meta_changes, "pii": dict(previous + counts)}
        return scrubbed
