"""Checks every generated question-answer pair passes, whichever backend wrote it.

- **grounded**: the answer is found in the source passage, and so is every number in it;
- **standalone**: the question names its subject ("we", "our", "the Company" are replaced by the
  document's subject, see :mod:`.subject`; a question that still names neither the subject nor the
  document is framed with the document's title, or dropped when the document has none);
- **well-formed**: length caps on question and answer, no fill-in-the-blank of a whole long
  sentence, the answer not given away by the question;
- **diverse**: no answer string serves more than a few questions of one document, and
  near-duplicate questions (same answer, almost the same words) are dropped.

:class:`QAFilter` keeps a count of drops per reason; augmenters put it in their ``stats``, which the
stage summary shows like a cleaner's drops.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kinject_plugins.augmenters.prompts import fill
from kinject_plugins.augmenters.subject import (
    Subject,
    has_unresolved_reference,
    mentions,
    names_subject,
    resolve,
)

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: how the rules' fill-in-the-blank questions start (the cloze frame replaces it)
CLOZE_LEAD = "Fill in the blank: "


class FilterOptions(BaseModel):
    """Thresholds of the question filters. The defaults were chosen by reading the rules' questions
    on TAT-QA report extracts; docs/benchmark.md measures them on both halves of the real-text
    suites."""

    model_config = ConfigDict(extra="forbid")

    max_question_words: int = Field(default=32, ge=3)
    max_answer_words: int = Field(default=12, ge=1)
    #: a statement question's answer is its whole sentence ("What is X?" -> "X is ..."): this cap
    max_statement_words: int = Field(default=40, ge=3)
    #: a fill-in-the-blank question longer than this many words is dropped
    max_cloze_words: int = Field(default=30, ge=5)
    #: one answer string may serve at most this share of a document's questions ...
    answer_share: float = Field(default=0.03, gt=0, le=1)
    #: ... but always this many (the phrasings of one fact share their answer)
    min_per_answer: int = Field(default=3, ge=1)
    # : two questions with one answer are duplicates when their word sets overlap this much
    # (Jaccard) ...
    near_duplicate: float = Field(default=0.8, gt=0, le=1)
    # : ... and so do their word pairs (a question with the same words in another order is a new
    # phrasing)
    near_duplicate_pairs: float = Field(default=0.5, gt=0, le=1)


@dataclass
class Candidate:
    """A generated pair before the filters: its passage and document subject ride along."""

    question: str
    answer: str
    passage: str
    document: str
    subject: Subject
    payload: dict[str, object] = field(default_factory=dict)


def normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def grounded(answer: str, passage: str) -> bool:
    """The answer (case and spacing aside) is in the passage, and so is each of its numbers."""
    if not answer.strip():
        return False
    text = normalise(passage)
    if normalise(answer).strip(" .") in text:
        return True
    numbers = _NUMBER.findall(answer)
    stated = set(_NUMBER.findall(passage))
    words = [w for w in _WORD.findall(answer.lower()) if not w.isdigit()]
    return bool(numbers) and all(n in stated for n in numbers) and all(w in text for w in words)


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def shingles(text: str) -> set[tuple[str, str]]:
    """Word pairs of ``text``: two questions with the same words in another order are different
    phrasings ("How many days ...?" / "A tenant must give how many days ...?"), not duplicates."""
    tokens = _WORD.findall(text.lower())
    return set(zip(tokens, tokens[1:], strict=False)) or {(t, "") for t in tokens}


def is_cloze(question: str) -> bool:
    return "___" in question or question.lower().startswith("fill in the blank")


class QAFilter:
    """Applies the checks in order and counts what each drops."""

    def __init__(
        self,
        options: FilterOptions | None = None,
        frames: Sequence[str] = (),
        cloze_frame: str = "",
    ) -> None:
        self.opts = options or FilterOptions()
        self.frames = list(frames)
        self.cloze_frame = cloze_frame
        self.dropped: Counter[str] = Counter()
        self.framed = 0
        self.resolved = 0
        self.checked = 0
        #: why the last checked candidate was dropped ("" when it was kept)
        self.last_reason = ""

    # -- one pair at a time ------------------------------------------------------------------

    def check(self, candidate: Candidate) -> Candidate | None:
        """The candidate made standalone, or None (and a drop counted) when a check fails."""
        self.checked += 1
        reason = self._problem(candidate)
        question = None if reason else self._standalone(candidate)
        if not reason and question is None:
            reason = "not_standalone"
        if question is not None and len(question.split()) > self.opts.max_question_words + 12:
            reason = "question_too_long"
        self.last_reason = reason
        if reason or question is None:
            self.dropped[reason] += 1
            return None
        candidate.question = question
        return candidate

    def _problem(self, c: Candidate) -> str:
        question, answer = c.question.strip(), c.answer.strip()
        if not question or not answer:
            return "empty"
        if not grounded(answer, c.passage):
            return "answer_not_in_source"
        cap = self.opts.max_statement_words if c.payload.get("statement") else None
        if len(answer.split()) > (cap or self.opts.max_answer_words):
            return "answer_too_long"
        if is_cloze(question):
            if len(question.split()) > self.opts.max_cloze_words:
                return "long_cloze"
        elif len(question.split()) > self.opts.max_question_words:
            return "question_too_long"
        if normalise(answer) in normalise(question.replace("___", "")):
            return "answer_in_question"
        return ""

    def _standalone(self, c: Candidate) -> str | None:
        """The question naming its subject: "we"/"the Company" replaced, else framed with the
        document's title; None when it still speaks as the document and there is nothing to name."""
        question = c.question.strip()
        if _CJK.search(question):
            return question  # the frames are English; Chinese questions keep their own form
        resolved = resolve(question, c.subject)
        if resolved != question:
            self.resolved += 1
        if c.payload.get("names_nothing"):
            # a question built from a table row ("What was Total sales in 2019?") names no subject,
            # whatever its capitals: it is always framed
            if mentions(resolved, c.subject):
                return resolved
        elif names_subject(resolved, c.subject):
            return resolved
        label = c.subject.title or c.subject.label
        if label and is_cloze(resolved) and resolved.startswith(CLOZE_LEAD) and self.cloze_frame:
            self.framed += 1
            return (
                fill(self.cloze_frame, {"title": label, "subject": c.subject.label or label})
                + resolved[len(CLOZE_LEAD) :]
            )
        if label and self.frames and not is_cloze(resolved):
            frame = self.frames[
                int(hashlib.sha256(question.encode()).hexdigest()[:8], 16) % len(self.frames)
            ]
            self.framed += 1
            return fill(
                frame, {"title": label, "subject": c.subject.label or label, "question": resolved}
            )
        # Nothing to name it by: a question that still says "we"/"the Company" cannot be answered
        # closed book; one without such words is kept (and counted as not naming its subject).
        return None if has_unresolved_reference(resolved) else resolved

    # -- a document's pairs together ---------------------------------------------------------

    def diverse(self, candidates: list[Candidate]) -> list[Candidate]:
        """``candidates`` (already checked) without near-duplicates and without more than the
        allowed share of a document's questions for one answer; order kept."""
        by_document: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(candidates):
            by_document[c.document].append(i)
        keep: set[int] = set()
        for indices in by_document.values():
            cap = max(self.opts.min_per_answer, math.floor(self.opts.answer_share * len(indices)))
            served: Counter[str] = Counter()
            seen: dict[str, list[tuple[set[str], set[tuple[str, str]]]]] = defaultdict(list)
            for i in indices:
                c = candidates[i]
                answer = normalise(c.answer)
                bag = (words(c.question), shingles(c.question))
                if any(
                    _jaccard(bag[0], other[0]) >= self.opts.near_duplicate
                    and _jaccard(bag[1], other[1]) >= self.opts.near_duplicate_pairs
                    for other in seen[answer]
                ):
                    self.dropped["near_duplicate"] += 1
                    continue
                if served[answer] >= cap:
                    self.dropped["answer_overused"] += 1
                    continue
                served[answer] += 1
                seen[answer].append(bag)
                keep.add(i)
        return [c for i, c in enumerate(candidates) if i in keep]

    def stats(self, kept: Sequence[Candidate]) -> dict[str, object]:
        named = sum(names_subject(c.question, c.subject) for c in kept)
        return {
            "questions": len(kept),
            "checked": self.checked,
            "dropped": dict(self.dropped),
            "named_subject": named,
            "named_subject_share": round(named / len(kept), 3) if kept else None,
            "resolved_subject": self.resolved,
            "framed": self.framed,
            "max_answer_share": max_answer_share(kept),
        }


def _jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def max_answer_share(kept: Sequence[Candidate], min_questions: int = 34) -> float | None:
    """The largest share of one document's questions served by one answer string, over documents
    with at least ``min_questions`` questions (below that one question is already over 3%)."""
    by_document: dict[str, Counter[str]] = defaultdict(Counter)
    for c in kept:
        by_document[c.document][normalise(c.answer)] += 1
    shares = [
        max(counts.values()) / sum(counts.values())
        for counts in by_document.values()
        if sum(counts.values()) >= min_questions
    ]
    return round(max(shares), 4) if shares else None
