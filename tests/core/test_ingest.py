"""Ingestion end to end: a mixed corpus of good and broken files, parallel workers, limits."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from kinject import hookimpl
from kinject.components import Source
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.errors import ConfigError, MissingDependencyError, PluginError
from kinject.ingest import IngestStats, ingest
from kinject.records import Record


class SleepySource(Source):
    """Takes far longer than any time limit (``.slow`` files)."""

    name = "sleepy"
    extensions: ClassVar[tuple[str, ...]] = (".slow",)

    def read(self, uri: str) -> Iterator[Record]:
        time.sleep(600)
        yield Record(text="never", source={"uri": uri})


class CrashingSource(Source):
    """Kills its own process, as a segfault in a native parser would (``.crash`` files)."""

    name = "crashing"
    extensions: ClassVar[tuple[str, ...]] = (".crash",)

    def read(self, uri: str) -> Iterator[Record]:
        os._exit(3)
        yield Record(text="never", source={"uri": uri})


class NeedsPackageSource(Source):
    """Misses an optional package (``.needs`` files)."""

    name = "needs-package"
    extensions: ClassVar[tuple[str, ...]] = (".needs",)

    def read(self, uri: str) -> Iterator[Record]:
        raise MissingDependencyError("frobnicate", what="frob files")


class _TestSources:
    @hookimpl
    def register_sources(self, register):
        for source in (SleepySource, CrashingSource, NeedsPackageSource):
            register(source)


def _pdf(path: Path, text: str | None = None, password: str | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, text or "A page of text.")
    if password:
        pdf.set_encryption(owner_password="o" + password, user_password=password)
    pdf.output(str(path))
    return path.read_bytes()


#: broken inputs of the mixed corpus and the reason each must be quarantined with
BAD = {
    "empty.txt": "empty_file",
    "truncated.pdf": "malformed_pdf",
    "encrypted.pdf": "encrypted",
    "malformed.pdf": "malformed_pdf",
    "zero.png": "empty_file",
    "corrupt.png": "corrupt_image",
    "zero.wav": "empty_file",
    "corrupt.mp3": "corrupt_audio",
    "notes.xyz": "unsupported_type",
    "binary.md": "binary_content",
}
GOOD = {
    "guide.md": 2,
    "rows.jsonl": 2,
    "contract.pdf": 1,
    "page.html": 1,
    "table.csv": 1,
    "sub/deep.txt": 1,
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "guide.md").write_text("# Guide\n\nIntro.\n\n## Part\n\nBody text.")
    (root / "rows.jsonl").write_text(
        '{"text": "row one"}\n{"kind": "qa", "question": "Q?", "answer": "A."}\n'
    )
    _pdf(root / "contract.pdf", "Tenants give 45 days notice.")
    (root / "page.html").write_text("<html><body><main><p>Web text.</p></main></body></html>")
    (root / "table.csv").write_text("text,lang\nhola,es\n")
    (root / "sub" / "deep.txt").write_text("Deep file.")
    (root / ".hidden.txt").write_text("not ingested")
    (root / "empty.txt").write_bytes(b"")
    good_pdf = _pdf(tmp_path / "tmp.pdf", "Hello there reader")
    (root / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    _pdf(root / "encrypted.pdf", "Secret", password="pw")
    (root / "malformed.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n%%EOF")
    (root / "zero.png").write_bytes(b"")
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    (root / "zero.wav").write_bytes(b"")
    (root / "corrupt.mp3").write_bytes(b"ID3" + b"\x00garbage" * 50)
    (root / "notes.xyz").write_text("unknown type")
    (root / "binary.md").write_bytes(b"\x00\x01\x02\x03binary")
    return root


def _context(tmp_path: Path, plugins, **sources) -> RunContext:
    config = RunConfig(sources=sources)
    run_dir = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    return RunContext(run_dir=run_dir, config=config, plugins=plugins, show_progress=False)


def _quarantine(context: RunContext) -> list[dict]:
    path = context.run_dir / "quarantine.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def tesseract_and_ffmpeg() -> None:
    for program in ("tesseract", "ffmpeg"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed")


def test_mixed_corpus_keeps_good_files_and_quarantines_bad_ones(
    corpus, tmp_path, kinject_plugins, tesseract_and_ffmpeg
):
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO items VALUES (1, 'lamp')")
    wrong_sql = f"sql+sqlite:///{tmp_path}/nope.db?table=items"
    context = _context(tmp_path, kinject_plugins, ingest={"workers": 2})
    stats = IngestStats()
    records = list(
        ingest([str(corpus), f"sql+sqlite:///{db}?table=items", wrong_sql], context, stats)
    )

    by_file: dict[str, int] = {}
    for record in records:
        name = (
            os.path.relpath(record.source["uri"], corpus)
            if "://" not in record.source["uri"]
            else "sql"
        )
        by_file[name] = by_file.get(name, 0) + 1
    assert by_file == {**GOOD, "sql": 1}
    reasons = {
        os.path.relpath(q["uri"], corpus) if "://" not in q["uri"] else q["uri"]: q["reason"]
        for q in _quarantine(context)
    }
    assert reasons == {**BAD, wrong_sql: "database_not_found"}
    assert all(q["detail"] and q["plugin"] for q in _quarantine(context))
    assert stats.skipped_hidden == 1
    assert stats.quarantined["empty_file"] == 3
    assert stats.sources["pdf"].files == 4 and stats.sources["pdf"].records == 1


def test_reingest_gives_the_same_ids_in_the_same_order(corpus, tmp_path, kinject_plugins):
    first = [
        r.id
        for r in ingest([str(corpus)], _context(tmp_path, kinject_plugins, ingest={"workers": 2}))
    ]
    again = [
        r.id
        for r in ingest([str(corpus)], _context(tmp_path, kinject_plugins, ingest={"workers": 1}))
    ]
    inline = [
        r.id
        for r in ingest([str(corpus)], _context(tmp_path, kinject_plugins, ingest={"workers": 0}))
    ]
    assert first == again == inline
    assert len(set(first)) == len(first)
    # overlapping corpus entries (a folder, a glob, a file in it) ingest each file once
    overlapping = [str(corpus), str(corpus / "*.md"), str(corpus / "guide.md")]
    assert [
        r.id
        for r in ingest(overlapping, _context(tmp_path, kinject_plugins, ingest={"workers": 0}))
    ] == first


def test_an_interrupted_ingest_stops_its_workers(corpus, tmp_path, kinject_plugins):
    psutil = pytest.importorskip("psutil")
    stream = ingest([str(corpus)], _context(tmp_path, kinject_plugins, ingest={"workers": 2}))
    next(stream)
    assert psutil.Process().children()
    stream.close()
    assert not [p for p in psutil.Process().children() if p.is_running() and p.status() != "zombie"]


def test_timeouts_and_crashes_cost_only_their_file(tmp_path, kinject_plugins, register_plugin):
    register_plugin(_TestSources(), name="test-sources")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.slow").write_text("x")
    (folder / "b.crash").write_text("x")
    (folder / "c.txt").write_text("Survivor text.")
    context = _context(tmp_path, kinject_plugins, ingest={"workers": 1, "timeout_s": 3})
    start = time.monotonic()
    records = list(ingest([str(folder)], context))
    assert time.monotonic() - start < 120  # far less than the 600 s the parser would take
    assert [r.text for r in records] == ["Survivor text."]
    reasons = {Path(q["uri"]).name: (q["reason"], q["plugin"]) for q in _quarantine(context)}
    assert reasons == {"a.slow": ("timeout", "sleepy"), "b.crash": ("worker_crashed", "crashing")}


def test_a_missing_package_stops_the_run_with_its_install_hint(
    tmp_path, kinject_plugins, register_plugin
):
    register_plugin(_TestSources(), name="test-sources")
    (tmp_path / "x.needs").write_text("x")
    with pytest.raises(PluginError, match="pip install frobnicate"):
        list(
            ingest(
                [str(tmp_path / "x.needs")],
                _context(tmp_path, kinject_plugins, ingest={"workers": 0}),
            )
        )


def test_missing_entries_are_listed_together(tmp_path, kinject_plugins):
    (tmp_path / "real.txt").write_text("here")
    entries = [str(tmp_path / "real.txt"), str(tmp_path / "gone.pdf"), str(tmp_path / "*.nothing")]
    with pytest.raises(ConfigError) as err:
        list(ingest(entries, _context(tmp_path, kinject_plugins)))
    assert (
        "gone.pdf" in str(err.value)
        and "*.nothing" in str(err.value)
        and "2 problems" in str(err.value)
    )


def test_bad_options_are_listed_together(tmp_path, kinject_plugins):
    context = _context(
        tmp_path,
        kinject_plugins,
        ingest={"workers": -1, "route": {".log": "nope"}},
        pdf={"pasword": "x"},
        pdff={},
    )
    with pytest.raises(ConfigError) as err:
        list(ingest([str(tmp_path)], context))
    message = str(err.value)
    for part in ("ingest.workers", "pdf.pasword", "pdff", "ingest.route..log"):
        assert part in message


def test_limits_routes_and_globs(tmp_path, kinject_plugins):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "big.txt").write_text("x" * 3000)
    (folder / "server.log").write_text("Log line one.")
    (folder / "note.md").write_text("Markdown note.")
    context = _context(
        tmp_path,
        kinject_plugins,
        ingest={"workers": 0, "max_file_mb": 0.001, "route": {".log": "text"}},
    )
    records = list(ingest([str(folder / "*")], context))
    assert sorted(r.text for r in records) == ["Log line one.", "Markdown note."]
    (entry,) = _quarantine(context)
    assert entry["reason"] == "file_too_large" and "max_file_mb" in entry["detail"]


def test_pages_are_counted_only_where_the_source_reports_them(tmp_path, kinject_plugins):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "guide.md").write_text("# One\n\nFirst.\n\n# Two\n\nSecond.")
    _pdf(folder / "contract.pdf", "Tenants give 45 days notice.")
    stats = IngestStats()
    list(ingest([str(folder)], _context(tmp_path, kinject_plugins, ingest={"workers": 0}), stats))
    text, pdf = stats.sources["text"], stats.sources["pdf"]
    assert (text.files, text.records, text.pages) == (1, 2, 0)
    assert (pdf.files, pdf.records, pdf.pages) == (1, 1, 1)
