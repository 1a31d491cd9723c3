"""The ``statute-splitter`` cleaner: one Record per article of a code or act.

A statute is a list of numbered provisions, and each provision is a unit of knowledge: a
question about the deposit cap is answered by one article, not by the whole act. Splitting keeps
training examples short and lets every example carry its citation. Each output Record has
``meta["article"]`` (``"86"``, digits even for ``第八十六条``), ``meta["article_label"]``
(``"Article 86"``), ``meta["heading"]``, ``meta["statute"]`` (the document's title),
``meta["chapter"]`` (the last Part/Chapter heading seen) and ``meta["split_from"]`` (the input id).

A line starts an article when it begins with an article marker and a number followed by the end
of the line or a separator (``Article 12 — Deposit``, ``Art. 12. The landlord ...``,
``§ 12``, ``Section 5:``, ``第十二条 当事人...``), optionally inside a Markdown heading or bold.
A sentence such as ``Article 12 applies to ...`` is a cross-reference, not a heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Cleaner
from kinject.records import Record, Rejected
from kinject_legal.numerals import ZH_NUMERAL_CHARS, int_to_zh, zh_to_int

_MARKUP = r"[ \t]*(?:#{1,6}[ \t]+)?(?:\*\*|__)?[ \t]*"
_ARTICLE_HEADING = re.compile(
    rf"^{_MARKUP}(?P<label>(?P<kw>Article|Art\.|Section|Sec\.|§)[ \t]*(?P<num>\d+[A-Za-z]?))"
    r"(?:\*\*|__)?[ \t]*(?P<rest>$|[.:—–-][ \t]*.*$)",
    re.MULTILINE | re.IGNORECASE,
)
_ZH_HEADING = re.compile(
    rf"^{_MARKUP}(?P<label>第(?P<num>\d+|[{ZH_NUMERAL_CHARS}]+)条)(?:\*\*|__)?(?P<rest>$|[ "
    r"\t　].*$)",
    re.MULTILINE,
)
_CHAPTER_HEADING = re.compile(
    rf"^{_MARKUP}(?P<title>(?:Part|Chapter|Book|Title|Division)[ \t]+(?-i:[\dIVXLC]+)\b.*"
    rf"|第[\d{ZH_NUMERAL_CHARS}]+[编章节].*)$",
    re.MULTILINE | re.IGNORECASE,
)
_TITLE = re.compile(r"^#[ \t]+(?P<title>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Article:
    """One provision found in a statute's text."""

    number: str
    label: str
    heading: str
    text: str
    start: int
    chapter: str


def _article_number(raw: str) -> str:
    return str(zh_to_int(raw)) if raw[0] in ZH_NUMERAL_CHARS else raw


def _canonical_label(keyword: str, number: str) -> str:
    key = keyword.lower().rstrip(".")
    if key in {"article", "art"}:
        return f"Article {number}"
    if key in {"section", "sec"}:
        return f"Section {number}"
    return f"§ {number}"


def statute_title(text: str) -> str:
    """The first Markdown ``# title`` line, else the first non-empty line."""
    match = _TITLE.search(text)
    if match:
        return match.group("title").strip()
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def find_articles(text: str) -> tuple[str, list[Article]]:
    """Split ``text`` at article headings: the preamble before the first one, and the articles.

    Part/Chapter headings are removed from the preamble and the article texts, and remembered as
    the chapter of the articles that follow them.
    """
    heads = sorted(
        [*_ARTICLE_HEADING.finditer(text), *_ZH_HEADING.finditer(text)], key=lambda m: m.start()
    )
    if not heads:
        return text, []
    chapters = list(_CHAPTER_HEADING.finditer(text))
    articles: list[Article] = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body, chapter = _strip_chapters(text, head.start(), end, chapters)
        number = _article_number(head.group("num"))
        kw = head.groupdict().get("kw")
        label = _canonical_label(kw, number) if kw else f"第{int_to_zh(int(number))}条"
        heading = head.group(0).strip().strip("#*_ ").strip()
        articles.append(Article(number, label, heading, body.strip(), head.start(), chapter))
    preamble, _ = _strip_chapters(text, 0, heads[0].start(), chapters)
    return preamble, articles


def _strip_chapters(
    text: str, start: int, end: int, chapters: list[re.Match[str]]
) -> tuple[str, str]:
    """Article text without chapter headings, and the chapter in force at ``start``."""
    current = ""
    for chapter in chapters:
        if chapter.start() < start:
            current = chapter.group("title").strip()
    body = text[start:end]
    inside = [c for c in chapters if start <= c.start() < end]
    for chapter in reversed(inside):
        body = body[: chapter.start() - start] + body[chapter.end() - start :]
    return body, current


class StatuteSplitter(Cleaner):
    """Splits a code or act into one Record per article, keeping article numbers in meta."""

    name = "statute-splitter"
    description = "split statutes into one record per article (Article/Section/§/第…条 headings)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        #: a document with fewer article headings than this passes through unchanged
        min_articles: int = Field(default=2, ge=1)
        #: start each article's text with the statute's title, so it names its own source
        prefix_title: bool = True
        #: keep the text before the first article (title, enactment clause) as its own Record
        keep_preamble: bool = True
        #: Record kinds to split; other kinds pass through
        kinds: list[str] = Field(default_factory=lambda: ["document"])

    opts: Options

    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        for record in records:
            if record.kind not in self.opts.kinds:
                yield record
                continue
            yield from self.split(record)

    def split(self, record: Record) -> Iterator[Record]:
        """The record's articles (and preamble) as new Records, or the record itself."""
        preamble, articles = find_articles(record.text)
        if len(articles) < self.opts.min_articles:
            yield record
            return
        title = statute_title(record.text)
        if self.opts.keep_preamble and preamble.strip() and preamble.strip() != f"# {title}":
            yield self._derive(record, preamble.strip(), title, {"article": None}, offset=0)
        for index, article in enumerate(articles):
            text = (
                f"{title}\n\n{article.text}" if self.opts.prefix_title and title else article.text
            )
            meta = {
                "article": article.number,
                "article_label": article.label,
                "heading": article.heading,
                "chapter": article.chapter,
                "article_index": index,
            }
            yield self._derive(record, text, title, meta, offset=article.start)

    def _derive(
        self, record: Record, text: str, title: str, meta: dict[str, object], offset: int
    ) -> Record:
        # the offset makes each piece's id (a hash that includes the source) distinct
        base = record.source.get("offset")
        source = {**record.source, "offset": (base if isinstance(base, int) else 0) + offset}
        meta = {**meta, "statute": title, "split_from": record.id}
        return record.derive(text, self.name, source=source, meta=meta)
