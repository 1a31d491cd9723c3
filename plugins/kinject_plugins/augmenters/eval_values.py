"""Typed answer values and same-type distractors for multiple-choice eval questions.

A :class:`~kinject_plugins.augmenters.facts.Value` gets a finer *type* from the way it is written
(``5%`` percent, ``$3.2 million`` money, ``30 days`` count of days, ``2019`` year, ``14 March
2011`` date, ``Section 4`` citation, a name) and a *unit* that a distractor must share where it
matters (days are not people). :class:`DistractorPool` holds every typed value of a corpus and
picks wrong choices of the same type: same document first, then the rest of the corpus, never a
value of the question's own sentence unless nothing else is left. A name is a choice only when it
reads as one (:func:`name_problem`): not a reference label ("Note 12"), not a capitalised common
word, and written capitalised somewhere in mid-sentence; "Group's" and "Groups" are one choice.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from kinject_plugins.augmenters.facts import Value, extract_values

_ISO_CURRENCY = re.compile(r"^[A-Z]{3}\b")
_YEAR = re.compile(r"(?:19|20)\d\d")
# Types whose distractors must share the unit: "30 days" never gets "12 people" as a choice.
_UNIT_BOUND = {"count", "citation", "name"}


@dataclass(frozen=True)
class TypedValue:
    """A value with its question type, the unit a distractor should share, and where it is."""

    value: Value
    type: str
    unit: str
    document: str
    sentence: str

    @property
    def key(self) -> str:
        """The value as choices are compared: lower case, no punctuation, spaces collapsed."""
        return normalise_choice(self.value.text)

    @property
    def stem(self) -> str:
        """The key of a name without its possessive or plural ending ("Group’s" -> "group")."""
        return _stem(self.value.text) if self.type == "name" else self.key


def normalise_choice(text: str) -> str:
    """Lower case, punctuation removed, whitespace collapsed ("$3.2 Million," -> "32 million")."""
    return " ".join(re.sub(r"[^\w\s%$€£¥]", "", text.lower()).split())


def value_type(value: Value, words: dict[str, Any], sentence: str = "") -> tuple[str, str]:
    """(type, unit) of a value; ``words`` is the language's data (currency and percent marks).
    A name's unit is its form -- quoted (a defined term), acronym, one word or several -- so
    that a defined term gets other defined terms as distractors."""
    if value.kind == "date":
        parts = value.norm.split("-")
        if parts[0] and not parts[1] and not parts[2]:
            return "year", ""
        return "date", "-".join("x" if p else "" for p in parts)  # distractors of the same form
    if value.kind == "citation":
        return "citation", value.text.split()[0].lower().rstrip(".") if " " in value.text else ""
    if value.kind == "name":
        return "name", _name_form(value, sentence)
    return _quantity_type(value, words)


def _name_form(value: Value, sentence: str) -> str:
    before, after = sentence[value.start - 1 : value.start], sentence[value.end : value.end + 1]
    if before in "\"“'‘" and before and after in "\"”'’" and after:
        return "quoted"
    if value.text.isupper():
        return "acronym"
    return "words" if " " in value.text else "word"


def _quantity_type(value: Value, words: dict[str, Any]) -> tuple[str, str]:
    text = value.text.lower()
    number, _, unit = value.norm.partition(" ")
    marks = [mark for mark in words["percent"] if mark in text]
    if marks:
        return "percent", marks[0]  # "5%", "5 percent" and "80 basis points" look different
    if _ISO_CURRENCY.match(value.text) or any(_has_mark(text, mark) for mark in words["currency"]):
        sign = re.match(r"[^\d\s]+", value.text)
        # "$3 million" before "€3 million"
        return "money", f"{sign.group(0) if sign else ''} {unit}".strip()
    if not unit:
        return ("year", "") if _YEAR.fullmatch(number) else ("number", "")
    return "count", unit


def mid_sentence(value: Value, sentence: str) -> bool:
    """The value follows a lower-case word or a comma (perhaps after a quote or bracket): a capital
    there marks a name, not the start of a sentence or heading."""
    return bool(re.search(r"[a-z,]\s+[“\"‘'(]?$", sentence[: value.start]))


@dataclass(frozen=True)
class CorpusWords:
    """What a corpus says about its words: those it writes in lower case, those it capitalises
    inside sentences, the stems of the names it writes in mid-sentence, the words it writes after
    a determiner (nouns, so "details" is no verb) and those after a form of "be" (passive
    participles, so "the offerings acquired with X" has no finite verb)."""

    vocabulary: frozenset[str]
    capitalised: frozenset[str] = frozenset()
    attested: frozenset[str] = frozenset()
    nouns: frozenset[str] = frozenset()
    passives: frozenset[str] = frozenset()
    # : one-word names the corpus only ever writes before a lower-case word (adjectives: "Indian
    # rupee")
    modifiers: frozenset[str] = frozenset()

    @classmethod
    def read(cls, texts: list[str], typed: list[TypedValue], words: dict[str, Any]) -> CorpusWords:
        """The words of ``texts`` and the names among ``typed``; ``words``: the language's data."""
        determiners = "|".join(re.escape(w) for w in words["determiners"])
        be = "|".join(re.escape(w) for w in words["be"])
        return cls(
            frozenset(w for t in texts for w in re.findall(r"\b[a-z][a-z'’-]*\b", t)),
            frozenset(w for t in texts for w in re.findall(r"(?<=[a-z,] )[A-Z][\w'’-]*", t)),
            frozenset(
                t.stem for t in typed if t.type == "name" and mid_sentence(t.value, t.sentence)
            ),
            frozenset(
                w
                for t in texts
                for w in re.findall(rf"\b(?:{determiners}) ([a-z]+)\b", t, re.IGNORECASE)
            ),
            frozenset(
                w
                for t in texts
                for w in re.findall(rf"\b(?:{be}) (?:\w+ly )?([a-z]+ed)\b", t, re.IGNORECASE)
            ),
            _modifiers([t for t in typed if t.type == "name" and " " not in t.value.text], words),
        )


def _modifiers(names: list[TypedValue], words: dict[str, Any]) -> frozenset[str]:
    """The stems of one-word names never written without a lower-case content word after them."""

    def before_noun(t: TypedValue) -> bool:
        after = re.match(r" ([a-z][\w-]*)", t.sentence[t.value.end :])
        return after is not None and after.group(1) not in {*words["function_words"], *words["be"]}

    seen = {t.stem for t in names}
    return frozenset(seen - {t.stem for t in names if not before_noun(t)})


def name_problem(typed: TypedValue, corpus: CorpusWords, words: dict[str, Any]) -> str:
    """Why a name value is no name to ask about or offer as a choice, or "" when it is one."""
    value, sentence, text = typed.value, typed.sentence, typed.value.text
    if (
        "\n" in text
        or len(re.sub(r"\W", "", text)) < 2
        or re.match(r"\.\s*[^\s.]", sentence[value.end :])
        or re.search(r"\.\w$", text)
    ):
        return "malformed"  # over a line break, one letter, or cut at an abbreviation's dot ("U.S")
    if _is_label(text, sentence[: value.start], sentence[value.end :]):
        return "label"
    if re.search(r"['’]s\b", text):
        return "possessive"  # "Group’s", "Company's Senior Notes": a name run into what it owns
    parts = re.split(r"\s+(?:and|&)\s+", text)
    # "Spain and Italy", "Retail Section and Trade Section": one word each, or one head word
    single_words = " and " in text and (
        all(" " not in p for p in parts) or len({p.split()[-1] for p in parts}) == 1
    )
    if "," in text or (
        len(parts) > 1 and (single_words or all(_stem(p) in corpus.attested for p in parts))
    ):
        return "coordinated"  # "Office and LinkedIn", "Spain and Italy": two names, not one
    if {text.split()[0].lower(), text.split()[-1].lower()} & set(words["function_words"]):
        return "malformed"  # a heading run into the next sentence ("Grant Scope The")
    if typed.unit == "quoted":
        return ""
    if typed.stem not in corpus.attested or typed.stem in corpus.modifiers:
        # only ever at the start of a sentence or heading ("Since", "Include"), or before a noun
        # ("Indian")
        return "not_a_name"
    if (
        " " not in text
        and not text.isupper()
        and (typed.key in corpus.vocabulary or typed.stem in corpus.vocabulary)
    ):
        return "common_word"  # "Group": the corpus also writes "group"
    return ""


def _stem(text: str) -> str:
    key = normalise_choice(text)
    return key[:-1] if key.endswith("s") else key


def _is_label(text: str, before: str, after: str) -> bool:
    """A reference label, not a name: a capitalised word numbered by what follows ("Note 12",
    "Topic 740", "No. 5"), one ending in a single letter ("Exhibit B"), or the title that follows
    a numbered label ("Note 4, Income Taxes")."""
    numbered = re.match(r"\.?\s?\(?\d", after) or re.search(r"\s[A-Z]$", text)
    return bool(numbered or re.search(r"\b[A-Z][\w.]*\s+\d+[A-Za-z]?,\s+[“\"‘']?$", before))


def in_list(answer: TypedValue) -> bool:
    """The value is one item of a list of values of its kind (joined by commas, "and", "or")."""
    sentence, value = answer.sentence, answer.value
    for other in extract_values(sentence):
        if other.kind != value.kind or other.start == value.start:
            continue
        gap = (
            sentence[other.end : value.start]
            if other.end <= value.start
            else sentence[value.end : other.start]
        )
        if re.fullmatch(r"\s*(?:,|,?\s*(?:and|or|and/or))\s*", gap):
            return True
    return False


def coordinated(sentence: str, value: Value, words: dict[str, Any]) -> bool:
    """The value is coordinated with a number that is no value of its own ("2019 and 2018",
    "March 31, 2019, and 2018", "2017, 2018 and 2019")."""
    join = "|".join(re.escape(w) for w in words["coordinators"])
    scale = "|".join(re.escape(w) for w in words["scales"])
    number = rf"[$€£¥]?\d[\d,.]*%?(?:\s(?:{scale}))?"
    after = re.match(rf"(?:,\s*{number})*,?\s+(?:{join})\s+{number}(?!\w)", sentence[value.end :])
    before = re.search(rf"(?<![\w.]){number},?\s+(?:{join})\s+$", sentence[: value.start])
    return bool(after or before)


def _has_mark(text: str, mark: str) -> bool:
    # Signs match anywhere ("$3"), words only as whole words ("3 dollars", not "3 krill").
    return (
        mark in text if not mark[:1].isalpha() else bool(re.search(rf"\b{re.escape(mark)}\b", text))
    )


@dataclass
class DistractorPool:
    """Every typed value of a corpus, indexed for picking same-type wrong choices."""

    values: list[TypedValue] = field(default_factory=list)

    def add(self, typed: TypedValue) -> None:
        self.values.append(typed)

    def pick(self, answer: TypedValue, question: str, rng: random.Random, n: int = 3) -> list[str]:
        """``n`` distinct wrong choices for ``answer`` (surface text), or fewer when the corpus
        lacks them. None equals the answer, repeats another or occurs in ``question``."""
        taken = {answer.key, answer.stem, *_number_keys(answer.value.text)}
        asked = normalise_choice(question)
        out: list[str] = []
        for tier in self._tiers(answer):
            candidates = [t for t in tier if t.stem not in taken and not _occurs(t.key, asked)]
            rng.shuffle(candidates)
            # names in the same slot first ("sales to X", "X operating segment")
            if answer.type == "name":
                candidates.sort(key=lambda t: -len(_context(t) & _context(answer)))
            for typed in candidates:
                if len(out) == n:
                    return out
                if typed.stem in taken:
                    continue
                out.append(typed.value.text)
                taken.add(typed.stem)
        return out

    def _tiers(self, answer: TypedValue) -> list[list[TypedValue]]:
        """Candidates, best tier first: same document and unit, corpus and unit, then (where the
        unit need not match) same document and type, corpus and type; own sentence last."""
        same_type = [
            t for t in self.values if t.type == answer.type and t.sentence != answer.sentence
        ]
        same_unit = [t for t in same_type if t.unit == answer.unit]
        tiers = [[t for t in same_unit if t.document == answer.document], same_unit]
        if answer.type not in _UNIT_BOUND:
            tiers += [[t for t in same_type if t.document == answer.document], same_type]
        own = [
            t
            for t in self.values
            if t.sentence == answer.sentence and t.type == answer.type and t.unit == answer.unit
        ]
        return [*tiers, own]


def _context(typed: TypedValue) -> set[str]:
    """The words either side of a value, marked by side."""
    before = re.findall(r"[\w'’-]+", typed.sentence[: typed.value.start])[-1:]
    after = re.findall(r"[\w'’-]+", typed.sentence[typed.value.end :])[:1]
    # "Audit Committee", "Pay Committee"
    head = typed.value.text.split()[-1] if " " in typed.value.text else ""
    return (
        {f"<{w.lower()}" for w in before}
        | {f">{w.lower()}" for w in after}
        | ({f"={head}"} if head else set())
    )


def _number_keys(text: str) -> set[str]:
    """The bare number of a value, so "$3.2 million" and "3.2 million" count as the same choice."""
    match = re.search(r"\d[\d,.]*", text)
    return {normalise_choice(text[match.start() :])} if match else set()


def _occurs(key: str, text: str) -> bool:
    return bool(re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", text))
