from __future__ import annotations

import pytest

from kinject.records import Record
from kinject_plugins.cleaners.standardize import Standardize, parse_number


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1,234.5", 1234.5),
        ("1.234,5", 1234.5),
        ("1234,5", 1234.5),
        ("1,234", 1234),
        ("1.234.567", 1234567),
    ],
)
def test_parse_number(raw: str, value: float) -> None:
    assert parse_number(raw) == value


def test_dates_to_iso() -> None:
    text, _ = Standardize().standardize(
        "March 5, 2024; 5th Mar 2024; 2024/3/5; 05/03/2024; 2024年3月5日签订"
    )
    assert text == "2024-03-05; 2024-03-05; 2024-03-05; 2024-03-05; 2024-03-05签订"
    us, _ = Standardize(day_first=False).standardize("05/03/2024 and 13/05/2024")
    assert us == "2024-05-03 and 2024-05-13"


def test_money_and_chinese_scales() -> None:
    text, _ = Standardize().standardize(
        "$1,234.50, €1.234,50, ¥3.5万, 3,000元, 2亿元; 1.4亿 people"
    )
    assert text == "1234.5 USD, 1234.5 EUR, 35000 CNY, 3000 CNY, 200000000 CNY; 140000000 people"
    jp, _ = Standardize(yen_as="JPY").standardize("¥500")
    assert jp == "500 JPY"


def test_units_to_si_with_originals_in_meta() -> None:
    out = Standardize().clean(Record("Ship 10 lb over 3 miles at 212 °F and 30 psi."))
    assert out.text == "Ship 4.536 kg over 4.828 km at 100 °C and 206.843 kPa."
    assert {"original": "10 lb", "standardized": "4.536 kg"} in out.meta["standardized"]
    assert out.lineage == ["standardize"]


def test_recipe_unit_targets() -> None:
    text, _ = Standardize(unit_targets={"kg": "g"}).standardize("Add 2 kg of flour.")
    assert text == "Add 2000 g of flour."
    with pytest.raises(ValueError, match="unsupported unit_targets"):
        Standardize(unit_targets={"kg": "lb"})


def test_plain_text_is_untouched() -> None:
    rec = Record("Version 3.5 at 12:30, pages 1-3, clause 2.")
    assert Standardize().clean(rec) is rec
