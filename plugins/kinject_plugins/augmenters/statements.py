"""Questions whose answer is a whole statement: what a term is, what causes it.

The value questions of :mod:`.questions` need a number, date, citation or name in the sentence;
much of a real document has none ("Celiac disease is an immune disorder in which ..."), and a
reader's first questions about it are "What is celiac disease?" and "What causes it?". For a
sentence of the form ``<term> is/are <what it is>``, ``<term> is caused by <cause>`` or
``<cause> (can) cause(s) <term>`` (:func:`active_cause_pair`), :func:`statement_pairs` asks those
questions and answers with the sentence itself, so the answer
restates its subject and stays grounded.

A term qualifies when it reads as a noun phrase (no clause words, not a pronoun or a vague
"the good news") and the document cares about it: it shares a word with the document's title or
the passage's section, or the document names it in another sentence too. The word lists are
language data (``data/english.yaml``, section ``statements``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kinject_plugins.augmenters.lexicon import alternation, lexicon, words
from kinject_plugins.augmenters.subject import has_unresolved_reference

_TERM_OPENERS = set(words("statements", "not_term_openers"))
_TERM_WORDS = set(words("statements", "not_term_words"))
_PARTICIPLES = set(words("clauses", "participles"))
_VAGUE = set(words("statements", "vague_heads"))
_NOT_DEFINITION = words("statements", "not_definition_starts")
_CAUSE = re.compile(
    rf"^(?P<term>.+?) (?P<copula>is|are) (?:{alternation(words('statements', 'cause_markers'))}) "
    r"(?P<rest>.+)$"
)
_COPULA = re.compile(r"^(?P<term>.+?) (?P<copula>is|are) (?P<rest>.+)$")
_CAUSE_VERBS = {str(k): str(v) for k, v in lexicon()["statements"]["active_cause_verbs"].items()}
_CAUSE_MODALS = words("statements", "cause_modals")
_CAUSE_ADVERBS = rf"(?:(?:{alternation(words('statements', 'cause_adverbs'))}) )*"
_ACTIVE_CAUSE = re.compile(
    rf"^(?P<cause>[^,;:]+?) {_CAUSE_ADVERBS}(?:(?P<modal>{alternation(_CAUSE_MODALS)}) )?"
    rf"{_CAUSE_ADVERBS}"
    rf"(?P<verb>{alternation(list(_CAUSE_VERBS))}) (?P<term>.+)$"
)
_NOT_BEFORE_CAUSE = set(words("statements", "not_before_cause"))
_NOT_CAUSE_OPENERS = set(words("reasons", "not_openers"))
_NOT_CAUSED_OPENERS = set(words("statements", "not_caused_openers"))
_BACK_REFERENCES = set(words("statements", "back_references"))
# a list after the verb ("can cause sudden, uncontrollable, dangerous rhythms"): the term is the
# whole list, not its first item
_LIST_AFTER = re.compile(r"^[^,]+,\s*[^,]{1,30},")
# where the caused term ends: a clause or a means follows ("... causes X because ...", "... by ...")
_TERM_END = re.compile(
    rf"(?:,|;|:|\s(?:{alternation(words('statements', 'caused_term_ends'))})\s).*$"
)
_NOT_DEFINITION_RE = re.compile(rf"^(?:{alternation(_NOT_DEFINITION)})\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][\w'’\-]*")
#: at most this many words in a term
MAX_TERM_WORDS = 6
#: at most this many words in the cause of "<cause> causes <term>"
MAX_CAUSE_WORDS = 14


@dataclass(frozen=True)
class StatementPair:
    """A question, the sentence that answers it, and the form (``definition`` or ``cause``)."""

    question: str
    answer: str
    form: str


def _content(text: str) -> set[str]:
    return {w.lower().rstrip("s") for w in _WORD.findall(text) if len(w) > 3}


def clean_term(term: str) -> str | None:
    """``term`` when it reads as the noun phrase a definition is about, else None."""
    tokens = term.split()
    if not 1 <= len(tokens) <= MAX_TERM_WORDS or not term[:1].isupper():
        return None
    lowered = [t.lower().strip(",;:()") for t in tokens]
    if lowered[0] in _TERM_OPENERS or any(t in _TERM_WORDS for t in lowered):
        return None
    if any(ch.isdigit() for ch in term) or "," in term or ":" in term:
        return None
    if lowered[-1] in _VAGUE or has_unresolved_reference(term):
        return None  # "The good news is ...", "The Company is ...": not a term
    return term


def _question_term(term: str, proper: set[str]) -> str:
    """The term as it reads inside a question: a leading "The"/"A" lowered, and the first word
    lowered unless the document writes it capitalised inside sentences too."""
    first, _, rest = term.partition(" ")
    if first in ("The", "A", "An") or first not in proper:
        first = first.lower()
    return f"{first} {rest}".strip()


def active_cause_pair(sentence: str, topic: str) -> StatementPair | None:
    """ "What causes <term>?" for a sentence "<cause> (can) cause(s) <term> ..." whose caused term
    shares a word with ``topic`` (the document's title and section), answered by the sentence;
    None when the sentence is not of that form, its cause is a pronoun or a clause, or "cause"
    is a noun there ("the main cause of ...")."""
    if not sentence.endswith(".") or sentence.endswith(":."):
        return None
    match = _ACTIVE_CAUSE.match(sentence[:-1])
    if match is None or not sentence[:1].isupper():
        return None
    cause = match["cause"].split()
    if len(cause) > MAX_CAUSE_WORDS or cause[0].lower() in _NOT_CAUSE_OPENERS:
        return None
    if cause[-1].lower() in _NOT_BEFORE_CAUSE or cause[0].lower() in _TERM_OPENERS:
        return None
    if any(w.lower() in _BACK_REFERENCES for w in cause) or has_unresolved_reference(
        " ".join(cause)
    ):
        return None  # "A low level of this hormone can lead to ...": which hormone?
    if _LIST_AFTER.match(match["term"]):
        return None
    term = _TERM_END.sub("", match["term"]).strip()
    words_ = term.split()
    if not 1 <= len(words_) <= MAX_TERM_WORDS or " to " in f" {term} ":
        return None  # "causes the glands to produce ...": what the cause makes happen, no term
    first = words_[0].lower()
    if first in _NOT_CAUSE_OPENERS | _NOT_CAUSED_OPENERS or has_unresolved_reference(term):
        return None
    if first == "the" and len(words_) <= 2:
        return None  # "may cause the disease": the one named earlier
    if not _content(term) & _content(topic):
        return None
    verb = match["verb"]
    if match["modal"]:
        plain = "lead to" if verb.startswith("le") else "cause"
        return StatementPair(f"What {match['modal']} {plain} {term}?", sentence, "cause")
    return StatementPair(f"What {_CAUSE_VERBS[verb]} {term}?", sentence, "cause")


def statement_pairs(
    sentence: str, topic: str, mentioned: Iterable[str], proper: set[str]
) -> list[StatementPair]:
    """The definition or cause question of one sentence ([] when it is neither).

    ``topic`` is the document title and section heading; ``mentioned`` the document's other
    sentences (a term named again there is one the document is about); ``proper`` the words the
    document capitalises inside sentences (names keep their capital in the question).
    """
    sentence = sentence.strip()
    if not sentence.endswith(".") or sentence.endswith(":."):
        return []
    body = sentence[:-1]
    cause = _CAUSE.match(body)
    match = cause or _COPULA.match(body)
    if match is None:
        active = active_cause_pair(sentence, topic)
        return [active] if active else []
    term = clean_term(match["term"])
    rest = match["rest"]
    if term is None or len(rest.split()) < 3:
        return []
    first = rest.split()[0].lower()
    if not cause and (
        _NOT_DEFINITION_RE.match(rest) or first.endswith(("ed", "ly")) or first in _PARTICIPLES
    ):
        return []  # "X is also ...", "X is located ...", "X is slightly ...": not what X is
    key = _content(term)
    if not key:
        return []
    relevant = bool(key & _content(topic)) or any(
        term.lower() in other.lower() for other in mentioned if other != sentence
    )
    if not relevant:
        return []
    asked = _question_term(term, proper)
    if cause:
        return [StatementPair(f"What causes {asked}?", sentence, "cause")]
    verb = "are" if match["copula"] == "are" else "is"
    return [StatementPair(f"What {verb} {asked}?", sentence, "definition")]


def capitalised_inside(texts: Iterable[str]) -> set[str]:
    """Words written with a capital after a sentence's first word (names: "Graves", "EPO")."""
    out: set[str] = set()
    for text in texts:
        for match in re.finditer(r"(?<=[\w,;)] )([A-Z][\w'’\-]*)", text):
            out.add(match.group(1))
    return out
