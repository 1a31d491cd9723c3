"""Well-formed questions about one fact sentence, built from a parse of it.

For "A landlord must return the deposit within 28 days after the tenancy ends (Article 15 of the
Tenancy Act)." :func:`question_pairs` gives, among others:

- fronted: "Within how many days must a landlord return the deposit after the tenancy ends?" ->
  "28 days" (the wh-phrase takes its preposition and an ``of`` phrase with it);
- in situ: "A landlord must return the deposit within how many days after the tenancy ends?";
- article: "Under which article of the Tenancy Act must a landlord return the deposit within 28
  days after the tenancy ends?" -> "Article 15" (also from the heading above the sentence);
- cloze: 'Fill in the blank: "A landlord must return the deposit within ___ after ..." What goes
  in the blank?' (only a complete value blanked in a complete sentence).

Every candidate passes :func:`well_formed_question`; a sentence that yields none gives none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kinject_plugins.augmenters.answers import AnswerSpan, answer_span
from kinject_plugins.augmenters.clauses import (
    COPULAS,
    IRREGULAR_PAST,
    PRONOUNS,
    Clause,
    parse_clause,
)
from kinject_plugins.augmenters.facts import Fact, Value
from kinject_plugins.augmenters.lexicon import alternation, lexicon, words
from kinject_plugins.augmenters.segment import is_chinese

_FRONT_PREPS = set(words("questions", "front_preps"))
_OF_STOP = re.compile(rf",|;|\b(?:{alternation(words('questions', 'of_stops'))})\b")
# The value is not in the main clause when one of these comes between the verb and the value.
_SUBORDINATE = re.compile(rf",|\b(?:{alternation(words('questions', 'subordinators'))})\b")
_TRAILING_CITATION = re.compile(
    rf"\s*\((?P<inner>[^()]*\b(?:{alternation(words('questions', 'citation_heads'))})\s+\d+\w*[^()]*)\)$"  # noqa: E501
)
_DETERMINERS = set(words("questions", "determiners"))
DANGLING = set(words("questions", "dangling"))
_STRANDED = set(words("complements", "prepositions"))
STOP_WORDS = DANGLING | set(words("questions", "answer_stops"))


@dataclass(frozen=True)
class QuestionPair:
    """A question, its complete answer, the kind of value asked for and the form used."""

    question: str
    answer: str
    kind: str
    form: str


def well_formed_question(question: str, form: str = "") -> bool:
    """Ends with ?/？; no table pipes, markup, doubled punctuation or dangling last word; a blank
    (``___``) only in a cloze of a full quoted sentence."""
    if not question.endswith(("?", "？")) or "|" in question or "**" in question:
        return False
    if "___" in question and (
        form != "cloze"
        or not re.search(r"[“\"][A-Z\u4e00-\u9fff《(][^\"”]*___[^\"”]*[.。][”\"]", question)
    ):
        return False
    if re.search(r"[,;:?!？，；]\s*[,.;:?!？。，；]|\.\s*[,;?]|\(\s|\s\)|\s[,.;:?]", question):
        return False
    if question.count("(") != question.count(")") or question.count('"') % 2:
        return False
    if is_chinese(question):
        return len(question) >= 6
    words = re.findall(r"[\w'’-]+", question)
    # "What is X limited to?": a complement question ends on its preposition
    last = words[-1].lower()
    dangling = last in DANGLING and not (form == "complement" and last in _STRANDED)
    return len(words) >= 4 and question[0].isupper() and not dangling


def complete_answer(answer: str) -> bool:
    """A value, not a fragment: non-empty, no pipes or blanks, no stop word at either end."""
    words = answer.split()
    if not words or "|" in answer or "___" in answer or len(words) > 12:
        return False
    return words[-1].lower().strip(".,;'’") not in STOP_WORDS and answer.strip()[-1] not in ",;:("


def _lower_subject(subject: str, vocabulary: set[str]) -> str:
    words = subject.split()
    first = words[0]
    if first.lower() in _DETERMINERS:
        return first.lower() + subject[len(first) :]
    multiword_name = len(words) > 1 and words[1][:1].isupper()
    if not multiword_name and (
        first.lower() in vocabulary or first.lower().rstrip("s") in vocabulary
    ):
        return first.lower() + subject[len(first) :]
    return subject


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,;?])", r"\1", text)
    text = re.sub(r",\s*,", ",", text)
    return re.sub(r"^,\s*|,\s*(?=\?$)", "", text)


def _finish(text: str) -> str:
    text = _tidy(text.rstrip(" ,;，；"))
    return text[:1].upper() + text[1:] + ("？" if is_chinese(text) else "?")


def _of_phrase(after: str) -> str:
    """The ``of ...`` phrases that belong to a value ("within 10 days of the consumer's notice
    of withdrawal")."""
    phrase = ""
    while True:
        match = re.match(r"^ of (\S+(?: \S+){0,5})", after[len(phrase) :])
        if not match:
            return phrase
        stop = _OF_STOP.search(match.group(1))
        words = match.group(1)[: stop.start()].strip() if stop else match.group(1)
        if not words:
            return phrase
        phrase += f" of {words}"


def _first_conjunct(text: str) -> str:
    """Cut a second coordinated predicate ("... in 1998 and entered into force on ..."): a fronted
    question about the first must not carry the second."""
    match = re.search(r"\s+and\s+(?:\w+ed|\w+s|must|may|is|are|was|were)\b", text)
    return text[: match.start()] if match else text


def _possessed(span: AnswerSpan, after: str) -> str:
    """The noun after a possessive value ("60 days' written notice"), fronted with it."""
    if not span.wh.endswith(("'", "’")):
        return ""
    match = re.match(
        r"^ ((?:(?!(?:before|after|of|to|in|on|for|and|or|from|within)\b)[\w-]+ ?){1,2})", after
    )
    return f" {match.group(1).strip()}" if match else ""


def _inverted(clause: Clause, remaining: str, vocabulary: set[str]) -> str:
    aux, verb = clause.inverted_head
    parts = [
        aux,
        _lower_subject(clause.core_subject, vocabulary),
        "not" if clause.negated else "",
        verb,
        remaining,
    ]
    return " ".join(p for p in parts if p)


def _fronted(clause: Clause, span: AnswerSpan, vocabulary: set[str]) -> str | None:
    if span.start < clause.rest_start or ":" in clause.text:
        return None
    rest = clause.text[clause.rest_start :]
    before, after = (
        rest[: span.start - clause.rest_start].rstrip(),
        rest[span.end - clause.rest_start :],
    )
    if not before and not after.strip() and (clause.aux in COPULAS):
        head = (
            "how long"
            if span.wh == "what period"
            else ("what" if span.wh in ("how much",) else "what")
        )
        head = "who" if span.wh == "who" else head
        return _finish(
            f"{_lead(clause)}{head} {clause.aux} {_lower_subject(clause.core_subject, vocabulary)}"
        )
    if _SUBORDINATE.search(before):
        return None
    words = before.split()
    prep = words[-1] if words else ""
    if prep == "by" and span.wh == "who" and not _is_participle(words[0]):
        # "is an oral modulator developed by X": the agent of a reduced relative cannot be fronted
        return None
    if span.wh == "what age" and re.search(r"\b(?:on |upon )?reaching$", before):
        before, prep = re.sub(r"\s*\b(?:on |upon )?reaching$", "", before), "at"
    elif prep.lower() in _FRONT_PREPS:
        before = " ".join(words[:-1])
    elif (
        len(words) <= (1 if clause.aux else 0)
        and clause.aux not in COPULAS
        and not re.search(r"^\s*(?:and|or|,)|,\s*(?:and|or|but)\b", after)
    ):
        # The value is the object: "must give 30 days of notice" -> "How many days of notice must
        # ... give?"
        of = _possessed(span, after) or _of_phrase(after)
        rest_words = _tidy(f"{before} {after[len(of) :]}")
        return _finish(f"{_lead(clause)}{span.wh}{of} {_inverted(clause, rest_words, vocabulary)}")
    else:
        return None
    of = _possessed(span, after) or _of_phrase(after)
    after = _first_conjunct(after[len(of) :])
    before = _first_conjunct(before) if before else before
    if re.match(r"^\s*(?:\w+ )?(?:which|whom|who|that)\b", after):
        # "within 6 months of the date on which ...": the relative clause needs its noun
        return None
    if span.wh == "where":
        head = "where"
    elif span.kind == "date":
        head = "when" if prep in ("on", "in", "at") else f"{prep} {span.wh}"
    else:
        head = f"{prep} {'whom' if span.wh == 'who' else span.wh}{of}"
    return _finish(
        f"{_lead(clause)}{head} {_inverted(clause, _tidy(f'{before} {after}'), vocabulary)}"
    )


# Participle -> simple past for the active question: the shared irregular ones and a few more a
# question may use ("Who found ...?"); regular "-ed" participles are their own past tense.
_SIMPLE_PAST = {
    **IRREGULAR_PAST,
    **{str(k): str(v) for k, v in lexicon()["questions"]["simple_past"].items()},
}
_PASSIVE_AUX = set(words("questions", "passive_auxiliaries"))
_AGENT_WH = set(words("questions", "agent_wh"))


def _is_participle(word: str) -> bool:
    return bool(re.fullmatch(r"[a-z]+", word)) and (word.endswith("ed") or word in _SIMPLE_PAST)


def _active(clause: Clause, span: AnswerSpan, vocabulary: set[str]) -> str | None:
    """ "X was founded in 2003 by Oskar Lindqvist" -> "Who founded X in 2003?" (the agent of a
    past passive asked as the subject of the active verb)."""
    if clause.aux not in _PASSIVE_AUX or clause.negated or clause.lead or span.wh not in _AGENT_WH:
        return None
    rest = clause.text[clause.rest_start :]
    before, after = rest[: span.start - clause.rest_start], rest[span.end - clause.rest_start :]
    words, tail = before.split(), after.strip()
    if (
        len(words) < 2
        or words[-1] != "by"
        or _SUBORDINATE.search(" ".join(words[:-1]))
        or _SUBORDINATE.search(tail)
    ):
        return None
    if any(
        part and part.split()[0].lower() not in _FRONT_PREPS
        for part in (" ".join(words[1:-1]), tail)
    ):
        return None  # only prepositional phrases move along ("written up by" keeps its particle)
    participle = words[0]
    if not _is_participle(participle):
        return None
    middle = " ".join(words[1:-1])
    verb = _SIMPLE_PAST.get(participle, participle)
    obj = _lower_subject(clause.core_subject, vocabulary)
    return _finish(f"{span.wh} {verb} {obj} {middle} {tail}")


def _lead(clause: Clause) -> str:
    return f"{clause.lead}, " if clause.lead else ""


def _in_situ(text: str, clause: Clause | None, span: AnswerSpan) -> str | None:
    if clause is not None and clause.lead and span.start < len(clause.lead):
        return None  # a wh-phrase inside a fronted adverbial needs inversion: see _lead_question
    if _starts_with_pronoun(text):
        return None  # "It must be exercised within ...": the question would not say what "it" is
    after = text[span.end :]
    if span.start == 0 and clause is not None and clause.subject.startswith(text[: span.end]):
        appositive = clause.subject[span.end :]
        if appositive.startswith((",", " (")):
            after = text[span.end + len(appositive) :].lstrip(", ")
            after = f" {after}" if after else after
    if span.start == 0:
        after = re.sub(r"^ \([^()]*\)", "", after)  # "Castellan Foods Group (CSTF) announces"
    before, wh = text[: span.start], span.wh
    if wh == "who" and re.search(r"\b(?:by|to|with|from|for)\s$", before):
        wh = "whom"
    elif wh == "where":
        before = re.sub(r"\b(?:in|at)\s$", "", before)
    return _finish(f"{before}{wh}{after}")


def _lead_question(clause: Clause, span: AnswerSpan, vocabulary: set[str]) -> str | None:
    """ "Under Article 251 of the CPA an appeal must ..." -> "Under which article of the CPA must an
    appeal ...?".
    """
    if not clause.lead or span.end > len(clause.lead) or not (clause.aux or clause.verb):
        return None
    lead = clause.lead[: span.start] + span.wh + clause.lead[span.end :]
    return _finish(f"{lead} {_inverted(clause, clause.rest, vocabulary)}")


def _starts_with_pronoun(text: str) -> bool:
    return text.split(" ", 1)[0].lower() in PRONOUNS


def _cloze(sentence: str, span: AnswerSpan) -> str | None:
    if (
        _starts_with_pronoun(sentence)
        or len(sentence.split()) > 40
        or sentence[span.start : span.end].endswith(("'", "’"))
    ):
        return None
    blanked = sentence[: span.start] + "___" + sentence[span.end :]
    if is_chinese(sentence):
        return f"请填空：“{blanked}”空白处应填什么？"
    return f'Fill in the blank: "{blanked}" What goes in the blank?'


def _clauses(body: str) -> list[tuple[int, str]]:
    """(offset, clause) for each ``;``-separated clause of a sentence body."""
    out, pos = [], 0
    for part in body.split("; "):
        out.append((pos, part))
        pos += len(part) + 2
    return out


def _article_questions(
    fact: Fact, clause_text: str, clause: Clause | None, vocabulary: set[str]
) -> list[QuestionPair]:
    """Questions answered by the article that states the fact (from the text or the heading)."""
    cited = _TRAILING_CITATION.search(clause_text)
    law, citation = fact.context.law, fact.context.citation
    if cited:
        inner = cited.group("inner")
        citation = re.search(r"(?:Article|Section|Rule)\s+\d+\w*", inner).group(0)  # type: ignore[union-attr]
        named = re.search(r"\bof the (.+)$|^(.+?),\s*(?:Article|Section|Rule)", inner)
        law = (named.group(1) or named.group(2)).strip() if named else ""
    elif (
        re.search(r"\b(?:Article|Section|Rule)\s+\d", clause_text)
        or not citation
        or is_chinese(clause_text)
    ):
        return []
    of_law = f" of the {law}" if law else ""
    pairs = []
    plain = clause is not None and not re.search(
        r"[(:]|\b(?:Article|Section|Rule)\s+\d", clause.text
    )
    if clause is not None and plain and not clause.lead and clause.rest:
        pairs.append(
            QuestionPair(
                _finish(
                    f"under which article{of_law} {_inverted(clause, clause.rest, vocabulary)}"
                ),
                citation,
                "citation",
                "article",
            )
        )
    if not cited and fact.context.topic and law:
        topic = fact.context.topic
        topic = topic[:1].lower() + topic[1:] if not topic.split()[0].isupper() else topic
        pairs.append(
            QuestionPair(
                f"Which article of the {law} covers {topic}?", citation, "citation", "article"
            )
        )
    return pairs


def _shifted(value: Value, offset: int) -> Value:
    return Value(value.kind, value.text, value.start - offset, value.end - offset, value.norm)


def question_pairs(fact: Fact, vocabulary: set[str] | None = None) -> list[QuestionPair]:
    """Every well-formed (question, answer) pair for a fact, best forms first, values
    interleaved.
    """
    vocabulary = vocabulary or set(fact.words)
    body = re.sub(r"[.!?。！？；]+$", "", fact.text.rstrip())
    if any(v.end > len(body) for v in fact.values):
        # the full stop belongs to the last value ("... by Hestia Biolabs Ltd.")
        body = fact.text.rstrip()
    per_value: list[list[QuestionPair]] = []
    article: list[QuestionPair] = []
    chinese = is_chinese(body)
    for offset, raw in _clauses(body) if not chinese else [(0, body)]:
        cited = _TRAILING_CITATION.search(raw)
        text = raw[: cited.start()] if cited else raw
        clause = parse_clause(text) if not chinese else None
        article += _article_questions(fact, raw, clause, vocabulary)
        for value in fact.values:
            if not (offset <= value.start and value.end <= offset + len(text)):
                continue
            span = answer_span(text, _shifted(value, offset))
            if span is None:
                continue
            forms: list[tuple[str | None, str]] = []
            if clause is not None:
                forms += [
                    (_active(clause, span, vocabulary), "active"),
                    (_fronted(clause, span, vocabulary), "fronted"),
                    (_lead_question(clause, span, vocabulary), "fronted"),
                ]
            forms.append((_in_situ(text, clause, span), "in-situ"))
            full = answer_span(fact.text, value)
            if full is not None and not _inside_parentheses(fact.text, value.start):
                forms.append((_cloze(fact.text, full), "cloze"))
            per_value.append(
                [QuestionPair(q, span.answer, span.kind, form) for q, form in forms if q]
            )
    ordered = [
        pairs[i]
        for i in range(max((len(p) for p in per_value), default=0))
        for pairs in per_value
        if i < len(pairs)
    ]
    seen: set[str] = set()
    out = []
    for pair in [*ordered[:2], *article, *ordered[2:]]:
        if (
            pair.question in seen
            or not well_formed_question(pair.question, pair.form)
            or not complete_answer(pair.answer)
        ):
            continue
        if pair.form != "cloze" and pair.answer.lower() in pair.question.lower():
            continue  # the question gives its own answer away
        seen.add(pair.question)
        out.append(pair)
    return out


def _inside_parentheses(sentence: str, index: int) -> bool:
    before = sentence[:index]
    return before.count("(") > before.count(")") or before.count("（") > before.count("）")


def questions_for(fact: Fact, value: Value) -> list[str]:
    """The question phrasings (no cloze) whose answer is ``value``, best first."""
    return [
        p.question for p in question_pairs(fact) if p.form != "cloze" and value.text in p.answer
    ]
