"""Questions that ask an amount a sentence states by its measure: "What was <measure> <period>?"

Reports state amounts in sentences as "Net cash provided by financing activities was $1.8 million
for the year ended December 31, 2018" or "We recorded a goodwill impairment charge of $1.9 million
in the fourth quarter of 2019". The value questions of :mod:`.questions` ask them where they
stand ("... was how much for the year ended ...?"); a reader asks by the measure and the period:
"What was net cash provided by financing activities for the year ended December 31, 2018?", "What
was the goodwill impairment charge in the fourth quarter of 2019?".

:func:`measure_pairs` asks that question of each amount (a currency, a percentage, or a number
with a scale word) that follows a link ("was", "totaled", "amounted to", "increased to") after a
plain noun phrase, or "of" after a determiner's noun phrase ("a valuation allowance of"), keeping
a prepositional phrase after the amount ("against its U.S. deferred tax assets") and the period
the sentence gives it. A sentence with a year and no period phrase for the amount gives nothing
(which year would be a guess), nor does one with several amounts joined by "respectively". The
word lists are language data (``data/english.yaml``, section ``measures``).
"""

from __future__ import annotations

import re

from kinject_plugins.augmenters.facts import CURRENCY_CODES, MONTHS, extract_values
from kinject_plugins.augmenters.lexicon import alternation, words
from kinject_plugins.augmenters.questions import well_formed_question
from kinject_plugins.augmenters.reasons import lower_first
from kinject_plugins.augmenters.statements import StatementPair

_MONTHS = "|".join(m.capitalize() for m in MONTHS)
#: "for the year ended December 31, 2018", "in the fourth quarter of 2019", "at 31 December
#: 2019", "during fiscal 2019", "as of June 30, 2019", "in FY19"
_PERIOD = re.compile(
    rf"\b(?:{alternation(words('measures', 'period_prepositions'))})\s"
    r"(?:[^\s,;()$€£¥]+\s){0,7}?"
    rf"(?:(?:{_MONTHS})\s\d{{1,2}},\s)?"
    r"(?:(?:19|20)\d\d|FY\s?\d\d|F\d\d)\b(?:/\d\d)?"
)
_YEAR = re.compile(r"(?<!\d)(?:(?:19|20)\d\d|FY\s?\d\d)(?!\d)")
_MONEY = re.compile(
    rf"[$€£¥%]|\b(?:{CURRENCY_CODES})\b|\b(?:{alternation(words('measures', 'scale_words'))})\b"
)
_LINKS = words("measures", "links")
_LINK = re.compile(rf"^(?P<measure>.+?) (?P<link>{alternation(_LINKS)})$")
_DETERMINERS = words("measures", "determiners")
_OF = re.compile(
    rf"(?:^|\s)(?P<det>{alternation(_DETERMINERS)}) (?P<measure>[^,;()$€£¥\d]+?) of$",
    re.IGNORECASE,
)
_VAGUE_HEADS = set(words("measures", "vague_heads"))
_NOT_OPENERS = set(words("reasons", "not_openers")) | set(words("measures", "not_openers"))
_FINITE = re.compile(rf"\b(?:{alternation(words('measures', 'finite_verbs'))})\b", re.IGNORECASE)
_MODIFIER_PREPOSITIONS = words("measures", "modifier_prepositions")
_MODIFIER = re.compile(
    rf"^\s(?P<phrase>(?:{alternation(_MODIFIER_PREPOSITIONS)})\s[^,;()$€£¥\d]+?)"
    rf"(?=$|[,;(]|\s(?:{alternation(words('measures', 'modifier_ends'))})\b)"
)
_LEAD = re.compile(
    rf"^(?P<lead>(?:{alternation(words('measures', 'period_prepositions'))})\s"
    rf"(?:[^,]*?(?:{_MONTHS})\s\d{{1,2}},\s(?:19|20)\d\d|[^,]+)),\s",
    re.IGNORECASE,
)
_PREPOSITIONS = set(words("measures", "object_prepositions"))
# "to" and a verb inside the measure: a clause ("The Company expects to reclassify gains of")
_INFINITIVE = re.compile(rf"\bto (?!(?:{alternation(_DETERMINERS)})\b)[a-z]+\b")
_RANGE = re.compile(r"^\s(?:and|to|through|-|–)\s(?:19|20)\d\d")
_PRESENT = {"is", "are"}
#: at most this many words in the measure, and in a phrase kept after the amount
MAX_MEASURE_WORDS = 12
MAX_MODIFIER_WORDS = 10


def _is_amount(text: str) -> bool:
    return bool(_MONEY.search(text))


def _measure_before(before: str) -> tuple[str, str] | None:
    """(measure, link) of the text before an amount, or None when it ends with no link."""
    link = _LINK.match(before)
    if link is not None:
        measure = link["measure"]
        lead = _LEAD.match(measure)
        if lead is not None:
            measure = measure[lead.end() :]
        if ", " in measure:
            return None  # a clause before the link ("In 2019, as sales grew, revenue was")
        return measure, link["link"]
    of = _OF.search(before)
    if of is None:
        return None
    preceding = before[: of.start("det")].split()
    if preceding and preceding[-1].lower() in _PREPOSITIONS:
        return None  # "an increase in net sales to the distributor channel of $81.7 million"
    tokens = of["measure"].split()
    last = max((i for i, t in enumerate(tokens) if t.lower() in _DETERMINERS), default=-1)
    return "the " + " ".join(tokens[last + 1 :]), "of"  # the determiner nearest the amount


def _plain(measure: str) -> bool:
    tokens = measure.split()
    lowered = [t.lower() for t in tokens]
    if not 1 <= len(tokens) <= MAX_MEASURE_WORDS or not tokens[0][:1].isalpha():
        return False
    head = lowered[-1]
    body = lowered[1:] if lowered[0] == "the" else lowered
    if not body or body[0] in _NOT_OPENERS or head in _VAGUE_HEADS or head in _NOT_OPENERS:
        return False
    undated = _PERIOD.sub("", measure)  # "held as collateral at 31 December 2019" keeps its date
    if _FINITE.search(measure) or _INFINITIVE.search(measure):
        return False
    return not any(ch.isdigit() for ch in undated)


def measure_pairs(sentence: str, proper: set[str] | None = None) -> list[StatementPair]:
    """The "What was <measure> <period>?" question of each amount of ``sentence`` it can ask
    ([] when none): its answer is the amount as written.

    ``proper`` is the words the document capitalises inside sentences (a name opening the
    measure keeps its capital inside the question)."""
    sentence = sentence.strip()
    if not sentence.endswith(".") or not sentence[:1].isupper() or "respectively" in sentence:
        return []
    body = sentence[:-1]
    lead = _LEAD.match(body)
    out: list[StatementPair] = []
    for value in extract_values(body):
        if value.kind != "quantity" or not _is_amount(value.text):
            continue
        found = _measure_before(body[: value.start].rstrip())
        if found is None:
            continue
        measure, link = found
        if not _plain(measure):
            continue
        after = re.sub(r"^\s*\([^()]*\)", "", body[value.end :])
        modifier = _MODIFIER.match(after)
        phrase = modifier["phrase"].strip() if modifier else ""
        if len(phrase.split()) > MAX_MODIFIER_WORDS or _PERIOD.match(phrase):
            phrase = ""
        stated = f"{measure} {phrase}".strip()
        period = ""
        if not _YEAR.search(stated):
            rest = after[modifier.end() :] if modifier and phrase else after
            later = _PERIOD.search(rest)
            if later is not None and _RANGE.match(rest[later.end() :]):
                continue  # "between 2023 and 2037": a range, not the amount's period
            if later is not None and later.start() <= 40:
                period = later.group(0)
            elif lead is not None and _YEAR.search(lead["lead"]) and lead.end() <= value.start:
                period = lead["lead"]
            elif _YEAR.search(body):
                continue  # a year the amount may belong to, with no phrase saying so
        verb = link if link in ("were", "is", "are") else "was"
        if verb in _PRESENT and period and not period.lower().startswith(("as of", "at ")):
            verb = "was" if link == "is" else "were"
        question = f"What {verb} {lower_first(stated, proper or set())}"
        question = f"{question} {period[:1].lower()}{period[1:]}".strip() + "?"
        if well_formed_question(question):
            out.append(StatementPair(question, value.text, "measure"))
    return out
