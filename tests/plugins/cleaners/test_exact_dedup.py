from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kinject.records import Record, Rejected
from kinject_plugins.cleaners.exact_dedup import ExactDedup


def test_copies_differing_in_case_and_whitespace_are_dropped(split) -> None:
    a = Record("The deposit is 20%  of the price.")
    b = Record("the deposit is 20% of the\nprice.", source={"uri": "b.txt"})
    c = Record("定金为价款的百分之二十。")
    d = Record("定金为价款的百分之二十。", source={"uri": "d.txt"})
    kept, rejected = split(ExactDedup().apply([a, b, c, d]))
    assert [r.id for r in kept] == [a.id, c.id]
    assert [(r.reason, r.detail) for r in rejected] == [
        ("exact_duplicate", f"duplicate of {a.id}"),
        ("exact_duplicate", f"duplicate of {c.id}"),
    ]


def test_case_sensitive_option_and_kinds_are_respected(split) -> None:
    a, b = Record("Deposit"), Record("deposit", source={"uri": "x"})
    kept, _ = split(ExactDedup(casefold=False).apply([a, b]))
    assert len(kept) == 2
    qa1 = Record("same", kind="qa", meta={"question": "Q1?", "answer": "A"})
    qa2 = Record("same", kind="qa", meta={"question": "Q2?", "answer": "A"})
    kept, _ = split(ExactDedup().apply([qa1, qa2, Record("same")]))
    assert len(kept) == 3


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a b", "A  b", "c", "d d", "D D", "e"]), max_size=30))
def test_one_survivor_per_group_and_nothing_lost(texts: list[str]) -> None:
    records = [Record(t, source={"row": i}) for i, t in enumerate(texts)]
    out = list(ExactDedup().apply(records))
    assert len(out) == len(records)
    kept_ids = {r.id for r in out if isinstance(r, Record)}
    groups = {" ".join(t.lower().split()) for t in texts}
    assert len(kept_ids) == len(groups)  # exactly one survivor per group
    for r in out:
        if isinstance(r, Rejected):
            assert r.detail.removeprefix("duplicate of ") in kept_ids
