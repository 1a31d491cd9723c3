from __future__ import annotations

from kinject.records import Record
from kinject_plugins.cleaners.low_information import (
    IdfTable,
    LowInformation,
    repetition,
    symbol_ratio,
)
from kinject_plugins.cleaners.tokens import tokenize

PROSE = [
    "The tenant pays a deposit of twenty percent when signing the lease agreement.",
    "Earnest money is forfeited when the buyer breaches the sales contract.",
    "An advance payment is returned in full if the deal does not go ahead.",
    "患者应在饭后服用此药物，每日三次。",
]


def test_repetition_boilerplate_and_symbols_are_dropped(split) -> None:
    spam = Record(" ".join(["click here"] * 60))
    symbols = Record("==== ---- **** ==== #### |||| ++++ word")
    tiny = Record("OK")
    records = [*(Record(t) for t in PROSE), spam, symbols, tiny]
    kept, rejected = split(LowInformation(fit_records=3).apply(records))
    assert [r.text for r in kept] == PROSE
    assert {r.record.id: r.reason for r in rejected} == {
        spam.id: "low_information",
        symbols.id: "symbol_ratio",
        tiny.id: "too_short",
    }


def test_scores_order_prose_above_repetition() -> None:
    table = IdfTable()
    for text in PROSE:
        table.add(tokenize(text))
    prose = table.score(tokenize(PROSE[0]))
    repeated = table.score(tokenize("the the the the the the the the the tenant"))
    assert 0.2 < prose <= 1.0 and repeated < prose / 4


def test_long_texts_are_scored_per_window() -> None:
    table = IdfTable()
    words = [f"w{i}" for i in range(5000)]
    # A long text with a healthy vocabulary scores like a short one, not ~0.
    assert table.score(words) > 0.5


def test_symbol_ratio() -> None:
    assert symbol_ratio("abc") == 0 and symbol_ratio("a!!!") == 0.75 and symbol_ratio("") == 0


def test_repeated_rare_phrases_are_dropped_as_repetition(split) -> None:
    spam = Record("Click here to subscribe. " * 8)
    kept, rejected = split(LowInformation(fit_records=3).apply([*(Record(t) for t in PROSE), spam]))
    assert [r.reason for r in rejected] == ["repetition"] and len(kept) == len(PROSE)
    assert repetition(tokenize(PROSE[0])) == 0.0
