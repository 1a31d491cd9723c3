"""Distractors for an answer copied from a document: other values of the same type from that
document.

The answer's type decides the pool, always from the same document:

- ``year`` (``2019``): other years, nearest first;
- ``percent`` (``7%``, ``12.5 percent``): other percentages;
- ``amount`` (``$1,496.5``, ``(31.5)``, ``$1.2 billion``, ``25 days``): other numbers that are not
  years or percentages, nearest in magnitude and decimals first (so the other years of the same
  table row come first), written in the answer's shape (its currency sign, brackets and unit),
  so that no choice stands out by its format;
- ``date`` (``March 29, 1988``): other dates of the same shape;
- ``name`` (up to four capitalised words: ``Deloitte``, ``Andrew R. Kaiser``): other capitalised
  phrases of the text and row labels of the table;
- ``phrase`` (any other span): sentences and clauses of the document of a similar length, with the
  answer's first-letter case and final full stop, none overlapping the answer.

For names and phrases a candidate in capitals goes last unless the answer is in capitals too.

Ties are broken by a generator seeded with the item's key, so the output depends only on the seed.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

_CURRENCY = r"(?:[A-Z]{1,3})?[$£€¥]"
_TOKEN = re.compile(
    rf"(?<![\w.,])(?P<pre>{_CURRENCY}\s?)?(?P<open>\()?(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<close>\))?(?P<suf>%|\s?(?:percent|million|billion|thousand|bn|p|cents?)\b)?"
)
_ANSWER = re.compile(
    rf"^(?P<pre>-?(?:{_CURRENCY}\s*)?)(?P<open>\()?(?P<num>\d[\d,]*(?:\.\d+)?)(?P<close>\))?"
    r"(?P<suf>\s*(?:%|[A-Za-z]+(?:\s[A-Za-z]+)?))?$"
)
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = re.compile(
    rf"\b(?:{_MONTH}\.?\s+\d{{1,2}},\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|{_MONTH}\s+\d{{4}})\b"
)
_NAME_WORD = r"[A-Z](?:\.|[\w&'’-]*)"  # a word or an initial ("R.")
_NAME = re.compile(rf"\b{_NAME_WORD}(?:\s+(?:of\s+|and\s+|&\s+)?{_NAME_WORD}){{0,3}}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(“\"])")
_CLAUSE_BREAK = re.compile(r"\s*[;:()—–]\s*|,\s+|\s+-\s+")  # not the comma of "1,496"
#: a clause cut at a comma that opens with one of these is a fragment, not a phrase
_SMALL_WORDS = {"the", "a", "an", "of", "and", "or", "in", "on", "at", "to", "for", "by", "as"}
_FRAGMENT_OPENERS = {"and", "or", "but", "nor", "which", "while", "whereas"}


@dataclass(frozen=True)
class Number:
    """A number as written: currency prefix, brackets, digits, unit suffix."""

    pre: str
    bracketed: bool
    digits: str
    suf: str

    @property
    def value(self) -> float:
        return float(self.digits.replace(",", "")) * (
            -1 if self.bracketed or self.pre.startswith("-") else 1
        )

    @property
    def decimals(self) -> int:
        return len(self.digits.split(".")[1]) if "." in self.digits else 0

    @property
    def magnitude(self) -> int:
        return len(self.digits.split(".")[0].replace(",", ""))

    @property
    def kind(self) -> str:
        if self.suf.strip() in ("%", "percent"):
            return "percent"
        if _YEAR.match(self.digits) and not (self.pre or self.bracketed or self.suf):
            return "year"
        return "amount"

    def render(self, digits: str) -> str:
        """Another number written in this one's shape."""
        return f"{self.pre}{'(' if self.bracketed else ''}{digits}{')' if self.bracketed else ''}{self.suf}"  # noqa: E501


def parse_answer_number(answer: str) -> Number | None:
    match = _ANSWER.match(answer)
    if not match or (bool(match["open"]) != bool(match["close"])):
        return None
    return Number(match["pre"] or "", bool(match["open"]), match["num"], match["suf"] or "")


def numbers_in(texts: list[str]) -> list[Number]:
    out = []
    for text in texts:
        for m in _TOKEN.finditer(text):
            if bool(m["open"]) == bool(m["close"]):
                out.append(Number(m["pre"] or "", bool(m["open"]), m["num"], m["suf"] or ""))
    return out


def answer_kind(answer: str) -> str:
    """``year``, ``percent``, ``amount``, ``date``, ``name`` or ``phrase``."""
    number = parse_answer_number(answer)
    if number is not None:
        return number.kind
    if _DATE.fullmatch(answer):
        return "date"
    words = answer.split()
    if len(words) <= 4 and all(w[0].isupper() or w in ("of", "and", "&") for w in words):
        return "name"
    return "phrase"


def distractors(
    answer: str, texts: list[str], labels: list[str], rng: random.Random, n: int = 3
) -> tuple[str, list[str]]:
    """(kind, up to ``n`` distractors) for ``answer`` from a document's ``texts`` (paragraphs and
    table cells) and ``labels`` (the table's row labels)."""
    kind = answer_kind(answer)
    if kind in ("year", "percent", "amount"):
        number = parse_answer_number(answer)
        assert number is not None
        return kind, _number_distractors(number, numbers_in(texts), rng, n)
    if kind == "date":
        return kind, _pick(
            answer,
            sorted({m.group(0) for t in texts for m in _DATE.finditer(t)}),
            lambda c: float(_shape(c) != _shape(answer)),
            rng,
            n,
        )
    if kind == "name":
        pool = {
            m.group(0)
            for t in texts
            for m in _NAME.finditer(t)
            if _not_sentence_start(t, m.start(), m.group(0))
        }
        pool |= {label for label in labels if len(label.split()) <= 6}
        pool = {
            c for c in pool if any(len(w) > 1 and w.lower() not in _SMALL_WORDS for w in c.split())
        }
        size = len(answer.split())
        return kind, _pick(
            answer,
            sorted(pool),
            lambda c: _style(c, answer) + abs(len(c.split()) - size),
            rng,
            n,
            overlap=True,
        )
    size = len(answer.split())
    pool = {
        conform(c, answer) for c in phrases(texts) + labels if _similar_length(len(c.split()), size)
    }
    return kind, _pick(
        answer,
        sorted(pool),
        lambda c: _style(c, answer) + abs(math.log(len(c.split()) / size)),
        rng,
        n,
        overlap=True,
    )


def _style(candidate: str, answer: str) -> float:
    """10 when one is in capitals and the other is not (such a choice stands out), else 0."""
    return 10.0 if candidate.isupper() != answer.isupper() else 0.0


def _number_distractors(
    answer: Number, pool: list[Number], rng: random.Random, n: int
) -> list[str]:
    candidates = [c for c in pool if c.kind == answer.kind]
    if answer.kind == "year":

        def distance(c: Number) -> float:
            return abs(c.value - answer.value)
    elif answer.kind == "percent":

        def distance(c: Number) -> float:
            return float(c.decimals != answer.decimals)
    else:

        def distance(c: Number) -> float:
            return abs(c.magnitude - answer.magnitude) + float(c.decimals != answer.decimals)

    jitter = {c.digits: rng.random() for c in sorted(set(candidates), key=lambda c: c.digits)}
    out: list[str] = []
    seen = {abs(answer.value)}
    for c in sorted(candidates, key=lambda c: (distance(c), jitter[c.digits], c.digits)):
        if abs(c.value) in seen:
            continue
        seen.add(abs(c.value))
        out.append(str(int(c.value)) if answer.kind == "year" else answer.render(c.digits))
        if len(out) == n:
            break
    return out


def _pick(
    answer: str,
    pool: list[str],
    distance: Callable[[str], float],
    rng: random.Random,
    n: int,
    overlap: bool = False,
) -> list[str]:
    """The ``n`` nearest candidates (seeded ties) that differ from the answer and from each
    other.
    """
    jitter = {c: rng.random() for c in pool}
    out: list[str] = []
    for c in sorted(pool, key=lambda c: (distance(c), jitter[c], c)):
        if _same(c, answer, overlap) or any(_same(c, o, overlap) for o in out):
            continue
        out.append(c)
        if len(out) == n:
            break
    return out


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s%$.,]", " ", text.lower()).split()).strip(" .,")


def _same(a: str, b: str, overlap: bool) -> bool:
    """Equal after normalising; with ``overlap`` also one inside the other or half their words
    shared.
    """
    x, y = _norm(a), _norm(b)
    if x == y:
        return True
    if not overlap:
        return False
    if x in y or y in x:
        return True
    wx, wy = set(x.split()), set(y.split())
    return len(wx & wy) / max(1, len(wx | wy)) >= 0.5


def _shape(text: str) -> str:
    return re.sub(r"\d", "9", re.sub(r"[A-Za-z]+", "M", text))


def _not_sentence_start(text: str, start: int, match: str) -> bool:
    """A one-word capitalised match at the start of a sentence is just a capitalised word."""
    if " " in match:
        return True
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in ".!?:"


def _similar_length(words: int, size: int) -> bool:
    return words >= 2 and (abs(words - size) <= 2 or size / 2 <= words <= size * 2)


def phrases(texts: list[str]) -> list[str]:
    """Sentences and their clauses (two words or more) of the document's running text."""
    out: list[str] = []
    for text in texts:
        for sentence in _SENTENCE_END.split(text):
            sentence = sentence.strip()
            out.append(sentence)
            clauses = [c.strip() for c in _CLAUSE_BREAK.split(sentence)]
            out += [
                c
                for c in clauses
                if len(c.split()) >= 2 and c.split()[0].lower() not in _FRAGMENT_OPENERS
            ]
    return [p for p in out if len(p.split()) >= 2]


def conform(candidate: str, answer: str) -> str:
    """The candidate with the answer's first-letter case and final full stop (no surface cue)."""
    text = candidate.strip().rstrip(",;:")
    text = (
        text
        if answer.endswith(".") == text.endswith(".")
        else (text + "." if answer.endswith(".") else text.rstrip("."))
    )
    first = text.split()[0] if text else ""
    title_word = first[:1].isupper() and first[1:] == first[1:].lower()
    if answer[:1].islower() and title_word:
        text = text[0].lower() + text[1:]
    elif answer[:1].isupper() and text[:1].islower():
        text = text[0].upper() + text[1:]
    return text
