"""The ``currency-normalize`` cleaner: one spelling per money amount.

Financial text writes the same amount many ways: ``$1.2bn``, ``USD 1,200 million``,
``RMB 3,400万``, ``人民币48.6亿元``, ``1.234,5 €``, ``412,6 Mio. €``. The cleaner rewrites each to
``<ISO code> <number><scale>``: ``USD 1.2 billion``, ``CNY 3,400万``, ``CNY 48.6亿``,
``EUR 1,234.5``, ``EUR 412.6 million``. Numbers use ``,`` for thousands and ``.`` for decimals
and keep their written precision; English scale words are spelled out, Chinese ones (万, 亿) are
kept. Every amount found is listed in ``meta["amounts"]`` with its original text, ISO code and
exact value, so numeric checks can compare values rather than strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from kinject.components import RecordCleaner
from kinject.records import Record, Rejected

#: prefix markers (symbols, codes, names) -> ISO 4217 code; "$" and "¥" are set by options
PREFIXES: dict[str, str] = {
    "US$": "USD", "USD": "USD", "HK$": "HKD", "HKD": "HKD", "S$": "SGD", "SGD": "SGD",
    "A$": "AUD", "AUD": "AUD", "C$": "CAD", "CAD": "CAD", "€": "EUR", "EUR": "EUR",
    "£": "GBP", "GBP": "GBP", "RMB": "CNY", "CNY": "CNY", "人民币": "CNY", "JPY": "JPY",
    "CHF": "CHF",
}  # fmt: skip
SUFFIXES: dict[str, str] = {
    "€": "EUR", "EUR": "EUR", "euros": "EUR", "euro": "EUR", "USD": "USD", "dollars": "USD",
    "GBP": "GBP", "CNY": "CNY", "RMB": "CNY", "元": "CNY", "人民币": "CNY", "美元": "USD",
    "欧元": "EUR", "英镑": "GBP", "CHF": "CHF", "JPY": "JPY",
}  # fmt: skip

#: scale spelling -> (canonical spelling, multiplier)
SCALES: dict[str, tuple[str, float]] = {
    "k": (" thousand", 1e3), "thousand": (" thousand", 1e3), "tsd.": (" thousand", 1e3),
    "tsd": (" thousand", 1e3), "m": (" million", 1e6), "mn": (" million", 1e6),
    "mm": (" million", 1e6), "mio.": (" million", 1e6), "mio": (" million", 1e6),
    "million": (" million", 1e6), "millions": (" million", 1e6), "bn": (" billion", 1e9),
    "b": (" billion", 1e9), "billion": (" billion", 1e9), "mrd.": (" billion", 1e9),
    "mrd": (" billion", 1e9), "tn": (" trillion", 1e12), "trillion": (" trillion", 1e12),
    "千": ("千", 1e3), "万": ("万", 1e4), "亿": ("亿", 1e8), "万亿": ("万亿", 1e12),
}  # fmt: skip

_NUMBER = r"\d{1,3}(?:[,.\s]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALE = (
    r"(?:\s?(?:万亿|亿|万|千)|\s?(?i:thousand|millions?|billion|trillion|mio\.?|mrd\.?|tsd\.?)"
    r"|(?i:bn|mn|mm|tn|k|m|b)(?![A-Za-z]))"
)


def _alternation(keys: list[str]) -> str:
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


@dataclass(frozen=True)
class Amount:
    """One money amount found in a text."""

    original: str
    currency: str
    value: float
    canonical: str
    start: int

    def to_meta(self) -> dict[str, Any]:
        return {"text": self.original, "currency": self.currency, "value": self.value,
                "canonical": self.canonical, "offset": self.start}  # fmt: skip


def parse_number(text: str, european: bool = False) -> tuple[float, int]:
    """The value of a written number and how many decimals it was written with.

    ``1,234.5`` and ``1.234,5`` are both 1234.5: when both separators appear, the last one is the
    decimal point. A lone separator followed by exactly three digits is a thousands separator,
    except a lone ``.`` in ``european`` text; otherwise it is the decimal point.
    """
    digits = re.sub(r"\s", "", text)
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
    elif "," in digits or "." in digits:
        sep = "," if "," in digits else "."
        groups = digits.split(sep)
        # English writes 1,234 for thousands; continental European text writes 1.234
        thousands_sep = "." if european else ","
        thousands = all(len(g) == 3 for g in groups[1:]) and (
            sep == thousands_sep or len(groups) > 2
        )
        decimal = "" if thousands else sep
    else:
        decimal = ""
    if decimal:
        whole, frac = digits.rsplit(decimal, 1)
        whole = re.sub(r"[.,]", "", whole)
        return float(f"{whole}.{frac}"), len(frac)
    return float(re.sub(r"[.,]", "", digits)), 0


def format_number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


class CurrencyNormalizer(RecordCleaner):
    """Rewrite money amounts as ``<ISO> <number><scale>`` and list them in ``meta["amounts"]``."""

    name: ClassVar[str] = "currency-normalize"
    description: ClassVar[str] = "money amounts to ISO code + number ($1.2bn -> USD 1.2 billion)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        #: ISO code for a bare "$" (the corpus's home currency)
        dollar: str = "USD"
        #: ISO code for "¥" (CNY in Chinese text, JPY in Japanese text)
        yen: str = "CNY"
        #: False keeps the text as written and only fills ``meta["amounts"]``
        rewrite: bool = True

    opts: Options

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._prefixes = {
            **PREFIXES,
            "$": self.opts.dollar,
            "¥": self.opts.yen,
            "￥": self.opts.yen,
        }
        prefix = _alternation(list(self._prefixes))
        suffix = _alternation(list(SUFFIXES))
        self._pattern = re.compile(
            rf"(?<![A-Za-z0-9$€£¥])(?P<pre>{prefix})\s?(?P<n1>{_NUMBER})(?P<s1>{_SCALE})?(?:\s?元)?(?![\d])"
            rf"|(?<![A-Za-z0-9.,])(?P<n2>{_NUMBER})(?P<s2>{_SCALE})?\s?(?P<suf>{suffix})(?![A-Za-z])"
        )

    def find(self, text: str) -> list[Amount]:
        """Every amount in ``text``, in order."""
        return [self._amount(m) for m in self._pattern.finditer(text)]

    def _amount(self, match: re.Match[str]) -> Amount:
        if match.group("pre"):
            currency = self._prefixes[match.group("pre")]
            number, scale = match.group("n1"), match.group("s1")
        else:
            currency = SUFFIXES[match.group("suf")]
            number, scale = match.group("n2"), match.group("s2")
        european = currency == "EUR" and match.group("suf") is not None
        value, decimals = parse_number(number, european=european)
        scale_word, multiplier = SCALES[scale.strip().lower()] if scale else ("", 1.0)
        canonical = f"{currency} {format_number(value, decimals)}{scale_word}"
        return Amount(
            match.group(0), currency, round(value * multiplier, 4), canonical, match.start()
        )

    def normalize(self, text: str) -> tuple[str, list[Amount]]:
        """The rewritten text and the amounts found in the original."""
        amounts = self.find(text)
        if not self.opts.rewrite:
            return text, amounts
        return self._pattern.sub(lambda m: self._amount(m).canonical, text), amounts

    def clean(self, record: Record) -> Record | Rejected:
        text, amounts = self.normalize(record.text)
        if not amounts:
            return record
        out = record.with_text(text, self.name)
        out.meta = {**record.meta, "amounts": [a.to_meta() for a in amounts]}
        return out
