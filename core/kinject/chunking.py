"""Cutting long records into passages that fit the trainer's length in tokens (the chunk stage's
work).

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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kinject.chunk_units import CountTokens, Splitter, Unit
from kinject.records import Record

#: record kinds the chunker cuts (others, e.g. QA pairs, pass through unchanged)
TEXT_KINDS = ("document", "passage")


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
            # a heading line longer than half a passage is dropped, not the text
            meta["section"] = ""
            budget = self.max_tokens - self._prefix_tokens(record, meta)
        if budget < 8:
            raise ValueError(
                f"chunk.max_tokens={self.max_tokens} leaves no room after the title line"
            )
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
                    # headings that fit nowhere else
                    out.append(self._close(text, tail, headers, section))
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
        body = text[units[0].start : units[-1].end]
        return self.count((text[header.start : header.end] + "\n" if header else "") + body)

    def _carry(
        self, text: str, previous: list[Unit], nxt: Unit, headers: dict[int, Unit], budget: int
    ) -> list[Unit]:
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
        if len(carried) == len(previous) or (
            carried and self._tokens(text, [*carried, nxt], headers, budget) > budget
        ):
            return []
        return carried

    def _close(
        self, text: str, units: list[Unit], headers: dict[int, Unit], section: str
    ) -> Passage:
        header = _header_for(units, headers)
        head = text[header.start : header.end] + "\n" if header else ""
        first_title = next((u.title for u in units if u.kind == "heading"), "")
        return Passage(units[0].start, units[-1].end, header=head, section=first_title or section)

    def _record(
        self, record: Record, meta: dict[str, Any], passage: Passage, count: int, index: int
    ) -> Record:
        offset = int(record.source.get("offset") or 0)
        source = {
            **record.source,
            "offset": offset + passage.start,
            "length": passage.end - passage.start,
        }
        info = {
            "index": index,
            "of": count,
            "start": passage.start,
            "end": passage.end,
            "header": len(passage.header),
        }
        section = meta.get("section") or passage.section
        extra = {**meta, "chunk": info, **({"section": section} if section else {})}
        made = record.derive(
            passage.header + record.text[passage.start : passage.end],
            "chunk",
            source=source,
            meta=extra,
        )
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
    """Split off the headings at the end: a heading goes with the text under it (the next
    passage).
    """
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
