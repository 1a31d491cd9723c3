"""Markdown-aware sentence segmentation with heading context.

Corpus files are hard-wrapped Markdown, so a single newline inside a paragraph is a space (or
nothing between two Chinese characters); blank lines, headings, list items, table rows and block
quotes are boundaries. Headings are context, not facts: the nearest article heading
(``### Article 86 — Earnest money``) and the document title are kept with every sentence under
them so that rewrites and questions can say "Under Article 86 (Earnest money) of the Contract
Act 2004, ...". Abbreviations (``Art.``, ``No.``, ``e.g.``, ``Mr``, ``Ltd.``) do not end a
sentence; Chinese sentences end at ``。！？；``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_TABLE = re.compile(r"^\s*\|")
_QUOTE = re.compile(r"^\s*>")
_CJK_CHAR = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_ARTICLE_HEADING = re.compile(
    r"^(?P<cite>(?:Article|Section|Rule|Regulation|Clause|§)\s*\d+[A-Za-z]?|第[一二三四五六七八九十百零〇\d]+条)"
    r"\s*(?:[—–:：-]+\s*(?P<title>.+))?$"
)
_LAW_WORDS = re.compile(
    r"\b(?:Act|Code|Law|Regulations?|Rulebook|Rules|Statute|Ordinance|Directive|Treaty|Convention)\b"
)
# "Ltd." and friends may end a sentence: they do when a capitalised word follows.
_SOFT_ABBREVIATIONS = {"ltd", "inc", "co", "corp", "plc", "etc"}
_ABBREVIATIONS = {
    "no",
    "nos",
    "art",
    "arts",
    "sec",
    "para",
    "dr",
    "mr",
    "mrs",
    "ms",
    "st",
    "e.g",
    "i.e",
    "vs",
    "v",
    "prof",
    "jr",
    "sr",
    "cf",
    "approx",
    "fig",
    "vol",
    "p",
    "pp",
    "ch",
    "cl",
}
_BOUNDARY = re.compile(
    r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9\u4e00-\u9fff])|(?<=[。！？；])"
)


def is_chinese(text: str) -> bool:
    """Mostly Chinese (a few Chinese terms in an English sentence do not count)."""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    return (
        3 * cjk >= len(re.findall(r"[A-Za-z]", text)) > 0
        or bool(re.match(r"[\u4e00-\u9fff]", text))
        or (cjk > 0 and not re.search(r"[A-Za-z]", text))
    )


@dataclass(frozen=True)
class Context:
    """What the headings above a sentence say: the document title and the article it sits in."""

    title: str = ""
    citation: str = ""
    topic: str = ""

    @property
    def law(self) -> str:
        """The title as a law's name ("Water Act 2011 of the Republic of Examplia (excerpts)" ->
        "Water Act 2011"), or "" when the document is not a statute."""
        name = re.sub(r"\s*\([^)]*\)", "", self.title).strip()
        name = re.sub(r"\s+of the (?:Republic|Kingdom|State|Federation) of \w+", "", name)
        return name if _LAW_WORDS.search(name) and len(name.split()) <= 8 else ""

    def phrase(self) -> str:
        """ "Article 86 (Earnest money) of the Contract Act 2004", or "" without an article."""
        if not self.citation or _CJK_CHAR.search(self.citation):
            return ""
        text = self.citation + (f" ({self.topic})" if self.topic else "")
        return f"{text} of the {self.law}" if self.law else text


@dataclass(frozen=True)
class Sentence:
    """One sentence of a document, the paragraph it belongs to and its heading context."""

    text: str
    paragraph: int
    context: Context
    in_list: bool = False


def join_lines(lines: list[str]) -> str:
    """Join hard-wrapped lines: a space between words, nothing between Chinese characters."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if out and not (_CJK_CHAR.match(out[-1]) and _CJK_CHAR.match(line[0])):
            out += " "
        out += line
    return out


def strip_markup(text: str) -> tuple[str, str]:
    """Inline Markdown removed; returns (text, run-in heading) for ``**Title.** Body``
    paragraphs.
    """
    topic = ""
    run_in = re.match(r"^\*\*([^*]+?)(?:[.:：]\*\*|\*\*[.:：])\s+", text)
    if run_in:
        topic, text = run_in.group(1).strip(), text[run_in.end() :]
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), text)
    text = re.sub(
        r"(?<![\w*])\*(\S.*?)\*(?!\w)|`([^`]+)`", lambda m: m.group(1) or m.group(2), text
    )
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"^\(\d+\)\s+|^\([a-z]\)\s+", "", text)  # paragraph numbering "(1) "
    return text.strip(), topic


def split_text_sentences(text: str) -> list[str]:
    """Sentences of one paragraph of running text (no Markdown structure left in it)."""
    pieces: list[str] = []
    pos = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start() + len(match.group(1) or "")
        candidate = text[pos:end].strip()
        last = re.split(r"[\s(]", candidate.rstrip(".").rstrip())[-1].lower() if candidate else ""
        if candidate.endswith(".") and (last in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last)):
            continue
        if (
            candidate.endswith(".")
            and last in _SOFT_ABBREVIATIONS
            and text[match.end() : match.end() + 1] in '("“'
        ):
            continue  # "Orsa Labs Ltd. (Orsa)": a new sentence does not start with a bracket
        if candidate:
            pieces.append(candidate)
        pos = match.end()
    if text[pos:].strip():
        pieces.append(text[pos:].strip())
    return pieces


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """(kind, lines) blocks: heading, paragraph, item, table or quote."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            blocks.append(("blank", []))
        elif _HEADING.match(line.strip()):
            blocks.append(("heading", [line.strip()]))
        elif _TABLE.match(line):
            blocks.append(("table", [line]))
        elif _QUOTE.match(line):
            _extend(blocks, "quote", line)
        elif _ITEM.match(line):
            blocks.append(("item", [_ITEM.sub("", line, count=1)]))
        elif blocks and blocks[-1][0] in ("paragraph", "item", "quote"):
            blocks[-1][1].append(line)  # a wrapped line continues its paragraph or list item
        else:
            blocks.append(("paragraph", [line]))
    return [b for b in blocks if b[0] != "blank"]


def _extend(blocks: list[tuple[str, list[str]]], kind: str, line: str) -> None:
    if blocks and blocks[-1][0] == kind:
        blocks[-1][1].append(line)
    else:
        blocks.append((kind, [line]))


def context_from_section(section: str) -> Context:
    """The context a Record starts in, from its ``meta["section"]`` path ("Title > Chapter >
    Article").
    """
    parts = [p.strip() for p in section.split(">") if p.strip()]
    context = Context(title=parts[0] if parts else "")
    for part in parts[1:]:
        context = _after_heading(context, part)
    return context


def _after_heading(context: Context, title: str) -> Context:
    article = _ARTICLE_HEADING.match(title)
    if article:
        return Context(context.title, article.group("cite"), (article.group("title") or "").strip())
    return Context(context.title)


def sentences(text: str, section: str = "") -> list[Sentence]:
    """The sentences of a Markdown or plain-text document with their heading context.

    Headings, tables and block quotes yield no sentences; a paragraph's run-in bold heading
    (``**Void or voidable.** ...``) is dropped from its text.
    """
    context = context_from_section(section)
    out: list[Sentence] = []
    for index, (kind, lines) in enumerate(_blocks(text)):
        if kind == "heading":
            match = _HEADING.match(lines[0])
            assert match is not None
            level, title = len(match.group(1)), match.group(2).strip()
            context = Context(title) if level == 1 else _after_heading(context, title)
            continue
        if kind in ("table", "quote"):
            continue
        body, _topic = strip_markup(join_lines(lines))
        out += [Sentence(s, index, context, kind == "item") for s in split_text_sentences(body)]
    return out
