from __future__ import annotations

from pathlib import Path

import pytest

from kinject.errors import ConfigError
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.rules import Rules

RULES = [
    {
        "id": "deposit_cap",
        "description": "a deposit above 20% of the contract price is flagged",
        "extract": {
            "deposit": r"(?i)deposit of \D{0,3}([\d.,]+[万亿]?)",
            "price": r"(?i)contract price of \D{0,3}([\d.,]+[万亿]?)",
        },
        "when": "deposit > 0.2 * price",
    },
    {
        "id": "cn_deposit_cap",
        "extract": {"d": r"定金([\d.,]+[万亿]?)元", "p": r"合同价款([\d.,]+[万亿]?)元"},
        "when": "d > 0.2 * p",
    },
    {
        "id": "boiling",
        "description": "water above 100 °C described as not boiling",
        "extract": {"temp": r"(-?\d+(?:\.\d+)?)\s*°C"},
        "require": ["(?i)not boiling"],
        "when": "temp > 100",
        "action": "drop",
    },
]


def test_flag_and_drop() -> None:
    rules = Rules(rules=RULES)
    flagged = rules.clean(Record("A deposit of $5,000 on a contract price of $20,000."))
    assert isinstance(flagged, Record) and flagged.meta["flags"] == ["deposit_cap"]
    fine = rules.clean(Record("A deposit of $3,000 on a contract price of $20,000."))
    assert "flags" not in fine.meta
    cn = rules.clean(Record("合同价款10万元，定金3万元。"))
    assert cn.meta["flags"] == ["cn_deposit_cap"]
    dropped = rules.clean(Record("The water was at 120 °C, not boiling."))
    assert isinstance(dropped, Rejected) and dropped.reason == "rule:boiling"
    assert isinstance(rules.clean(Record("Water at 120 °C boils.")), Record)


def test_rules_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - id: no_guarantee\n    require: ['(?i)guaranteed cure']\n    action: drop\n"
    )
    out = Rules(path=str(path)).clean(Record("A guaranteed cure for all."))
    assert isinstance(out, Rejected) and out.reason == "rule:no_guarantee"


def test_every_problem_is_reported_at_once() -> None:
    bad = [
        {"id": "x", "extract": {"a": "("}, "when": "__import__('os') > b"},
        {"id": "x"},
        {"description": "no id", "colour": "red"},
    ]
    with pytest.raises(ConfigError) as err:
        Rules(rules=bad)
    message = str(err.value)
    for part in (
        "bad regex",
        "may be called",
        "unknown name 'b'",
        "id: Field required",
        "colour",
        "used twice",
    ):
        assert part in message


def test_bad_yaml_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("just: a mapping\n")
    with pytest.raises(ConfigError, match="rules.yaml"):
        Rules(path=str(path))
