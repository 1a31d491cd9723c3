from __future__ import annotations

from kinject.records import Record, Rejected
from kinject_plugins.cleaners.length import Length


def test_too_short_and_too_long_in_english_and_chinese() -> None:
    cleaner = Length(min_tokens=4, max_tokens=10)
    assert isinstance(cleaner.clean(Record("Four words are here")), Record)
    short = cleaner.clean(Record("Too short."))
    assert (
        isinstance(short, Rejected) and short.reason == "too_short" and "2 tokens" in short.detail
    )
    assert isinstance(cleaner.clean(Record("定金不得超过")), Record)  # six characters = six tokens
    long = cleaner.clean(Record("one two three four five six seven eight nine ten eleven"))
    assert isinstance(long, Rejected) and long.reason == "too_long"


def test_character_limits() -> None:
    assert isinstance(Length(min_tokens=0, max_chars=5).clean(Record("abcdef")), Rejected)
    assert isinstance(Length(min_tokens=0, min_chars=3).clean(Record("abc")), Record)
