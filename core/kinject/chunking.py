"""Cutting long records into passages that fit the trainer's length in tokens (the chunk stage's work).

Structure first: a record is cut at headings, then between paragraphs and markdown tables, then
between sentences, then between words; never inside a word (so never inside a number) and never
inside a table row. A table longer than one passage is split by rows, its header repeated at the
top of every part. Neighbouring passages of running text share up to ``overlap`` tokens of whole
sentences.

Every passage is an exact slice of its record's text: ``meta['chunk']`` holds ``start``/``end``
(character offsets into the record), ``overlap`` (characters shared with the passage before) and
``header`` (characters of a repeated table header put in front of the slice). The document title
and the section heading go in ``meta['title']``/``meta['section']``; :func:`passage_text` puts
them in front of the text as one short line, and the token budget counts that line. The source
keeps its uri and page, with the passage's ``offset`` and ``length`` added.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kinject.records import Record

CountTokens = Callable[[str], int]

#: record kinds the chunker cuts (others, e.g. QA pairs, pass through unchanged)
TEXT_KINDS = ("document", "passage")

_HEADING = re.compile(r"^#{1,6}\s+(?P<title>\S.*?)\s*#*\s*$")
_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])[\"'”’)\]]*\s+")
_SPACE = re.compile(r"\s+")


def passage_text(record: Record) -> str:
    """The text a model trains on (or retrieves) for a passage: a title line, then the text."""
    head = heading_line(record.meta) if record.meta.get("title_line", True) else ""
    return f"{head}\n{record.text}" if head else record.text


def heading_line(meta: dict[str, Any]) -> str:
    """``title — section`` from a record's meta (either part may be missing)."""
    title = str(meta.get("title") or "").strip()
    section = str(meta.get("section") or "").strip()
    if section and title and section.lower().startswith(title.lower()):
        title = ""
    return " — ".join(p for p in (title, section) if p)


def document_title(record: Record) -> str:
    """The record's title: ``meta['title']``, else the file name without its extension."""
    title = str(record.meta.get("title") or "").strip()
    if title:
        return title
    uri = str(record.source.get("uri") or "")
    stem = Path(uri.split("?", 1)[0].split("#", 1)[0]).stem if uri else ""
    return " ".join(stem.replace("_", " ").replace("-", " ").split())


# -- units: the pieces a passage is made of ---------------------------------------------------


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
        if last is not None and last.kind == kind != "heading" and text[last.end:start].count("\n") <= 1:
            last.end = end
        else:
            heading = _HEADING.match(body)
            blocks.append(_Block(start, end, kind, heading.group("title") if heading else ""))
    return blocks


def _spans(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """``text[start:end]`` cut after each match of ``pattern`` (the separator stays with the left part)."""
    cuts = [m.end() for m in pattern.finditer(text[start:end])]
    bounds = [start] + [start + c for c in cuts if 0 < c < end - start] + [end]
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        piece = text[a:b]
        if piece.strip():  # units hold no surrounding whitespace: passages neither start nor end in it
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

    def _unit(self, text: str, start: int, end: int, kind: str, table: int = -1, title: str = "") -> Unit:
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
            if self.count(text[run_start:run_end]) > self.budget:  # one "word" longer than a passage
                out += self._hard_cut(text, run_start, run_end)
                run_start = run_end
        if run_end > run_start:
            out.append(self._unit(text, run_start, run_end, "text"))
        return out

    def _hard_cut(self, text: str, start: int, end: int) -> list[Unit]:
        """Characters of one over-long token run (a hash, a URL): the only place text is cut mid-word."""
        out: list[Unit] = []
        while start < end:
            size = end - start
            while size > 1 and self.count(text[start:start + size]) > self.budget:
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
        has_rule = len(lines) > 1 and _TABLE_RULE.match(text[lines[1][0]:lines[1][1]])
        head_end = lines[1][1] if has_rule else lines[0][1]
        header = self._unit(text, block.start, head_end, "header", index)
        # a header taking over half a passage is not repeated: the rows need the room
        repeat = header.tokens * 2 <= self.budget
        rows = [self._unit(text, a, b, "row", index if repeat else -1) for a, b in lines[2 if has_rule else 1:]]
        room = self.budget - header.tokens - 1 if repeat else self.budget
        out = [header] if header.tokens <= self.budget else self._cells(text, header, self.budget)
        for row in rows:
            out += [row] if row.tokens <= room else self._cells(text, row, room)
        return out

    def _cells(self, text: str, row: Unit, room: int) -> list[Unit]:
        """A row longer than a passage (rare): whole cells, as few parts as fit."""
        bounds = [row.start] + [row.start + i + 1 for i, ch in enumerate(text[row.start:row.end]) if ch == "|"][:-1]
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
            return [u for u in out for u in ([u] if u.tokens <= self.budget else self._hard_cut(text, u.start, u.end))]
        finally:
            self.budget = saved


def _outside_number(text: str, start: int, size: int) -> int:
    """``size`` moved back so the cut at ``start + size`` is not inside a number (when it can be)."""
    back = start + size
    while start + 1 < back < len(text) and _in_number(text, back):
        back -= 1
    return size if back < len(text) and _in_number(text, back) else back - start


def _in_number(text: str, i: int) -> bool:
    left, right = text[i - 1], text[i]
    return (left.isdigit() and (right.isdigit() or right in ",.")) or (left in ",." and right.isdigit())


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, pos = [], start
    for line in text[start:end].split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line.rstrip("\r"))))
        pos += len(line) + 1
    return spans


# -- packing units into passages ----------------------------------------------------------------


@dataclass
class Passage:
    """One passage: ``text[start:end]`` of the record, maybe after a repeated table header."""

    start: int
    end: int
    overlap: int = 0
    header: str = ""
    section: str = ""


@dataclass
class Chunker:
    """Cut records into passages of at most ``max_tokens`` tokens (title line included).

    ``count`` counts tokens of the base model's tokenizer; ``max_tokens`` is the trainer's length
    less its special tokens. ``overlap`` tokens of whole sentences are repeated between passages.
    """

    count: CountTokens
    max_tokens: int
    overlap: int = 0
    title: bool = True
    stats: dict[str, int] = field(default_factory=dict)

    def chunk(self, record: Record) -> list[Record]:
        """The record itself when it fits, else its passages (new ids, lineage ``chunk``)."""
        meta = self._meta(record)
        budget = self.max_tokens - self._prefix_tokens(record, meta)
        if budget < self.max_tokens // 2 and record.meta.get("section"):
            meta["section"] = ""  # a heading line longer than half a passage is dropped, not the text
            budget = self.max_tokens - self._prefix_tokens(record, meta)
        if budget < 8:
            raise ValueError(f"chunk.max_tokens={self.max_tokens} leaves no room after the title line")
        text = record.text
        if self.count(text) <= budget:
            self._tally("records_whole", 1)
            return [replace(record, meta={**record.meta, **meta})]
        passages = self.passages(text, budget)
        self._tally("records_split", 1)
        self._tally("passages", len(passages))
        return [self._record(record, meta, p, len(passages), i) for i, p in enumerate(passages)]

    def passages(self, text: str, budget: int) -> list[Passage]:
        """Pack the units of ``text`` into passages of at most ``budget`` tokens."""
        units = Splitter(self.count, budget).units(text)
        headers = {u.table: u for u in units if u.kind == "header"}
        out: list[Passage] = []
        current: list[Unit] = []
        section = ""
        for unit in units:
            if unit.kind == "heading" and _has_body(current):
                done, current = _trailing_headings(current)
                out.append(self._close(text, done, headers, section))
            if unit.kind == "heading":
                section = unit.title
            candidate = [*current, unit]
            if current and self._tokens(text, candidate, headers, budget) > budget:
                done, tail = _trailing_headings(current)
                if done:
                    out.append(self._close(text, done, headers, section))
                current = tail or self._carry(text, done, unit, headers, budget)
                candidate = [*current, unit]
                if tail and self._tokens(text, candidate, headers, budget) > budget:
                    out.append(self._close(text, tail, headers, section))  # headings that fit nowhere else
                    candidate = [unit]
            current = candidate
        if current:
            out.append(self._close(text, current, headers, section))
        return [p for p in out if p.end > p.start]

    def _tokens(self, text: str, units: list[Unit], headers: dict[int, Unit], budget: int) -> int:
        # an estimate first (cheap); the real count only when the estimate is near the budget
        header = _header_for(units, headers)
        # +1 a unit: the space or newline between units is a token of its own
        estimate = sum(u.tokens + 1 for u in units) + (header.tokens + 1 if header else 0)
        if estimate * 10 < budget * 8:
            return estimate
        body = text[units[0].start:units[-1].end]
        return self.count((text[header.start:header.end] + "\n" if header else "") + body)

    def _carry(self, text: str, previous: list[Unit], nxt: Unit, headers: dict[int, Unit], budget: int) -> list[Unit]:
        """Trailing sentences of the last passage to repeat (up to ``overlap`` tokens)."""
        if self.overlap <= 0 or nxt.kind != "text":
            return []
        carried: list[Unit] = []
        total = 0
        for unit in reversed(previous):
            if unit.kind != "text" or total + unit.tokens > self.overlap:
                break
            carried.insert(0, unit)
            total += unit.tokens
        if len(carried) == len(previous) or (carried and self._tokens(text, [*carried, nxt], headers, budget) > budget):
            return []
        return carried

    def _close(self, text: str, units: list[Unit], headers: dict[int, Unit], section: str) -> Passage:
        header = _header_for(units, headers)
        head = text[header.start:header.end] + "\n" if header else ""
        first_title = next((u.title for u in units if u.kind == "heading"), "")
        return Passage(units[0].start, units[-1].end, header=head, section=first_title or section)

    def _record(self, record: Record, meta: dict[str, Any], passage: Passage, count: int, index: int) -> Record:
        offset = int(record.source.get("offset") or 0)
        source = {**record.source, "offset": offset + passage.start, "length": passage.end - passage.start}
        info = {"index": index, "of": count, "start": passage.start, "end": passage.end, "header": len(passage.header)}
        section = meta.get("section") or passage.section
        extra = {**meta, "chunk": info, **({"section": section} if section else {})}
        made = record.derive(passage.header + record.text[passage.start:passage.end], "chunk", source=source, meta=extra)
        if section and self.count(passage_text(made)) > self.max_tokens:
            made.meta.pop("section")  # a heading too long for the room kept for it
        return made

    def _meta(self, record: Record) -> dict[str, Any]:
        if not self.title:
            return {"title_line": False}
        title = document_title(record)
        return {"title": title} if title else {}

    def _prefix_tokens(self, record: Record, meta: dict[str, Any]) -> int:
        line = heading_line({**record.meta, **meta}) if self.title else ""
        # a section found inside the record is only known per passage: keep room for a short one
        reserve = 12 if self.title and not record.meta.get("section") else 0
        return (self.count(line + "\n") if line else 0) + reserve

    def _tally(self, key: str, n: int) -> None:
        self.stats[key] = self.stats.get(key, 0) + n


def _has_body(units: list[Unit]) -> bool:
    return any(u.kind != "heading" for u in units)


def _trailing_headings(units: list[Unit]) -> tuple[list[Unit], list[Unit]]:
    """Split off the headings at the end: a heading goes with the text under it (the next passage)."""
    cut = len(units)
    while cut > 0 and units[cut - 1].kind == "heading":
        cut -= 1
    return units[:cut], units[cut:]


def _header_for(units: list[Unit], headers: dict[int, Unit]) -> Unit | None:
    """The table header to repeat when a passage opens with rows of a split table."""
    first = units[0] if units else None
    if first is None or first.kind != "row":
        return None
    return headers.get(first.table)


def set_overlaps(passages: list[Record]) -> None:
    """Record in ``meta['chunk']['overlap']`` how many characters each passage repeats."""
    for prev, cur in zip(passages, passages[1:], strict=False):
        a, b = prev.meta.get("chunk"), cur.meta.get("chunk")
        if a and b:
            b["overlap"] = max(0, a["end"] - b["start"])


def chunk_records(records: Iterable[Record], chunker: Chunker) -> Iterator[Record]:
    """Every text record cut to size (other kinds unchanged), in corpus order."""
    for record in records:
        if record.kind not in TEXT_KINDS or not record.text.strip():
            yield record
            continue
        passages = chunker.chunk(record)
        set_overlaps(passages)
        yield from passages
