"""A shallow parse of an English fact sentence: lead adverbial, subject, verb group, predicate.

"Under Article 251 of the CPA an appeal must be lodged within 30 days." parses to lead
``Under Article 251 of the CPA``, subject ``an appeal``, auxiliary ``must``, predicate ``be lodged
within 30 days``. Questions are built from this parse (:mod:`.questions`); a sentence it cannot
parse (a pronoun subject, no finite verb found) yields no fronted question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kinject_plugins.augmenters.lexicon import alternation, lexicon, words

AUXILIARIES = set(words("clauses", "auxiliaries"))
COPULAS = set(words("clauses", "copulas"))
PRONOUNS = set(words("clauses", "pronouns"))
# Present-tense verbs recognised without an auxiliary (do-support turns them into questions).
LEXICAL_VERBS = set(words("clauses", "lexical_verbs"))
_LEAD_WORDS = tuple(words("clauses", "lead_words"))
_PARTICIPLE = re.compile(rf"^(?:\w+ed|{alternation(words('clauses', 'participles'))})$")
# Participles whose simple past differs; regular "-ed" verbs are their own past tense.
IRREGULAR_PAST = {str(k): str(v) for k, v in lexicon()["clauses"]["irregular_past"].items()}
_RELATIVIZERS = set(words("clauses", "relativizers"))
_PAST = re.compile(rf"^(?:\w+ed|{alternation(words('clauses', 'past_forms'))})$")
_MODALS = set(words("clauses", "modals"))
_ADVERBS = set(words("clauses", "adverbs"))


@dataclass(frozen=True)
class Clause:
    """A parsed clause. ``text[rest_start:]`` is the predicate after the verb group."""

    text: str
    lead: str
    subject: str
    aux: str
    negated: bool
    verb: str
    rest: str
    rest_start: int

    @property
    def core_subject(self) -> str:
        """The subject without a comma-delimited relative or appositive ("The Court of Appeal,
        which sits in the capital, Astrava" -> "The Court of Appeal")."""
        return re.split(r",\s+(?:which|who|also|whose)\b|\s+\(", self.subject, maxsplit=1)[0]

    @property
    def inverted_head(self) -> tuple[str, str]:
        """(auxiliary, main verb) for a question: "has" as a main verb becomes "does ... have"."""
        if self.aux:
            return self.aux, ""
        return "does", base_form(self.verb)


def base_form(verb: str) -> str:
    """The plain form of a third-person present verb ("passes" -> "pass", "applies" -> "apply")."""
    if verb == "has":
        return "have"
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if re.search(r"(ss|sh|ch|x|z|o)es$", verb):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") else verb


def lead_split(text: str) -> tuple[str, str]:
    """(lead adverbial, main clause): "Unless the parties agree otherwise, a debtor ..."."""
    citation_lead = re.match(
        r"^((?:Under|By) (?:Article|Section|Rule) \d+\w*(?: of the "
        r"(?:[A-Z][\w-]*\s?)+?)?),?\s+(?=[a-z]|An? |The )",
        text,
    )
    if citation_lead:
        return citation_lead.group(1), text[citation_lead.end() :]
    first = text.split(" ", 1)[0].lower()
    if first in _LEAD_WORDS and ", " in text:
        lead, main = text.split(", ", 1)
        if len(main.split()) >= 3:
            return lead, main
    return "", text


def parse_clause(text: str) -> Clause | None:
    """The parse of one clause (no final punctuation), or None when no usable subject/verb."""
    lead, main = lead_split(text)
    offset = len(text) - len(main)
    words = list(re.finditer(r"[^\s]+", main))
    skip_verbs = 0
    skipped: set[int] = set()
    depth = 0
    for i, match in enumerate(words):
        word = match.group(0)
        bare = word.lower().strip(",;:()")
        depth += word.count("(") - word.count(")")
        if i == 0 or depth > 0 or i in skipped:
            continue
        if i + 1 < len(words) and words[i + 1].group(0) == "that" and _PAST.match(bare):
            return None  # "The court held that ...": a past-tense main verb, no auxiliary to invert
        if bare in _RELATIVIZERS:
            # The relative clause's own verb follows ("who has reached", "that arrives").
            if bare == "whose":
                skip_verbs += 1
            else:
                j = i + 1
                while j < len(words) and words[j].group(0) in _ADVERBS:
                    j += 1
                skipped.add(j)
            continue
        is_aux = bare in AUXILIARIES and word.rstrip(",") == bare
        is_verb = bare in LEXICAL_VERBS and word == bare
        if not (is_aux or is_verb):
            continue
        if skip_verbs:
            skip_verbs -= 1
            continue
        if skipped or skip_verbs:
            # After a relative clause, a later modal is the safer main verb ("A buyer who
            # discovers that goods do not conform ... must notify").
            modal = next(
                (j for j in range(i + 1, len(words)) if words[j].group(0).rstrip(",") in _MODALS),
                None,
            )
            if bare not in _MODALS and modal is not None:
                return _clause(text, lead, main, offset, words, modal)
        return _clause(text, lead, main, offset, words, i)
    return None


def _clause(
    text: str, lead: str, main: str, offset: int, words: list[re.Match[str]], i: int
) -> Clause | None:
    subject = main[: words[i].start()].strip().rstrip(",")
    if not subject or subject.split()[0].lower() in PRONOUNS or subject.endswith(","):
        return None
    word = words[i].group(0).rstrip(",")
    aux, verb = (word, "") if word in AUXILIARIES else ("", word)
    if word in ("has", "have") and (
        i + 1 >= len(words) or not _PARTICIPLE.match(words[i + 1].group(0).lower())
    ):
        aux, verb = "", word  # "has 11 judges": a main verb, not a perfect auxiliary
    end = words[i].end()
    negated = False
    if aux and i + 1 < len(words) and words[i + 1].group(0) == "not":
        negated, end = True, words[i + 1].end()
    rest = main[end:].strip().lstrip(", ")
    if not rest:
        return None
    return Clause(text, lead, subject, aux, negated, verb, rest, offset + len(main) - len(rest))
