"""Word documents (.docx) with python-docx: paragraphs and tables in document order."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.errors import InputError
from kinject.records import Record
from kinject_plugins.sources.decompression import MAX_UNPACKED_MB, check_zip
from kinject_plugins.sources.dependencies import require_module
from kinject_plugins.sources.sections import chunk_text, markdown_table

#: the signature of OLE2 files: encrypted .docx files and old binary .doc files
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class DocxOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    split: Literal["section", "paragraph", "none"] = "section"
    max_chars: int = Field(default=2000, ge=100)
    #: a .docx whose unpacked parts are bigger is refused as a decompression bomb
    max_unpacked_mb: float = Field(default=MAX_UNPACKED_MB, gt=0)


class DocxSource(Source):
    """``.docx``: headings become sections, tables become markdown tables."""

    name = "docx"
    description = "Word documents (python-docx): paragraphs, headings and tables in order"
    extensions: ClassVar[tuple[str, ...]] = (".docx",)
    Options = DocxOptions
    opts: DocxOptions

    def read(self, uri: str) -> Iterator[Record]:
        docx = require_module("docx", "python-docx", "office", "Word documents")
        self._check_package(uri)
        try:
            document = docx.Document(uri)
            blocks = [b for b in (_block(item) for item in document.iter_inner_content()) if b]
        except Exception as exc:  # python-docx raises KeyError, lxml errors... on broken parts
            raise InputError(
                "corrupt_docx", f"cannot read the document ({type(exc).__name__}: {exc})", uri
            ) from None
        text = "\n\n".join(blocks)
        if not text.strip():
            raise InputError("empty_document", "the document has no text", uri)
        title = (document.core_properties.title or "").strip()
        for chunk in chunk_text(text, self.opts.max_chars, self.opts.split):
            meta: dict[str, Any] = {"format": "docx"}
            if title:
                meta["title"] = title
            if chunk.titles:
                meta["section"] = " > ".join(chunk.titles)
            source = {"uri": uri, "offset": chunk.start, "length": chunk.end - chunk.start}
            yield Record(
                text=text[chunk.start : chunk.end], source=source, meta=meta, lineage=[self.name]
            )

    def _check_package(self, uri: str) -> None:
        with open(uri, "rb") as f:
            if f.read(8) == _OLE_MAGIC:
                raise InputError(
                    "encrypted",
                    "an encrypted Office file or an old binary .doc (save it as .docx)",
                    uri,
                )
        if not zipfile.is_zipfile(uri):
            raise InputError("corrupt_docx", "not a .docx package (not a zip file)", uri)
        check_zip(uri, self.opts.max_unpacked_mb, "docx.max_unpacked_mb")


def _block(item: Any) -> str:
    """A paragraph as text (headings as ``#`` lines, list items as ``-``) or a table."""
    if hasattr(item, "rows"):
        return markdown_table([_row_cells(row) for row in item.rows])
    text = item.text.strip()
    if not text:
        return ""
    style = (item.style.name if item.style is not None else "") or ""
    if style == "Title":
        return f"# {text}"
    if style.startswith("Heading"):
        level = style.removeprefix("Heading").strip()
        return f"{'#' * min(int(level) if level.isdigit() else 1, 6)} {text}"
    if style.startswith("List"):
        return f"- {text}"
    return text


def _row_cells(row: Any) -> list[str]:
    """Cells of a row; a merged cell python-docx repeats is kept once."""
    cells: list[str] = []
    previous = None
    for cell in row.cells:
        if cell._tc is not previous:
            cells.append(cell.text)
        previous = cell._tc
    return cells
