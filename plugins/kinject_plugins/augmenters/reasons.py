"""Questions whose answer is a clause of the sentence: why something happened, under what condition.

Reports and reference pages explain as much as they state: "Gross margin decreased in 2019
primarily due to lower prices", "If the service period is not met, the expense reverses". A reader
asks "Why did gross margin decrease in 2019?" and "Under what condition does the expense reverse?",
and the answer is the clause the sentence gives ("primarily due to lower prices"; "If the service
period is not met"), which carries no number, date or name for the value questions of
:mod:`.questions` to ask about.

:func:`reason_pairs` finds a cause marker ("due to", "because of", "as a result of" ...) or a
condition ("If ..., ...", "... only if ...") in one sentence and asks for it in up to two forms:

- inverted, when the main clause has an auxiliary or a past-tense verb to turn around ("Why has
  revenue grown ...?", "Why did gross margin decrease ...?"; the plain form of a regular past is
  the one the document itself uses, so no guess is written);
- embedded, always ("What was the reason gross margin decreased in 2019?", "What is the condition
  under which the expense reverses?").

A main clause opening with a pronoun that names nothing ("It increased ...") gives no question; the
word lists are language data (``data/english.yaml``, section ``reasons``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kinject_plugins.augmenters.clauses import lead_split
from kinject_plugins.augmenters.lexicon import alternation, lexicon, words
from kinject_plugins.augmenters.questions import STOP_WORDS, well_formed_question
from kinject_plugins.augmenters.statements import StatementPair

_MARKERS = words("reasons", "cause_markers")
_HEDGES = words("reasons", "hedges")
_REASON = re.compile(
    rf"(?:,\s*|\s)(?P<answer>(?:(?:{alternation(_HEDGES)})\s+)*"
    rf"(?P<marker>{alternation(_MARKERS)})\s+\S.*)$"
)
_CONDITIONS = words("reasons", "condition_leads")
_LEAD_CONDITION = re.compile(
    rf"^(?P<answer>(?:{alternation(_CONDITIONS)})\s[^,]+),\s+(?P<main>.+)$", re.IGNORECASE
)
# a trailing "if" only after a comma ("..., if the holder asks"): "determine if" is not a condition
_TRAIL_CONDITION = re.compile(
    rf"(?:,\s*(?P<a1>(?:{alternation(_CONDITIONS)})\s.+)"
    rf"|\s(?P<a2>(?:{alternation([c for c in _CONDITIONS if ' ' in c])})\s.+))$"
)
_AUXILIARIES = set(words("reasons", "auxiliaries"))
_NOT_BEFORE_VERB = set(words("reasons", "not_before_verb"))
_MODIFIERS = set(words("reasons", "modifier_participles"))
_IRREGULAR = {str(k): str(v) for k, v in lexicon()["reasons"]["irregular_past"].items()}
_PRONOUNS = set(words("reasons", "not_openers"))
_DISCOURSE = set(words("reasons", "discourse_leads"))
_RELATIVES = set(words("reasons", "relatives"))
# a finite verb after a marker when the clause before it has none: the marker was inside the
# subject ("The cost resulting from the change was $8.2 million"); a comma and a verb after a
# condition: it was a parenthesis ("..., if recognized, would reduce ...")
_FINITE = re.compile(r"\b(?:is|are|was|were|has|have|had)\b")
# words that open a clause of the reason's own ("..., which were offset", "as we issued debt"): a
# verb after one of them is that clause's
_CLAUSE_OPENER = re.compile(
    rf"\b(?:{alternation(words('reasons', 'clause_openers'))})\b", re.IGNORECASE
)
_PARENTHESIS = re.compile(r",\s+(?:would|will|is|are|was|were|may|could)\b")
_PAST_COPULA = re.compile(r"\b(?:was|were|had|did)\b|\b\w{3,}ed\b")
# markers that also modify a noun ("a disorder caused by ..."): a cause only after a comma, a
# hedge or a copula ("..., driven by higher rates"; "is mainly caused by ...")
_PARTICIPIAL = tuple(words("reasons", "participial_markers"))
_HEDGE_END = re.compile(rf"\s(?:{alternation(_HEDGES)})$")
# a finite verb later in the clause: an earlier past participle modifies the subject ("A contract
# concluded under duress is voidable ...")
_LATER_VERB = re.compile(rf"\b(?:{alternation(words('reasons', 'auxiliaries'))})\b")
#: at most this many words before the verb of a clause turned into a question
MAX_SUBJECT_WORDS = 14


def past_base(verb: str, vocabulary: set[str]) -> str | None:
    """The plain form of a past-tense ``verb`` ("decreased" -> "decrease", "rose" -> "rise"), or
    None when the document never writes a plain form the regular rules allow."""
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if not verb.endswith("ed") or len(verb) < 5:
        return None
    stem = verb[:-2]
    options = [stem + "e", stem]
    if verb.endswith("ied"):
        options = [verb[:-3] + "y"]
    elif len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        options = [stem[:-1], stem]
    return next((o for o in options if o in vocabulary), None)


def lower_first(text: str, proper: set[str]) -> str:
    """``text`` with its first word lowered as it reads inside a question, unless the document
    writes that word capitalised inside sentences (a name), it is an acronym or it holds a digit."""
    first, _, rest = text.partition(" ")
    if first in ("The", "A", "An"):
        return f"{first.lower()} {rest}".strip()
    if first in proper or first.isupper() or any(ch.isdigit() for ch in first):
        return text
    return f"{first.lower()} {rest}".strip()


def invert(clause: str, vocabulary: set[str], proper: set[str]) -> str | None:
    """``clause`` as the body of a question ("revenue has grown" -> "has revenue grown",
    "gross margin decreased in 2019" -> "did gross margin decrease in 2019"), or None when no
    auxiliary or past-tense verb follows a plain subject."""
    tokens = clause.split()
    depth = 0
    for i, token in enumerate(tokens):
        opening = depth
        depth += token.count("(") - token.count(")")
        if i == 0 or opening > 0 or "(" in token:
            continue
        if i > MAX_SUBJECT_WORDS or tokens[i - 1].endswith((",", ";", ":")):
            return None
        if tokens[i - 1].lower() in _RELATIVES:
            return None  # the verb of a relative clause inside the subject
        subject = lower_first(" ".join(tokens[:i]), proper)
        rest = " ".join(tokens[i + 1 :])
        if token in _AUXILIARIES:
            return f"{token} {subject} {rest}".strip() if rest else None
        if token != token.lower() or not token.isalpha() or token in _MODIFIERS:
            continue
        if tokens[i - 1].lower() in _NOT_BEFORE_VERB:
            continue
        base = past_base(token, vocabulary)
        if base is not None and not _LATER_VERB.search(rest.split(",")[0]):
            return f"did {subject} {base} {rest}".strip()
    return None


def _has_verb(clause: str) -> bool:
    """Whether ``clause`` has a finite verb after its first word: an auxiliary or a past tense (a
    list item "Damage part of your lung" has none and is no clause to ask about)."""
    tokens = clause.split()
    return any(
        t in _AUXILIARIES
        or (t in _IRREGULAR or (t.endswith("ed") and t.isalpha() and t not in _MODIFIERS))
        and tokens[i].lower() not in _NOT_BEFORE_VERB
        for i, t in enumerate(tokens[1:])
    )


def _starts_with_pronoun(text: str) -> bool:
    return text.split(" ", 1)[0].lower().strip(",") in _PRONOUNS


def _asked(main: str, vocabulary: set[str], proper: set[str]) -> tuple[str, str, str] | None:
    """(lead, inverted main clause or "", main clause as it reads after "the reason")."""
    if not main[:1].isupper():
        return None  # a fragment ("an increase of $6.0 million due to ...")
    lead, core = lead_split(main)
    if lead.lower() in _DISCOURSE:
        lead = ""
    core = re.sub(r"^then\s+", "", core)
    if len(core.split()) < 3 or _starts_with_pronoun(core) or re.search(r"[;:]|, but\b", core):
        return None
    inverted = invert(core, vocabulary, proper) or ""
    if not inverted and not _has_verb(core):
        return None
    return lead, inverted, lower_first(core, proper)


def _question(lead: str, body: str) -> str:
    text = f"{lead}, {body[0].lower()}{body[1:]}" if lead else body[0].upper() + body[1:]
    return text.rstrip(" ,;:") + "?"


def _reason(body: str, vocabulary: set[str], proper: set[str]) -> list[StatementPair]:
    match = _REASON.search(body)
    if match is None:
        return []
    main = body[: match.start()].strip().rstrip(",")
    answer = match["answer"].strip()
    while _HEDGE_END.search(main):  # "The blockage usually is caused by": the hedge is the answer's
        main = main[: _HEDGE_END.search(main).start()]  # type: ignore[union-attr]
    copula = re.match(r"^(?P<subject>.+?) (?P<cop>is|are|was|were)$", main)
    if (
        match["marker"] in _PARTICIPIAL
        and not copula
        and answer.startswith(match["marker"])
        and body[match.start()] != ","
    ):
        return []  # "a hormonal disorder caused by ...": what the disorder is, not why
    if main.split()[-1] in _AUXILIARIES | {"be", "been"} and not copula:
        return []
    if any(w in _RELATIVES for w in main.lower().split()[1:]):
        return []  # "a disorder in which people cannot tolerate gluten because ...": whose why?
    after = answer[match.end("marker") - match.start("answer") :]
    verb = _FINITE.search(after)
    if (
        verb is not None
        and not any(w in _AUXILIARIES for w in main.split()[1:])
        and not _CLAUSE_OPENER.search(after[: verb.start()])
    ):
        # the sentence's verb comes after the marker: the marker was inside the subject ("A
        # contract concluded because of fraud ... is voidable")
        return []
    if len(answer.split()) < 3 or len(main.split()) < 3 or _starts_with_pronoun(main):
        return []
    if copula:
        subject = lower_first(_HEDGE_END.sub("", copula["subject"]), proper)
        too_long = len(subject.split()) > MAX_SUBJECT_WORDS
        if _starts_with_pronoun(subject) or "," in subject or too_long:
            return []
        causes = "causes" if copula["cop"] in ("is", "are") else "caused"
        tense = "is" if copula["cop"] in ("is", "are") else "was"
        questions = [f"What {causes} {subject}?"]
        if subject.split()[0] in ("the", "a", "an"):  # "the reason for the decrease"
            questions.insert(0, f"What {tense} the reason for {subject}?")
        return [StatementPair(q, answer, "reason") for q in questions]
    asked = _asked(main, vocabulary, proper)
    if asked is None:
        return []
    lead, inverted, plain = asked
    tense = "was" if _PAST_COPULA.search(main) else "is"
    bodies = [f"why {inverted}"] if inverted else []
    bodies.append(f"what {tense} the reason {plain}")
    return [StatementPair(_question(lead, b), answer, "reason") for b in bodies]


def _condition(body: str, vocabulary: set[str], proper: set[str]) -> list[StatementPair]:
    lead = _LEAD_CONDITION.match(body)
    if lead is not None:
        answer, main = lead["answer"], lead["main"]
    else:
        trail = _TRAIL_CONDITION.search(body)
        if trail is None:
            return []
        answer = trail["a1"] or trail["a2"]
        main = body[: trail.start()].strip().rstrip(",")
    if _PARENTHESIS.search(answer) and lead is None:
        return []
    if len(answer.split()) < 3 or len(main.split()) < 3 or _starts_with_pronoun(main):
        return []
    if not main[:1].isupper() and lead is None:
        return []
    main = re.sub(r"^then\s+", "", main)
    asked = _asked(main[0].upper() + main[1:], vocabulary, proper)
    if asked is None:
        return []
    first, inverted, plain = asked
    bodies = [f"under what condition {inverted}"] if inverted else []
    bodies.append(f"what is the condition under which {plain}")
    return [StatementPair(_question(first, b), answer, "condition") for b in bodies]


def reason_pairs(
    sentence: str, vocabulary: Iterable[str], proper: set[str] | None = None
) -> list[StatementPair]:
    """The why and under-what-condition questions of one sentence ([] when it gives neither).

    ``vocabulary`` is the lower-case words of the document set (a past tense is turned into the
    plain form only when that form is among them); ``proper`` the words the document capitalises
    inside sentences (they keep their capital when a sentence's first word moves inside a
    question)."""
    known = vocabulary if isinstance(vocabulary, set) else set(vocabulary)
    pairs: list[StatementPair] = []
    # a list written inline ("Key changes were: • Cost of revenue increased ... • ...") is one
    # sentence to the splitter: each item is asked about alone
    for item in re.split(r"\s*[•▪◦]\s+", sentence.strip()):
        if not item.endswith(".") or len(item.split()) < 7:
            continue
        body = item[:-1]
        found = _reason(body, known, proper or set()) or _condition(body, known, proper or set())
        pairs += [
            p
            for p in found
            if well_formed_question(p.question, "reason")
            and p.answer.split()[-1].lower().strip(".,;)") not in STOP_WORDS | _PRONOUNS
        ]
    return pairs
