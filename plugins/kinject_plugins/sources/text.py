"""Plain text, Markdown and reStructuredText files, split into sections and paragraphs."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.errors import InputError
from kinject.records import Record
from kinject_plugins.sources.sections import chunk_text, split_blocks


class TextOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``section`` (one Record per heading section), ``paragraph``, or ``none`` (whole file)
    split: Literal["section", "paragraph", "none"] = "section"
    #: longer sections are cut at paragraph, then sentence boundaries
    max_chars: int = Field(default=2000, ge=100)
    #: tried in order; a file none of them decodes is refused (reason ``bad_encoding``)
    encodings: list[str] = Field(default_factory=lambda: ["utf-8"])


def decode_text(data: bytes, encodings: list[str], uri: str) -> str:
    """Bytes to text with the first encoding that works; binary or undecodable data is refused."""
    if b"\x00" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("binary_content", "the file holds binary data, not text", uri)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    for encoding in encodings:
        try:
            return data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    tried = ", ".join(encodings)
    raise InputError(
        "bad_encoding", f"not valid text in {tried} (set the source's encodings option)", uri
    )


def title_of_text(text: str, fmt: str) -> str:
    """The document's title: its first top-level heading, or a plain text file's short first
    line.
    """
    blocks = split_blocks(text)
    top = min((b.level for b in blocks if b.level), default=0)
    heading = next((b.title for b in blocks if top and b.level == top), "")
    if heading or fmt != "text":
        return heading
    first = text.strip().split("\n", 1)[0].strip()
    # a short line that is not a sentence, on its own, reads as a title ("Apache License")
    looks_like_title = (
        first and len(first.split()) <= 12 and not first.endswith((".", ",", ";", ":"))
    )
    return first if looks_like_title else ""


class TextSource(Source):
    """``.txt``, ``.md``, ``.markdown``, ``.rst``: one Record per section, with char offsets."""

    name = "text"
    description = "plain text, Markdown and reStructuredText, split by headings and paragraphs"
    extensions: ClassVar[tuple[str, ...]] = (".txt", ".text", ".md", ".markdown", ".rst")
    Options = TextOptions
    opts: TextOptions

    def read(self, uri: str) -> Iterator[Record]:
        text = decode_text(Path(uri).read_bytes(), self.opts.encodings, uri)
        if not text.strip():
            raise InputError("empty_document", "the file holds only whitespace", uri)
        fmt = {".md": "markdown", ".markdown": "markdown", ".rst": "rst"}.get(
            Path(uri).suffix.lower(), "text"
        )
        title = title_of_text(text, fmt)
        for chunk in chunk_text(text, self.opts.max_chars, self.opts.split):
            meta: dict[str, Any] = {"format": fmt, **({"title": title} if title else {})}
            if chunk.titles:
                meta["section"] = " > ".join(chunk.titles)
            yield Record(
                text=text[chunk.start : chunk.end],
                source={"uri": uri, "offset": chunk.start, "length": chunk.end - chunk.start},
                meta=meta,
                lineage=[self.name],
            )
