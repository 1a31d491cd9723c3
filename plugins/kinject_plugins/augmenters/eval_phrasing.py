"""How ``eval-questions`` phrases a question: the statement around one value, with the value
replaced by a "which <type>" phrase, and the checks that keep only standalone, well-formed ones.

Word lists live in ``eval_questions.<lang>.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kinject_plugins.augmenters.clauses import AUXILIARIES, LEXICAL_VERBS
from kinject_plugins.augmenters.eval_values import (
    CorpusWords,
    TypedValue,
    coordinated,
    in_list,
    name_problem,
    normalise_choice,
)
from kinject_plugins.augmenters.facts import MONTHS, Value
from kinject_plugins.augmenters.questions import well_formed_question

if TYPE_CHECKING:
    from kinject_plugins.augmenters.eval_questions import EvalQuestionsOptions

#: stands for the ask phrase when a statement is read for its verb
_ASKED = "\u2047"


@cache
def language_data(language: str) -> dict[str, Any]:
    """The phrasing and word lists of ``eval_questions.<language>.yaml`` (English when absent)."""
    path = Path(__file__).with_name(f"eval_questions.{language}.yaml")
    if not path.exists():
        path = Path(__file__).with_name("eval_questions.en.yaml")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Phrasing:
    """What a question is phrased with: the language's data, the document title and the
    corpus's words (to tell a capitalised common word from a name, a noun from a verb)."""

    words: dict[str, Any]
    title: str
    corpus: CorpusWords


def phrase_question(
    answer: TypedValue, phrasing: Phrasing, opts: EvalQuestionsOptions
) -> tuple[str | None, str]:
    """(question, "") for one value of its sentence, or (None, reason it cannot be asked)."""
    value, sentence, words = answer.value, answer.sentence, phrasing.words
    reason = _unaskable(answer, phrasing)
    if reason:
        return None, reason
    start, clause = _clause_of(sentence, value)
    prefix = _drop_hedge(clause[: value.start - start].rstrip(" \"“'‘"), words["hedges"])
    tail = clause[value.end - start :].rstrip(" .;:!?").lstrip("\"”'’")
    dangling = frozenset(words["dangling"]) | frozenset(words["adverbs"])
    if (
        tail.startswith(",")
        and "," not in prefix
        and prefix.split()[:1]
        and prefix.split()[0].lower() in words["lead_words"]
    ):
        # A leading adverbial ("As of May 31, 2019, X was ..."): ask it after its main clause.
        main = _short_tail(tail[1:].strip(), opts.max_copied_words, dangling)
        if not main:
            return None, "no_predicate"
        prefix, tail = f"{main} {_lower_first(prefix, phrasing)}", ""
    # "the which year" reads wrong
    prefix = re.sub(r"(?:^|\s)(?:the|a|an)$", "", prefix, flags=re.IGNORECASE)
    short = _short_tail(tail, opts.max_copied_words, dangling)
    if len(prefix.split()) > opts.max_copied_words or short is None:
        return None, "too_long"
    ask = words["ask"][answer.type].format(citation=answer.unit or "reference")
    body = re.sub(
        r"\s+",
        " ",
        f"{_lower_first(prefix, phrasing)} "
        f"{ask}{' ' if short and short[0].isalnum() else ''}{short}",
    ).strip()
    if len(f"{prefix} {short}".split()) < 3:
        return None, "no_predicate"  # "as of which date?" says nothing about what happened then
    reason = _statement_problem(clause, body, ask, answer.type, phrasing)
    if reason:
        return None, reason
    question = f"{words['lead'].format(title=phrasing.title)}{body}?"
    if len(question.split()) > opts.max_words:
        return None, "too_long"
    if not well_formed_question(question) or re.search(r"([=\-_*~#])\1\1", question):
        return None, "malformed"
    if not standalone(f"{prefix} {short}", words):  # the ask phrase itself may say "these"
        return None, "not_standalone"
    if _answer_given(value, question):
        return None, "answer_in_question"
    return question, ""


def _statement_problem(
    clause: str, body: str, ask: str, asked_type: str, phrasing: Phrasing
) -> str:
    """Why the statement a question asks about is no statement: list debris (a bullet, or an
    enumeration label opening the clause: "k. For any ...", "(c) The ...", "2 Refer to ...") or
    no finite verb after a subject ("the fiscal year ended which date", "include ... fees")."""
    words = phrasing.words
    if body.split()[0].lower() in words["subordinators"]:
        return "no_predicate"  # "while X has broad authority ...": the main clause was cut off
    if any(mark in clause for mark in words["bullets"]) or re.match(
        r"\(?[a-zA-Z0-9]{1,3}[.)]\s|\d{1,2}\s+[A-Z]", clause
    ):
        return "list_debris"
    tokens = re.findall(rf"[\w'’-]+|[,;:(){_ASKED}]", body.replace(ask, f" {_ASKED} "))
    reading = _VerbReading(tokens, asked_type in ("year", "date"), words, phrasing.corpus)
    return (
        ""
        if any(reading.finite(i) and reading.has_subject(i) for i in range(1, len(tokens)))
        else "no_verb"
    )


@dataclass(frozen=True)
class _VerbReading:
    """A statement's tokens (the ask phrase as one token) read for a finite verb."""

    tokens: list[str]
    dated: bool
    words: dict[str, Any]
    corpus: CorpusWords

    def finite(self, i: int) -> bool:
        """``tokens[i]`` is a finite verb with a subject before it: an auxiliary, a known form,
        a lower-case "-ed" word that is no adjective ("the adjusted figure") and no participle
        of a date ("the year ended 31 May", "the year ended which date"), or a present form
        whose "-ed" form the corpus writes ("includes", "we expect")."""
        word, before = self.tokens[i], self.tokens[i - 1].lower()
        after = self.tokens[i + 1] if i + 1 < len(self.tokens) else ""
        if before in self.words["infinitive_marks"]:
            return False
        if word.lower() in AUXILIARIES or word in LEXICAL_VERBS or word in self.words["past_verbs"]:
            return True
        if not word.islower() or before in self.words["not_before_verb"] or before in ",(":
            return False
        if re.fullmatch(r"[a-z]{3,}ed", word):
            if word in self.corpus.passives and after.lower() in self.words["prepositions"]:
                return False  # "the offerings acquired with X": a passive participle
            date_after = (
                after.lower() in MONTHS
                or re.fullmatch(r"(?:1[5-9]|20)\d\d", after)
                or (self.dated and after == _ASKED)
            )
            # "which date adjusted ..."
            return not date_after and not (self.dated and i == 1 and before == _ASKED)
        # a present form: not after the ask phrase unless in "-s" ("which amount increase in"), no
        # noun
        return (
            (before != _ASKED or word.endswith("s"))
            and word not in self.corpus.nouns
            and self._present(word)
        )

    def has_subject(self, i: int) -> bool:
        """Something before ``tokens[i]`` besides adverbs and punctuation ("Also excludes ..." has
        none).
        """
        return any(
            t.lower() not in self.words["adverbs"] and t not in ",;:()" for t in self.tokens[:i]
        )

    def _present(self, word: str) -> bool:
        bases = (
            {word, word[:-1], word[:-2]}
            if word.endswith("s") and not word.endswith("ss")
            else {word}
        )
        pasts = (
            {f"{b}ed" for b in bases}
            | {f"{b}d" for b in bases if b.endswith("e")}
            | {f"{word[:-3]}ied"}
        )
        return bool(pasts & self.corpus.vocabulary)


def _unaskable(answer: TypedValue, phrasing: Phrasing) -> str:
    """Why a value cannot stand for a "which ..." phrase, or "" when it can."""
    value, sentence = answer.value, answer.sentence
    after = sentence[value.end :].lstrip()
    next_word = after.split(" ", 1)[0].strip(".,;:") if after else ""
    if _inside_brackets(sentence, value.start) or value.text.endswith(("'", "’")):
        return "malformed"
    if re.match(r"\.\d|\(\w|\w|-\w", sentence[value.end : value.end + 2]):
        # "Section 2.1", "Section 2(b)", "£1.7m", "ASU 2016-02": the value is cut off
        return "malformed"
    if next_word.lower() in phrasing.words["scales"]:
        return "malformed"  # "$28  million": the value was cut from its scale word
    if (
        answer.type in ("year", "number", "count")
        and next_word[:1].isupper()
        and sentence[value.end : value.end + 1] == " "
    ):
        return "part_of_name"  # "the 2018 Plan", "the 2041 Notes"
    if answer.type == "number":
        return "plain_number"  # a bare number is mostly a label ("Note 12", a footnote mark)
    if re.search(
        rf"(?:{'|'.join(re.escape(m) for m in phrasing.words['currency'])})\s$",
        sentence[: value.start],
    ):
        return "malformed"  # "€ 32 million": the value was cut from its currency
    if in_list(answer) or set(re.findall(r"\w+", sentence.lower())) & set(
        phrasing.words["list_markers"]
    ):
        # "$2.5 million, $2.6 million and $2.4 million ... respectively": ambiguous
        return "in_list"
    if coordinated(sentence, value, phrasing.words):
        return "coordinated"  # "as of May 31, 2019 and 2018": the other year is no extracted value
    return _name_unaskable(answer, phrasing) if answer.type == "name" else ""


def _name_unaskable(answer: TypedValue, phrasing: Phrasing) -> str:
    """Why a name cannot be asked about: see :func:`name_problem`; also a possessive ("the
    Group's revenue" asks "which of these names revenue"), a name opening its sentence (heading
    words run into it) or a shouted heading."""
    value, sentence = answer.value, answer.sentence
    if answer.unit != "quoted" and not sentence[: value.start].strip():
        # heading words run into the first name ("Unless You", "New Versions ...")
        return "name_at_start"
    if answer.unit != "quoted" and value.text.isupper() and " " in value.text:
        return "common_word"
    return name_problem(answer, phrasing.corpus, phrasing.words)


def _clause_of(sentence: str, value: Value) -> tuple[int, str]:
    """(offset, text) of the clause that holds the value: split at ``;`` and at ``:`` (a heading
    or label run into the sentence, "Loan-to-value: X defines ...")."""
    start = 0
    for cut in re.finditer(r"[;:]\s", sentence):
        if cut.start() >= value.start:
            return start, sentence[start : cut.start()]
        start = cut.end()
    return start, sentence[start:]


def _inside_brackets(sentence: str, index: int) -> bool:
    before = sentence[:index]
    return before.count("(") > before.count(")") or before.count("[") > before.count("]")


def _drop_hedge(prefix: str, hedges: list[str]) -> str:
    for hedge in hedges:
        if prefix.lower().endswith(" " + hedge) or prefix.lower() == hedge:
            return prefix[: len(prefix) - len(hedge)].rstrip()
    return prefix


def _short_tail(tail: str, limit: int, dangling: frozenset[str] = frozenset()) -> str | None:
    """The words after the value, cut at the first clause break when longer than ``limit``
    words (not inside "December 31, 2019" or "2019 and 2018"), without ``dangling`` words at
    its end ("... because", "... primarily"); None when even the first part is too long."""
    if len(tail.split()) <= limit and not re.search(r"[,;:]\s*$", tail):
        return _closed(tail, dangling)
    cut = re.search(
        r",(?!\s?\d)|;|:|\s(?:and|or|but|which|while|whereas|compared|as)\s(?![$€£¥]?\d)", tail
    )
    head = tail[: cut.start()] if cut else tail
    return _closed(head, dangling) if len(head.split()) <= limit else None


def _closed(tail: str, dangling: frozenset[str]) -> str:
    # A cut inside a bracket would leave it open; drop the unbalanced part.
    if tail.count("(") > tail.count(")"):
        tail = tail[: tail.rfind("(")]
    tail = tail.rstrip(" ,;:")
    while tail.split() and tail.split()[-1].lower() in dangling:
        tail = tail[: tail.rfind(tail.split()[-1])].rstrip(" ,;:")
    return tail


def _lower_first(prefix: str, phrasing: Phrasing) -> str:
    """The statement's first word in lower case when the corpus writes it so, or never
    capitalises it inside a sentence (a name, an acronym or the head of a longer name --
    "Tax Cuts and Jobs Act", "North America" -- keeps its capitals)."""
    if not prefix:
        return prefix
    first, *rest = prefix.split()
    corpus = phrasing.corpus
    common = first.lower() in corpus.vocabulary or first not in corpus.capitalised
    longer_name = (
        bool(rest)
        and rest[0].lower() not in MONTHS
        and (
            rest[0][:1].isupper()
            or (len(rest) > 1 and rest[0] in ("of", "and", "&") and rest[1][:1].isupper())
        )
    )
    if first.lower() not in phrasing.words["function_words"] and (
        not common or longer_name or any(c.isupper() for c in first[1:])
    ):
        return prefix
    return first.lower() + prefix[len(first) :]


def standalone(body: str, words: dict[str, Any]) -> bool:
    """No pronoun, first-person word or pointer ("above", "the following") left without an
    antecedent; "this"/"that" only before a capitalised name ("this License")."""
    tokens = re.findall(r"[\w'’]+", body)
    unresolved = {*words["unresolved"], *words["first_person"]}
    for i, token in enumerate(tokens):
        low = token.lower()
        if low in unresolved:
            return False
        if low in words["demonstratives"] and (
            i + 1 >= len(tokens) or not tokens[i + 1][:1].isupper()
        ):
            return False
    return True


def _answer_given(value: Value, question: str) -> bool:
    """The answer, or its bare number, is written in the question."""
    asked = normalise_choice(question)
    number = re.search(r"\d[\d,.]*\d|\d", value.text)
    keys = [normalise_choice(value.text)] + ([normalise_choice(number.group(0))] if number else [])
    return any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", asked) for k in keys if k)
