"""``standardize``: one way to write dates, units, numbers and money.

- dates -> ISO 8601 (``March 5, 2024``, ``5 Mar 2024``, ``2024/3/5``, ``2024年3月5日``, and
  ``05/03/2024`` read as day-first or month-first per ``day_first``);
- units -> SI (``10 lb`` -> ``4.536 kg``, ``212 °F`` -> ``100 °C``), or a recipe's target unit
  (``unit_targets: {kg: g}``); every change keeps its original in ``meta['standardized']``;
- numbers -> plain decimals (``1,234.5`` and ``1.234,5`` -> ``1234.5``; ``3.5万`` -> ``35000``);
- money -> amount plus ISO 4217 code (``$1,200`` -> ``1200 USD``; ``¥`` is ``yen_as``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import RecordCleaner
from kinject.records import Record, Rejected

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_MONTH = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = (
    re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]"),
    re.compile(r"\b(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})\b"),
)
_NUMERIC_DATE = re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4})\b")

# (unit regex, SI unit, factor or converter). Longer spellings first.
_UNITS: tuple[tuple[str, str, float | Callable[[float], float]], ...] = (
    (r"°\s?F|degrees? Fahrenheit", "°C", lambda f: (f - 32) * 5 / 9),
    (r"lbs?|pounds?", "kg", 0.45359237),
    (r"oz|ounces?", "g", 28.349523125),
    (r"miles?|mi", "km", 1.609344),
    (r"feet|foot|ft", "m", 0.3048),
    (r"inch(?:es)?|in\.", "cm", 2.54),
    (r"gallons?|gal", "L", 3.785411784),
    (r"psi", "kPa", 6.894757293),
    (r"斤", "kg", 0.5),
    (r"公里", "km", 1.0),
)
# Conversions a recipe may ask for between metric units.
_METRIC = {
    ("kg", "g"): 1000.0,
    ("g", "kg"): 0.001,
    ("g", "mg"): 1000.0,
    ("mg", "g"): 0.001,
    ("km", "m"): 1000.0,
    ("m", "km"): 0.001,
    ("m", "cm"): 100.0,
    ("cm", "m"): 0.01,
    ("cm", "mm"): 10.0,
    ("mm", "cm"): 0.1,
    ("L", "mL"): 1000.0,
    ("mL", "L"): 0.001,
}
_NUM = r"(?P<num>-?\d+(?:[.,]\d+)*)"
_CURRENCY_SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": None,
    "￥": None,
    "RMB": "CNY",
}
_CN_SCALE = {"万": 10_000, "亿": 100_000_000}
_SYMBOLS = "|".join(re.escape(s) for s in sorted(_CURRENCY_SYMBOLS, key=len, reverse=True))
_MONEY = re.compile(rf"(?P<sym>{_SYMBOLS})\s?{_NUM}(?:\s?(?P<scale>[万亿]))?(?:元)?")
_YUAN = re.compile(rf"{_NUM}(?:\s?(?P<scale>[万亿]))?\s?元")
# One pass for every non-SI unit: the named group that matched says which unit it was.
_UNIT = re.compile(
    rf"{_NUM}\s?(?:"
    + "|".join(f"(?P<u{i}>{rx})" for i, (rx, _, _) in enumerate(_UNITS))
    + r")(?![A-Za-z])",
    re.I,
)
_METRIC_RES = {pair: re.compile(rf"{_NUM}\s?{re.escape(pair[0])}(?![A-Za-z])") for pair in _METRIC}
_GROUPED = re.compile(r"(?<![\d.,])-?\d{1,3}(?:([,.])\d{3})+(?:(?!\1)[.,]\d+)?(?![\d.,]*\d)")
_SCALED = re.compile(r"(?<![\d.,])(?P<num>\d+(?:\.\d+)?)(?P<scale>[万亿])(?![元])")


def parse_number(raw: str) -> float | None:
    """``1,234.5``/``1.234,5``/``1234,5`` -> 1234.5; ambiguous ``1,234`` is read as thousands."""
    s = raw.strip()
    if "," in s and "." in s:
        s = (
            s.replace(".", "").replace(",", ".")
            if s.rfind(",") > s.rfind(".")
            else s.replace(",", "")
        )
    elif "," in s:
        parts = s.split(",")
        thousands = all(len(p) == 3 for p in parts[1:])
        s = s.replace(",", "") if thousands else s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        return float(s)
    except ValueError:
        return None


def format_number(value: float) -> str:
    """Shortest plain decimal: 1234.5, 35000, 4.536 (at most 3 decimals after conversion)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class StandardizeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dates: bool = True
    #: read ``05/03/2024`` as 5 March (True, most of the world) or May 3 (False, US)
    day_first: bool = True
    units: bool = True
    #: metric conversions a recipe wants, e.g. ``{kg: g}``
    unit_targets: dict[str, str] = Field(default_factory=dict)
    numbers: bool = True
    currency: bool = True
    #: ISO code for ¥ (CNY for Chinese corpora, JPY for Japanese)
    yen_as: str = "CNY"


class Standardize(RecordCleaner):
    """Rewrites dates, units, numbers and currencies in one canonical form; never drops."""

    name = "standardize"
    description = "dates to ISO 8601, units to SI, numbers and currencies to one form"
    Options = StandardizeOptions
    opts: StandardizeOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        bad = [f"{a}->{b}" for a, b in self.opts.unit_targets.items() if (a, b) not in _METRIC]
        if bad:
            known = ", ".join(f"{a}->{b}" for a, b in _METRIC)
            raise ValueError(f"standardize: unsupported unit_targets {bad}; supported: {known}")

    def standardize(self, text: str) -> tuple[str, list[dict[str, str]]]:
        """The standardised text and the list of ``{original, standardized}`` changes."""
        changes: list[dict[str, str]] = []
        steps = [
            (self.opts.dates, self._dates),
            (self.opts.currency, self._currency),
            (self.opts.units, self._units),
            (self.opts.numbers, self._numbers),
        ]
        for enabled, step in steps:
            if enabled:
                text = step(text, changes)
        return text, changes

    def clean(self, record: Record) -> Record | Rejected:
        text, changes = self.standardize(record.text)
        if not changes:
            return record
        out = record.with_text(text, self.name)
        out.meta = {**record.meta, "standardized": [*record.meta.get("standardized", []), *changes]}
        return out

    # -- steps: each rewrites matches and logs what it changed ------------------------------

    @staticmethod
    def _sub(
        pattern: re.Pattern[str],
        text: str,
        changes: list[dict[str, str]],
        fn: Callable[[re.Match[str]], str | None],
    ) -> str:
        def repl(m: re.Match[str]) -> str:
            new = fn(m)
            if new is None or new == m.group(0):
                return m.group(0)
            changes.append({"original": m.group(0), "standardized": new})
            return new

        return pattern.sub(repl, text)

    def _dates(self, text: str, changes: list[dict[str, str]]) -> str:
        for pattern in _DATE_PATTERNS:
            text = self._sub(pattern, text, changes, self._iso_date)
        return self._sub(_NUMERIC_DATE, text, changes, self._numeric_date)

    @staticmethod
    def _iso(y: int, m: int, d: int) -> str | None:
        return f"{y:04d}-{m:02d}-{d:02d}" if 1 <= m <= 12 and 1 <= d <= 31 else None

    def _iso_date(self, m: re.Match[str]) -> str | None:
        parts = m.groupdict()
        month = _MONTHS[parts["mon"].lower()] if parts.get("mon") else int(parts["m"])
        return self._iso(int(parts["y"]), month, int(parts["d"]))

    def _numeric_date(self, m: re.Match[str]) -> str | None:
        a, b = int(m["a"]), int(m["b"])
        day, month = (a, b) if self.opts.day_first else (b, a)
        if month > 12 and day <= 12:  # 13/05 can only be day-first, 05/13 only month-first
            day, month = month, day
        return self._iso(int(m["y"]), month, day)

    def _currency(self, text: str, changes: list[dict[str, str]]) -> str:
        text = self._sub(_MONEY, text, changes, self._money)
        return self._sub(_YUAN, text, changes, partial(self._amount, code="CNY"))

    def _money(self, m: re.Match[str]) -> str | None:
        code = _CURRENCY_SYMBOLS[m["sym"]] or self.opts.yen_as
        return self._amount(m, code)

    @staticmethod
    def _amount(m: re.Match[str], code: str) -> str | None:
        value = parse_number(m["num"])
        if value is None:
            return None
        value *= _CN_SCALE.get(m["scale"] or "", 1)
        return f"{format_number(value)} {code}".strip()

    def _units(self, text: str, changes: list[dict[str, str]]) -> str:
        text = self._sub(_UNIT, text, changes, self._to_si)
        for (src, dst), factor in _METRIC.items():
            if self.opts.unit_targets.get(src) == dst:
                text = self._sub(
                    _METRIC_RES[src, dst],
                    text,
                    changes,
                    partial(self._convert, unit=dst, factor=factor),
                )
        return text

    def _to_si(self, m: re.Match[str]) -> str | None:
        _, si, factor = _UNITS[int((m.lastgroup or "u0")[1:])]
        return self._convert(m, si, factor)

    @staticmethod
    def _convert(
        m: re.Match[str], unit: str, factor: float | Callable[[float], float]
    ) -> str | None:
        value = parse_number(m["num"])
        if value is None:
            return None
        new = factor(value) if callable(factor) else value * factor
        sep = " " if unit.startswith("°") or unit[0].isalpha() else ""
        return f"{format_number(new)}{sep}{unit}"

    def _numbers(self, text: str, changes: list[dict[str, str]]) -> str:
        # Only grouped numbers change (1,234.5 / 1.234,5 / 3.5万); plain ones already are canonical.
        text = self._sub(_GROUPED, text, changes, lambda m: self._plain(m.group(0)))
        return self._sub(_SCALED, text, changes, partial(self._amount, code=""))

    @staticmethod
    def _plain(raw: str) -> str | None:
        value = parse_number(raw)
        return None if value is None else format_number(value)
