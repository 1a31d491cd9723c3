"""The workers' memory limit: on by default, and a parse over it costs only its file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import ClassVar

from kinject import hookimpl
from kinject.components import Source
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.ingest import IngestOptions, ingest
from kinject.records import Record


class HungrySource(Source):
    """Keeps allocating resident memory, 16 MiB at a time, up to 4 GiB (``.hungry`` files)."""

    name = "hungry"
    extensions: ClassVar[tuple[str, ...]] = (".hungry",)

    def read(self, uri: str) -> Iterator[Record]:
        held = []
        for _ in range(256):
            held.append(b"x" * (16 << 20))
            time.sleep(0.01)
        yield Record(text=f"held {len(held)} blocks", source={"uri": uri})


class _HungrySources:
    @hookimpl
    def register_sources(self, register):
        register(HungrySource)


def test_memory_is_limited_by_default():
    assert IngestOptions().max_memory_mb == 2048


def test_a_parse_over_the_memory_limit_costs_only_its_file(
    tmp_path, kinject_plugins, register_plugin
):
    register_plugin(_HungrySources(), name="hungry-sources")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.hungry").write_text("x")
    (folder / "b.txt").write_text("Survivor text.")
    config = RunConfig(sources={"ingest": {"workers": 1, "max_memory_mb": 200, "timeout_s": 120}})
    context = RunContext(
        run_dir=tmp_path / "run", config=config, plugins=kinject_plugins, show_progress=False
    )
    start = time.monotonic()
    records = list(ingest([str(folder)], context))
    assert time.monotonic() - start < 60
    assert [r.text for r in records] == ["Survivor text."]
    (entry,) = [
        json.loads(line) for line in (context.run_dir / "quarantine.jsonl").read_text().splitlines()
    ]
    assert (entry["plugin"], entry["reason"]) == ("hungry", "out_of_memory")
    assert "200 MiB" in entry["detail"] and "sources.ingest.max_memory_mb" in entry["detail"]
