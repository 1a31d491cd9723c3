"""Builtin sources: each module holds one component; this hook registers them all.

``text`` (txt/md/rst), ``structured`` (JSON/JSONL/CSV/XML), ``pdf``, ``ocr`` (images),
``audio`` (Whisper), ``sql`` (SQLAlchemy), ``docx`` and ``html``. See ``docs/sources.md``.
"""

from __future__ import annotations

from kinject import hookimpl
from kinject.hookspecs import Register


@hookimpl
def register_sources(register: Register) -> None:
    # Imports stay inside the hook so loading the plugin is cheap; the modules themselves import
    # their parsers (pdfplumber, whisper, ...) only when a file is read.
    from kinject_plugins.sources.audio import AudioSource
    from kinject_plugins.sources.docx import DocxSource
    from kinject_plugins.sources.html import HtmlSource
    from kinject_plugins.sources.ocr import OcrSource
    from kinject_plugins.sources.pdf import PdfSource
    from kinject_plugins.sources.sql import SqlSource
    from kinject_plugins.sources.structured import StructuredSource
    from kinject_plugins.sources.text import TextSource

    for source in (
        TextSource, StructuredSource, PdfSource, OcrSource,
        AudioSource, SqlSource, DocxSource, HtmlSource,
    ):  # fmt: skip
        register(source)
