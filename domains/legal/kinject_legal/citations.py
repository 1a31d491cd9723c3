"""The ``legal-citations`` cleaner: one spelling per statute and case citation.

Legal text cites the same provision many ways (``art 12``, ``Art.12``, ``article twelve``,
``s. 5``, ``sec 5``, ``§12``, ``第 86 条``, ``Smith vs. Jones``). A model learns a provision more
easily when it always sees one form, and the rubric's citation pattern checks one form. The
canonical forms are ``Article 12(2)``, ``Articles 12-14``, ``Section 5``, ``§ 12``, ``第八十六条``
and ``X v Y``. Every changed citation is kept, with its original spelling, in
``meta["legal_citations"]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from kinject.components import RecordCleaner
from kinject.records import Record, Rejected
from kinject_legal.numerals import (
    EN_NUMBER_WORDS,
    ZH_NUMERAL_CHARS,
    int_to_zh,
    words_to_int,
    zh_to_int,
)

_NUM = r"\d+[A-Za-z]?(?:\s*\((?:\d+|[a-z]|[ivx]+)\))*(?:\s+(?:para(?:graph)?\.?|par\.)\s*\d+)?"
_SEP = r"\s*(?:,|-|–|—|\bto\b|\band\b|\bor\b)\s*"
_NUM_LIST = rf"{_NUM}(?:{_SEP}{_NUM})*"

# "art" without a dot is an ordinary English word, so a number must follow directly
_ARTICLE = re.compile(rf"\b(?P<kw>articles?|arts?\.?)\s*(?P<nums>{_NUM_LIST})", re.IGNORECASE)
_SECTION = re.compile(
    rf"(?<![\w.])(?P<kw>sections?|secs?\.?|sects?\.?|ss\.?|s\.)\s*(?P<nums>{_NUM_LIST})",
    re.IGNORECASE,
)
_SECTION_SIGN = re.compile(rf"(?P<kw>§§?)\s*(?P<nums>{_NUM_LIST})")
_WORD_NUMBER = re.compile(
    rf"\b(?P<kw>articles?|sections?)\s+(?P<word>{'|'.join(EN_NUMBER_WORDS)})\b", re.IGNORECASE
)
_ZH_PROVISION = re.compile(rf"第\s*(?P<num>\d+|[{ZH_NUMERAL_CHARS}]+)\s*(?P<unit>[条款项章节编])")
_CASE = re.compile(
    r"\b(?P<a>[A-Z][\w'&.-]*(?:\s+(?:[A-Z][\w'&.-]*|of|and|&|the|de|van))*)"
    r"\s+(?:v\.|vs\.?|versus|V\.)\s+"
    r"(?P<b>[A-Z][\w'&-]*(?:\s+(?:[A-Z][\w'&-]*|of|and|&|the|de|van))*)"
)
_FIRST_NUM = re.compile(_NUM, re.IGNORECASE)
_SUBDIVISION = re.compile(r"\s*\((\w+)\)")
_PARAGRAPH = re.compile(r"\s+(?:para(?:graph)?\.?|par\.)\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Citation:
    """One citation whose spelling changed."""

    original: str
    canonical: str

    def as_meta(self) -> dict[str, str]:
        return {"original": self.original, "canonical": self.canonical}


def _canonical_number(raw: str) -> str:
    """``12 (2)`` -> ``12(2)``; ``12 para 2`` -> ``12(2)``."""
    number = _PARAGRAPH.sub(r"(\1)", raw.strip())
    return _SUBDIVISION.sub(r"(\1)", number)


def _canonical_list(nums: str) -> tuple[str, int]:
    """Canonical number list and how many provisions it names."""
    pieces = re.split(rf"({_SEP})", nums)
    out: list[str] = []
    count = 0
    for piece in pieces:
        token = piece.strip().lower()
        if not token:
            continue
        if token in {"-", "–", "—", "to"}:
            out.append("-")
        elif token == ",":
            out.append(", ")
        elif token in {"and", "or"}:
            out.append(f" {token} ")
        else:
            out.append(_canonical_number(piece))
            count += 1
    return "".join(out), count


def _is_plural(keyword: str) -> bool:
    """``Articles``, ``arts.``, ``ss.``, ``§§`` name several provisions; ``s.``, ``art`` one."""
    word = keyword.lower().rstrip(".")
    return word == "§§" or (word.endswith("s") and word != "s")


def _keyword_rewriter(singular: str, plural: str) -> Callable[[re.Match[str]], str]:
    def rewrite(match: re.Match[str]) -> str:
        raw = match.group("nums")
        if not _is_plural(match.group("kw")):
            # "Article 12 and 30 days later" names one article: leave what follows alone
            first = _FIRST_NUM.match(raw)
            assert first is not None  # the pattern starts with a number
            return f"{singular} {_canonical_number(first.group(0))}{raw[first.end() :]}"
        nums, count = _canonical_list(raw)
        return f"{singular if count == 1 else plural} {nums}"

    return rewrite


def _word_number(match: re.Match[str]) -> str:
    keyword = "Article" if match.group("kw").lower().startswith("a") else "Section"
    return f"{keyword} {words_to_int(match.group('word'))}"


def _zh_provision(match: re.Match[str]) -> str:
    return f"第{int_to_zh(zh_to_int(match.group('num')))}{match.group('unit')}"


def _case(match: re.Match[str]) -> str:
    return f"{match.group('a')} v {match.group('b')}"


def normalise_citations(
    text: str, section_sign: Literal["keep", "section"] = "keep", chinese_numerals: bool = True
) -> tuple[str, list[Citation]]:
    """Rewrite every citation in ``text`` to its canonical form.

    :param section_sign: ``keep`` writes ``§ 12``; ``section`` writes ``Section 12``.
    :param chinese_numerals: write ``第86条`` as ``第八十六条`` (the form statutes use).
    :returns: the new text and the citations that changed, in order of appearance.
    """
    sign_rewrite = (
        _keyword_rewriter("§", "§§")
        if section_sign == "keep"
        else _keyword_rewriter("Section", "Sections")
    )
    passes: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
        (_WORD_NUMBER, _word_number),
        (_ARTICLE, _keyword_rewriter("Article", "Articles")),
        (_SECTION, _keyword_rewriter("Section", "Sections")),
        (_SECTION_SIGN, sign_rewrite),
        (_CASE, _case),
    ]
    if chinese_numerals:
        passes.append((_ZH_PROVISION, _zh_provision))
    changed: list[Citation] = []
    for pattern, rewrite in passes:
        text = _apply(pattern, rewrite, text, changed)
    return text, changed


def _apply(
    pattern: re.Pattern[str],
    rewrite: Callable[[re.Match[str]], str],
    text: str,
    changed: list[Citation],
) -> str:
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        canonical = rewrite(match)
        out.append(text[last : match.start()])
        out.append(canonical)
        last = match.end()
        if canonical != match.group(0):
            changed.append(Citation(match.group(0), canonical))
    out.append(text[last:])
    return "".join(out)


class LegalCitationNormalizer(RecordCleaner):
    """Rewrites statute and case citations to one canonical spelling; keeps the originals."""

    name = "legal-citations"
    description = "normalise Article/Section/§/第…条 and 'X v Y' citations; originals kept in meta"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        #: ``keep`` writes ``§ 12``; ``section`` writes ``Section 12``
        section_sign: Literal["keep", "section"] = "keep"
        #: write Chinese provision numbers with Chinese numerals (第八十六条)
        chinese_numerals: bool = True

    opts: Options

    def clean(self, record: Record) -> Record | Rejected:
        text, changed = normalise_citations(
            record.text, self.opts.section_sign, self.opts.chinese_numerals
        )
        if not changed:
            return record
        cleaned = record.with_text(text, self.name)
        previous = list(record.meta.get("legal_citations", []))
        cleaned.meta = {**record.meta, "legal_citations": previous + [c.as_meta() for c in changed]}
        return cleaned
