"""kinject-rss: the kinject source ``rss``, reading saved RSS 2.0, RSS 1.0 and Atom feeds.

One ``document`` Record per feed item: the title, a blank line, then the item's text with HTML
removed. ``source`` keeps the uri, the item's position, link and id; ``meta`` keeps the title,
date, author and the feed's title. Standard library only.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kinject import hookimpl
from kinject.components import Source
from kinject.errors import InputError
from kinject.hookspecs import Register
from kinject.records import Record

__version__ = "0.1.0"

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
SCHEME = "feed+file"
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


class RssOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: put the item's title before its text
    include_title: bool = True
    #: items with less text than this are skipped
    min_chars: int = Field(default=1, ge=0)


class RssSource(Source):
    """RSS 2.0 / RSS 1.0 / Atom feed files -> one document Record per item."""

    name = "rss"
    description = "RSS and Atom feeds (.rss, .atom, feed .xml, feed+file://)"
    extensions = (".rss", ".atom")
    schemes = (SCHEME,)
    #: above the builtin xml source, which reads the .xml files this one declines
    priority = 10
    Options = RssOptions
    opts: RssOptions

    @classmethod
    def matches(cls, uri: str) -> bool:
        if "://" in uri or Path(uri).suffix.lower() != ".xml":
            return super().matches(uri)
        return looks_like_feed(Path(uri))

    def read(self, uri: str) -> Iterator[Record]:
        path = feed_path(uri)
        root = parse_feed(path, uri)
        feed_title, items = _items(root)
        if not items:
            raise InputError("no_entries", "the feed has no items or entries", uri=uri)
        for position, item in enumerate(items):
            record = self._record(item, position, feed_title, uri)
            if record is not None:
                yield record

    def _record(
        self, item: dict[str, str], position: int, feed_title: str, uri: str
    ) -> Record | None:
        body = item["text"]
        if len(body) < self.opts.min_chars:
            return None
        text = f"{item['title']}\n\n{body}" if self.opts.include_title and item["title"] else body
        source = {
            "uri": uri,
            "item": position,
            "link": item["link"],
            "id": item["id"] or item["link"],
        }
        meta = {k: item[k] for k in ("title", "published", "author") if item[k]}
        if feed_title:
            meta["feed_title"] = feed_title
        return Record(text=text, source=source, meta=meta, lineage=[self.name])


def feed_path(uri: str) -> Path:
    """The local file behind a path or a ``feed+file://`` URI."""
    if uri.startswith(f"{SCHEME}://"):
        rest = uri[len(SCHEME) + 3 :]
        if rest and not rest.startswith("/"):
            raise InputError(
                "bad_uri",
                "feed+file URIs take an absolute path: feed+file:///path/feed.xml",
                uri=uri,
            )
        return Path(rest)
    return Path(uri)


def looks_like_feed(path: Path) -> bool:
    """Whether an .xml file's first kilobytes open an RSS, RDF or Atom root element."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return bool(_FEED_ROOT.search(head))


def parse_feed(path: Path, uri: str) -> ET.Element:
    """Parse the file; every failure is an InputError with a reason code."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError("unreadable", exc.strerror or str(exc), uri=uri) from exc
    if not data.strip():
        raise InputError("empty_feed", "the file has no content", uri=uri)
    if _ENTITY.search(data):
        # entity expansion is how XML bombs work; feeds never need it
        raise InputError("entities_not_allowed", "DOCTYPE entity declarations are refused", uri=uri)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError("malformed_xml", f"line {line}, column {column}: {exc}", uri=uri) from exc
    if root.tag not in ("rss", f"{ATOM}feed", f"{RDF}RDF", "feed"):
        raise InputError(
            "not_a_feed", f"root element <{_local(root.tag)}> is not rss, feed or rdf:RDF", uri=uri
        )
    return root


def _items(root: ET.Element) -> tuple[str, list[dict[str, str]]]:
    """(feed title, items) of any of the three feed formats."""
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            return "", []
        return _text(channel.find("title")), [_rss_item(i) for i in channel.findall("item")]
    if root.tag == f"{RDF}RDF":
        channel = root.find(f"{RSS1}channel")
        title = _text(channel.find(f"{RSS1}title")) if channel is not None else ""
        return title, [_rss1_item(i) for i in root.findall(f"{RSS1}item")]
    ns = ATOM if root.tag.startswith(ATOM) else ""
    return _text(root.find(f"{ns}title")), [_atom_entry(e, ns) for e in root.findall(f"{ns}entry")]


def _rss_item(item: ET.Element) -> dict[str, str]:
    content = _text(item.find(f"{CONTENT}encoded")) or _text(item.find("description"))
    author = _text(item.find("author")) or _text(item.find(f"{DC}creator"))
    return _entry(
        item.find("title"),
        content,
        _text(item.find("link")),
        _text(item.find("guid")),
        _text(item.find("pubDate")),
        author,
    )


def _rss1_item(item: ET.Element) -> dict[str, str]:
    content = _text(item.find(f"{CONTENT}encoded")) or _text(item.find(f"{RSS1}description"))
    link = _text(item.find(f"{RSS1}link"))
    return _entry(
        item.find(f"{RSS1}title"),
        content,
        link,
        item.get(f"{RDF}about", ""),
        _text(item.find(f"{DC}date")),
        _text(item.find(f"{DC}creator")),
    )


def _atom_entry(entry: ET.Element, ns: str) -> dict[str, str]:
    content = _atom_text(entry.find(f"{ns}content")) or _atom_text(entry.find(f"{ns}summary"))
    links = entry.findall(f"{ns}link")
    alternate = next((link for link in links if link.get("rel", "alternate") == "alternate"), None)
    published = _text(entry.find(f"{ns}published")) or _text(entry.find(f"{ns}updated"))
    author = entry.find(f"{ns}author")
    name = _text(author.find(f"{ns}name")) if author is not None else ""
    return _entry(
        entry.find(f"{ns}title"),
        content,
        alternate.get("href", "") if alternate is not None else "",
        _text(entry.find(f"{ns}id")),
        published,
        name,
    )


def _entry(
    title: ET.Element | None, content: str, link: str, ident: str, published: str, author: str
) -> dict[str, str]:
    return {
        "title": html_to_text(_text(title)),
        "text": html_to_text(content),
        "link": link.strip(),
        "id": ident.strip(),
        "published": published.strip(),
        "author": author.strip(),
    }


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _atom_text(element: ET.Element | None) -> str:
    """Atom text constructs: ``xhtml`` content is markup, ``html``/``text`` content is text."""
    if element is None:
        return ""
    if element.get("type") == "xhtml":
        return " ".join(t.strip() for t in element.itertext() if t.strip())
    return _text(element)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; block elements become line breaks."""

    BLOCKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr", "blockquote", "pre"})
    HIDDEN = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (entities decoded, whitespace tidied)."""
    if "<" not in fragment:
        return " ".join(html.unescape(fragment).split())
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


@hookimpl
def register_sources(register: Register) -> None:
    register(RssSource)
