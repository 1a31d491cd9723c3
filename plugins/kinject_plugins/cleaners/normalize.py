"""``normalize``: the safe first cleaner — Unicode, control characters, whitespace, punctuation,
PDF hyphenation, and headers/footers repeated across the pages of one document."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Cleaner
from kinject.records import Record, Rejected

#: meta fields holding text of QA and preference Records, cleaned like ``text``
TEXT_META_FIELDS = ("question", "answer", "prompt", "chosen", "rejected")

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# ASCII punctuation that reads as full-width inside CJK text (dots are left alone: 3.5万).
_TO_FULL = {",": "，", "!": "！", "?": "？", ":": "：", ";": "；", "(": "（", ")": "）"}
_FULL_PUNCT = set(_TO_FULL.values())
_KEEP_CHARS = {"\n", "\t"}
_HYPHEN_BREAK = re.compile(r"([^\W\d_])-[ \t]*\n[ \t]*([a-z])")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_DIGITS = re.compile(r"\d+")


class NormalizeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Unicode normal form (NFKC folds full-width ASCII, ligatures, circled digits)
    form: Literal["NFKC", "NFC", "none"] = "NFKC"
    #: in CJK text, punctuation is full-width (，。); elsewhere ASCII
    cjk_punctuation: Literal["fullwidth", "ascii", "keep"] = "fullwidth"
    #: join words broken across lines by a hyphen ("knowl-\nedge" -> "knowledge")
    dehyphenate: bool = True
    #: remove lines repeated on many pages of one document (records sharing ``source.uri``)
    strip_headers: bool = True
    #: a first/last line is a header/footer when it repeats on at least this share of pages
    header_min_share: float = Field(default=0.5, gt=0, le=1)
    #: ...and on at least this many pages
    header_min_pages: int = Field(default=3, ge=2)
    #: how many lines at the top and bottom of a page are header/footer candidates
    header_lines: int = Field(default=2, ge=1)


def _strip_control(text: str) -> str:
    # Cc (controls) and Cf (zero-width, BOM, soft hyphen) carry no text; keep newlines and tabs.
    return "".join(
        ch
        for ch in text
        if ch in _KEEP_CHARS or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )


def _protect_fullwidth(text: str) -> str:
    """NFKC would turn ，into , — keep full-width punctuation that touches CJK characters."""
    out = []
    for i, ch in enumerate(text):
        if ch in _FULL_PUNCT and _touches_cjk(text, i):
            out.append(ch)
        else:
            out.append(unicodedata.normalize("NFKC", ch))
    return "".join(out)


def _touches_cjk(text: str, i: int) -> bool:
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    return bool(_CJK_CHAR.match(prev) or _CJK_CHAR.match(nxt))


def _cjk_punct(text: str, mode: str) -> str:
    chars = list(text)
    for i, ch in enumerate(chars):
        if mode == "fullwidth" and ch in _TO_FULL and _touches_cjk(text, i):
            chars[i] = _TO_FULL[ch]
    return "".join(chars)


def _whitespace(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def normalize_text(text: str, opts: NormalizeOptions | None = None) -> str:
    """Normalise one string (idempotent: normalising twice changes nothing)."""
    opts = opts or NormalizeOptions()
    # Run to a fixed point: removing a control character can join two combining characters
    # that NFKC then composes, so one pass is not always stable. Two passes suffice in practice.
    for _ in range(4):
        new = _normalize_once(text, opts)
        if new == text:
            break
        text = new
    return text


def _normalize_once(text: str, opts: NormalizeOptions) -> str:
    text = _strip_control(text.replace("\r\n", "\n").replace("\r", "\n"))
    if opts.form == "NFKC":
        text = (
            _protect_fullwidth(text)
            if opts.cjk_punctuation == "fullwidth"
            else unicodedata.normalize("NFKC", text)
        )
    elif opts.form == "NFC":
        text = unicodedata.normalize("NFC", text)
    text = _strip_control(text)
    if opts.dehyphenate:
        text = _HYPHEN_BREAK.sub(r"\1\2", text)
    text = _whitespace(text)
    if opts.cjk_punctuation != "keep":
        text = _cjk_punct(text, opts.cjk_punctuation)
    return text


def _line_key(line: str) -> str:
    # Page numbers change from page to page: "Page 3 of 10" and "Page 4 of 10" are one footer.
    return _DIGITS.sub("#", line.strip().casefold())


def repeated_lines(pages: list[str], opts: NormalizeOptions) -> set[str]:
    """Keys of lines that open or close at least ``header_min_share`` of the pages."""
    if len(pages) < opts.header_min_pages:
        return set()
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [ln for ln in page.split("\n") if ln.strip()]
        k = _edge_size(len(lines), opts)
        edge = lines[:k] + lines[-k:] if k else []
        counts.update({_line_key(ln) for ln in edge})
    need = max(opts.header_min_pages, opts.header_min_share * len(pages))
    return {key for key, n in counts.items() if n >= need and key}


def _edge_size(n_lines: int, opts: NormalizeOptions) -> int:
    # On a short page the "top two lines" would be body text: look at most at a third of it.
    return min(opts.header_lines, n_lines // 3) if n_lines >= 3 else 0


def strip_repeated(page: str, keys: set[str], opts: NormalizeOptions) -> str:
    """Remove header/footer lines (by key) from the top and bottom of one page."""
    lines = page.split("\n")
    k = _edge_size(sum(1 for ln in lines if ln.strip()), opts)
    for _ in range(k):
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines and _line_key(lines[0]) in keys:
            lines.pop(0)
    for _ in range(k):
        while lines and not lines[-1].strip():
            lines.pop()
        if lines and _line_key(lines[-1]) in keys:
            lines.pop()
    return "\n".join(lines).strip()


class Normalize(Cleaner):
    """Unicode NFKC, control characters, whitespace, CJK punctuation, PDF hyphenation, and
    headers/footers repeated across the pages of one document. Drops only Records left empty
    (reason ``empty``)."""

    name = "normalize"
    description = "NFKC, control characters, whitespace, CJK punctuation, hyphenation, page headers"
    Options = NormalizeOptions
    opts: NormalizeOptions

    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        # Pages of one document arrive together; hold one document's pages at a time.
        group: list[Record] = []
        for record in records:
            if group and not self._same_document(group[-1], record):
                yield from self._flush(group)
                group = []
            group.append(record)
        yield from self._flush(group)

    @staticmethod
    def _same_document(a: Record, b: Record) -> bool:
        uri = a.source.get("uri")
        return (
            bool(uri) and uri == b.source.get("uri") and "page" in a.source and "page" in b.source
        )

    def _flush(self, group: list[Record]) -> Iterator[Record | Rejected]:
        texts = [normalize_text(r.text, self.opts) for r in group]
        keys = (
            repeated_lines(texts, self.opts)
            if self.opts.strip_headers and len(group) > 1
            else set()
        )
        for record, text in zip(group, texts, strict=True):
            removed = 0
            if keys:
                stripped = strip_repeated(text, keys, self.opts)
                removed = text.count("\n") - stripped.count("\n") if stripped != text else 0
                text = stripped
            yield self._finish(record, text, removed)

    def _finish(self, record: Record, text: str, headers_removed: int) -> Record | Rejected:
        meta_changes = {
            key: normalize_text(value, self.opts)
            for key in TEXT_META_FIELDS
            if isinstance(value := record.meta.get(key), str)
        }
        if not text.strip() and not any(meta_changes.values()):
            return Rejected(
                record, "empty", plugin=self.name, detail="no text left after normalisation"
            )
        if text == record.text and all(record.meta.get(k) == v for k, v in meta_changes.items()):
            return record
        cleaned = record.with_text(text, self.name)
        cleaned.meta = {**record.meta, **meta_changes}
        if headers_removed:
            cleaned.meta["headers_removed"] = headers_removed
        return cleaned
