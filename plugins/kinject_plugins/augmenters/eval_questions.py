"""``eval-questions``: a held-out multiple-choice eval set from the user's own corpus.

The engine calls it before training (not as a training augmenter): the passages are trained on,
only the question phrasing is held out (the "bioS -> QA" protocol). Each question asks for one
value of one fact sentence in a template family that ``qa-generate`` never uses -- a source lead,
then the statement with the value replaced by a "which <type>" phrase::

    "Revenue rose to $3.2 million in 2019."  (title "Annual Report 2019")
    -> "According to Annual Report 2019, revenue rose to which amount in 2019?"

The right answer comes with three wrong choices of the same type (amounts for an amount, years
for a year, days for days) from the same document, then the corpus (:mod:`.eval_values`); a fact
without three is skipped. Questions are spread round-robin over documents, at most
``max_per_record`` per passage, and deterministic given the run seed. Output Records are
``kind="qa"`` with the question as text and ``meta = {question, answer, choices, answer_index,
category, source_id, fact, title}``; ``stats`` counts facts, questions and skips per reason.
Phrasings and word lists live in ``eval_questions.<lang>.yaml``.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Augmenter
from kinject.records import Record
from kinject_plugins.augmenters.eval_phrasing import Phrasing, language_data, phrase_question
from kinject_plugins.augmenters.eval_values import (
    CorpusWords,
    DistractorPool,
    TypedValue,
    name_problem,
    value_type,
)
from kinject_plugins.augmenters.facts import extract_values, is_complete_sentence
from kinject_plugins.augmenters.segment import is_chinese, sentences

PLUGIN = "eval-questions"
_KIND_ORDER = {"quantity": 0, "date": 1, "citation": 2, "name": 3}


class EvalQuestionsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: at most this many questions in all
    max_questions: int = Field(200, ge=0)
    #: at most this many questions per passage (Record)
    max_per_record: int = Field(2, ge=1)
    #: a question longer than this many words is skipped (``too_long``)
    max_words: int = Field(25, ge=5)
    #: longest run of words copied from the sentence on either side of the asked value; the engine
    #: drops training QA sharing a 13-gram with an eval question
    max_copied_words: int = Field(12, ge=1)
    #: value kinds asked about (facts.py kinds: quantity, date, citation, name)
    value_kinds: list[str] = ["quantity", "date", "citation", "name"]
    #: record kinds read as passages
    kinds: list[str] = ["document", "passage"]
    #: without ``meta['title']``, name the document after its file ("annual_report.pdf" ->
    #: "annual report"); off: such records give no questions
    title_from_uri: bool = True


@dataclass(frozen=True)
class Candidate:
    """One askable value: the question, the typed answer and the sentence it comes from."""

    record: Record
    question: str
    answer: TypedValue
    fact: str
    title: str


class EvalQuestions(Augmenter):
    """Held-out multiple-choice questions about the corpus's facts, same-type distractors."""

    name = PLUGIN
    description = "held-out multiple-choice eval questions from the corpus (same-type distractors)"
    Options: ClassVar[type[EvalQuestionsOptions]] = EvalQuestionsOptions
    opts: EvalQuestionsOptions

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        skipped: Counter[str] = Counter()
        passages = [r for r in records if r.kind in self.opts.kinds]
        found = [(r, self._typed_values(r)) for r in passages]
        words = language_data("en")  # the corpus's words are read with the default language's lists
        corpus = CorpusWords.read(
            [r.text for r in passages], [t for _, typed in found for t in typed], words
        )
        pool = DistractorPool(
            [
                t
                for _, typed in found
                for t in typed
                if t.type != "name" or not name_problem(t, corpus, words)
            ]
        )
        asked = [(r, self._askable(typed)) for r, typed in found]
        per_record = {r.id: self._candidates(r, typed, pool, corpus, skipped) for r, typed in asked}
        chosen = self._spread(passages, per_record)
        documents = Counter(str(c.record.source.get("uri", "")) for c in chosen)
        for candidate in chosen:
            yield self._qa_record(candidate, pool, skipped)
        self.stats = {
            "passages": len(passages),
            "facts": sum(len({t.sentence for t in typed}) for _, typed in asked),
            "values": sum(len(typed) for _, typed in asked),
            "candidates": sum(len(c) for c in per_record.values()),
            "questions": len(chosen),
            "skipped": dict(sorted(skipped.items())),
            "documents": len({str(r.source.get("uri", "")) for r in passages}),
            "documents_covered": len(documents),
        }

    def _typed_values(self, record: Record) -> list[TypedValue]:
        """Every value of the record's complete sentences, typed."""
        words = language_data(str(record.meta.get("language", "en")))
        out = []
        uri = str(record.source.get("uri", ""))
        for sentence in sentences(record.text, str(record.meta.get("section", ""))):
            text = sentence.text
            if not is_complete_sentence(text) or is_chinese(text):
                continue
            for value in extract_values(text):
                kind, unit = value_type(value, words, text)
                out.append(TypedValue(value, kind, unit, uri, text))
        return out

    def _askable(self, typed: list[TypedValue]) -> list[TypedValue]:
        """The values of the asked kinds, most specific kinds first."""
        out = [t for t in typed if t.value.kind in self.opts.value_kinds]
        return sorted(out, key=lambda t: (_KIND_ORDER[t.value.kind], t.value.start))

    def _candidates(
        self,
        record: Record,
        typed: list[TypedValue],
        pool: DistractorPool,
        corpus: CorpusWords,
        skipped: Counter[str],
    ) -> list[Candidate]:
        """The record's askable values that have a standalone question and three distractors,
        one value per sentence before a second from the same sentence."""
        title = self._title(record)
        phrasing = Phrasing(language_data(str(record.meta.get("language", "en"))), title, corpus)
        rank: Counter[str] = Counter()
        out: list[tuple[int, Candidate]] = []
        for answer in typed:
            question, reason = (
                phrase_question(answer, phrasing, self.opts) if title else (None, "no_title")
            )
            if question is None:
                skipped[reason] += 1
                continue
            if len(pool.pick(answer, question, random.Random(0))) < 3:
                skipped["no_distractors"] += 1
                continue
            out.append(
                (rank[answer.sentence], Candidate(record, question, answer, answer.sentence, title))
            )
            rank[answer.sentence] += 1
        return [c for _, c in sorted(out, key=lambda pair: pair[0])]

    def _title(self, record: Record) -> str:
        title = str(record.meta.get("title") or "").strip()
        uri = str(record.source.get("uri", ""))
        if not title and self.opts.title_from_uri and uri:
            title = re.sub(r"[_\-]+", " ", Path(uri.split("://")[-1]).stem).strip()
        return title

    def _spread(
        self, passages: list[Record], per_record: dict[str, list[Candidate]]
    ) -> list[Candidate]:
        """Round-robin over documents (source uri); within one, over its passages in a seeded
        order, one question per passage before a second; at most ``max_questions``."""
        by_doc: dict[str, list[Record]] = {}
        for record in passages:
            by_doc.setdefault(str(record.source.get("uri", "")), []).append(record)
        queues: list[list[Candidate]] = []
        for uri, recs in by_doc.items():
            order = sorted(recs, key=lambda r: r.source.get("page", 0) or 0)
            random.Random(f"{self.seed}:{uri}").shuffle(order)
            depth = self.opts.max_per_record
            queues.append(
                [
                    per_record[r.id][i]
                    for i in range(depth)
                    for r in order
                    if i < len(per_record[r.id])
                ]
            )
        out: list[Candidate] = []
        seen: set[str] = set()
        for i in range(max((len(q) for q in queues), default=0)):
            for queue in queues:
                if (
                    i < len(queue)
                    and queue[i].question not in seen
                    and len(out) < self.opts.max_questions
                ):
                    seen.add(queue[i].question)
                    out.append(queue[i])
        return out

    def _qa_record(
        self, candidate: Candidate, pool: DistractorPool, skipped: Counter[str]
    ) -> Record:
        answer = candidate.answer
        rng = random.Random(
            f"{self.seed}:{candidate.record.id}:{answer.value.start}:{answer.sentence}"
        )
        choices = [answer.value.text, *pool.pick(answer, candidate.question, rng)]
        rng.shuffle(choices)
        meta = {
            "question": candidate.question,
            "answer": answer.value.text,
            "choices": choices,
            "answer_index": choices.index(answer.value.text),
            "category": answer.type,
            "source_id": candidate.record.id,
            "fact": candidate.fact,
            "title": candidate.title,
        }
        return candidate.record.derive(candidate.question, PLUGIN, kind="qa", meta=meta)
