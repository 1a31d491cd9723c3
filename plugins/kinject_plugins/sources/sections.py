"""Split long text into sections and chunks with character offsets; render tables as markdown.

Chunks are exact slices of the text they come from, so ``source['offset']`` and
``source['length']`` point at the characters a Record holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？;；])\s+")
_RST_LEVELS = "=-~^\"'`#*+:."


@dataclass
class Block:
    """A paragraph or a heading: ``text[start:end]`` of the document; ``level`` 0 is body text."""

    start: int
    end: int
    level: int = 0
    title: str = ""


@dataclass
class Chunk:
    """A slice of the document and the headings above it."""

    start: int
    end: int
    titles: list[str] = field(default_factory=list)


def split_blocks(text: str) -> list[Block]:
    """Paragraphs (separated by blank lines) and headings (markdown ``#`` or rst underlines)."""
    blocks: list[Block] = []
    pos = 0
    for match in [*_BLANK_LINES.finditer(text), None]:
        end = match.start() if match else len(text)
        blocks += _blocks_in_paragraph(text, pos, end)
        pos = match.end() if match else len(text)
    return blocks


def _blocks_in_paragraph(text: str, start: int, end: int) -> list[Block]:
    """A paragraph may open with a heading line; split it off so sections start there."""
    para = text[start:end]
    if not para.strip():
        return []
    first_nl = para.find("\n")
    first = para if first_nl < 0 else para[:first_nl]
    heading = _MD_HEADING.match(first.strip())
    if heading:
        head = Block(start, start + len(first), len(heading.group(1)), heading.group(2))
        rest = start + len(first) + 1
        return [head, *_blocks_in_paragraph(text, rest, end)] if rest < end else [head]
    lines = para.split("\n")
    if (
        len(lines) >= 2
        and first.strip()
        and _RST_UNDERLINE.match(lines[1])
        and len(lines[1].strip()) >= len(first.strip())
    ):
        head_end = start + len(first) + 1 + len(lines[1])
        level = _RST_LEVELS.index(lines[1].strip()[0]) + 1
        head = Block(start, head_end, level, first.strip())
        return (
            [head, *_blocks_in_paragraph(text, head_end + 1, end)] if head_end + 1 < end else [head]
        )
    return [Block(start, end)]


def chunk_text(text: str, max_chars: int = 2000, split: str = "section") -> list[Chunk]:
    """Chunks of ``text``: one per section (``section``), per paragraph, or one (``none``).

    Sections and paragraphs longer than ``max_chars`` are cut at paragraph, then sentence
    boundaries; a sentence longer than ``max_chars`` is cut hard.
    """
    if split == "none":
        stripped = _strip_span(text, 0, len(text))
        return [Chunk(*stripped)] if stripped else []
    chunks: list[Chunk] = []
    titles: list[tuple[int, str]] = []
    current: list[Block] = []

    def flush() -> None:
        # a heading with no text under it is not worth a Record; its title lives on in meta
        if any(not b.level for b in current):
            chunks.extend(_pack(text, current, max_chars, [t for _, t in titles]))
            current.clear()

    for block in split_blocks(text):
        if block.level:
            flush()
            titles[:] = [(lvl, t) for lvl, t in titles if lvl < block.level] + [
                (block.level, block.title)
            ]
            current.append(block)
        elif split == "paragraph":
            current.append(block)
            flush()
        else:
            current.append(block)
    flush()
    return chunks


def _pack(text: str, blocks: list[Block], max_chars: int, titles: list[str]) -> list[Chunk]:
    chunks: list[Chunk] = []
    start, end = blocks[0].start, blocks[0].start
    heading_only = False
    for block in blocks:
        # a heading stays with the text that follows it
        if block.end - start > max_chars and end > start and not heading_only:
            chunks.append(Chunk(start, end, titles))
            start = block.start
        if block.end - start > max_chars:
            pieces = _cut(text, start, block.end, max_chars)
            chunks += [Chunk(s, e, titles) for s, e in pieces[:-1]]
            start = pieces[-1][0]
        end = block.end
        heading_only = bool(block.level) and (heading_only or start == block.start)
    if end > start:
        chunks.append(Chunk(start, end, titles))
    return [Chunk(*span, c.titles) for c in chunks if (span := _strip_span(text, c.start, c.end))]


def _cut(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` at sentence ends (hard cuts where a sentence is too long)."""
    bounds = [start] + [start + m.end() for m in _SENTENCE_END.finditer(text[start:end])] + [end]
    pieces: list[tuple[int, int]] = []
    piece_start = start
    for prev, cut in zip(bounds, bounds[1:], strict=False):
        if cut - piece_start > max_chars and prev > piece_start:
            pieces.append((piece_start, prev))
            piece_start = prev
        while cut - piece_start > max_chars:
            split_at = _word_cut(text, piece_start, max_chars)
            pieces.append((piece_start, split_at))
            piece_start = split_at
    pieces.append((piece_start, end))
    return pieces


def _word_cut(text: str, start: int, max_chars: int) -> int:
    """Where to cut a too-long sentence: the last space in the window, else a hard cut."""
    space = max(
        text.rfind(" ", start, start + max_chars), text.rfind("\n", start, start + max_chars)
    )
    return space + 1 if space > start + max_chars // 2 else start + max_chars


def _strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    return (start + lead, end - trail) if end - trail > start + lead else None


def markdown_table(rows: Sequence[Sequence[object | None]]) -> str:
    """A table as GitHub markdown; the first row is the header, empty cells stay empty."""
    cleaned = [[_cell(c) for c in row] for row in rows if any(_cell(c) for c in row)]
    if not cleaned:
        return ""
    width = max(len(r) for r in cleaned)
    cleaned = [r + [""] * (width - len(r)) for r in cleaned]
    lines = [_row(cleaned[0]), _row(["---"] * width), *(_row(r) for r in cleaned[1:])]
    return "\n".join(lines)


def _cell(value: object | None) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text.replace("|", "\\|")


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"
