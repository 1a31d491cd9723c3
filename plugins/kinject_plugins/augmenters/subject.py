"""What a document is about, and questions that say so.

A question generated from an annual report often reads "What was our revenue in 2019?" or "When
did the Company adopt ASC 842?": closed book, nobody can answer it, because it does not say whose
revenue. :func:`document_subjects` finds each document's subject: the organisation it names most
often (a capitalised name ending in a company suffix, at least twice), else its title.
:func:`resolve` replaces first-person forms and self-references ("the Company") by the subject's
name; :func:`names_subject` says whether a question now names its subject or its document. The word
lists are data (``data/subject.en.yaml``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kinject.records import Record

DATA = Path(__file__).parent / "data" / "subject.en.yaml"


@dataclass(frozen=True)
class Subject:
    """A document's subject: ``name`` to put in sentences (empty when only a title is known) and
    the document's ``title``."""

    name: str = ""
    title: str = ""
    origin: str = ""  # organisation | title | none

    @property
    def label(self) -> str:
        """The name, else the title: how a frame refers to the document."""
        return self.name or self.title


@lru_cache(maxsize=1)
def _words() -> dict[str, Any]:
    return dict(yaml.safe_load(DATA.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _org_pattern() -> re.Pattern[str]:
    suffixes = sorted(_words()["organisation_suffixes"], key=len, reverse=True)
    alternatives = "|".join(re.escape(s) for s in suffixes)
    # Up to five capitalised words (or "&", "of", "and" inside), then a suffix.
    word = r"(?:[A-Z0-9][\w'’.\-]*[A-Za-z0-9.]|[A-Z]|&)"
    return re.compile(
        rf"(?<![\w])({word}(?: (?:of |& )?{word}){{0,4}}),? (?:{alternatives})(?![\w])"
    )


_LEADING = {
    "the",
    "this",
    "that",
    "our",
    "each",
    "any",
    "such",
    "a",
    "an",
    "in",
    "on",
    "at",
    "for",
    "by",
    "from",
    "with",
    "of",
    "and",
    "during",
    "after",
    "before",
    "since",
    "as",
    "to",
    "both",
    "while",
    "when",
    "if",
}


def organisations(text: str) -> Counter[str]:
    """Organisation names in ``text`` with their counts ("Acme Widgets Inc." twice -> 2)."""
    counts: Counter[str] = Counter()
    self_refs = set(_words()["self_references"])
    for match in _org_pattern().finditer(text):
        words = match.group(0).strip(" ,").split(" ")
        # a sentence's first words are not part of the name ("In 2019 Acme Inc." -> "Acme Inc.")
        while len(words) > 1 and (words[0].lower() in _LEADING or words[0].isdigit()):
            words = words[1:]
        name = " ".join(words)
        if not name or name.split()[-1] in self_refs and len(name.split()) == 1:
            continue
        counts[name] += 1
    return counts


def subject_of(texts: Iterable[str], title: str = "") -> Subject:
    """The subject of a document made of ``texts``: its most named organisation (at least twice),
    else its title."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(organisations(text))
    if counts:
        name, n = counts.most_common(1)[0]
        if n >= 2:
            return Subject(name, title, "organisation")
    # A title is how a frame refers to the document ("In <title>: ..."), not a name to put in
    # place of "we": "Annual report 2019 exercised its option" would be wrong.
    return Subject("", title, "title" if title else "none")


def document_key(record: Record) -> str:
    """The document a record belongs to (its source file, else its own id)."""
    return str(record.source.get("uri") or record.meta.get("source_id") or record.id)


def document_subjects(records: Sequence[Record]) -> dict[str, Subject]:
    """The subject of every document among ``records`` (by :func:`document_key`)."""
    texts: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for record in records:
        key = document_key(record)
        texts.setdefault(key, []).append(record.text)
        titles.setdefault(key, str(record.meta.get("title") or ""))
    return {key: subject_of(parts, titles[key]) for key, parts in texts.items()}


@lru_cache(maxsize=1)
def _first_person() -> list[tuple[re.Pattern[str], str]]:
    # Only the first letter may change case: "We"/"we", never "US" for "us".
    return [
        (
            re.compile(rf"\b[{pattern[0].upper()}{pattern[0].lower()}]{re.escape(pattern[1:])}\b"),
            replacement,
        )
        for pattern, replacement in _words()["first_person"]
    ]


@lru_cache(maxsize=1)
def _self_reference() -> re.Pattern[str]:
    nouns = "|".join(re.escape(n) for n in _words()["self_references"])
    return re.compile(rf"\b[Tt]he (?:{nouns})(?:['’]s)?\b")


def resolve(text: str, subject: Subject) -> str:
    """``text`` with "we"/"our"/"the Company" replaced by the subject's name (unchanged without
    one).
    """
    if not subject.name:
        return text
    name = subject.name

    def self_ref(match: re.Match[str]) -> str:
        return f"{name}'s" if match.group(0).endswith(("'s", "’s")) else name

    out = _self_reference().sub(self_ref, text)
    for pattern, replacement in _first_person():
        out = pattern.sub(replacement.replace("{subject}", name.replace("\\", "\\\\")), out)
    return out


def has_unresolved_reference(text: str) -> bool:
    """Whether ``text`` still speaks as the document ("we", "our", "the Company")."""
    return bool(_self_reference().search(text)) or any(p.search(text) for p, _ in _first_person())


_NAME_INSIDE = re.compile(r"(?<=[\w,;:)] )(?:[A-Z][\w'’\-]*[A-Za-z0-9]|[A-Z]{2,}|\d+[A-Z][\w\-]*)")


def mentions(text: str, subject: Subject) -> bool:
    """Whether ``text`` contains the subject's name or the document's title (case-insensitive)."""
    lowered = text.lower()
    return any(part and part.lower() in lowered for part in (subject.name, subject.title))


def names_subject(question: str, subject: Subject) -> bool:
    """Whether ``question`` says what it is about: it names the subject or the document's title,
    or it does not speak as the document ("we", "our", "the Company") and names something of its
    own (a capitalised word after its first: "When was the Corvell Water Act enacted?")."""
    if mentions(question, subject):
        return True  # "In <title>: what did we pay ...?" says whose "we"
    if has_unresolved_reference(question):
        return False
    return bool(_NAME_INSIDE.search(question))
