"""The pieces a passage is made of: a record's headings, running text, tables and table rows.

:class:`Splitter` cuts a record's text into :class:`Unit` spans of at most ``budget`` tokens,
structure first: headings, paragraphs and markdown tables (:func:`split_blocks`), then sentences,
then whole words, and only a single over-long token run (a hash, a URL) is cut mid-word, never
inside a number. A table longer than the budget is cut by rows (and a row by cells), each row
marked with its table so the packer can repeat the header. :mod:`kinject.chunking` packs the
units into passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

CountTokens = Callable[[str], int]

_HEADING = re.compile(r"^#{1,6}\s+(?P<title>\S.*?)\s*#*\s*$")
_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])[\"'”’)\]]*\s+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Unit:
    """``text[start:end]`` of a record: a heading, running text, a table header or a table row."""

    start: int
    end: int
    kind: str  # heading | text | table | header | row
    tokens: int
    #: index of the table a header/row belongs to (rows repeat that table's header when split)
    table: int = -1
    title: str = ""


@dataclass
class _Block:
    start: int
    end: int
    kind: str  # heading | text | table
    title: str = ""


def split_blocks(text: str) -> list[_Block]:
    """Headings (markdown ``#``), markdown tables and paragraphs, in order, as character spans."""
    blocks: list[_Block] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        start, body = pos, line.rstrip("\r\n")
        pos += len(line)
        if not body.strip():
            continue
        kind = "table" if _TABLE_LINE.match(body) else "heading" if _HEADING.match(body) else "text"
        end = start + len(body)
        last = blocks[-1] if blocks else None
        # lines of one kind with no blank line between them are one paragraph (or one table)
        if (
            last is not None
            and last.kind == kind != "heading"
            and text[last.end : start].count("\n") <= 1
        ):
            last.end = end
        else:
            heading = _HEADING.match(body)
            blocks.append(_Block(start, end, kind, heading.group("title") if heading else ""))
    return blocks


def _spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """``text[start:end]`` cut after each match of ``pattern`` (the separator stays with the left
    part).
    """
    cuts = [m.end() for m in pattern.finditer(text[start:end])]
    bounds = [start] + [start + c for c in cuts if 0 < c < end - start] + [end]
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        piece = text[a:b]
        # units hold no surrounding whitespace: passages neither start nor end in it
        if piece.strip():
            out.append((a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())))
    return out


@dataclass
class Splitter:
    """Cuts text into units of at most ``budget`` tokens each, structure first."""

    count: CountTokens
    budget: int
    tables: int = 0

    def units(self, text: str) -> list[Unit]:
        out: list[Unit] = []
        for block in split_blocks(text):
            if block.kind == "table":
                out += self._table(text, block)
            elif block.kind == "heading":
                out.append(self._unit(text, block.start, block.end, "heading", title=block.title))
            else:
                out += self._text(text, block.start, block.end)
        return out

    def _unit(
        self, text: str, start: int, end: int, kind: str, table: int = -1, title: str = ""
    ) -> Unit:
        return Unit(start, end, kind, self.count(text[start:end]), table, title)

    def _text(self, text: str, start: int, end: int) -> list[Unit]:
        whole = self._unit(text, start, end, "text")
        if whole.tokens <= self.budget:
            return [whole]
        out: list[Unit] = []
        for a, b in _spans(text, start, end, _SENTENCE_END):
            sentence = self._unit(text, a, b, "text")
            out += [sentence] if sentence.tokens <= self.budget else self._words(text, a, b)
        return out

    def _words(self, text: str, start: int, end: int) -> list[Unit]:
        """A sentence too long for one passage: runs of whole words that fit."""
        out: list[Unit] = []
        words = _spans(text, start, end, _SPACE)
        run_start = words[0][0]
        run_end = run_start
        for a, b in words:
            if run_end > run_start and self.count(text[run_start:b]) > self.budget:
                out.append(self._unit(text, run_start, run_end, "text"))
                run_start = a
            run_end = b
            # one "word" longer than a passage
            if self.count(text[run_start:run_end]) > self.budget:
                out += self._hard_cut(text, run_start, run_end)
                run_start = run_end
        if run_end > run_start:
            out.append(self._unit(text, run_start, run_end, "text"))
        return out

    def _hard_cut(self, text: str, start: int, end: int) -> list[Unit]:
        """Characters of one over-long token run (a hash, a URL): the only place text is cut
        mid-word.
        """
        out: list[Unit] = []
        while start < end:
            size = end - start
            while size > 1 and self.count(text[start : start + size]) > self.budget:
                size = max(1, size * 3 // 4)
            size = _outside_number(text, start, size)
            out.append(self._unit(text, start, start + size, "text"))
            start += size
        return out

    def _table(self, text: str, block: _Block) -> list[Unit]:
        whole = self._unit(text, block.start, block.end, "table")
        if whole.tokens <= self.budget:
            return [whole]
        index, self.tables = self.tables, self.tables + 1
        lines = _line_spans(text, block.start, block.end)
        has_rule = len(lines) > 1 and _TABLE_RULE.match(text[lines[1][0] : lines[1][1]])
        head_end = lines[1][1] if has_rule else lines[0][1]
        header = self._unit(text, block.start, head_end, "header", index)
        # a header taking over half a passage is not repeated: the rows need the room
        repeat = header.tokens * 2 <= self.budget
        rows = [
            self._unit(text, a, b, "row", index if repeat else -1)
            for a, b in lines[2 if has_rule else 1 :]
        ]
        room = self.budget - header.tokens - 1 if repeat else self.budget
        out = [header] if header.tokens <= self.budget else self._cells(text, header, self.budget)
        for row in rows:
            out += [row] if row.tokens <= room else self._cells(text, row, room)
        return out

    def _cells(self, text: str, row: Unit, room: int) -> list[Unit]:
        """A row longer than a passage (rare): whole cells, as few parts as fit."""
        bounds = [row.start] + [
            row.start + i + 1 for i, ch in enumerate(text[row.start : row.end]) if ch == "|"
        ][:-1]
        bounds = sorted(set(bounds)) + [row.end]
        saved, self.budget = self.budget, max(room, 1)
        try:
            out: list[Unit] = []
            part = bounds[0]
            for prev, cut in zip(bounds, bounds[1:], strict=False):
                if cut > part and prev > part and self.count(text[part:cut]) > self.budget:
                    out.append(self._unit(text, part, prev, "row", row.table))
                    part = prev
            out.append(self._unit(text, part, row.end, "row", row.table))
            return [
                u
                for u in out
                for u in ([u] if u.tokens <= self.budget else self._hard_cut(text, u.start, u.end))
            ]
        finally:
            self.budget = saved


def _outside_number(text: str, start: int, size: int) -> int:
    """``size`` moved back so the cut at ``start + size`` is not inside a number (when it can
    be).
    """
    back = start + size
    while start + 1 < back < len(text) and _in_number(text, back):
        back -= 1
    return size if back < len(text) and _in_number(text, back) else back - start


def _in_number(text: str, i: int) -> bool:
    left, right = text[i - 1], text[i]
    return (left.isdigit() and (right.isdigit() or right in ",.")) or (
        left in ",." and right.isdigit()
    )


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, pos = [], start
    for line in text[start:end].split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line.rstrip("\r"))))
        pos += len(line) + 1
    return spans
