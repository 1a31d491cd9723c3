"""Every builtin source is registered and files are routed by suffix and scheme."""

from __future__ import annotations

from kinject.ingest import IngestOptions, plan

EXPECTED = {
    "a.txt": "text", "b.md": "text", "c.rst": "text", "d.jsonl": "structured",
    "e.csv": "structured",
    "f.xml": "structured", "g.json": "structured", "h.pdf": "pdf", "i.PNG": "ocr", "j.tiff": "ocr",
    "k.jpg": "ocr", "l.wav": "audio", "m.mp3": "audio", "n.docx": "docx", "o.html": "html",
}  # fmt: skip


def test_builtin_sources_are_registered(kinject_plugins):
    names = kinject_plugins.registry("source").names()
    assert names == ["audio", "docx", "html", "ocr", "pdf", "sql", "structured", "text"]


def test_files_route_to_their_source(tmp_path, kinject_plugins):
    for name in EXPECTED:
        (tmp_path / name).write_text("x")
    sources = {
        n: kinject_plugins.create("source", n) for n in kinject_plugins.registry("source").names()
    }
    planned = plan([str(tmp_path), "sql+sqlite:///x.db?table=t"], sources, IngestOptions())
    routed = {p.uri.rsplit("/", 1)[-1]: p.source for p in planned}
    assert routed == {**EXPECTED, "x.db?table=t": "sql"}
