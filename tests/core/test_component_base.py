"""The Component base keeps the run's context and seed from setup(context), and owns stats."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kinject.components import Augmenter, Cleaner
from kinject.context import RunContext
from kinject.records import Record, Rejected


class Counting(Augmenter):
    """Overrides setup without calling super(), as most plugins do."""

    name = "test-counting"

    def setup(self, context: RunContext) -> None:
        self.loaded = True

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        self.stats["seen"] = len(records)
        yield from ()


class Stricter(Counting):
    """Overrides setup again and calls super(): context is still kept, once."""

    name = "test-stricter"

    def setup(self, context: RunContext) -> None:
        super().setup(context)
        self.strict = True


class Plain(Cleaner):
    """Keeps the base's setup."""

    name = "test-plain"

    def apply(self, records: Sequence[Record]) -> Iterator[Record | Rejected]:
        yield from records


def test_before_setup_there_is_no_context() -> None:
    component = Counting()
    assert (component.context, component.seed, component.stats) == (None, 0, {})


def test_setup_keeps_context_and_seed_for_overrides_and_the_base(run_context: RunContext) -> None:
    assert run_context.seed != 0  # the default 0 would not tell a kept seed from none
    for component in (Counting(), Stricter(), Plain()):
        component.setup(run_context)
        assert component.context is run_context and component.seed == run_context.seed
    stricter = Stricter()
    stricter.setup(run_context)
    assert stricter.loaded and stricter.strict
    assert Stricter.setup.__name__ == "setup"
    assert Stricter.setup.__qualname__.startswith("Stricter.")


def test_stats_belong_to_each_component() -> None:
    first, second = Counting(), Counting()
    list(first.augment([Record(text="a"), Record(text="b")]))
    assert first.stats == {"seen": 2} and second.stats == {}


def test_a_component_pickles_without_its_context(run_context: RunContext) -> None:
    import pickle

    component = Counting()
    component.setup(run_context)
    component.stats["seen"] = 3
    copy = pickle.loads(pickle.dumps(component))  # as ingest sends a source to its worker
    assert (copy.context, copy.seed, copy.stats) == (None, run_context.seed, {"seen": 3})
    assert component.context is run_context
