"""One input read in parts by several workers: the parts' Outcomes merged back into one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kinject import hookimpl
from kinject.components import Source
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.errors import InputError
from kinject.ingest import IngestStats, ingest
from kinject.ingest_worker import Issue, Outcome, merge_parts
from kinject.records import Record


def _record(page: int) -> dict[str, Any]:
    return Record(text=f"page {page}", source={"uri": "a.pages", "page": page}).to_dict()


def test_records_and_issues_come_back_in_page_order():
    parts = [
        Outcome(
            index=4,
            records=[_record(1), _record(3)],
            issues=[Issue("blank_page", "", "a.pages#page=5")],
            seconds=1.0,
        ),
        Outcome(
            index=5,
            records=[_record(2), _record(4)],
            issues=[Issue("blank_page", "", "a.pages#page=2")],
            seconds=2.0,
        ),
    ]
    merged = merge_parts(0, parts)
    assert merged.index == 0 and merged.seconds == 3.0 and not merged.reason
    assert [r["source"]["page"] for r in merged.records] == [1, 2, 3, 4]
    assert [i.uri for i in merged.issues] == ["a.pages#page=2", "a.pages#page=5"]


def test_a_failed_part_fails_the_whole_input():
    parts = [
        Outcome(index=0, records=[_record(1)]),
        Outcome(index=1, reason="timeout", detail="too slow"),
    ]
    merged = merge_parts(7, parts)
    assert (merged.reason, merged.detail, merged.records) == ("timeout", "too slow", [])


class PagesSource(Source):
    """``*.pages`` files: one Record per line, split into every-n-th-line parts when asked."""

    name = "pages"
    extensions = (".pages",)

    def read(self, uri: str) -> Iterator[Record]:
        return self.read_part(uri, 0, 1)

    def parts(self, uri: str, workers: int) -> int:
        return workers

    def read_part(self, uri: str, part: int, parts: int) -> Iterator[Record]:
        with open(uri, encoding="utf-8") as f:
            for number, line in enumerate(f.read().splitlines(), start=1):
                if (number - 1) % parts != part:
                    continue
                if not line.strip():
                    self.report_issue("blank_page", "no text", f"{uri}#page={number}")
                    continue
                if line == "broken":
                    raise InputError("malformed_pages", f"line {number} is broken", uri)
                yield Record(text=line, source={"uri": uri, "page": number})


class _Plugin:
    @hookimpl
    def register_sources(self, register: Callable[..., Any]) -> None:
        register(PagesSource)


def _ingest(tmp_path, plugins, paths, workers: int) -> tuple[list[Record], IngestStats]:
    config = RunConfig(sources={"ingest": {"workers": workers}})
    context = RunContext(
        run_dir=tmp_path / f"run-{workers}", config=config, plugins=plugins, show_progress=False
    )
    stats = IngestStats()
    return list(ingest([str(p) for p in paths], context, stats)), stats


def test_split_inputs_keep_corpus_order_among_whole_ones(
    tmp_path, kinject_plugins, register_plugin
):
    register_plugin(_Plugin(), name="pages")
    first = tmp_path / "a.pages"
    first.write_text("\n".join(f"a{n}" for n in range(1, 8)) + "\n\na9\n")
    second = tmp_path / "b.md"
    second.write_text("# B\n\nwhole file\n")
    broken = tmp_path / "c.pages"
    broken.write_text("c1\nbroken\nc3\n")
    one, stats_one = _ingest(tmp_path, kinject_plugins, [first, second, broken], 1)
    two, stats_two = _ingest(tmp_path, kinject_plugins, [first, second, broken], 2)
    assert [r.text for r in one if r.source.get("page")] == [f"a{n}" for n in range(1, 8)] + ["a9"]
    assert [r.id for r in two] == [r.id for r in one]
    assert stats_two.quarantined == stats_one.quarantined == {"blank_page": 1, "malformed_pages": 1}
