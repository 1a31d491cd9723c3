"""Questions whose answer is what a passive verb's preposition points to.

Reports state much of what they know as "<subject> is <participle> <preposition> <what>": "Our
ongoing involvement is limited to the remittance of customer payments", "The results have been
divided into two groups", "Inventories are stated at the lower of cost or market". A reader asks
"What is our ongoing involvement limited to?", and the answer is the phrase after the preposition,
which holds no number, date or name for the value questions of :mod:`.questions`, and is no
definition or reason for :mod:`.statements` and :mod:`.reasons`.

:func:`complement_pairs` asks that question when the subject reads as a noun phrase (no pronoun
that names nothing, no clause of its own) and the phrase after the preposition reads as one (not a
number or date, which the value questions ask about; not a verb after "to", "X is expected to
grow"); the phrase ends where a clause of its own begins. The word lists are language data
(``data/english.yaml``, section ``complements``).
"""

from __future__ import annotations

import re

from kinject_plugins.augmenters.lexicon import alternation, words
from kinject_plugins.augmenters.questions import STOP_WORDS, well_formed_question
from kinject_plugins.augmenters.reasons import lower_first
from kinject_plugins.augmenters.statements import StatementPair

_PREPOSITIONS = words("complements", "prepositions")
_STRANDED = set(_PREPOSITIONS)  # nor can one open the subject ("of E. coli are found in ...")
_ADVERBS = words("complements", "adverbs")
_IRREGULAR = words("clauses", "participles")
_PASSIVE = re.compile(
    r"^(?P<subject>.+?) (?P<aux>is|are|was|were|has|have|had|will|can|may|could|would|should|must)"
    rf"(?P<adverbs>(?: (?:{alternation(_ADVERBS)}))*)(?: (?P<be>been|be))?"
    rf" (?P<participle>[a-z]{{2,}}ed|{alternation(_IRREGULAR)})"
    rf" (?P<preposition>{alternation(_PREPOSITIONS)}) (?P<object>.+)$"
)
# "has/have/had" take "been" before the participle, a modal takes "be", "is/are/was/were" neither
_PERFECT = {"has", "have", "had"}
_MODALS = {"will", "can", "may", "could", "would", "should", "must"}
_NOT_SUBJECT_OPENERS = set(words("reasons", "not_openers")) | set(
    words("statements", "not_term_openers")
)
_RELATIVES = set(words("reasons", "relatives"))
_CONTROL = set(words("complements", "control_participles"))
_NOT_OBJECT_OPENERS = set(words("complements", "not_object_openers"))
# where the phrase ends: a clause of its own follows ("...; therefore ...", ", which ...")
_OBJECT_END = re.compile(rf"(?:;|:|,\s(?:{alternation(words('complements', 'object_ends'))})\b).*$")
_FINITE = re.compile(r"\b(?:is|are|was|were|has|have|had)\b")
# a value or a period: the value questions ask for those ("recorded in 2019", "for the year ended")
_VALUE = re.compile(
    rf"^(?:[$€£¥]|\d|the (?:{alternation(words('complements', 'period_heads'))})\b)", re.IGNORECASE
)
_CROSS_REFERENCE = re.compile(
    rf"^(?:{alternation(words('complements', 'reference_heads'))})\b|\b(?:below|above|herein)\b",
    re.IGNORECASE,
)
_DETERMINERS = set(words("questions", "determiners")) | {"the", "a", "an", "our", "its", "their"}
_SUBJECT_CLAUSE = set(words("complements", "subject_clause_words"))
# a past tense followed by its object inside the subject ("the HHS believed these illnesses")
_VERB_INSIDE = re.compile(
    r"\b[a-z]{3,}ed (?:the|these|those|this|that|a|an|our|its|their|his|her|\d)\b"
)
# where the phrase ends: another clause joined by "and"/"but" ("based on X and should begin ...")
# or a conjunction ("contraindicated in pregnancy because ...")
_JOINED_CLAUSE = re.compile(
    r"\s(?:(?:and|but|or)\s(?:is|are|was|were|should|must|may|can|will|would|has|have|had)"
    r"|but|because|since|although|though|whereas|unless|while)\b.*$"
)
_ABBREVIATION_CUT = re.compile(r"\b[A-Z](?:\.[A-Z])+$")  # "a U.S" of "a U.S. Treasury rate"
#: at most this many words in the subject (the question-length filter caps the whole question)
MAX_SUBJECT_WORDS = 18
#: at most this many words in the answer
MAX_OBJECT_WORDS = 24


def _verb_like(word: str, vocabulary: set[str]) -> bool:
    """Whether the document writes ``word`` with a verb's ending too ("provide": "provided")."""
    stem = word[:-1] if word.endswith("e") else word
    return bool({f"{stem}ed", f"{word}d", f"{stem}ing"} & vocabulary) or word in ("be", "have")


def complement_pairs(
    sentence: str, vocabulary: set[str] | None = None, proper: set[str] | None = None
) -> list[StatementPair]:
    """The "What is <subject> <participle> <preposition>?" question of one sentence, answered by
    the phrase after the preposition ([] when the sentence is not of that form).

    ``vocabulary`` is the lower-case words of the document set (a word after "to" that the
    document also writes as a verb, "provide" beside "provided", makes "to" an infinitive's);
    ``proper`` the words the document capitalises inside sentences (a name opening the sentence
    keeps its capital inside the question)."""
    sentence = sentence.strip()
    if not sentence.endswith(".") or not sentence[:1].isupper():
        return []
    match = _PASSIVE.match(sentence[:-1])
    if match is None:
        return []
    aux, be = match["aux"], match["be"]
    if (aux in _PERFECT) != (be == "been") or (be == "be") != (aux in _MODALS):
        return []
    subject = match["subject"]
    if ", " in subject:
        subject = subject.rsplit(", ", 1)[-1]  # a lead adverbial ("As described in Note 2, ...")
    tokens = subject.split()
    lowered = [t.lower().strip("()") for t in tokens]
    if not 1 <= len(tokens) <= MAX_SUBJECT_WORDS or lowered[0] in _NOT_SUBJECT_OPENERS | _STRANDED:
        return []
    if lowered[0].endswith("ing") or not tokens[0][:1].isalpha() or _SUBJECT_CLAUSE & set(lowered):
        return []  # "excluding the changes ...", "$480 million of ...", "... where prices ..."
    if (
        _CROSS_REFERENCE.search(subject)
        or re.match(r"[a-z]+ed\b", subject)
        or subject.endswith(",")
    ):
        return []  # "the analysis presented below"; "..., called X, ..." (a participle's phrase)
    if _VERB_INSIDE.search(subject):
        return []  # "the HHS believed these illnesses ...": the subject holds a clause's verb
    if lowered[-1] in _RELATIVES | STOP_WORDS or _FINITE.search(subject):
        return []  # "The amount that was paid to ...": the verb of a clause inside the subject
    if subject.count("(") != subject.count(")") or ":" in subject:
        return []
    participle, preposition = match["participle"], match["preposition"]
    answer = _JOINED_CLAUSE.sub("", _OBJECT_END.sub("", match["object"])).strip().rstrip(",")
    first = answer.split(" ", 1)[0].lower()
    if _VALUE.match(answer) or _CROSS_REFERENCE.search(answer) or first in _NOT_OBJECT_OPENERS:
        return []  # a value (the value questions ask it), a pointer to other text ("Note 9")
    second = answer.split()[1].lower() if len(answer.split()) > 1 else ""
    if preposition == "to" and (
        participle in _CONTROL
        or _verb_like(first, vocabulary or set())
        or second in _DETERMINERS  # "to measure the amount"
    ):
        return []  # "is expected to grow", "is organized to provide": what follows is a verb
    if not 2 <= len(answer.split()) <= MAX_OBJECT_WORDS or _FINITE.search(answer):
        return []
    if answer.count("(") != answer.count(")"):
        return []  # "two customers (2018": cut inside a parenthesis
    if " to be " in f" {answer} " or any(
        _verb_like(w[:-2] if w.endswith("es") else w[:-1], vocabulary or set())
        for w in answer.lower().split()[1:5]
        if w.endswith("s") and len(w) > 4
    ):
        return []  # "taken as the dye passes through ...": a clause, not a phrase
    if answer.split()[-1].lower().strip(".,;)") in STOP_WORDS or _ABBREVIATION_CUT.search(answer):
        return []
    asked = lower_first(subject, proper or set())
    middle = " ".join(w for w in (match["adverbs"].strip(), be) if w)
    question = " ".join(w for w in ("What", aux, asked, middle, participle, preposition) if w) + "?"
    if not well_formed_question(question, "complement"):
        return []
    return [StatementPair(question, answer, "complement")]
