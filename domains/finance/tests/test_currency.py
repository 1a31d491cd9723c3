"""currency-normalize: hand-written amounts in several conventions."""

from __future__ import annotations

import pytest

from kinject.records import Record
from kinject_finance.currency import CurrencyNormalizer, parse_number


@pytest.mark.parametrize(
    ("text", "expected", "currency", "value"),
    [
        ("$1.2bn", "USD 1.2 billion", "USD", 1.2e9),
        ("US$450m", "USD 450 million", "USD", 4.5e8),
        ("USD 2,840.6 million", "USD 2,840.6 million", "USD", 2.8406e9),
        ("£1.47bn", "GBP 1.47 billion", "GBP", 1.47e9),
        ("€6.12 billion", "EUR 6.12 billion", "EUR", 6.12e9),
        ("1.234,5 €", "EUR 1,234.5", "EUR", 1234.5),
        ("412,6 Mio. €", "EUR 412.6 million", "EUR", 4.126e8),
        ("1.234,5 Tsd. €", "EUR 1,234.5 thousand", "EUR", 1234500.0),
        ("RMB 3,400万", "CNY 3,400万", "CNY", 3.4e7),
        ("人民币48.6亿元", "CNY 48.6亿", "CNY", 4.86e9),
        ("红利3.2元", "红利CNY 3.2", "CNY", 3.2),
        ("5 euros", "EUR 5", "EUR", 5.0),
        ("1,200 USD", "USD 1,200", "USD", 1200.0),
        ("HK$3.5k", "HKD 3.5 thousand", "HKD", 3500.0),
    ],
)
def test_normalizes(text: str, expected: str, currency: str, value: float) -> None:
    out, amounts = CurrencyNormalizer().normalize(text)
    assert out == expected
    assert [(a.currency, a.value) for a in amounts] == [(currency, pytest.approx(value))]


@pytest.mark.parametrize(
    "text",
    ["in 2029 and FY2030", "a 4.125% coupon", "14.2 pence", "12.4 GWh", "T+2", "CSTF2 €x"],
)
def test_leaves_non_amounts_alone(text: str) -> None:
    assert CurrencyNormalizer().normalize(text) == (text, [])


def test_normalizing_twice_changes_nothing() -> None:
    normalizer = CurrencyNormalizer()
    once, _ = normalizer.normalize("Sales of $1.2bn and 412,6 Mio. € and 人民币48.6亿元.")
    assert normalizer.normalize(once)[0] == once


@pytest.mark.parametrize(
    ("text", "european", "value", "decimals"),
    [
        ("1,234", False, 1234.0, 0),
        ("1,234", True, 1.234, 3),
        ("1.234", False, 1.234, 3),
        ("1.234", True, 1234.0, 0),
        ("1.234.567", False, 1234567.0, 0),
        ("1.234,56", False, 1234.56, 2),
        ("12,5", False, 12.5, 1),
    ],
)
def test_parse_number(text: str, european: bool, value: float, decimals: int) -> None:
    assert parse_number(text, european=european) == (value, decimals)


def test_options_set_dollar_and_yen() -> None:
    normalizer = CurrencyNormalizer(dollar="AUD", yen="JPY")
    assert normalizer.normalize("$5m and ¥300")[0] == "AUD 5 million and JPY 300"


def test_rewrite_off_keeps_text_and_fills_meta() -> None:
    record = Record(text="Revenue was $1.2bn.", meta={"k": 1})
    out = CurrencyNormalizer(rewrite=False).clean(record)
    assert isinstance(out, Record)
    assert out.text == record.text and out.meta["k"] == 1
    assert out.meta["amounts"] == [
        {
            "text": "$1.2bn",
            "currency": "USD",
            "value": 1.2e9,
            "canonical": "USD 1.2 billion",
            "offset": 12,
        }
    ]


def test_clean_rewrites_and_records_lineage() -> None:
    out = CurrencyNormalizer().clean(Record(text="A $300 million buyback."))
    assert isinstance(out, Record)
    assert out.text == "A USD 300 million buyback." and out.lineage == ["currency-normalize"]


def test_record_without_amounts_is_returned_as_is() -> None:
    record = Record(text="Gross margin widened to 41.2%.")
    assert CurrencyNormalizer().clean(record) is record


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError):
        CurrencyNormalizer(locale="de")
