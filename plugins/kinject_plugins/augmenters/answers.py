"""What a question asks for: the complete answer span of a value and its question word.

A value found in a sentence is not always a complete answer: ``19`` in "on reaching the age of
19" is answered "the age of 19", ``Court of Appeal`` in "The Court of Appeal hears" is answered
"the Court of Appeal", and a bare ``2`` is no answer at all. :func:`answer_span` returns the span
to replace in the sentence, the answer text and the wh-phrase that asks for it, or None when the
value cannot be asked about cleanly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kinject_plugins.augmenters.facts import CURRENCY_CODES, EPONYM_NOUNS, Value, short_form
from kinject_plugins.augmenters.segment import is_chinese

_LAW_WORDS = {
    "act",
    "law",
    "code",
    "regulation",
    "regulations",
    "directive",
    "ordinance",
    "statute",
    "treaty",
    "decree",
    "rules",
    "rulebook",
}
_NAME_HEADS = {
    "court": "which court",
    "courts": "which courts",
    "tribunal": "which tribunal",
    "council": "which body",
    "chamber": "which body",
    "office": "which office",
    "registry": "which body",
    "division": "which division",
    "authority": "which authority",
    "exchange": "which exchange",
    "bank": "which bank",
    "commission": "which body",
    "assembly": "which body",
    "agency": "which agency",
    "board": "which body",
    "ministry": "which ministry",
    "register": "which register",
}
_UNIT_NAMES = {
    "mg": "milligrams",
    "g": "grams",
    "kg": "kilograms",
    "mcg": "micrograms",
    "ml": "millilitres",
    "l": "litres",
    "km": "kilometres",
    "m": "metres",
    "cm": "centimetres",
    "mm": "millimetres",
}
_NAME_OPENERS = {
    "the",
    "by",
    "to",
    "from",
    "with",
    "of",
    "in",
    "under",
    "before",
    "against",
    "and",
    "or",
    "for",
}
_TIME_UNITS = {"year", "month", "week", "day", "hour", "minute", "second"}
_PERSON_TITLES = {"mr", "ms", "mrs", "dr", "prof", "judge", "justice"}
_LAW_EPONYMS = {"law", "principle"}
# "The chief executive of X is <name>": a name after one of these roles is a person.
_ROLE_BEFORE = re.compile(
    r"\b(?:chief executive(?: "
    r"officer)?|CEO|chair(?:man|woman|person)?|founder|director|president|head|governor|"
    r"minister|registrar|author|inventor|owner|secretary|treasurer|partner|lead investigator)"
    r"(?: of (?:the )?[\w'’&.\- ]+?)? (?:is|was|are|were) $"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_ZH_WH = {"date": "哪一天", "year": "哪一年", "citation": "第几条"}


@dataclass(frozen=True)
class AnswerSpan:
    """``sentence[start:end]`` is replaced by ``wh`` in a question whose answer is ``answer``."""

    start: int
    end: int
    answer: str
    wh: str
    kind: str


def answer_span(sentence: str, value: Value) -> AnswerSpan | None:
    """The span, complete answer and wh-phrase for ``value`` in ``sentence`` (None: do not ask)."""
    if is_chinese(sentence):
        return _zh_span(sentence, value)
    if (
        value.text.endswith(("'s", "’s"))
        or sentence[value.end :].startswith(("'s", "’s"))
        or _inside_parentheses(sentence, value.start)
    ):
        return None
    determiners = r"its|their|his|her|this|that|an?|each|every|any" + (
        "" if value.kind == "name" else "|the"
    )
    if re.search(rf"\b(?:{determiners})\s$", sentence[: value.start], re.I):
        return None  # "Its Chapter 2": the value is part of a larger noun phrase
    if value.kind == "quantity":
        return _quantity_span(sentence, value)
    if value.kind == "date":
        wh = (
            "which year"
            if value.norm.endswith("--")
            else "which month"
            if value.norm.endswith("-")
            else "which date"
        )
        return AnswerSpan(value.start, value.end, value.text, wh, "date")
    if value.kind == "citation":
        word = value.text.split()[0].lower() if " " in value.text else "article"
        return AnswerSpan(
            value.start,
            value.end,
            value.text,
            f"which {word if word.isalpha() else 'article'}",
            "citation",
        )
    return _name_span(sentence, value)


def _quantity_span(sentence: str, value: Value) -> AnswerSpan | None:
    text = value.text
    if sentence[: value.start].endswith(("/", "-", "–", "to ")) and re.search(
        r"\d[/–-]?\s?(?:to )?$", sentence[: value.start]
    ):
        return None  # the second half of "130/80 mmHg" or "12% to 15%" is not a value on its own
    age = re.search(r"\bthe age of $", sentence[: value.start])
    if age and re.fullmatch(r"\d+", text):
        return AnswerSpan(age.start(), value.end, f"the age of {text}", "what age", "quantity")
    unit = re.sub(rf"^(?:[$€£¥]|(?:{CURRENCY_CODES}) ?)?[\d.,]+\s*", "", text).strip()
    if not unit or unit.startswith("-"):
        return None  # a bare number ("2") or a compound adjective ("6-year") is not an answer
    answer = text.rstrip("'’")
    if unit in ("%", "per cent", "percent"):
        wh = "what percentage"
    elif re.match(rf"^[$€£¥]|^(?:{CURRENCY_CODES})\b", text) or unit.split()[0] in (
        "million",
        "billion",
        "thousand",
    ):
        wh = "how much"
    elif unit.rstrip("'’") in _TIME_UNITS:
        wh = "what period"
    else:
        bare = unit.rstrip("'’")
        named = _UNIT_NAMES.get(bare.lower(), bare)
        wh = f"how many {named}" + ("'" if unit.endswith(("'", "’")) else "")
    return AnswerSpan(value.start, value.end, answer, wh, "quantity")


def _name_span(sentence: str, value: Value) -> AnswerSpan | None:
    before = sentence[: value.start].split()
    wh = name_wh(value.text)
    role = wh is None and bool(_ROLE_BEFORE.search(sentence[: value.start]))
    wh = "who" if role else wh or _agent(before) or _place(before)
    if wh is None or (before and before[-1].lower() not in _NAME_OPENERS and not role):
        return None  # "a specialised Commercial Court": the name is inside a larger phrase
    start, end, answer = value.start, value.end, value.text
    year = re.match(r" (?:1[5-9]|20)\d\d\b", sentence[end:]) if wh == "which law" else None
    if year:  # "the Contract Act 2004": the year is part of the law's name
        end, answer = end + year.end(), answer + year.group(0)
    article = re.search(r"\b(the|The) $", sentence[: value.start])
    if article:
        start, answer = article.start(), f"the {answer}"
    return AnswerSpan(start, end, answer, wh, "name")


def _agent(words_before: list[str]) -> str | None:
    """ "who" for the doer of a passive ("was founded by Oskar Lindqvist"); None otherwise. (The
    holder of a role, "The chief executive of X is Lioba Farrant", is found by ``_ROLE_BEFORE``.)"""
    if (
        len(words_before) >= 2
        and words_before[-1].lower() == "by"
        and words_before[-2].lower() not in ("and", "or")
    ):
        return "who"
    return None


_SITED = {
    "headquartered",
    "based",
    "located",
    "situated",
    "registered",
    "incorporated",
    "headquarters",
    "seat",
    "offices",
    "office",
}


def _place(words_before: list[str]) -> str | None:
    """ "where" for a name the sentence places something in ("is headquartered in Vellmar", "has
    its headquarters in Port Ellery"); None otherwise."""
    if (
        len(words_before) >= 2
        and words_before[-1].lower() in ("in", "at")
        and words_before[-2].lower() in _SITED
    ):
        return "where"
    return None


def name_wh(name: str) -> str | None:
    """ "which court", "which law", "which company", "who", "which condition" for a name; None
    when unsure."""
    words = [w.lower().rstrip(".,") for w in name.split()]
    if not words:
        return None
    if len(words) >= 2 and words[-2].endswith(("'s", "’s")) and words[-1] in EPONYM_NOUNS:
        return "which principle" if words[-1] in _LAW_EPONYMS else "which condition"
    if set(words) & _LAW_WORDS:
        return "which law"
    if words[-1] in _NAME_HEADS:
        return _NAME_HEADS[words[-1]]
    if short_form(name):
        return "which company"
    if words[0] in _PERSON_TITLES:
        return "who"
    return None


def wh_phrase(value: Value, preposition: str = "") -> str:
    """The question words for a value ("how many days", "which year", "who"), for grouping
    values of the same type (e.g. negatives' distractor pools)."""
    span = answer_span(value.text, Value(value.kind, value.text, 0, len(value.text), value.norm))
    if span is not None:
        return span.wh
    return name_wh(value.text) or "what"


def _inside_parentheses(sentence: str, index: int) -> bool:
    before = sentence[:index]
    return before.count("(") > before.count(")") or before.count("（") > before.count("）")


def _zh_span(sentence: str, value: Value) -> AnswerSpan | None:
    if value.kind == "name":
        return None
    if value.kind == "date":
        kind = "year" if value.norm.endswith("--") else "date"
        return AnswerSpan(value.start, value.end, value.text, _ZH_WH[kind], "date")
    if value.kind == "citation":
        return AnswerSpan(value.start, value.end, value.text, _ZH_WH["citation"], "citation")
    number = re.search(r"[\d.,]+", value.text)
    if number is None or number.end() == len(value.text):
        return None  # a number without a unit
    return AnswerSpan(
        value.start, value.end, value.text, "多少" + value.text[number.end() :].strip(), "quantity"
    )
