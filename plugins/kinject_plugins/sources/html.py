"""Web pages (.html, .htm): the readable text, without scripts, styles and navigation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.errors import InputError
from kinject.records import Record
from kinject_plugins.sources.dependencies import require_module
from kinject_plugins.sources.sections import chunk_text, markdown_table

#: elements that are never content
_DROP = (
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
    "svg", "template", "button", "select", "head", "object", "embed", "canvas",
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_TEXT_BLOCKS = ("p", "pre", "blockquote", "dt", "dd", "figcaption", "address", "caption", "summary")
_INLINE = frozenset(
    ("a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
     "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "label", "wbr",
     "del", "ins")
)  # fmt: skip


class HtmlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    split: Literal["section", "paragraph", "none"] = "section"
    max_chars: int = Field(default=2000, ge=100)
    #: read only <main> or <article> when the page has one
    main_only: bool = True


class HtmlSource(Source):
    """Web pages: headings, paragraphs, lists and tables as markdown-like text."""

    name = "html"
    description = (
        "readable text of web pages (no scripts, styles or navigation), tables as markdown"
    )
    extensions: ClassVar[tuple[str, ...]] = (".html", ".htm", ".xhtml")
    Options = HtmlOptions
    opts: HtmlOptions

    def read(self, uri: str) -> Iterator[Record]:
        bs4 = require_module("bs4", "beautifulsoup4", "office", "HTML pages")
        soup = bs4.BeautifulSoup(Path(uri).read_bytes(), "lxml")
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        for br in soup.find_all("br"):
            br.replace_with("\n")
        for tag in soup.find_all(_DROP):
            tag.decompose()
        for tag in soup.find_all(attrs={"hidden": True}) + soup.find_all(
            attrs={"aria-hidden": "true"}
        ):
            tag.decompose()
        root = (soup.find("main") or soup.find("article")) if self.opts.main_only else None
        blocks: list[str] = []
        _walk(root or soup.body or soup, blocks, bs4)
        text = "\n\n".join(blocks)
        if not text.strip():
            raise InputError("empty_document", "the page has no readable text", uri)
        for chunk in chunk_text(text, self.opts.max_chars, self.opts.split):
            meta: dict[str, Any] = {"format": "html"}
            if title:
                meta["title"] = title
            if chunk.titles:
                meta["section"] = " > ".join(chunk.titles)
            source = {"uri": uri, "offset": chunk.start, "length": chunk.end - chunk.start}
            yield Record(
                text=text[chunk.start : chunk.end], source=source, meta=meta, lineage=[self.name]
            )


def _walk(node: Any, blocks: list[str], bs4: Any) -> None:
    """Append the text blocks under ``node``; runs of inline content form one paragraph."""
    run: list[str] = []

    def flush() -> None:
        text = " ".join("".join(run).split())
        if text:
            blocks.append(text)
        run.clear()

    for child in node.children:
        if isinstance(child, bs4.element.NavigableString):
            if type(child) is bs4.element.NavigableString:  # not a comment, doctype or CDATA
                run.append(str(child))
            continue
        name = child.name
        if name in _INLINE:
            run.append(child.get_text())
            continue
        flush()
        if name in _HEADINGS:
            _add(blocks, "#" * _HEADINGS[name] + " ", child.get_text())
        elif name == "table":
            rows = [
                [c.get_text() for c in tr.find_all(["th", "td"])] for tr in child.find_all("tr")
            ]
            table = markdown_table(rows)
            if table:
                blocks.append(table)
        elif name in ("ul", "ol"):
            for item in child.find_all("li", recursive=False):
                _add(blocks, "- ", item.get_text())
        elif name in _TEXT_BLOCKS:
            _add(blocks, "", child.get_text())
        else:
            _walk(child, blocks, bs4)
    flush()


def _add(blocks: list[str], prefix: str, text: str) -> None:
    text = " ".join(text.split())
    if text:
        blocks.append(prefix + text)
