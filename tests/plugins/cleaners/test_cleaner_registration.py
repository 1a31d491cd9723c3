from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kinject.records import Record, Rejected

CLEANERS = [
    "normalize",
    "standardize",
    "exact-dedup",
    "near-dedup",
    "low-information",
    "pii-scrub",
    "language",
    "rules",
    "decontaminate",
    "length",
]
MODEL_FREE = [
    "normalize",
    "standardize",
    "exact-dedup",
    "low-information",
    "pii-scrub",
    "language",
    "length",
]


def test_all_cleaners_are_registered(kinject_plugins) -> None:
    registry = kinject_plugins.registry("cleaner")
    for name in CLEANERS:
        assert registry.get(name).obj.name == name


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=15))
def test_no_cleaner_loses_a_record_without_a_reason(texts: list[str]) -> None:
    from kinject.plugins import build_plugins

    plugins = build_plugins(load_entry_points=False)
    records = [Record(t, source={"row": i}) for i, t in enumerate(texts)]
    for name in MODEL_FREE:
        out = list(plugins.create("cleaner", name, {}).apply(records))
        kept = [r for r in out if isinstance(r, Record)]
        rejected = [r for r in out if isinstance(r, Rejected)]
        assert len(kept) + len(rejected) == len(records), name
        assert all(r.reason and r.plugin == name for r in rejected), name
